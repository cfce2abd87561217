# cnncalc: --input 1x224x224
# style: d2l.ai-like network-in-network chapter (nin_block helper, AdaptiveAvgPool2d, nn.Flatten, a printed shape walk)
# truth: model=net input=1x1x224x224
import torch
from torch import nn


def nin_block(in_channels, out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())


num_classes = 10
net = nn.Sequential(
    nin_block(1, 96, kernel_size=11, strides=4, padding=0),
    nn.MaxPool2d(3, stride=2),
    nin_block(96, 256, kernel_size=5, strides=1, padding=2),
    nn.MaxPool2d(3, stride=2),
    nin_block(256, 384, kernel_size=3, strides=1, padding=1),
    nn.MaxPool2d(3, stride=2),
    nn.Dropout(0.5),
    nin_block(384, num_classes, kernel_size=3, strides=1, padding=1),
    nn.AdaptiveAvgPool2d((1, 1)),
    nn.Flatten())


def shape_walk(model, size=(1, 1, 224, 224)):
    X = torch.rand(size=size)
    for layer in model:
        X = layer(X)
        print(layer.__class__.__name__, 'output shape:\t', X.shape)


shape_walk(net)
