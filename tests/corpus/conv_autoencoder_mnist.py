# cnncalc: --input 1x28x28
# style: a blog-post convolutional autoencoder on MNIST (encoder/decoder Sequentials, ConvTranspose2d with output_padding, training loop)
# truth: model=model input=1x1x28x28
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

num_epochs = 5
batch_size = 128
learning_rate = 1e-3

transform = transforms.Compose([transforms.ToTensor()])
dataset = datasets.MNIST('./data', train=True, download=True, transform=transform)
dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=True)


class Autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),   # 16 x 14 x 14
            nn.ReLU(True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),  # 32 x 7 x 7
            nn.ReLU(True),
            nn.Conv2d(32, 64, 7),                       # 64 x 1 x 1
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 7),                                        # 32 x 7 x 7
            nn.ReLU(True),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),  # 16 x 14 x 14
            nn.ReLU(True),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),   # 1 x 28 x 28
            nn.Sigmoid(),
        )

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z)


device = 'cuda' if torch.cuda.is_available() else 'cpu'
model = Autoencoder().to(device)
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=1e-5)

outputs = []
for epoch in range(num_epochs):
    for img, _ in dataloader:
        img = img.to(device)
        recon = model(img)
        loss = criterion(recon, img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f'Epoch:{epoch + 1}, Loss:{loss.item():.4f}')
    outputs.append((epoch, img, recon))
