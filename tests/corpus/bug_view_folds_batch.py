# cnncalc: --input 1x28x28
# style: a learner's MNIST net where x.view(-1, 400) folds one sample's 800 values into two rows (the batch silently doubles)
# truth: model=Net input=1x1x28x28 expect=800,400
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3)
        self.fc1 = nn.Linear(400, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))   # 16 x 13 x 13
        x = F.relu(F.max_pool2d(self.conv2(x), 2))   # 32 x 4 x 4 ... or is it 5 x 5?
        x = x.view(-1, 400)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


model = Net()
optimizer = optim.SGD(model.parameters(), lr=0.01)
