# cnncalc: --input 3x60x60
# style: a course exercise comparing normalisations and paddings (GroupNorm, LayerNorm over C,H,W, ZeroPad2d, ReplicationPad2d, F.pad, Dropout2d, AdaptiveMaxPool2d)
# truth: model=model input=1x3x60x60
import torch
import torch.nn as nn
import torch.nn.functional as F

IMG = 60


class NormPadNet(nn.Module):
    def __init__(self, num_classes=4, groups=4):
        super().__init__()
        self.pad1 = nn.ZeroPad2d((1, 2, 1, 2))           # left, right, top, bottom
        self.conv1 = nn.Conv2d(3, 16, 4)
        self.gn1 = nn.GroupNorm(groups, 16)
        self.pad2 = nn.ReplicationPad2d(1)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2)
        self.ln2 = nn.LayerNorm([32, IMG // 2, IMG // 2])
        self.drop = nn.Dropout2d(0.1)
        self.conv3 = nn.Conv2d(32, 64, 3)
        self.gn3 = nn.GroupNorm(8, 64)
        self.pool = nn.AdaptiveMaxPool2d((2, 2))
        self.ln_fc = nn.LayerNorm(64 * 2 * 2)
        self.fc = nn.Linear(64 * 2 * 2, num_classes)

    def forward(self, x):
        x = F.relu(self.gn1(self.conv1(self.pad1(x))))
        x = F.relu(self.ln2(self.conv2(self.pad2(x))))
        x = self.drop(x)
        x = F.pad(x, (0, 1, 0, 1))
        x = F.relu(self.gn3(self.conv3(x)))
        x = self.pool(x)
        x = x.reshape(x.shape[0], -1)
        return self.fc(self.ln_fc(x))


model = NormPadNet()
print(model)
