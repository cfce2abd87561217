# cnncalc: --input 3x32x32
# style: kuangliu/pytorch-cifar-like MobileNet v1 (depthwise Block with groups=, class attribute cfg of ints and (width, stride) tuples)
# truth: model=MobileNet input=1x3x32x32
import torch
import torch.nn as nn
import torch.nn.functional as F


class DepthwiseSeparable(nn.Module):
    """A 3x3 depthwise convolution then a 1x1 pointwise one, each with BatchNorm and ReLU."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.dw(x)))
        return F.relu(self.bn2(self.pw(x)))


class MobileNet(nn.Module):
    # an int is a width at stride 1; (width, 2) halves the resolution
    cfg = [64, (128, 2), 128, (256, 2), 256, (512, 2), 512, 512, 512, 512, 512, (1024, 2), 1024]

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.layers = self._make_layers(32)
        self.linear = nn.Linear(1024, num_classes)

    def _make_layers(self, cin):
        blocks = []
        for entry in self.cfg:
            if isinstance(entry, tuple):
                cout, stride = entry
            else:
                cout, stride = entry, 1
            blocks.append(DepthwiseSeparable(cin, cout, stride))
            cin = cout
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = F.avg_pool2d(x, 2)
        return self.linear(x.view(x.size(0), -1))
