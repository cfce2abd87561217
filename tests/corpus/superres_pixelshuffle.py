# cnncalc: --input 1x64x64
# style: pytorch/examples-like super_resolution (argparse upscale factor, out channels upscale_factor ** 2, PixelShuffle)
# truth: model=model input=1x1x64x64
import argparse
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim

parser = argparse.ArgumentParser(description='Sub-pixel super resolution')
parser.add_argument('--upscale_factor', type=int, default=3, help="super resolution upscale factor")
parser.add_argument('--batchSize', type=int, default=64, help='training batch size')
parser.add_argument('--nEpochs', type=int, default=2, help='number of epochs to train for')
parser.add_argument('--lr', type=float, default=0.01, help='Learning Rate. Default=0.01')
parser.add_argument('--cuda', action='store_true', help='use cuda?')
parser.add_argument('--seed', type=int, default=123, help='random seed to use. Default=123')
opt = parser.parse_args()


class SubPixelNet(nn.Module):
    """Works at low resolution; the last conv makes r*r channels that PixelShuffle tiles into an r-times larger image."""

    def __init__(self, upscale_factor, channels=1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 64, kernel_size=5, padding=2), nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 32, kernel_size=3, padding=1), nn.ReLU(),
        )
        self.to_subpixels = nn.Conv2d(32, channels * upscale_factor ** 2, kernel_size=3, padding=1)
        self.shuffle = nn.PixelShuffle(upscale_factor)
        for m in self.body:
            if isinstance(m, nn.Conv2d):
                init.orthogonal_(m.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.to_subpixels.weight)

    def forward(self, x):
        return self.shuffle(self.to_subpixels(self.body(x)))


torch.manual_seed(opt.seed)
device = torch.device("cuda" if opt.cuda else "cpu")
print('===> Building model')
model = SubPixelNet(upscale_factor=opt.upscale_factor).to(device)
criterion = nn.MSELoss()
optimizer = optim.Adam(model.parameters(), lr=opt.lr)

for epoch in range(1, opt.nEpochs + 1):
    low = torch.rand(4, 1, 32, 32, device=device)
    high = torch.rand(4, 1, 32 * opt.upscale_factor, 32 * opt.upscale_factor, device=device)
    optimizer.zero_grad()
    loss = criterion(model(low), high)
    loss.backward()
    optimizer.step()
    print(f"===> Epoch {epoch}: loss {loss.item():.4f}")
