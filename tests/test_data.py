"""minigrad.tools.data: ArrayDataset, DataLoader, the IDX reader and .npz datasets.

Oracles: IDX files written here by an independent writer (struct, not the reader's numpy code) and
one spelled out byte by byte; batch orders checked against the documented contract
(np.random.default_rng([seed, epoch]).permutation) and against plain set arithmetic.
"""

from __future__ import annotations

import gzip
import re
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.engine import rng
from minigrad.tools.data import (
    ArrayDataset,
    DataError,
    DataLoader,
    load_npz_dataset,
    read_idx,
)

IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    """The IDX layout: 0, 0, type code, ndim; big-endian uint32 sizes; big-endian elements."""
    code = IDX_CODES[array.dtype.str[1:]]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    fmt = {"u1": "B", "i1": "b", "i2": "h", "i4": "i", "f4": "f", "f8": "d"}[array.dtype.str[1:]]
    body = struct.pack(f">{array.size}{fmt}", *array.ravel().tolist())
    data = header + body
    path.write_bytes(gzip.compress(data) if gz else data)


def dataset(n: int, classes: int = 3, shape=(1, 2, 2)) -> ArrayDataset:
    """n samples whose x holds the sample's own index, so batches can be traced back."""
    x = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones(shape, np.float32)
    return ArrayDataset(x, np.arange(n) % classes, [f"c{k}" for k in range(classes)], "toy")


def indices(batch_x: np.ndarray) -> list[int]:
    return [int(v) for v in batch_x[:, 0, 0, 0]]


# ---------------------------------------------------------------------------------------------
# ArrayDataset
# ---------------------------------------------------------------------------------------------

def test_array_dataset_types_indexing_and_repr():
    data = ArrayDataset(np.zeros((5, 1, 3, 4), np.float64), np.array([0, 1, 2, 1, 0], np.uint8),
                        ["a", "b", "c"], name="toy", normalization="x / 255")
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64
    assert len(data) == 5 and data.sample_shape == (1, 3, 4) and data.num_classes == 3
    x, y = data[3]
    assert x.shape == (1, 3, 4) and y == 1
    assert data.classes == ("a", "b", "c") and data.normalization == "x / 255"
    assert "toy" in repr(data) and "5 samples" in repr(data)


@pytest.mark.parametrize("x, y, classes, words", [
    (np.zeros((4, 2, 2)), np.zeros(4, int), ["a"], "(N, C, H, W)"),
    (np.zeros((4, 1, 2, 2)), np.zeros(3, int), ["a"], "(4,)"),
    (np.zeros((4, 1, 2, 2)), np.zeros(4), ["a"], "integers"),
    (np.zeros((4, 1, 2, 2)), np.array([0, 1, 2, 0]), ["a", "b"], "0..1"),
    (np.zeros((4, 1, 2, 2)), np.array([0, -1, 1, 0]), ["a", "b"], "0..1"),
])
def test_array_dataset_refuses_inconsistent_arrays(x, y, classes, words):
    with pytest.raises(DataError, match=re.escape(words)):
        ArrayDataset(x, y, classes)


def test_subset_takes_the_first_n():
    data = dataset(10)
    assert indices(data.subset(4).x) == [0, 1, 2, 3]
    assert len(data.subset(100)) == 10
    assert data.subset(4).classes == data.classes
    with pytest.raises(DataError):
        data.subset(-1)


@given(n=st.integers(2, 300), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
def test_split_is_a_deterministic_disjoint_partition(n, fraction, seed):
    data = dataset(n)
    held = round(n * fraction)
    if not 0 < held < n:
        with pytest.raises(DataError):
            data.split(fraction, seed)
        return
    rest, val = data.split(fraction, seed)
    a, b = indices(rest.x), indices(val.x)
    assert len(b) == held and len(a) == n - held
    assert sorted(a + b) == list(range(n))
    assert a == sorted(a) and b == sorted(b)                  # original order kept
    assert list(rest.y) == [i % 3 for i in a]                 # labels travel with their images
    again_rest, again_val = data.split(fraction, seed)
    assert indices(again_val.x) == b and indices(again_rest.x) == a


def test_split_depends_on_the_seed_and_refuses_silly_fractions():
    data = dataset(1000)
    assert indices(data.split(0.2, 0)[1].x) != indices(data.split(0.2, 1)[1].x)
    for fraction in (0, 1, -0.5, 1.5):
        with pytest.raises(DataError, match="fraction"):
            data.split(fraction)


# ---------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------

@given(n=st.integers(0, 200), batch_size=st.integers(1, 64), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 10**9), epoch=st.integers(0, 50))
def test_every_sample_once_per_epoch(n, batch_size, shuffle, drop_last, seed, epoch):
    if drop_last and 0 < n < batch_size:
        with pytest.raises(DataError, match="drop_last"):
            DataLoader(dataset(n), batch_size, shuffle, seed, drop_last)
        return
    loader = DataLoader(dataset(n), batch_size, shuffle, seed, drop_last)
    batches = list(loader.batches(epoch))
    assert len(batches) == len(loader)
    sizes = [len(x) for x, _ in batches]
    seen = [i for x, _ in batches for i in indices(x)]
    if drop_last:
        assert len(batches) == n // batch_size and all(s == batch_size for s in sizes)
        assert len(set(seen)) == len(seen) == n - n % batch_size
    else:
        assert len(batches) == -(-n // batch_size)
        assert all(s == batch_size for s in sizes[:-1]) and (not sizes or 0 < sizes[-1])
        assert sorted(seen) == list(range(n))
    for x, y in batches:
        assert list(y) == [i % 3 for i in indices(x)]
    if not shuffle:
        assert seen == list(range(len(seen)))


def test_shuffled_order_is_the_documented_permutation():
    loader = DataLoader(dataset(103), batch_size=10, shuffle=True, seed=7)
    for epoch in (0, 1, 5):
        expected = np.random.default_rng([7, epoch]).permutation(103)
        seen = [i for x, _ in loader.batches(epoch) for i in indices(x)]
        assert seen == list(expected)
    assert [i for x, _ in loader for i in indices(x)] == list(np.random.default_rng([7, 0])
                                                             .permutation(103))


def test_order_is_reproducible_differs_between_epochs_and_seeds():
    def order(seed, epoch):
        loader = DataLoader(dataset(200), batch_size=16, shuffle=True, seed=seed)
        return [i for x, _ in loader.batches(epoch) for i in indices(x)]

    assert order(3, 2) == order(3, 2)
    assert order(3, 0) != order(3, 1) != order(3, 2)
    assert order(3, 0) != order(4, 0)
    assert order(3, 0) != list(range(200))


def test_order_does_not_depend_on_the_shared_generator():
    loader = DataLoader(dataset(50), batch_size=8, shuffle=True, seed=1)
    rng.manual_seed(0)
    first = [indices(x) for x, _ in loader.batches(3)]
    rng.manual_seed(12345)
    rng.generator().random(1000)          # e.g. dropout masks drawn in between
    assert [indices(x) for x, _ in loader.batches(3)] == first


@given(n=st.integers(1, 120), batch_size=st.integers(1, 40), shuffle=st.booleans(),
       epoch=st.integers(0, 9), data=st.data())
def test_start_resumes_where_a_full_epoch_would_be(n, batch_size, shuffle, epoch, data):
    loader = DataLoader(dataset(n), batch_size, shuffle, seed=11)
    start = data.draw(st.integers(0, len(loader)))
    full = [(indices(x), list(y)) for x, y in loader.batches(epoch)]
    resumed = [(indices(x), list(y)) for x, y in loader.batches(epoch, start=start)]
    assert resumed == full[start:]


def test_bad_loader_arguments():
    data = dataset(10)
    with pytest.raises(DataError, match="batch size"):
        DataLoader(data, batch_size=0)
    with pytest.raises(DataError, match="seed"):
        DataLoader(data, seed=-1)
    loader = DataLoader(data, batch_size=4)
    with pytest.raises(DataError, match="3 batches"):
        list(loader.batches(0, start=4))
    with pytest.raises(DataError, match="epoch"):
        list(loader.batches(-1))


# ---------------------------------------------------------------------------------------------
# read_idx
# ---------------------------------------------------------------------------------------------

def test_read_idx_hand_written_bytes(tmp_path):
    # A 2x3 int16 array [[1, -2, 300], [0, 32767, -32768]], big-endian, spelled out.
    raw = (b"\x00\x00\x0b\x02" b"\x00\x00\x00\x02" b"\x00\x00\x00\x03"
           b"\x00\x01\xff\xfe\x01\x2c" b"\x00\x00\x7f\xff\x80\x00")
    (tmp_path / "a.idx").write_bytes(raw)
    array = read_idx(tmp_path / "a.idx")
    assert array.dtype == np.int16 and array.dtype.isnative
    assert array.tolist() == [[1, -2, 300], [0, 32767, -32768]]
    array[0, 0] = 5                                                  # writable


@given(dtype=st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]),
       shape=st.lists(st.integers(0, 5), min_size=1, max_size=4), gz=st.booleans(),
       seed=st.integers(0, 1000))
def test_read_idx_round_trip(tmp_path_factory, dtype, shape, gz, seed):
    generator = np.random.default_rng(seed)
    values = generator.integers(-100, 100, size=shape) if dtype[0] != "u" else \
        generator.integers(0, 256, size=shape)
    array = values.astype(dtype) if dtype[0] != "f" else (values / 7).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / "file"     # no .gz suffix: gzip found by its bytes
    write_idx(path, array, gz=gz)
    got = read_idx(path)
    assert got.shape == array.shape and got.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(got, array)


def test_read_idx_mnist_like_labels_and_images(tmp_path):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    write_idx(tmp_path / "images.gz", images.astype(np.uint8), gz=True)
    write_idx(tmp_path / "labels", np.array([5, 0, 4], np.uint8))
    assert (read_idx(tmp_path / "images.gz") == images).all()
    assert read_idx(tmp_path / "labels").tolist() == [5, 0, 4]


@pytest.mark.parametrize("data, words", [
    (b"", "not an IDX file"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "not an IDX file"),     # first bytes not zero
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "not an IDX file"),     # unknown type code
    (b"\x00\x00\x08\x00", "not an IDX file"),                         # no dimensions
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
    (b"\x00\x00\x08\x03" + struct.pack(">3I", 60000, 28, 28) + bytes(123),
     "header says 60000x28x28 = 47040000 bytes but 123 are present"),
    (b"\x00\x00\x0c\x01" + struct.pack(">I", 2) + bytes(9), "header says 2 = 8 bytes but 9"),
])
def test_read_idx_refuses_bad_files(tmp_path, data, words):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=re.escape(words)) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_refuses_truncated_gzip_and_missing_files(tmp_path):
    packed = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 1000) + bytes(1000))
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="gzip"):
        read_idx(tmp_path / "cut.gz")
    with pytest.raises(DataError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here")


# ---------------------------------------------------------------------------------------------
# load_npz_dataset
# ---------------------------------------------------------------------------------------------

def test_npz_grey_images_get_a_channel_axis_and_are_scaled(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (6, 5, 4)).astype(np.uint8)
    y = np.array([0, 1, 2, 3, 0, 1])
    np.savez(tmp_path / "digits.npz", x=x, y=y)
    data = load_npz_dataset(tmp_path / "digits.npz")
    assert data.x.shape == (6, 1, 5, 4) and data.x.dtype == np.float32
    np.testing.assert_allclose(data.x[:, 0], x / 255.0, rtol=1e-6)
    assert data.y.tolist() == y.tolist() and data.y.dtype == np.int64
    assert data.classes == ("0", "1", "2", "3") and data.normalization == "x / 255"
    assert data.name == "digits"


def test_npz_channels_last_is_moved_first(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (4, 6, 5, 3)).astype(np.uint8)   # N, H, W, C
    np.savez(tmp_path / "rgb.npz", x=x, y=np.zeros(4, np.int32))
    data = load_npz_dataset(tmp_path / "rgb.npz")
    assert data.x.shape == (4, 3, 6, 5)
    for n, c, h, w in [(0, 0, 0, 0), (1, 2, 5, 4), (3, 1, 2, 3), (2, 0, 4, 1)]:
        assert data.x[n, c, h, w] == pytest.approx(x[n, h, w, c] / 255)


def test_npz_channels_first_and_floats_are_kept(tmp_path):
    x = np.random.default_rng(2).normal(size=(5, 3, 8, 8))
    np.savez(tmp_path / "f.npz", x=x, y=np.array([1, 0, 1, 0, 1]),
             classes=np.array(["cat", "dog"]))
    data = load_npz_dataset(tmp_path / "f.npz")
    assert data.x.shape == (5, 3, 8, 8) and data.x.dtype == np.float32
    np.testing.assert_allclose(data.x, x, rtol=1e-6)
    assert data.classes == ("cat", "dog") and data.normalization == "none"


def test_npz_keras_style_splits(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 28, 28), np.uint8),
             y_train=np.array([1, 2, 3]), x_test=np.full((2, 28, 28), 255, np.uint8),
             y_test=np.array([3, 2]))
    train = load_npz_dataset(tmp_path / "mnist.npz", "train")
    test = load_npz_dataset(tmp_path / "mnist.npz", "test")
    assert train.y.tolist() == [1, 2, 3] and test.y.tolist() == [3, 2]
    assert (test.x == 1).all() and test.x.shape == (2, 1, 28, 28)
    assert train.classes == test.classes == ("0", "1", "2", "3")


@pytest.mark.parametrize("test_split, words", [
    (dict(x_test=np.zeros((2, 14, 14), np.uint8), y_test=np.array([0, 1])),
     "the test images (x_test) are 1×14×14 (C×H×W) but the training images are 1×28×28"),
    (dict(x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.array([7, 8])),
     "y_test has label 8 but only 4 classes in the training labels (0..3)"),
    (dict(x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.array([0])),
     "y_test must have shape (2,) to match x_test"),
])
def test_npz_test_split_must_fit_the_training_split(tmp_path, test_split, words):
    """Both splits are checked whichever is asked for, so training never starts on a file whose
    test split would fail after it."""
    np.savez(tmp_path / "d.npz", x_train=np.zeros((3, 28, 28), np.uint8),
             y_train=np.array([1, 2, 3]), **test_split)
    for split in ("train", "test"):
        with pytest.raises(DataError, match=re.escape(words)):
            load_npz_dataset(tmp_path / "d.npz", split)


def test_npz_class_names_reach_no_terminal_raw(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 4, 4), np.uint8), y=np.array([0, 1]),
             classes=np.array(["\x1b[2Jcat", "dog\u202e"]))
    data = load_npz_dataset(tmp_path / "d.npz")
    assert data.classes == ("\\x1b[2Jcat", "dog\\u202e")


@pytest.mark.parametrize("label", [2**40, 10**5])
def test_npz_refuses_a_huge_label_before_making_classes(tmp_path, label):
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 4, 4), np.uint8), y=np.array([0, label]))
    with pytest.raises(DataError, match=f"y has the label {label}, more than the 100,000"):
        load_npz_dataset(tmp_path / "d.npz")


@pytest.mark.parametrize("arrays, words", [
    (dict(x=np.zeros((3, 4, 4), np.uint8)), "no array 'y' (arrays found: x)"),
    (dict(y=np.zeros(3, int)), "no array 'x'"),
    (dict(images=np.zeros((3, 4, 4)), labels=np.zeros(3, int)), "no array 'x_train'"),
    (dict(x=np.zeros((3, 4, 4)), y=np.zeros(2, int)), "y must have shape (3,)"),
    (dict(x=np.zeros((3, 4, 4)), y=np.zeros(3)), "integer class indices"),
    (dict(x=np.zeros((3, 4, 4)), y=np.array([0, -1, 0])), "negative label"),
    (dict(x=np.zeros((3, 4)), y=np.zeros(3, int)), "got shape (3, 4)"),
    (dict(x=np.zeros((0, 4, 4)), y=np.zeros(0, int)), "no images"),
    (dict(x=np.zeros((2, 1, 0, 0), np.uint8), y=np.zeros(2, int)), "images of no pixels"),
    (dict(x=np.full((3, 4, 4), 300), y=np.zeros(3, int)), "0..300"),
    (dict(x=np.array([[[np.nan]]] * 3), y=np.zeros(3, int)), "NaN"),
    (dict(x=np.zeros((3, 4, 4), bool), y=np.zeros(3, int)), "dtype bool"),
    (dict(x=np.zeros((3, 4, 4)), y=np.array([0, 1, 2]), classes=np.array(["a", "b"])),
     "label 2 but only 2 class names"),
    (dict(x=np.zeros((3, 4, 4)), y=np.zeros(3, int), classes=np.array([1, 2])), "strings"),
])
def test_npz_refuses_bad_contents(tmp_path, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=re.escape(words)) as info:
        load_npz_dataset(tmp_path / "bad.npz")
    assert "bad.npz" in str(info.value)


def test_npz_refuses_unreadable_files(tmp_path):
    np.savez(tmp_path / "objects.npz", x=np.array([None, 1], dtype=object), y=np.zeros(2, int))
    with pytest.raises(DataError, match="objects.npz"):
        load_npz_dataset(tmp_path / "objects.npz")                 # would need pickle
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DataError, match="text.npz"):
        load_npz_dataset(tmp_path / "text.npz")
    x = np.random.default_rng(0).normal(size=(100, 8, 8))
    for save in (np.savez, np.savez_compressed):
        save(tmp_path / "whole.npz", x=x, y=np.zeros(100, int))
        packed = (tmp_path / "whole.npz").read_bytes()
        for cut in (len(packed) // 2, len(packed) - 30):
            (tmp_path / "cut.npz").write_bytes(packed[:cut])
            with pytest.raises(DataError, match="cut.npz"):
                load_npz_dataset(tmp_path / "cut.npz")
    np.save(tmp_path / "single.npy", np.zeros((3, 4, 4)))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(DataError, match="single.npz: holds a single array"):
        load_npz_dataset(tmp_path / "single.npz")
    with pytest.raises(DataError, match="not found"):
        load_npz_dataset(tmp_path / "absent.npz")
