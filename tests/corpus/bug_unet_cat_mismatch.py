# cnncalc: --input 1x100x100
# style: a learner's tiny U-Net without F.pad: at 100x100 the skip is 25x25 but the upsampled map is 24x24, so torch.cat fails
# truth: model=model input=1x1x100x100 expect=24,25
import torch
import torch.nn as nn


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.enc3 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec2 = nn.Sequential(nn.Conv2d(64, 32, 3, padding=1), nn.ReLU())
        self.up1 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec1 = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(16, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)                  # 100
        e2 = self.enc2(self.pool(e1))      # 50
        e3 = self.enc3(self.pool(e2))      # 25
        b = self.pool(e3)                  # 12
        d2 = self.up2(b)                   # 24 ... meant to meet e3
        d2 = self.dec2(torch.cat([d2, e3], dim=1))
        d1 = self.up1(d2)
        d1 = self.dec1(torch.cat([d1, e2], dim=1))
        return self.out(d1)


model = TinyUNet()
