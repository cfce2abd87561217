# cnncalc: --input 1x96x96
# style: a compact U-Net from a segmentation tutorial (bilinear Upsample, skip list, torch.cat, Sigmoid mask)
# truth: model=net input=1x1x96x96
import torch
import torch.nn as nn


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class SmallUNet(nn.Module):
    def __init__(self, in_ch=1, out_ch=1, widths=(16, 32, 64, 128)):
        super().__init__()
        self.encoders = nn.ModuleList()
        c = in_ch
        for w in widths:
            self.encoders.append(block(c, w))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.bottom = block(widths[-1], widths[-1] * 2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.decoders = nn.ModuleList()
        c = widths[-1] * 2
        for w in reversed(widths):
            self.decoders.append(block(c + w, w))
            c = w
        self.head = nn.Conv2d(widths[0], out_ch, 1)
        self.act = nn.Sigmoid()

    def forward(self, x):
        skips = []
        for enc in self.encoders:
            x = enc(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for dec, skip in zip(self.decoders, reversed(skips)):
            x = self.up(x)
            x = torch.cat([x, skip], dim=1)
            x = dec(x)
        return self.act(self.head(x))


net = SmallUNet()
criterion = nn.BCELoss()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
