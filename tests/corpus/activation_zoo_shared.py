# cnncalc: --input 3x32x32
# style: a forum-question model mixing activations (PReLU, ELU, SELU, GELU, SiLU, Hardswish, LogSoftmax) and one conv applied twice
# truth: model=net input=1x3x32x32
import torch
import torch.nn as nn


class ActNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv_in = nn.Conv2d(3, 16, 3, padding=1)
        self.prelu = nn.PReLU(16)
        # the same 3x3 conv is applied twice: its weights are shared
        self.shared = nn.Conv2d(16, 16, 3, padding=1)
        self.elu = nn.ELU(alpha=1.0)
        self.selu = nn.SELU()
        self.down = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.gelu = nn.GELU()
        self.silu = nn.SiLU()
        self.hswish = nn.Hardswish()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)
        self.log_softmax = nn.LogSoftmax(dim=1)

    def forward(self, x):
        x = self.prelu(self.conv_in(x))
        x = self.elu(self.shared(x))
        x = self.selu(self.shared(x))
        x = self.gelu(self.down(x))
        x = self.hswish(self.silu(x))
        x = self.pool(x)
        x = x.view(x.size(0), -1)
        return self.log_softmax(self.fc(x))


net = ActNet()
total = sum(p.numel() for p in net.parameters())
print(f"{total} parameters (the shared conv counts once)")
