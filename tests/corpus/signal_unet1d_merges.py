# cnncalc:
# style: a 1-D signal-denoising net from a research repository (Conv1d encoder, ConvTranspose1d decoder, ModuleDict heads, nn.Identity, torch.add, torch.cat along the time axis, F.interpolate(size=...), AdaptiveMaxPool1d)
# truth: model=model input=1x2x256
import torch
import torch.nn as nn
import torch.nn.functional as F


class Denoiser1D(nn.Module):
    def __init__(self, channels=2, width=32, use_gate=False):
        super().__init__()
        self.enc1 = nn.Conv1d(channels, width, 7, padding=3)
        self.enc2 = nn.Conv1d(width, width * 2, 5, stride=2, padding=2)       # 128
        self.enc3 = nn.Conv1d(width * 2, width * 4, 5, stride=2, padding=2)   # 64
        self.dec3 = nn.ConvTranspose1d(width * 4, width * 2, 4, stride=2, padding=1)  # 128
        self.dec2 = nn.ConvTranspose1d(width * 2, width, 4, stride=2, padding=1)      # 256
        self.gate = nn.Sigmoid() if use_gate else nn.Identity()
        self.out = nn.Conv1d(width, channels, 1)
        self.heads = nn.ModuleDict({
            "level": nn.Sequential(nn.AdaptiveMaxPool1d(8), nn.Flatten(), nn.Linear(width * 4 * 8, 1)),
            "noise": nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(width * 4, 4)),
        })
        self.mix = nn.Conv1d(channels, channels, 3, padding=1)

    def forward(self, x):
        e1 = F.relu(self.enc1(x))
        e2 = F.relu(self.enc2(e1))
        e3 = F.relu(self.enc3(e2))
        d3 = torch.add(F.relu(self.dec3(e3)), e2)
        d2 = F.relu(self.dec2(d3)) + e1
        clean = self.out(self.gate(d2))
        # a coarse copy brought back to full length, stacked after the clean signal in time
        coarse = F.interpolate(clean[:, :, ::4], size=clean.shape[-1], mode="linear",
                               align_corners=False)
        both = torch.cat([clean, coarse], dim=2)            # (batch, channels, 512)
        level = self.heads["level"](e3)
        noise = self.heads["noise"](e3)
        return self.mix(both) * level.unsqueeze(-1) + noise.mean(dim=1, keepdim=True).unsqueeze(-1)


model = Denoiser1D()
y = model(torch.randn(4, 2, 256))
print(y.shape)
