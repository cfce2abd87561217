# cnncalc:
# style: torchvision-like ConvBNReLU(nn.Sequential) subclass with super().__init__(...) of layers, used by a small classifier
# truth: model=TinyClassifier input=1x3x64x64
import torch
import torch.nn as nn


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, groups=1):
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_planes, out_planes, kernel_size, stride, padding, groups=groups,
                      bias=False),
            nn.BatchNorm2d(out_planes),
            nn.ReLU(inplace=True),
        )


class Head(nn.Sequential):
    def __init__(self, channels, num_classes):
        super().__init__()
        self.add_module("pool", nn.AdaptiveAvgPool2d(1))
        self.add_module("flatten", nn.Flatten())
        self.add_module("fc", nn.Linear(channels, num_classes))


class TinyClassifier(nn.Module):
    def __init__(self, num_classes=5, width=32):
        super().__init__()
        self.stem = ConvBNReLU(3, width, stride=2)
        self.body = nn.Sequential(
            ConvBNReLU(width, width, groups=width),
            ConvBNReLU(width, width * 2, kernel_size=1),
            ConvBNReLU(width * 2, width * 2, stride=2, groups=width * 2),
            ConvBNReLU(width * 2, width * 4, kernel_size=1),
        )
        self.head = Head(width * 4, num_classes)

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


if __name__ == "__main__":
    model = TinyClassifier()
    print(model(torch.zeros(1, 3, 64, 64)).shape)
