"""Well-known models, each written in the format it is usually seen in (so a preset also shows
what the parsers accept)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    format: str  # "dsl", "keras" or "pytorch"
    text: str
    about: str
    input_shape: tuple[int, ...] | None = None  # for PyTorch code, which states no input shape


PRESETS = {p.name: p for p in [
    Preset("lenet5", "dsl", """\
# LeNet-5 (LeCun et al., 1998) with average pooling and tanh
input 32x32x1
conv 6 5x5 tanh
avgpool 2
conv 16 5x5 tanh
avgpool 2
flatten
dense 120 tanh
dense 84 tanh
dense 10 softmax
""", "LeNet-5 on 32x32 grey digits: 61,706 parameters"),
    Preset("alexnet", "pytorch", """\
# torchvision.models.alexnet
class AlexNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 1000),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x
""", "AlexNet as torchvision builds it, on 3x224x224: 61,100,840 parameters", (3, 224, 224)),
    Preset("vgg16", "keras", """\
# keras.applications.VGG16(include_top=True)
model = keras.Sequential([
    layers.Input(shape=(224, 224, 3)),
    layers.Conv2D(64, (3, 3), activation='relu', padding='same', name='block1_conv1'),
    layers.Conv2D(64, (3, 3), activation='relu', padding='same', name='block1_conv2'),
    layers.MaxPooling2D((2, 2), strides=(2, 2), name='block1_pool'),
    layers.Conv2D(128, (3, 3), activation='relu', padding='same', name='block2_conv1'),
    layers.Conv2D(128, (3, 3), activation='relu', padding='same', name='block2_conv2'),
    layers.MaxPooling2D((2, 2), strides=(2, 2), name='block2_pool'),
    layers.Conv2D(256, (3, 3), activation='relu', padding='same', name='block3_conv1'),
    layers.Conv2D(256, (3, 3), activation='relu', padding='same', name='block3_conv2'),
    layers.Conv2D(256, (3, 3), activation='relu', padding='same', name='block3_conv3'),
    layers.MaxPooling2D((2, 2), strides=(2, 2), name='block3_pool'),
    layers.Conv2D(512, (3, 3), activation='relu', padding='same', name='block4_conv1'),
    layers.Conv2D(512, (3, 3), activation='relu', padding='same', name='block4_conv2'),
    layers.Conv2D(512, (3, 3), activation='relu', padding='same', name='block4_conv3'),
    layers.MaxPooling2D((2, 2), strides=(2, 2), name='block4_pool'),
    layers.Conv2D(512, (3, 3), activation='relu', padding='same', name='block5_conv1'),
    layers.Conv2D(512, (3, 3), activation='relu', padding='same', name='block5_conv2'),
    layers.Conv2D(512, (3, 3), activation='relu', padding='same', name='block5_conv3'),
    layers.MaxPooling2D((2, 2), strides=(2, 2), name='block5_pool'),
    layers.Flatten(name='flatten'),
    layers.Dense(4096, activation='relu', name='fc1'),
    layers.Dense(4096, activation='relu', name='fc2'),
    layers.Dense(1000, activation='softmax', name='predictions'),
])
""", "VGG16 as keras.applications builds it, on 224x224x3: 138,357,544 parameters"),
    Preset("simple-convnet", "dsl", """\
# SimpleConvNet from "Deep Learning from Scratch", chapter 7
input 28x28x1
conv 30 5x5 relu
maxpool 2
flatten
dense 100 relu
dense 10 softmax
""", "the DLFS book's SimpleConvNet for MNIST"),
    Preset("mnist-cnn", "dsl", """\
# the Keras MNIST CNN of the study notes
input 28x28x1
conv 32 3x3 padding=same relu
conv 64 3x3 padding=same relu
maxpool 2
flatten
dense 128 relu
dense 10 softmax
""", "two 'same' convs, a pool and two dense layers: 1,625,866 parameters"),
    Preset("mnist-cnn-dropout", "dsl", """\
# the Keras MNIST CNN with dropout (Keras' mnist_cnn example)
input 28x28x1
conv 32 3x3 relu
conv 64 3x3 relu
maxpool 2
dropout 0.25
flatten
dense 128 relu
dropout 0.5
dense 10 softmax
""", "valid convs and dropout: 1,199,882 parameters"),
    Preset("shapes-cnn", "dsl", """\
# the 8x8 triangle / square / circle classifier of the study notes
input 8x8x1
conv 2 3x3 padding=same relu
maxpool 2
conv 3 2x2 padding=same relu
maxpool 2
flatten
dense 8 relu
dense 3 softmax
""", "a tiny net for 8x8 pictures of triangles, squares and circles"),
    Preset("resnet-mini", "pytorch", """\
# a small ResNet for 28x28 grey images: a stem, two basic blocks, global average pooling
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResNetMini(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, stride=1)
        self.layer2 = BasicBlock(16, 32, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.avgpool(out)
        out = torch.flatten(out, 1)
        return self.fc(out)
""", "a two-block ResNet (identity and 1x1-conv shortcuts, BatchNorm, global average "
       "pooling) on 1x28x28: 19,706 parameters", (1, 28, 28)),
    Preset("mobilenet-mini", "keras", """\
# a small MobileNet (Howard et al., 2017) for 28x28 grey images: depthwise-separable blocks
def separable_block(x, filters, strides=1):
    x = layers.DepthwiseConv2D(3, strides=strides, padding='same', use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.)(x)
    x = layers.Conv2D(filters, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU(max_value=6.)(x)


inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(16, 3, strides=2, padding='same', use_bias=False)(inputs)
x = layers.BatchNormalization()(x)
x = layers.ReLU(6.)(x)
x = separable_block(x, 32)
x = separable_block(x, 64, strides=2)
x = separable_block(x, 64)
x = separable_block(x, 128, strides=2)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation='softmax')(x)
model = keras.Model(inputs, outputs, name='mobilenet_mini')
""", "a MobileNet of four depthwise-separable blocks (ReLU6, BatchNorm, global average "
       "pooling) on 28x28x1: 19,786 parameters (18,826 trainable)"),
]}
