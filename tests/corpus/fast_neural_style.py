# cnncalc: --input 3x128x128
# style: pytorch/examples-like fast neural style transformer net (reflection-padded convs, InstanceNorm2d, five residual blocks, nearest upsampling with F.interpolate then conv)
# truth: model=TransformerNet input=1x3x128x128
import torch
import torch.nn as nn
import torch.nn.functional as F


class PaddedConv(nn.Module):
    """Reflection padding keeps the borders free of the dark frame zero padding leaves."""

    def __init__(self, cin, cout, kernel, stride=1, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x):
        if self.upsample:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv(self.pad(x))


class ResBlock(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1 = PaddedConv(ch, ch, 3)
        self.norm1 = nn.InstanceNorm2d(ch, affine=True)
        self.conv2 = PaddedConv(ch, ch, 3)
        self.norm2 = nn.InstanceNorm2d(ch, affine=True)

    def forward(self, x):
        y = F.relu(self.norm1(self.conv1(x)))
        return x + self.norm2(self.conv2(y))


class TransformerNet(nn.Module):
    def __init__(self, n_res=5):
        super().__init__()
        self.down = nn.ModuleList([PaddedConv(3, 32, 9), PaddedConv(32, 64, 3, stride=2),
                                   PaddedConv(64, 128, 3, stride=2)])
        self.down_norms = nn.ModuleList([nn.InstanceNorm2d(c, affine=True) for c in (32, 64, 128)])
        self.res = nn.Sequential(*[ResBlock(128) for _ in range(n_res)])
        self.up = nn.ModuleList([PaddedConv(128, 64, 3, upsample=2),
                                 PaddedConv(64, 32, 3, upsample=2)])
        self.up_norms = nn.ModuleList([nn.InstanceNorm2d(c, affine=True) for c in (64, 32)])
        self.out = PaddedConv(32, 3, 9)

    def forward(self, x):
        for conv, norm in zip(self.down, self.down_norms):
            x = F.relu(norm(conv(x)))
        x = self.res(x)
        for conv, norm in zip(self.up, self.up_norms):
            x = F.relu(norm(conv(x)))
        return self.out(x)
