# cnncalc:
# style: a Kaggle-kernel-like CIFAR-10 script that calls torchsummary's summary(model, (3, 32, 32)) and trains with a device
# truth: model=model input=1x3x32x32
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms
from torchsummary import summary

SEED = 42
BATCH_SIZE = 128
EPOCHS = 3
LR = 0.01

torch.manual_seed(SEED)
np.random.seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print("Using", device)

mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
train_tf = transforms.Compose([
    transforms.RandomCrop(32, padding=4),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize(mean, std),
])
test_tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
train_ds = torchvision.datasets.CIFAR10("data", train=True, download=True, transform=train_tf)
test_ds = torchvision.datasets.CIFAR10("data", train=False, download=True, transform=test_tf)
train_dl = torch.utils.data.DataLoader(train_ds, BATCH_SIZE, shuffle=True, num_workers=4,
                                       pin_memory=True)
test_dl = torch.utils.data.DataLoader(test_ds, BATCH_SIZE * 2, num_workers=4)


def conv_block(cin, cout, pool=False):
    layers = [nn.Conv2d(cin, cout, kernel_size=3, padding=1), nn.BatchNorm2d(cout),
              nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(conv_block(channels, channels), conv_block(channels, channels))

    def forward(self, x):
        return x + self.body(x)


model = nn.Sequential(
    conv_block(3, 64),
    conv_block(64, 128, pool=True),
    Residual(128),
    conv_block(128, 256, pool=True),
    conv_block(256, 512, pool=True),
    Residual(512),
    nn.AdaptiveMaxPool2d(1),
    nn.Flatten(),
    nn.Dropout(0.2),
    nn.Linear(512, 10),
).to(device)

summary(model, (3, 32, 32))

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=5e-4)
scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, epochs=EPOCHS,
                                          steps_per_epoch=len(train_dl))

for epoch in range(EPOCHS):
    start = time.time()
    model.train()
    for xb, yb in train_dl:
        xb, yb = xb.to(device), yb.to(device)
        loss = criterion(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in test_dl:
            correct += (model(xb.to(device)).argmax(1) == yb.to(device)).sum().item()
    print(f"epoch {epoch}: acc {correct / len(test_ds):.3f} ({time.time() - start:.0f}s)")
