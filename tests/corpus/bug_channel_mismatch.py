# cnncalc: --input 3x32x32
# style: a learner's first CNN where conv2 expects 32 input channels but conv1 gives 16
# truth: model=SimpleCNN input=1x3x32x32 expect=16,32
import torch
import torch.nn as nn


class SimpleCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=3),   # should be 16 -> 64
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(64 * 14 * 14, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


model = SimpleCNN()
print(model)
