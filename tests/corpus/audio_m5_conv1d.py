# cnncalc: --input 1x8000
# style: torchaudio speech-commands-tutorial-like M5 raw-waveform net (wide strided first Conv1d, BatchNorm1d, MaxPool1d(4) stages, F.avg_pool1d over the remaining time, permute, log_softmax)
# truth: model=model input=1x1x8000
import torch
import torch.nn as nn
import torch.nn.functional as F

labels = ['backward', 'bed', 'bird', 'cat', 'dog', 'down', 'eight', 'five', 'follow', 'forward',
          'four', 'go', 'happy', 'house', 'learn', 'left', 'marvin', 'nine', 'no', 'off', 'on',
          'one', 'right', 'seven', 'sheila', 'six', 'stop', 'three', 'tree', 'two', 'up',
          'visual', 'wow', 'yes', 'zero']
sample_rate = 8000


class M5(nn.Module):
    def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32):
        super().__init__()
        widths = [n_channel, n_channel, 2 * n_channel, 2 * n_channel]
        kernels = [80, 3, 3, 3]
        strides = [stride, 1, 1, 1]
        self.stages = nn.ModuleList()
        cin = n_input
        for w, k, s in zip(widths, kernels, strides):
            self.stages.append(nn.Sequential(
                nn.Conv1d(cin, w, kernel_size=k, stride=s),
                nn.BatchNorm1d(w),
                nn.ReLU(),
                nn.MaxPool1d(4),
            ))
            cin = w
        self.fc1 = nn.Linear(cin, n_output)

    def forward(self, x):
        for stage in self.stages:
            x = stage(x)
        x = F.avg_pool1d(x, x.shape[-1])     # (batch, channels, 1)
        x = x.permute(0, 2, 1)               # (batch, 1, channels)
        return F.log_softmax(self.fc1(x), dim=2)


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = M5(n_input=1, n_output=len(labels)).to(device)
print(model)
print("trainable parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))

optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.0001)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.1)
