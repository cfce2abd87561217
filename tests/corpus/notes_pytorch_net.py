# cnncalc: --input 3x32x32
# style: study notes, the PyTorch Net class as printed (with its nn.module typo)
# truth: model=Net input=1x3x32x32 fix=nn.module->nn.Module note="nn.module typo"
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 64, 5)
        self.conv2 = nn.Conv2d(64, 128, 5)
        self.fc = nn.Linear(128 * 5 * 5, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


net = Net()
print(net)

input = torch.randn(1, 3, 32, 32)
out = net(input)
print(out.size())

target = torch.randn(1, 10)
criterion = nn.MSELoss()
loss = criterion(out, target)
net.zero_grad()
loss.backward()
print(net.conv1.bias.grad)
