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
]}
