"""What the first conv layer learns: its filters before and after training, and what they see.

Teaches: a conv layer's filters start as random noise and, by gradient descent alone, turn into
small edge and blob detectors: light on one side and dark on the other, or a light spot. The
feature maps of a digit show where each filter fires (after ReLU, negative responses are gone).
One number measures the change: the correlation between horizontally and vertically neighbouring
weights of a filter is about 0 for noise and clearly positive for smooth, structured filters.

Quick mode (default): SimpleConvNet trained for one epoch on 20,000 MNIST images (a few seconds),
started as the book starts it: every weight drawn from N(0, 0.01²), biases 0. --init he starts
from minigrad's default for relu layers instead: filters 28 times larger at the start, which one
epoch barely reshapes (try it); --init glorot, Keras' default, lies between (5 times). --full:
one epoch on all 60,000 images.
--book-weights: the weights trained and published with the book
"Deep Learning from Scratch" instead (read from $CNNCALC_DATA/dlfs-simple-convnet-params.npz),
whose test accuracy is measured here too.

Run:  python examples/07_what_filters_learn.py [--full] [--init he|glorot] [--book-weights] [--out DIR]
Writes: DIR/07_filters_before_after.png and DIR/07_feature_maps.png (DIR: examples/output/)
"""

import numpy as np

import _common
import minigrad
import minigrad.engine.functional as F
from cnncalc.plots import save_filters
from minigrad import Tensor, no_grad
from minigrad.tools.build import build_model
from minigrad.tools.data import DataLoader
from minigrad.tools.datasets import data_root
from minigrad.engine.optim import Adam
from minigrad.readers import load_spec
from minigrad.tools.train import Trainer, evaluate

BOOK_WEIGHTS = "dlfs-simple-convnet-params.npz"


def add_options(parser):
    _common.add_dataset_option(parser)
    parser.add_argument("--book-weights", action="store_true",
                        help=f"use the book's trained weights ($CNNCALC_DATA/{BOOK_WEIGHTS})")
    parser.add_argument("--init", choices=["book", "he", "glorot"], default="book",
                        help="starting weights: the book's N(0, 0.01²) (default), He (minigrad's "
                             "default for relu layers) or Glorot (Keras' default)")


def neighbour_correlation(filters: np.ndarray) -> float:
    """Mean correlation of each weight with its right and lower neighbours, over all filters.

    filters: (F, C, KH, KW). Near 0 for independent random weights (a little below: the pairs
    overlap), towards 1 for smooth ones.
    """
    pairs = [(filters[..., :, :-1], filters[..., :, 1:]), (filters[..., :-1, :], filters[..., 1:, :])]
    values = [np.corrcoef(a.reshape(len(filters), -1)[i], b.reshape(len(filters), -1)[i])[0, 1]
              for a, b in pairs for i in range(len(filters))]
    return float(np.mean(values))


def book_initialisation(model) -> None:
    """DLFS' SimpleConvNet(weight_init_std=0.01): weights from N(0, 0.01²), biases zero."""
    rng = np.random.default_rng(0)
    model.load_state_dict({name: rng.normal(0, 0.01, value.shape) if name.endswith("weight")
                           else np.zeros_like(value)
                           for name, value in model.state_dict().items()})


def load_book_weights(model) -> None:
    """The book stores affine weights as (in, out); minigrad's Linear, like PyTorch's, as (out, in)."""
    path = data_root() / BOOK_WEIGHTS
    if not path.exists():
        print(f"skipped: {path} is missing (set CNNCALC_DATA to the folder that has it)")
        raise SystemExit(0)
    with np.load(path, allow_pickle=False) as book:
        arrays = {"0.weight": book["W1"], "0.bias": book["b1"], "4.weight": book["W2"].T,
                  "4.bias": book["b2"], "6.weight": book["W3"].T, "6.bias": book["b3"]}
    model.load_state_dict({name: value.astype(np.float32) for name, value in arrays.items()})


args = _common.parse_args(__doc__, add_options)
plt = _common.pyplot()
_common.one_blas_thread()
train, test = _common.load_or_skip(args.dataset, args.download)

minigrad.manual_seed(0)
model = build_model(load_spec("simple-convnet").graph,   # conv 30 5x5, relu, pool, dense...
                    init="he" if args.init == "book" else args.init)
if args.init == "book":
    book_initialisation(model)
conv = model[0]
before = conv.weight.data.copy()
if args.book_weights:
    load_book_weights(model)
    source = "the book's published weights"
else:
    train = train.subset(60_000 if args.full else 20_000)
    Trainer(model, Adam(model.parameters(), lr=1e-3),
            DataLoader(train, batch_size=100, shuffle=True, seed=0), epochs=1).fit()
    source = f"1 epoch on {len(train):,} images"
after = conv.weight.data.copy()
print(f"SimpleConvNet, {source}: test accuracy {evaluate(model, test).accuracy:.4f} "
      f"on {len(test):,} {test.name} test images")
print(f"neighbouring-weight correlation of the {len(after)} filters: "
      f"{neighbour_correlation(before):+.2f} at the start (noise), "
      f"{neighbour_correlation(after):+.2f} after training")

# --- Filters before and after training, each scaled to its own min..max. ---------------------
fig = plt.figure(figsize=(12, 5.6), layout="constrained")
start = {"book": "N(0, 0.01²)", "he": "He initialisation", "glorot": "Glorot initialisation"}[args.init]
# With the book's weights, the random filters are ours: the book's own start is not published.
first = f"random, {start}, for comparison" if args.book_weights else f"at the start: {start}"
for panel, title, filters in zip(fig.subfigures(1, 2, wspace=0.05),
                                 (first, f"after training: {source}"), (before, after)):
    panel.suptitle(title)
    for i, ax in enumerate(panel.subplots(5, 6).ravel()):
        ax.imshow(filters[i, 0], cmap="gray", interpolation="nearest")
        ax.set_title(f"{i}", fontsize=8)
        ax.set_axis_off()
fig.suptitle("SimpleConvNet's 30 first-layer 5x5 filters, each scaled to its own min..max "
             "(light = large weight)", fontsize=13)
path = args.out / "07_filters_before_after.png"
fig.savefig(path, dpi=100)
_common.saved(path)

# --- One digit through the trained filters: conv, then ReLU, as the next layer sees it. -------
digit = test.x[0]                                            # (1, 28, 28)
with no_grad():
    maps = F.relu(F.conv2d(Tensor(digit[None]), conv.weight, conv.bias)).data[0]   # (30, 24, 24)
print(f"test image 0 (a {test.classes[test.y[0]]}): {maps.shape[0]} feature maps of "
      f"{maps.shape[1]}x{maps.shape[2]}; fraction of positions each filter fires at, "
      f"from {(maps > 0).mean(axis=(1, 2)).min():.0%} to {(maps > 0).mean(axis=(1, 2)).max():.0%}")
path = args.out / "07_feature_maps.png"
save_filters(path, after, digit, maps, "conv1", f"{test.name} test image 0", "ReLU")
_common.saved(path)
