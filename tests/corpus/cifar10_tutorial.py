# cnncalc: --input 3x32x32
# style: pytorch/tutorials-like CIFAR-10 classifier walkthrough (pool reused, x.view(-1, 16 * 5 * 5))
# truth: model=net input=1x3x32x32
import torch
import torchvision
import torchvision.transforms as transforms
import matplotlib.pyplot as plt
import numpy as np
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# Load CIFAR-10 and scale every channel to [-1, 1]
normalize = transforms.Compose([
    transforms.ToTensor(),
    transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
])
BATCH = 4
train_data = torchvision.datasets.CIFAR10(root="./data", train=True, download=True,
                                          transform=normalize)
train_loader = torch.utils.data.DataLoader(train_data, batch_size=BATCH, shuffle=True,
                                           num_workers=2)
test_data = torchvision.datasets.CIFAR10(root="./data", train=False, download=True,
                                         transform=normalize)
test_loader = torch.utils.data.DataLoader(test_data, batch_size=BATCH, num_workers=2)
labels_text = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def show(batch):
    grid = torchvision.utils.make_grid(batch) / 2 + 0.5
    plt.imshow(np.transpose(grid.numpy(), (1, 2, 0)))
    plt.show()


images, labels = next(iter(train_loader))
show(images)
print(" ".join(labels_text[int(k)] for k in labels))


# The network: two conv + pool stages, then three fully connected layers
class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


net = SmallNet()
loss_fn = nn.CrossEntropyLoss()
opt = optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)

for epoch in range(2):
    running = 0.0
    for step, (inputs, targets) in enumerate(train_loader):
        opt.zero_grad()
        loss = loss_fn(net(inputs), targets)
        loss.backward()
        opt.step()
        running += loss.item()
        if step % 2000 == 1999:
            print(f"[{epoch + 1}, {step + 1:5d}] loss {running / 2000:.3f}")
            running = 0.0
print("done")
torch.save(net.state_dict(), "./cifar_net.pth")

right = seen = 0
with torch.no_grad():
    for inputs, targets in test_loader:
        guess = net(inputs).argmax(1)
        seen += targets.size(0)
        right += (guess == targets).sum().item()
print(f"accuracy on the test images: {100 * right // seen} %")
