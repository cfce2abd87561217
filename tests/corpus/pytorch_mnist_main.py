# cnncalc: --input 1x28x28
# style: pytorch/examples-like mnist main.py (argparse, train/evaluate functions, model built in main)
# truth: model=MnistNet input=1x1x28x28
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torchvision import datasets, transforms


class MnistNet(nn.Module):
    """Two 3x3 convolutions, one pooling step, dropout, two dense layers."""

    def __init__(self, hidden=128, classes=10):
        super().__init__()
        self.conv_a = nn.Conv2d(1, 32, kernel_size=3, stride=1)
        self.conv_b = nn.Conv2d(32, 64, kernel_size=3, stride=1)
        self.drop_conv = nn.Dropout(p=0.25)
        self.drop_fc = nn.Dropout(p=0.5)
        self.hidden = nn.Linear(12 * 12 * 64, hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.relu(self.conv_a(x))
        x = F.relu(self.conv_b(x))
        x = F.max_pool2d(x, kernel_size=2)
        x = self.drop_conv(x)
        x = torch.flatten(x, start_dim=1)
        x = F.relu(self.hidden(x))
        x = self.drop_fc(x)
        return F.log_softmax(self.head(x), dim=1)


def run_epoch(model, loader, optimizer, device, epoch, log_every):
    model.train()
    for step, (images, labels) in enumerate(loader):
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(images), labels)
        loss.backward()
        optimizer.step()
        if step % log_every == 0:
            print(f"epoch {epoch} step {step:4d} loss {loss.item():.4f}")


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    total_loss, hits = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        scores = model(images)
        total_loss += F.nll_loss(scores, labels, reduction="sum").item()
        hits += (scores.argmax(dim=1) == labels).sum().item()
    n = len(loader.dataset)
    print(f"test: loss {total_loss / n:.4f}, accuracy {hits}/{n} ({100.0 * hits / n:.1f}%)")


def main():
    parser = argparse.ArgumentParser(description="MNIST convnet")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--no-cuda", action="store_true", default=False)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=10)
    parser.add_argument("--save-model", action="store_true", default=False)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    use_cuda = torch.cuda.is_available() and not args.no_cuda
    device = torch.device("cuda" if use_cuda else "cpu")

    to_tensor = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST("../data", train=True, download=True, transform=to_tensor)
    test_set = datasets.MNIST("../data", train=False, transform=to_tensor)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size,
                                               shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=args.test_batch_size)

    model = MnistNet().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        run_epoch(model, train_loader, optimizer, device, epoch, args.log_interval)
        evaluate(model, test_loader, device)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")


if __name__ == "__main__":
    main()
