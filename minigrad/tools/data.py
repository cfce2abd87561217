"""Datasets as arrays, and the loader that cuts them into (shuffled) mini-batches.

    train = ArrayDataset(x, y, classes=("cat", "dog"))       # x: (N, C, H, W), y: (N,)
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True).batches(epoch):
        ...

`Augmentation` makes every batch a little different (random shifts, and mirror images where the
dataset allows them): DataLoader(train, 64, shuffle=True, augment=Augmentation(flip=True)).

Also the two file readers the datasets are made from: `read_idx` for MNIST's IDX files and
`load_npz_dataset` for your own images saved with `np.savez`. Every problem with the data raises
`DataError`, whose message says what is wrong and in which file.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from minigrad.text import printable
from minigrad.tools.npzcheck import ArchiveError, NotAnArchive, SingleArray, open_npz


class DataError(ValueError):
    """Data that cannot be found, read or used; the message says what and where."""


# ---------------------------------------------------------------------------------------------
# ArrayDataset: samples held in memory.
# ---------------------------------------------------------------------------------------------

class ArrayDataset:
    """Images and their labels, all in memory.

    x: (N, C, H, W) float32, y: (N,) int64 class indices into `classes`.
    `normalization` records how 8-bit pixels were turned into x ("x / 255", or "none" for data
    that came as floats), so images given to a trained model later can be treated the same way.
    """

    def __init__(self, x, y, classes, name: str = "data", normalization: str = "none"):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.asarray(y)
        if x.ndim != 4:
            raise DataError(f"{name}: x must be (N, C, H, W), got shape {x.shape}")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{name}: y must be ({len(x)},) to match x, got shape {y.shape}")
        if len(y) and not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{name}: labels must be integers, got dtype {y.dtype}")
        self.classes = tuple(str(c) for c in classes)
        if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
            raise DataError(f"{name}: labels must be in 0..{len(self.classes) - 1} "
                            f"({len(self.classes)} classes), found {y.min()}..{y.max()}")
        self.x = x
        self.y = y.astype(np.int64)
        self.name = name
        self.normalization = normalization

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        """(x[i], y[i]): one image (C, H, W) and its label."""
        return self.x[i], self.y[i]

    def __repr__(self) -> str:
        shape = "×".join(str(d) for d in self.sample_shape)
        return (f"ArrayDataset({self.name!r}, {len(self)} samples of {shape}, "
                f"{self.num_classes} classes)")

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _take(self, index) -> ArrayDataset:
        return ArrayDataset(self.x[index], self.y[index], self.classes, self.name,
                            self.normalization)

    def subset(self, n: int) -> ArrayDataset:
        """The first n samples (all of them when n >= len)."""
        if n < 0:
            raise DataError(f"{self.name}: cannot take {n} samples")
        return self._take(slice(0, n))

    def split(self, fraction: float, seed: int = 0) -> tuple[ArrayDataset, ArrayDataset]:
        """(rest, held_out): a random `fraction` of the samples held out, e.g. for validation.

        The same seed always gives the same split; the two parts are disjoint and together are
        the whole dataset. Both keep the original order of their samples.
        """
        held = round(len(self) * fraction)
        if not 0 < fraction < 1 or not 0 < held < len(self):
            raise DataError(f"{self.name}: cannot hold out a fraction {fraction} of "
                            f"{len(self)} samples (both parts need at least one)")
        order = np.random.default_rng(seed).permutation(len(self))
        return self._take(np.sort(order[held:])), self._take(np.sort(order[:held]))


# ---------------------------------------------------------------------------------------------
# Augmentation: shifted (and mirrored) copies of a batch.
# ---------------------------------------------------------------------------------------------

# Whether a left-right mirror image still shows its class. A flipped shoe, shirt or bag is still
# one, and so is a flipped triangle; a flipped 2 is not a 2 (and a flipped 7 is no digit), so
# MNIST is never flipped. Datasets from .npz files are not flipped: only their author knows.
FLIP_ALLOWED = {"shapes": True, "mnist": False, "fashion-mnist": True}


def flip_allowed(dataset: str) -> bool:
    """Whether `dataset` (a name as `load_dataset` takes it, or a file) may be mirrored."""
    return FLIP_ALLOWED.get(str(dataset).lower().replace("_", "-"), False)


def shift_images(x: np.ndarray, dy: np.ndarray, dx: np.ndarray,
                 flip: np.ndarray | None = None) -> np.ndarray:
    """Image i of x (B, C, H, W) moved down by dy[i] and right by dx[i] pixels (negative: up,
    left), after mirroring it left-right where flip[i]. Pixels moved in from outside are 0.

    out[i, c, y, x'] = image[i, c, y - dy[i], x' - dx[i]], or 0 where that is outside.
    One gather for the whole batch: pad every image by the largest shift, then read each image's
    rows and columns at its own offset (a mirror reads its columns backwards).
    """
    if x.ndim != 4 or dy.shape != (len(x),) or dx.shape != (len(x),) \
            or (flip is not None and flip.shape != (len(x),)):
        raise ValueError(f"shift_images: x must be (B, C, H, W) and dy, dx, flip (B,), got x "
                         f"{x.shape}, dy {dy.shape}, dx {dx.shape}"
                         + (f", flip {flip.shape}" if flip is not None else ""))
    batch, channels, height, width = x.shape
    pad = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    rows = pad - dy[:, None] + np.arange(height)                # (B, H) rows of `padded`
    columns = pad - dx[:, None] + np.arange(width)              # (B, W)
    if flip is not None:
        # the padding is the same on both sides, so mirroring the padded image mirrors the image
        columns = np.where(flip[:, None], width + 2 * pad - 1 - columns, columns)
    return padded[np.arange(batch)[:, None, None, None], np.arange(channels)[None, :, None, None],
                  rows[:, None, :, None], columns[:, None, None, :]]


class Augmentation:
    """Random changes to training images that keep their class, drawn anew for every batch:
    a shift of up to `max_shift` pixels along each axis (zero fill), and with flip=True a
    left-right mirror image for half of them (see FLIP_ALLOWED).

    Every draw comes from the generator it is given (the loader's, seeded per batch), so the
    same seed gives the same images. The flips are drawn even when not used, so turning
    flips on or off does not change the shifts.
    """

    def __init__(self, max_shift: int = 2, flip: bool = False):
        if max_shift < 0:
            raise DataError(f"augmentation: max_shift must be >= 0, got {max_shift}")
        self.max_shift = max_shift
        self.flip = flip

    def __repr__(self) -> str:
        return f"Augmentation(max_shift={self.max_shift}, flip={self.flip})"

    def __call__(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """A changed copy of the batch x (B, C, H, W)."""
        dy, dx = generator.integers(-self.max_shift, self.max_shift, size=(2, len(x)),
                                    endpoint=True)
        mirrored = generator.random(len(x)) < 0.5
        return shift_images(x, dy, dx, mirrored if self.flip else None)


# ---------------------------------------------------------------------------------------------
# DataLoader: mini-batches, reproducibly shuffled per epoch.
# ---------------------------------------------------------------------------------------------

class DataLoader:
    """Mini-batches of a dataset: `batches(epoch)` yields (x, y) with x (B, C, H, W), y (B,).

    With shuffle=True the order of an epoch is np.random.default_rng([seed, epoch]).permutation(N):
    it depends on nothing else (not on the shared minigrad.engine.rng generator that dropout draws from),
    so any epoch can be replayed exactly, and a resumed run sees the batches it would have seen.
    The last batch is smaller when N is not a multiple of batch_size, unless drop_last=True.

    augment: an Augmentation applied to every batch, drawing from
    np.random.default_rng(SeedSequence([seed, epoch], spawn_key=(batch,))): a stream of its own
    for each batch (the shuffle's stream is the parent, with no spawn key), so a resumed run
    augments batch b exactly as an uninterrupted one does.
    """

    def __init__(self, dataset: ArrayDataset, batch_size: int = 32, shuffle: bool = False,
                 seed: int = 0, drop_last: bool = False, augment: Augmentation | None = None):
        if batch_size < 1:
            raise DataError(f"batch size must be at least 1, got {batch_size}")
        if seed < 0:
            raise DataError(f"shuffle seed must be >= 0, got {seed}")
        if drop_last and 0 < len(dataset) < batch_size:
            raise DataError(f"{dataset.name}: {len(dataset)} samples are fewer than one batch of "
                            f"{batch_size}, and drop_last would leave no batch at all")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.augment = augment

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def order(self, epoch: int = 0) -> np.ndarray:
        """The sample indices of an epoch, in the order the batches take them."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def batches(self, epoch: int = 0, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches of `epoch`, skipping the first `start` of them (to resume mid-epoch)."""
        if epoch < 0:
            raise DataError(f"epoch must be >= 0, got {epoch}")
        if not 0 <= start <= len(self):
            raise DataError(f"cannot start at batch {start}: an epoch has {len(self)} batches")
        x, y, size = self.dataset.x, self.dataset.y, self.batch_size
        order = self.order(epoch) if self.shuffle else None
        for b in range(start, len(self)):
            if order is None:
                # In order: slices are views, no copying.
                xb, yb = x[b * size:(b + 1) * size], y[b * size:(b + 1) * size]
            else:
                index = order[b * size:(b + 1) * size]
                xb, yb = x[index], y[index]
            if self.augment is not None:
                xb = self.augment(xb, self.batch_generator(epoch, b))
            yield xb, yb

    def batch_generator(self, epoch: int, batch: int) -> np.random.Generator:
        """The random numbers of one batch's augmentation (see the class docstring)."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, epoch],
                                                            spawn_key=(batch,)))

    def __iter__(self):
        return self.batches(0)


# ---------------------------------------------------------------------------------------------
# IDX files (MNIST, Fashion-MNIST).
# ---------------------------------------------------------------------------------------------

# The third byte of an IDX magic number: the element type. Data are big-endian.
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the format of MNIST's files), gzipped or not.

    Layout: magic number [0, 0, type code, ndim], then ndim big-endian uint32 sizes, then the
    elements, big-endian, row-major. MNIST images are (N, 28, 28) uint8, labels (N,) uint8.
    Returns a writable array in native byte order.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"file {path}: cannot read it ({e.strerror or e})") from None
    # Recognise gzip by its magic bytes, whatever the file is called.
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"file {path}: damaged or truncated gzip data ({e})") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES or data[3] == 0:
        raise DataError(f"file {path}: not an IDX file (magic bytes {data[:4].hex()}, expected "
                        f"0000 then a type code and the number of dimensions, e.g. 00000803)")
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"file {path}: truncated header ({len(data)} bytes, {ndim} dimensions "
                        f"need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = math.prod(shape) * dtype.itemsize
    present = len(data) - header
    if present != expected:
        raise DataError(f"file {path}: header says {'x'.join(map(str, shape))} = {expected} "
                        f"bytes but {present} are present")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


# ---------------------------------------------------------------------------------------------
# .npz files: your own images.
# ---------------------------------------------------------------------------------------------

MAX_DATASET_BYTES = 2 << 30     # all arrays of a dataset file, unpacked (2 GiB)
MAX_IMAGE_VALUES = 1 << 28      # values in one split's images (1 GiB as float32)
MAX_CLASSES = 100_000           # labels 0..99,999


def load_npz_dataset(path, split: str = "train") -> ArrayDataset:
    """A dataset from an .npz file with arrays `x` and `y` (and optionally `classes`).

    Keras-style files with x_train/y_train and x_test/y_test are read too, taking `split`;
    a file with plain x and y is the same for either split (hold out validation data with
    ArrayDataset.split).

    x: (N, H, W) gets a channel axis; (N, H, W, C) with C 1 or 3 (channels last) is moved to
    (N, C, H, W); anything else 4-D is taken as (N, C, H, W) already. uint8 images (or other
    integers in 0..255) become x / 255 in float32; floats are kept, as float32.
    y: integer class indices. `classes`: an array of class names; without it the classes are
    "0", "1", ... up to the largest training label.

    The whole file is checked before any image is read: the names, shapes and dtypes its
    headers declare for both splits (the test images must be the size of the training images),
    and every label of both splits (the training split decides the classes).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"file {path}: not found")
    try:
        with open_npz(path, MAX_DATASET_BYTES) as archive:
            return _load_npz(path, archive, split)
    except SingleArray:
        raise DataError(f"file {path}: holds a single array (.npy), not arrays x and y") \
            from None
    except NotAnArchive as error:
        raise DataError(f"file {path}: not a readable .npz file ({error})") from None
    except ArchiveError as error:
        raise DataError(f"file {path}: this file is damaged: {error}") from None
    except OSError as error:
        raise DataError(f"file {path}: cannot read it ({error.strerror or error})") from None


def has_test_split(path) -> bool:
    """Whether a dataset file has its own test split (x_test), from its directory alone."""
    try:
        with open_npz(path, MAX_DATASET_BYTES) as archive:
            return "x_test" in archive
    except (ArchiveError, OSError):
        return False


def _load_npz(path: Path, archive, split: str) -> ArrayDataset:
    members = archive.members
    if "x" in members or "y" in members:
        splits = {"train": ("x", "y")}
    else:
        splits = {s: (f"x_{s}", f"y_{s}") for s in ("train", "test")
                  if s == "train" or f"x_{s}" in members or f"y_{s}" in members}
    for x_key, y_key in splits.values():
        for key in (x_key, y_key):
            if key not in members:
                found = ", ".join(sorted(map(printable, members))[:20]) or "none"
                raise DataError(f"file {path}: no array '{key}' (arrays found: {found}); save "
                                f"images as x and labels as y, e.g. np.savez(path, x=images, "
                                f"y=labels)")
    # Headers first: shapes and dtypes of both splits, nothing read yet.
    sample = {}
    for name, (x_key, y_key) in splits.items():
        x, y = members[x_key], members[y_key]
        shape = _nchw_shape(x.shape, f"file {path}: {x_key}")
        if x.count > MAX_IMAGE_VALUES:
            raise DataError(f"file {path}: {x_key} holds {x.count:,} values, more than the "
                            f"{MAX_IMAGE_VALUES:,} cnncalc trains on in memory")
        if not (x.dtype.kind in "iuf"):
            raise DataError(f"file {path}: {x_key} has dtype {x.dtype}; expected uint8 pixels "
                            "or floats")
        if len(y.shape) != 1 or y.shape[0] != shape[0]:
            raise DataError(f"file {path}: {y_key} must have shape ({shape[0]},) to match "
                            f"{x_key}, got {y.shape}")
        if y.dtype.kind not in "iu":
            raise DataError(f"file {path}: {y_key} must hold integer class indices, "
                            f"got dtype {y.dtype}")
        sample[name] = shape[1:]
    if "test" in sample and sample["test"] != sample["train"]:
        raise DataError(f"file {path}: the test images (x_test) are "
                        f"{'×'.join(map(str, sample['test']))} (C×H×W) but the training images "
                        f"are {'×'.join(map(str, sample['train']))}: both splits must be alike")
    # Then the labels of both splits, against the classes.
    classes = _classes(path, archive)
    labels = {}
    for name, (x_key, y_key) in splits.items():
        y = archive.read(y_key)
        if len(y) and y.min() < 0:
            raise DataError(f"file {path}: {y_key} has a negative label ({y.min()})")
        if len(y) and y.max() >= MAX_CLASSES:
            raise DataError(f"file {path}: {y_key} has the label {y.max()}, more than the "
                            f"{MAX_CLASSES:,} classes a dataset may have")
        labels[name] = y
    if classes is None:
        train = labels["train"]
        classes = tuple(str(k) for k in range(int(train.max()) + 1 if len(train) else 0))
    for name, (x_key, y_key) in splits.items():
        y = labels[name]
        if len(y) and y.max() >= len(classes):
            which = "class names" if "classes" in archive else \
                f"classes in the training labels (0..{len(classes) - 1})"
            raise DataError(f"file {path}: {y_key} has label {y.max()} but only "
                            f"{len(classes)} {which}")
    if split not in splits and "x" not in members:
        found = ", ".join(sorted(map(printable, members))[:20])
        raise DataError(f"file {path}: no array 'x_{split}' (arrays found: {found})")
    x_key, y_key = splits.get(split, splits["train"])
    x, normalization = _images_to_nchw(archive.read(x_key), f"file {path}: {x_key}")
    return ArrayDataset(x, labels[split if split in labels else "train"], classes,
                        name=path.stem, normalization=normalization)


def _classes(path: Path, archive) -> tuple[str, ...] | None:
    """The class names a file gives (shown on terminals: control characters escaped)."""
    if "classes" not in archive:
        return None
    member = archive.members["classes"]
    if len(member.shape) != 1 or member.dtype.kind not in "US":
        raise DataError(f"file {path}: classes must be a 1-D array of strings, "
                        f"got {member.dtype} {member.shape}")
    if member.shape[0] > MAX_CLASSES or member.dtype.itemsize > 4 * 1000:
        raise DataError(f"file {path}: classes holds more than {MAX_CLASSES:,} names or a "
                        "name of more than 1,000 characters")
    names = archive.read("classes")
    return tuple(printable(n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n))
                 for n in names)


def _nchw_shape(shape: tuple[int, ...], where: str) -> tuple[int, int, int, int]:
    """The (N, C, H, W) shape images of `shape` become (see _images_to_nchw)."""
    if len(shape) == 3:
        shape = (shape[0], 1, *shape[1:])
    elif len(shape) == 4 and shape[3] in (1, 3) and shape[1] not in (1, 3):
        shape = (shape[0], shape[3], shape[1], shape[2])
    elif len(shape) != 4:
        raise DataError(f"{where} must be images (N, H, W), (N, H, W, C) or (N, C, H, W), "
                        f"got shape {shape}")
    if shape[0] == 0:
        raise DataError(f"{where} holds no images")
    if 0 in shape[1:]:
        raise DataError(f"{where} holds images of no pixels (C×H×W "
                        f"{'×'.join(map(str, shape[1:]))})")
    return shape


def _images_to_nchw(x: np.ndarray, where: str) -> tuple[np.ndarray, str]:
    """Images of any accepted layout and type -> ((N, C, H, W) float32, normalization)."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[3] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4:
        raise DataError(f"{where} must be images (N, H, W), (N, H, W, C) or (N, C, H, W), "
                        f"got shape {x.shape}")
    if len(x) == 0:
        raise DataError(f"{where} holds no images")
    if np.issubdtype(x.dtype, np.integer) and x.dtype != np.uint8:
        if x.min() < 0 or x.max() > 255:
            raise DataError(f"{where} has integers in {x.min()}..{x.max()}; expected pixels "
                            f"0..255 (uint8) or floats")
    elif not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{where} has dtype {x.dtype}; expected uint8 pixels or floats")
    if np.issubdtype(x.dtype, np.integer):
        return np.divide(x, 255, dtype=np.float32), "x / 255"
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{where} contains NaN or infinite values")
    return x, "none"
