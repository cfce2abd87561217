# cnncalc: --input 1x1000
# style: a 1-D CNN for ECG beats from a biosignal tutorial (Conv1d/BatchNorm1d/MaxPool1d stacks, AdaptiveAvgPool1d, squeeze(-1))
# truth: model=ECGNet input=1x1x1000
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

SIGNAL_LEN = 1000
N_CLASSES = 5


class ECGNet(nn.Module):
    def __init__(self, in_channels=1, n_classes=N_CLASSES):
        super().__init__()
        widths = [16, 32, 64, 128]
        kernels = [15, 9, 7, 5]
        blocks = []
        c = in_channels
        for w, k in zip(widths, kernels):
            blocks += [
                nn.Conv1d(c, w, kernel_size=k, padding=k // 2),
                nn.BatchNorm1d(w),
                nn.LeakyReLU(0.01),
                nn.MaxPool1d(kernel_size=2, stride=2),
            ]
            c = w
        self.features = nn.Sequential(*blocks)
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.classifier = nn.Sequential(nn.Linear(c, 64), nn.ReLU(), nn.Dropout(0.3),
                                        nn.Linear(64, n_classes))

    def forward(self, x):
        x = self.features(x)
        x = self.gap(x).squeeze(-1)
        return self.classifier(x)


signals = np.random.randn(32, 1, SIGNAL_LEN).astype("float32")
targets = np.random.randint(0, N_CLASSES, size=32)
loader = DataLoader(TensorDataset(torch.from_numpy(signals), torch.from_numpy(targets)),
                    batch_size=16, shuffle=True)

net = ECGNet()
opt = torch.optim.Adam(net.parameters(), lr=3e-4)
for xb, yb in loader:
    loss = nn.functional.cross_entropy(net(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
