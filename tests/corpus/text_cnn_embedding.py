# cnncalc: --input 120
# style: Kim-2014 sentence CNN as repositories write it (Embedding, permute, ModuleList of Conv1d, max over time, torch.cat)
# truth: model=model input=1x120:long
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB_SIZE = 20000
EMBED_DIM = 128
KERNEL_SIZES = [3, 4, 5]
NUM_FILTERS = 100
NUM_CLASSES = 2
MAX_LEN = 120


class TextCNN(nn.Module):
    def __init__(self, vocab_size, embed_dim, kernel_sizes, num_filters, num_classes,
                 dropout=0.5, padding_idx=0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList([
            nn.Conv1d(embed_dim, num_filters, k) for k in kernel_sizes
        ])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(num_filters * len(kernel_sizes), num_classes)

    def forward(self, tokens):
        x = self.embedding(tokens)          # (batch, len, embed)
        x = x.permute(0, 2, 1)              # (batch, embed, len) for Conv1d
        pooled = []
        for conv in self.convs:
            c = F.relu(conv(x))
            pooled.append(F.max_pool1d(c, c.size(2)).squeeze(2))
        x = torch.cat(pooled, dim=1)
        x = self.dropout(x)
        return self.fc(x)


model = TextCNN(VOCAB_SIZE, EMBED_DIM, KERNEL_SIZES, NUM_FILTERS, NUM_CLASSES)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

fake_batch = torch.randint(0, VOCAB_SIZE, (8, MAX_LEN))
fake_labels = torch.randint(0, NUM_CLASSES, (8,))
for step in range(2):
    optimizer.zero_grad()
    loss = loss_fn(model(fake_batch), fake_labels)
    loss.backward()
    optimizer.step()
