# cnncalc: --input 3x32x32
# style: DenseNet-BC for CIFAR as repositories write it (Bottleneck with torch.cat([out, x], 1), Transition, growth_rate, math.floor)
# truth: model=densenet_cifar() input=1x3x32x32
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Bottleneck(nn.Module):
    def __init__(self, in_planes, growth_rate):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, 4 * growth_rate, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth_rate)
        self.conv2 = nn.Conv2d(4 * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class Transition(nn.Module):
    def __init__(self, in_planes, out_planes):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, block, nblocks, growth_rate=12, reduction=0.5, num_classes=10):
        super().__init__()
        self.growth_rate = growth_rate
        planes = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, planes, kernel_size=3, padding=1, bias=False)

        self.dense1 = self._make_dense_layers(block, planes, nblocks[0])
        planes += nblocks[0] * growth_rate
        out_planes = int(math.floor(planes * reduction))
        self.trans1 = Transition(planes, out_planes)
        planes = out_planes

        self.dense2 = self._make_dense_layers(block, planes, nblocks[1])
        planes += nblocks[1] * growth_rate
        out_planes = int(math.floor(planes * reduction))
        self.trans2 = Transition(planes, out_planes)
        planes = out_planes

        self.dense3 = self._make_dense_layers(block, planes, nblocks[2])
        planes += nblocks[2] * growth_rate

        self.bn = nn.BatchNorm2d(planes)
        self.linear = nn.Linear(planes, num_classes)

    def _make_dense_layers(self, block, in_planes, nblock):
        layers = []
        for _ in range(nblock):
            layers.append(block(in_planes, self.growth_rate))
            in_planes += self.growth_rate
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv1(x)
        out = self.trans1(self.dense1(out))
        out = self.trans2(self.dense2(out))
        out = self.dense3(out)
        out = F.avg_pool2d(F.relu(self.bn(out)), 8)
        out = out.view(out.size(0), -1)
        return self.linear(out)


def densenet_cifar():
    return DenseNet(Bottleneck, [6, 12, 24], growth_rate=12)
