"""The Keras MNIST CNN with dropout: validation, early stopping, best checkpoint, report.

Teaches: how to tell when to stop training. A part of the training data is held out for
validation; after every epoch the loss on it is measured. Training loss keeps falling, but once
validation loss stops falling the net is learning the training images rather than digits, so
training stops (early stopping, patience 2), and the weights of the best validation epoch are the
ones kept and saved (Keras' ModelCheckpoint(save_best_only=True)). The saved model is then loaded
back from disk and judged on the test set: accuracy, per-class precision / recall / F1 and the
confusion matrix.

Quick mode (default): 1,500 training images (10% of them for validation), up to 12 epochs,
1,000 test images; under a minute. --full: all 60,000 (6,000 for validation), up to 12 epochs,
the whole test set. MNIST is read from $CNNCALC_DATA/mnist (--download fetches it).

Run:  python examples/05_keras_mnist_dropout.py [--full] [--out DIR] [--dataset fashion-mnist]
Writes: DIR/05_loss_curves.png and DIR/05_best_model.npz (DIR defaults to examples/output/)
"""

from rich.console import Console

import _common
import minigrad
from cnncalc.render import classification_table, confusion_table
from minigrad.tools.build import build_model
from minigrad.tools.data import DataLoader
from minigrad.tools.metrics import classification_report
from minigrad.tools.modelfile import load_model, save_model
from minigrad.engine.optim import Adam
from minigrad.readers import load_spec
from minigrad.tools.train import Trainer, evaluate

args = _common.parse_args(__doc__, _common.add_dataset_option)
plt = _common.pyplot()
_common.one_blas_thread()
train_all, test = _common.load_or_skip(args.dataset, args.download)
n_train, n_test, batch_size = (60_000, 10_000, 128) if args.full else (1_500, 1_000, 32)
train, validation = train_all.subset(n_train).split(0.1, seed=0)
test = test.subset(n_test)
print(f"{len(train):,} training, {len(validation):,} validation, {len(test):,} test images "
      f"({train.name})")

minigrad.manual_seed(0)
spec = load_spec("mnist-cnn-dropout")
model = build_model(spec.graph)
print(f"{spec.name}: {sum(p.data.size for p in model.parameters()):,} parameters")
trainer = Trainer(model, Adam(model.parameters(), lr=1e-3),
                  DataLoader(train, batch_size=batch_size, shuffle=True, seed=0),
                  epochs=12, validation=validation, early_stopping=2)


def report_epoch(stats):
    print(f"epoch {stats.epoch:2d}  loss {stats.loss:.4f}  accuracy {stats.accuracy:.4f}  "
          f"val_loss {stats.val_loss:.4f}  val_accuracy {stats.val_accuracy:.4f}  "
          f"{stats.seconds:.1f}s")


state = trainer.fit(on_epoch=report_epoch)  # ends with the best epoch's weights in the model
history = state.history
stopped_early = len(history) < trainer.epochs
if stopped_early:
    print(f"early stopping: val_loss has not improved for {trainer.early_stopping} epochs "
          f"(lowest at epoch {min(history, key=lambda s: s.val_loss).epoch})")
print(f"best val_accuracy {state.best_val_accuracy:.4f} at epoch {state.best_epoch}: "
      "those weights are kept")

checkpoint = args.out / "05_best_model.npz"
save_model(checkpoint, model, spec, meta={"dataset": args.dataset, "classes": list(train.classes)})
_common.saved(checkpoint)

# --- Loss and accuracy curves, with the kept epoch marked. -------------------------------------
epochs = [s.epoch for s in history]
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, metric in zip(axes, ("loss", "accuracy")):
    ax.plot(epochs, [getattr(s, metric) for s in history], "o-", label="training")
    ax.plot(epochs, [getattr(s, f"val_{metric}") for s in history], "s--", label="validation")
    ax.axvline(state.best_epoch, color="grey", linestyle=":", label="best epoch (saved)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_xticks(epochs)
    ax.grid(alpha=0.3)
    ax.legend()
fig.suptitle(f"{spec.name} on {len(train):,} {train.name} images"
             + (f", stopped early after epoch {epochs[-1]}" if stopped_early else ""))
fig.tight_layout()
path = args.out / "05_loss_curves.png"
fig.savefig(path, dpi=100)
_common.saved(path)

# --- The checkpoint, loaded back from disk, on the test set. ----------------------------------
loaded = load_model(checkpoint)
result = evaluate(loaded.model, test)
print(f"\ntest accuracy {result.accuracy:.4f}  loss {result.loss:.4f}  "
      f"on {len(test):,} test images (model read back from {checkpoint.name})")
scores = classification_report(test.y, result.predictions, loaded.classes)
console = Console(width=100)
console.print(classification_table(scores, "classification report"))
console.print(confusion_table(scores.confusion, loaded.classes))
