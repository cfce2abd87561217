# cnncalc: --input 3x96x96
# style: an older PyTorch tutorial's nn.Sequential(OrderedDict([...])) with named layers, a feature extractor and a classifier, Kaiming init via model.apply
# truth: model=model input=1x3x96x96
from collections import OrderedDict

import torch
import torch.nn as nn

features = nn.Sequential(OrderedDict([
    ('conv1', nn.Conv2d(3, 32, kernel_size=5, stride=2, padding=2)),
    ('bn1', nn.BatchNorm2d(32)),
    ('relu1', nn.ReLU(inplace=True)),
    ('pool1', nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
    ('conv2', nn.Conv2d(32, 64, kernel_size=3, padding=1)),
    ('bn2', nn.BatchNorm2d(64)),
    ('relu2', nn.ReLU(inplace=True)),
    ('conv3', nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=1)),
    ('bn3', nn.BatchNorm2d(128)),
    ('relu3', nn.ReLU(inplace=True)),
    ('pool3', nn.AdaptiveAvgPool2d((3, 3))),
]))

classifier = nn.Sequential(OrderedDict([
    ('flatten', nn.Flatten()),
    ('fc1', nn.Linear(128 * 3 * 3, 256)),
    ('relu', nn.ReLU(inplace=True)),
    ('drop', nn.Dropout(0.5)),
    ('fc2', nn.Linear(256, 8)),
]))

model = nn.Sequential(OrderedDict([
    ('features', features),
    ('classifier', classifier),
]))


def init_weights(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


model.apply(init_weights)
print(model)
print(model.features.conv1)
