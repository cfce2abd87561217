# cnncalc:
# style: pytorch/tutorials-like "define the network" page (LeNet with num_flat_features, a sample input in the file)
# truth: model=net input=1x1x32x32
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class LeNet(nn.Module):
    def __init__(self):
        super(LeNet, self).__init__()
        # grayscale in, six 5x5 filters, then sixteen
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # 16 maps of 5x5 after the second pooling
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

    def num_flat_features(self, x):
        dims = x.size()[1:]  # everything but the batch
        n = 1
        for d in dims:
            n *= d
        return n


net = LeNet()
print(net)
for name, p in net.named_parameters():
    print(name, tuple(p.shape))

sample = torch.randn(1, 1, 32, 32)
scores = net(sample)
print(scores)

goal = torch.randn(1, 10)
mse = nn.MSELoss()
sgd = optim.SGD(net.parameters(), lr=0.01)
for step in range(3):
    sgd.zero_grad()
    loss = mse(net(sample), goal)
    loss.backward()
    sgd.step()
    print(step, loss.item())
