# cnncalc: --input 3x32x32
# style: MobileNetV2 for CIFAR as repositories write it (inverted residual, ReLU6, expand ratio, conditional skip)
# truth: model=MobileNetV2 input=1x3x32x32
import torch
import torch.nn as nn


def conv_bn(cin, cout, kernel, stride, groups=1, act=True):
    pad = (kernel - 1) // 2
    layers = [nn.Conv2d(cin, cout, kernel, stride, pad, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand_ratio):
        super().__init__()
        hidden = cin * expand_ratio
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if expand_ratio != 1:
            layers.append(conv_bn(cin, hidden, 1, 1))                      # expand
        layers.append(conv_bn(hidden, hidden, 3, stride, groups=hidden))   # depthwise
        layers.append(conv_bn(hidden, cout, 1, 1, act=False))              # project, linear
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    # t (expansion), c (channels), n (repeats), s (first stride); strides adapted to 32x32
    settings = [
        [1, 16, 1, 1],
        [6, 24, 2, 1],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ]

    def __init__(self, num_classes=10, width_mult=1.0):
        super().__init__()
        cin = int(32 * width_mult)
        self.last_channel = int(1280 * max(1.0, width_mult))
        features = [conv_bn(3, cin, 3, 1)]
        for t, c, n, s in self.settings:
            cout = int(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(conv_bn(cin, self.last_channel, 1, 1))
        self.features = nn.Sequential(*features)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(self.last_channel, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.pool(x).flatten(1)
        return self.classifier(x)


if __name__ == '__main__':
    net = MobileNetV2()
    print(net)
