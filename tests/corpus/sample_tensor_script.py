# cnncalc:
# style: a quick shape-check script from a course forum: the model is an inline nn.Sequential and a random batch of 8 is pushed through it
# truth: model=model input=1x3x64x64
import torch
import torch.nn as nn

model = nn.Sequential(
    nn.Conv2d(3, 32, kernel_size=3, stride=1, padding=1),
    nn.BatchNorm2d(32),
    nn.ReLU(),
    nn.MaxPool2d(2),                       # 32 x 32
    nn.Conv2d(32, 64, kernel_size=3, padding=1),
    nn.BatchNorm2d(64),
    nn.ReLU(),
    nn.MaxPool2d(2),                       # 16 x 16
    nn.Conv2d(64, 128, kernel_size=3, padding=1),
    nn.BatchNorm2d(128),
    nn.ReLU(),
    nn.AvgPool2d(4),                       # 4 x 4
    nn.Flatten(),
    nn.Linear(128 * 4 * 4, 256),
    nn.ReLU(),
    nn.Dropout(0.5),
    nn.Linear(256, 6),
)

x = torch.randn(8, 3, 64, 64)
out = model(x)
print(out.shape)  # torch.Size([8, 6])
h = torch.randn(8, 3, 64, 64)
for layer in model:
    h = layer(h)
    print(f"{layer.__class__.__name__:12s} {tuple(h.shape)}")
print(sum(p.numel() for p in model.parameters()))
