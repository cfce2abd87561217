# A tiny U-Net (two levels) for 1x32x32 images: skip connections joined with torch.cat.
import torch
import torch.nn as nn


def double_conv(in_ch, out_ch):
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    def __init__(self, in_channels=1, n_classes=2):
        super().__init__()
        self.down1 = double_conv(in_channels, 8)
        self.down2 = double_conv(8, 16)
        self.pool = nn.MaxPool2d(2)
        self.bottom = double_conv(16, 32)
        self.up2 = nn.ConvTranspose2d(32, 16, kernel_size=2, stride=2)
        self.conv_up2 = double_conv(32, 16)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv_up1 = double_conv(16 + 8, 8)
        self.out = nn.Conv2d(8, n_classes, kernel_size=1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        b = self.bottom(self.pool(d2))
        u2 = self.conv_up2(torch.cat([self.up2(b), d2], dim=1))
        u1 = self.conv_up1(torch.cat([self.up1(u2), d1], dim=1))
        return self.out(u1)


model = UNet()
print(model(torch.randn(1, 1, 32, 32)).shape)
