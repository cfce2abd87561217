# cnncalc: --input 1x28x28
# style: a configurable CNN from a hyper-parameter-search notebook turned script (nn.ModuleList, `if` in __init__, constructor defaults, use_bn flag)
# truth: model=model input=1x1x28x28
import torch
import torch.nn as nn

config = {
    "channels": [32, 64, 128],
    "kernel": 3,
    "use_bn": True,
    "dropout": 0.3,
    "hidden": 256,
}


class ConfigurableCNN(nn.Module):
    def __init__(self, channels, kernel=3, use_bn=False, dropout=0.0, hidden=128,
                 in_channels=1, num_classes=10, image_size=28):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.use_bn = use_bn
        size = image_size
        for out_channels in channels:
            self.convs.append(nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2))
            if use_bn:
                self.norms.append(nn.BatchNorm2d(out_channels))
            in_channels = out_channels
            size = size // 2
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc1 = nn.Linear(in_channels * size * size, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if self.use_bn:
                x = self.norms[i](x)
            x = self.pool(torch.relu(x))
        x = x.flatten(1)
        x = self.dropout(torch.relu(self.fc1(x)))
        return self.fc2(x)


model = ConfigurableCNN(**config)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
print(sum(p.numel() for p in model.parameters() if p.requires_grad))
