"""Train SimpleConvNet on MNIST and watch train and test accuracy rise.

Teaches: a full training loop (mini-batches, forward, cross-entropy loss, backward, Adam step)
with minigrad, and how to read a learning curve: train accuracy measured on the batches seen so
far, test accuracy on images the network never trained on.

Quick mode (default): 5,000 training images, 1 epoch, test accuracy on 1,000 test images measured
5 times during the epoch (about 5 s). --full: 60,000 images, 3 epochs, the whole test set.
MNIST is read from $CNNCALC_DATA/mnist (--download fetches it); without it the example says so
and exits. --dataset shapes uses synthetic triangles/squares/circles instead (no download).

Run:  python examples/04_simple_convnet_mnist.py [--full] [--out DIR] [--dataset shapes]
Writes: DIR/04_accuracy_curve.png (DIR defaults to examples/output/)
"""

import numpy as np

import _common
import minigrad
import minigrad.engine.functional as F
from minigrad import Tensor
from minigrad.tools.build import build_model
from minigrad.tools.data import ArrayDataset, DataLoader
from minigrad.engine.optim import Adam
from minigrad.readers import load_spec
from minigrad.tools.train import evaluate

args = _common.parse_args(__doc__, _common.add_dataset_option)
plt = _common.pyplot()
_common.one_blas_thread()
train, test = _common.load_or_skip(args.dataset, args.download)
n_train, n_test, epochs, checks = (60_000, 10_000, 3, 3) if args.full else (5_000, 1_000, 1, 5)
train = ArrayDataset(train.x[:n_train], train.y[:n_train], train.classes, train.name)
test = ArrayDataset(test.x[:n_test], test.y[:n_test], test.classes, test.name)

minigrad.manual_seed(0)                      # same initial weights every run
model = build_model(load_spec("simple-convnet").graph)
optimizer = Adam(model.parameters(), lr=1e-3)
loader = DataLoader(train, batch_size=50, shuffle=True, seed=0)
check_every = max(len(loader) // checks, 1)  # batches between test measurements

points = []                                  # (epochs done, train accuracy, test accuracy)
for epoch in range(epochs):
    correct = seen = 0
    for step, (x, y) in enumerate(loader.batches(epoch), start=1):
        logits = model(Tensor(x))
        loss = F.cross_entropy(logits, y)    # softmax + negative log-likelihood
        optimizer.zero_grad()
        loss.backward()                      # gradients of the loss for every weight
        optimizer.step()                     # move the weights a little downhill
        correct += int((logits.data.argmax(axis=1) == y).sum())
        seen += len(y)
        if step % check_every == 0 or step == len(loader):
            test_acc = evaluate(model, test).accuracy
            done = epoch + step / len(loader)
            points.append((done, correct / seen, test_acc))
            print(f"epoch {done:5.2f}  batch loss {loss.item():.4f}  train accuracy {correct / seen:.4f}"
                  f"  test accuracy {test_acc:.4f}")

done, train_acc, test_acc = np.array(points).T
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(done, train_acc, "o-", label="train (running mean over the epoch)")
ax.plot(done, test_acc, "s-", label=f"test ({len(test):,} images)")
ax.set_xlabel("epochs of training")
ax.set_ylabel("accuracy")
ax.set_title(f"SimpleConvNet on {train.name}, {len(train):,} training images")
ax.grid(alpha=0.3)
ax.legend(loc="lower right")
fig.tight_layout()
path = args.out / "04_accuracy_curve.png"
fig.savefig(path, dpi=100)
_common.saved(path)
print(f"final test accuracy {test_acc[-1]:.4f}")
