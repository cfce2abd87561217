# cnncalc:
# style: a Q&A answer's net exercising tensor reshapes (view(x.size(0), -1), reshape, permute, unsqueeze/squeeze, torch.flatten, Conv1d over a flattened map)
# truth: model=ReshapeNet input=1x3x32x32
import torch
import torch.nn as nn
import torch.nn.functional as F


class ReshapeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)      # 8 x 16 x 16
        self.seq_conv = nn.Conv1d(8, 16, 5, padding=2)            # over 256 positions
        self.token_fc = nn.Linear(16, 4)                          # applied per position
        self.conv3d_like = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 256 * 4, 10)

    def forward(self, x):
        b = x.size(0)
        x = F.relu(self.conv(x))
        x = x.view(b, 8, -1)                 # (b, 8, 256)
        x = F.relu(self.seq_conv(x))          # (b, 16, 256)
        x = x.permute(0, 2, 1)                # (b, 256, 16)
        x = self.token_fc(x)                  # (b, 256, 4)
        x = x.unsqueeze(1)                    # (b, 1, 256, 4)
        x = self.conv3d_like(x)               # (b, 2, 256, 4)
        x = torch.flatten(x, 1)
        x = x.reshape(b, -1, 1).squeeze(-1)
        return self.fc(x)


model = ReshapeNet()
out = model(torch.randn(2, 3, 32, 32))
print(out.shape)
