# cnncalc: --model netG
# style: pytorch/examples-like DCGAN script (argparse, Generator and Discriminator in one file, weights init)
# truth: model=netG input=1x100x1x1
import argparse
import os
import random

import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data
import torchvision.datasets as dset
import torchvision.transforms as T
import torchvision.utils as vutils

p = argparse.ArgumentParser(description="DCGAN on a folder of face images")
p.add_argument("--dataroot", default="./faces", help="folder of images")
p.add_argument("--workers", type=int, default=2)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--image-size", type=int, default=64)
p.add_argument("--nz", type=int, default=100, help="length of the latent vector")
p.add_argument("--ngf", type=int, default=64, help="generator width")
p.add_argument("--ndf", type=int, default=64, help="discriminator width")
p.add_argument("--epochs", type=int, default=1)
p.add_argument("--lr", type=float, default=2e-4)
p.add_argument("--beta1", type=float, default=0.5)
p.add_argument("--ngpu", type=int, default=1)
p.add_argument("--out", default="samples")
p.add_argument("--seed", type=int, default=None)
args = p.parse_args()

os.makedirs(args.out, exist_ok=True)
seed = args.seed if args.seed is not None else random.randint(1, 10000)
random.seed(seed)
torch.manual_seed(seed)

faces = dset.ImageFolder(root=args.dataroot, transform=T.Compose([
    T.Resize(args.image_size),
    T.CenterCrop(args.image_size),
    T.ToTensor(),
    T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
]))
loader = torch.utils.data.DataLoader(faces, batch_size=args.batch_size, shuffle=True,
                                     num_workers=args.workers)
device = torch.device("cuda:0" if torch.cuda.is_available() and args.ngpu > 0 else "cpu")

nz, ngf, ndf = args.nz, args.ngf, args.ndf
nc = 3  # colour images


def init_weights(m):
    kind = type(m).__name__
    if "Conv" in kind:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in kind:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super().__init__()
        self.ngpu = ngpu
        self.net = nn.Sequential(
            # z: nz x 1 x 1  ->  (ngf*8) x 4 x 4
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # -> (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # -> (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # -> ngf x 32 x 32
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # -> nc x 64 x 64
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super().__init__()
        self.ngpu = ngpu
        self.net = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),           # 32 x 32
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),      # 16 x 16
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),  # 8 x 8
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),  # 4 x 4
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),        # 1 x 1
            nn.Sigmoid(),
        )

    def forward(self, img):
        return self.net(img).view(-1, 1).squeeze(1)


netG = Generator(args.ngpu).to(device)
netG.apply(init_weights)
netD = Discriminator(args.ngpu).to(device)
netD.apply(init_weights)
print(netG)
print(netD)

bce = nn.BCELoss()
fixed_z = torch.randn(64, nz, 1, 1, device=device)
optD = optim.Adam(netD.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
optG = optim.Adam(netG.parameters(), lr=args.lr, betas=(args.beta1, 0.999))

for epoch in range(args.epochs):
    for i, (real, _) in enumerate(loader):
        real = real.to(device)
        b = real.size(0)
        ones = torch.ones(b, device=device)
        zeros = torch.zeros(b, device=device)

        # discriminator step: real images -> 1, generated -> 0
        netD.zero_grad()
        loss_real = bce(netD(real), ones)
        fake = netG(torch.randn(b, nz, 1, 1, device=device))
        loss_fake = bce(netD(fake.detach()), zeros)
        (loss_real + loss_fake).backward()
        optD.step()

        # generator step: make the discriminator say 1
        netG.zero_grad()
        loss_g = bce(netD(fake), ones)
        loss_g.backward()
        optG.step()

        if i % 50 == 0:
            print(f"[{epoch}/{args.epochs}][{i}/{len(loader)}] "
                  f"D {(loss_real + loss_fake).item():.3f} G {loss_g.item():.3f}")
    with torch.no_grad():
        vutils.save_image(netG(fixed_z), f"{args.out}/fake_{epoch:03d}.png", normalize=True)
    torch.save(netG.state_dict(), f"{args.out}/netG_{epoch}.pth")
