# cnncalc:
# style: kuangliu/pytorch-cifar-like VGG (cfg dict of widths and 'M', layers built in a loop, a test tensor at the end)
# truth: model=net input=1x3x32x32
import torch
import torch.nn as nn

cfg = {
    'VGG11': [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'VGG13': [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'VGG16': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M',
              512, 512, 512, 'M', 512, 512, 512, 'M'],
}


class VGG(nn.Module):
    def __init__(self, name, num_classes=10, in_channels=3):
        super().__init__()
        self.features = self._make_layers(cfg[name], in_channels)
        self.classifier = nn.Linear(512, num_classes)

    def _make_layers(self, spec, channels):
        layers = []
        for item in spec:
            if item == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            layers += [nn.Conv2d(channels, item, kernel_size=3, padding=1),
                       nn.BatchNorm2d(item),
                       nn.ReLU(inplace=True)]
            channels = item
        layers.append(nn.AvgPool2d(kernel_size=1, stride=1))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


net = VGG('VGG11')
batch = torch.randn(2, 3, 32, 32)
print(net(batch).size())
