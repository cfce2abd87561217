# cnncalc:
# style: a learner's CIFAR-10 LeNet whose first Linear was copied from an MNIST version (in_features 16*4*4, but 32x32 inputs leave 16*5*5)
# truth: model=net input=1x3x32x32 expect=400,256
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)   # was right for 28x28 MNIST
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


net = Net()
images = torch.randn(4, 3, 32, 32)
outputs = net(images)   # RuntimeError: mat1 and mat2 shapes cannot be multiplied
print(outputs.shape)
