"""A pasted ResNet-152 script (torchvision-style, with a training loop) stays far inside the
bounds, through a tiny symbolic stand-in for torch defined here."""

from __future__ import annotations

import time

from minigrad.readers.interp import MISSING, Foreign, Interpreter, Limits, Unknown, parse_source

# torchvision's ResNet written out the way people paste it, with a training loop after it
SCRIPT = '''import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride,
                     padding=dilation, groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1,
                 base_width=64, dilation=1, norm_layer=None):
        super(Bottleneck, self).__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False,
                 groups=1, width_per_group=64, replace_stride_with_dilation=None,
                 norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None "
                             "or a 3-element tuple, got {}".format(replace_stride_with_dilation))
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion),
            )
        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample, self.groups,
                            self.base_width, previous_dilation, norm_layer))
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


def resnet152(**kwargs):
    return ResNet(Bottleneck, [3, 8, 36, 3], **kwargs)


model = resnet152(num_classes=10)
x = torch.randn(1, 3, 224, 224)
for epoch in range(10):
    for data, target in train_loader:
        out = model(data)
        loss = F.cross_entropy(out, target)
        loss.backward()
y = model(x)
print(y.shape)
'''


class Tensor(Foreign):
    def binary(self, interp, op, other, right, at):
        return self

    def get_attr(self, interp, name, at):
        return self if name in ("view", "relu") else Unknown(f"tensor.{name}", at)


class Layer(Foreign):
    def __init__(self, log):
        self.log = log

    def call(self, interp, args, kwargs, at):
        self.log.append("call")
        return args[0] if args else Tensor()


class LayerFactory(Foreign):
    def __init__(self, name, log):
        self.name, self.log = name, log

    def call(self, interp, args, kwargs, at):
        self.log.append(self.name)
        return Tensor() if self.name == "tensor" else Layer(self.log)


class Sequential(Foreign):
    def __init__(self, log):
        self.log = log

    def call(self, interp, args, kwargs, at):
        children = list(args)

        class Seq(Foreign):
            def call(self, interp, args, kwargs, at):
                x = args[0]
                for child in children:
                    x = interp.call(child, [x], {}, at)
                return x
        return Seq()


class ModuleClass(Foreign):
    def is_class(self):
        return True

    def instance_attr(self, interp, instance, name, at):
        return Unknown(f"module.{name}", at) if name == "modules" else MISSING

    def instance_call(self, interp, instance, args, kwargs, at):
        return interp.call(interp.get_attr(instance, "forward", at), args, kwargs, at)


class Torch(Foreign):
    def __init__(self):
        self.log = []
        self.module = ModuleClass()

    def get_attr(self, interp, name, at):
        if name in ("nn", "functional"):
            return self
        if name == "Module":
            return self.module
        if name == "Sequential":
            return Sequential(self.log)
        if name in ("randn", "flatten"):
            return LayerFactory("tensor", [])
        if name[0].isupper():
            return LayerFactory(name, self.log)
        return Unknown(f"torch.{name}", at)


def test_a_pasted_resnet152_script_stays_far_inside_the_bounds():
    text = SCRIPT
    torch = Torch()
    start = time.perf_counter()
    interp = Interpreter(parse_source(text), text, importer=lambda name, at: torch)
    interp.run()
    elapsed = time.perf_counter() - start
    assert torch.log.count("Conv2d") == 1 + 3 * 50 + 4  # stem, 50 bottlenecks, 4 downsamples
    assert isinstance(interp.globals["y"], Tensor)
    assert interp.budget.steps < Limits().steps // 10, interp.budget.steps
    assert elapsed < 2.0
    print(f"ResNet-152 script: {interp.budget.steps:,} steps, {elapsed:.2f} s")
