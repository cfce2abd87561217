"""minigrad.tools.datasets: named datasets, their files and downloads, and the synthetic shapes.

The network is never touched: downloads are tested against a small HTTP server on 127.0.0.1
serving files written here (the module's MIRRORS and MD5 tables are patched to point at it).
The real MNIST / Fashion-MNIST files are checked against published figures when CNNCALC_DATA
points at them; those tests are skipped otherwise.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from minigrad.tools import datasets
from minigrad.tools.data import DataError, read_idx
from minigrad.tools.datasets import data_root, fetch, load_dataset, make_shapes, verify

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch):
    """No test here may reach a real mirror: any mirror a test does not set is refused."""
    monkeypatch.setattr(datasets, "MIRRORS", {"mnist": [], "fashion-mnist": []})


def idx_bytes(array: np.ndarray) -> bytes:
    """uint8 IDX (written independently of read_idx): 0, 0, 0x08, ndim, sizes, data."""
    return (struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.astype(np.uint8).tobytes())


def fake_mnist(n_train: int = 5, n_test: int = 3, seed: int = 0) -> dict[str, bytes]:
    """Gzipped IDX files named like MNIST's, with random images and labels."""
    generator = np.random.default_rng(seed)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = generator.integers(0, 256, (n, 28, 28))
        labels = generator.integers(0, 10, n)
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(images))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(labels))
    return files


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def decoded(data: bytes) -> np.ndarray:
    """An IDX file's elements, decoded here without read_idx."""
    raw = gzip.decompress(data)
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim:], np.uint8).reshape(shape)


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


# ---------------------------------------------------------------------------------------------
# Where the data lives; reading MNIST-like folders.
# ---------------------------------------------------------------------------------------------

def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CNNCALC_DATA", raising=False)
    assert data_root() == tmp_path / "home" / ".cache" / "cnncalc"
    monkeypatch.setenv("CNNCALC_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "given") == tmp_path / "given"
    assert data_root("~/x") == tmp_path / "home" / "x"


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_mnist_like_folder_is_read_and_scaled(tmp_path, name):
    files = fake_mnist()
    write_files(tmp_path / name, files)
    train = load_dataset(name, "train", data_dir=tmp_path, download=False)
    test = load_dataset(name, "test", data_dir=tmp_path, download=False)
    assert train.x.shape == (5, 1, 28, 28) and test.x.shape == (3, 1, 28, 28)
    assert train.x.dtype == np.float32 and train.y.dtype == np.int64
    np.testing.assert_allclose(train.x[:, 0], decoded(files[FILES[0]]) / 255.0, rtol=1e-6)
    assert train.y.tolist() == decoded(files[FILES[1]]).tolist()
    assert test.y.tolist() == decoded(files[FILES[3]]).tolist()
    assert train.normalization == "x / 255" and train.name == name
    assert len(train.classes) == 10
    if name == "mnist":
        assert train.classes == tuple("0123456789")
    else:
        assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"


def test_uncompressed_files_are_accepted(tmp_path):
    files = fake_mnist()
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte").write_bytes(gzip.decompress(files[FILES[2]]))
    (folder / "t10k-labels.idx1-ubyte").write_bytes(gzip.decompress(files[FILES[3]]))
    test = load_dataset("MNIST", "test", data_dir=tmp_path, download=False)
    assert test.y.tolist() == decoded(files[FILES[3]]).tolist()


def test_missing_files_without_download_say_where_to_put_them(tmp_path):
    write_files(tmp_path / "mnist", {FILES[0]: fake_mnist()[FILES[0]]})
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "train", data_dir=tmp_path, download=False)
    message = str(info.value)
    for name in FILES[1:]:
        assert str(tmp_path / "mnist" / name) in message
    assert str(tmp_path / "mnist" / FILES[0]) not in message         # that one is there
    assert "--data-dir" in message and "CNNCALC_DATA" in message


def test_images_and_labels_must_agree(tmp_path):
    files = fake_mnist()
    files[FILES[1]] = gzip.compress(idx_bytes(np.zeros(4)))           # 5 images, 4 labels
    write_files(tmp_path / "mnist", files)
    with pytest.raises(DataError, match="5 labels"):
        load_dataset("mnist", "train", data_dir=tmp_path, download=False)
    files[FILES[1]] = gzip.compress(idx_bytes(np.full(5, 10)))        # label 10 of 0..9
    write_files(tmp_path / "mnist", files)
    with pytest.raises(DataError, match="0..9"):
        load_dataset("mnist", "train", data_dir=tmp_path, download=False)


def test_unknown_names_and_splits(tmp_path):
    with pytest.raises(DataError, match="did you mean 'mnist'"):
        load_dataset("mnsit")
    with pytest.raises(DataError, match="unknown split"):
        load_dataset("shapes", "validation")
    (tmp_path / "images.csv").write_text("1,2,3")
    with pytest.raises(DataError, match=".npz"):
        load_dataset(str(tmp_path / "images.csv"))


def test_npz_path_gives_the_same_file_for_both_splits(tmp_path):
    np.savez(tmp_path / "mine.npz", x=np.zeros((4, 6, 6), np.uint8), y=np.array([0, 1, 0, 1]))
    for split in ("train", "test"):
        data = load_dataset(str(tmp_path / "mine.npz"), split)
        assert data.x.shape == (4, 1, 6, 6) and data.classes == ("0", "1")


def test_verify_reports_each_file(tmp_path, monkeypatch):
    files = fake_mnist()
    monkeypatch.setitem(datasets.MD5, "mnist", {name: md5(data) for name, data in files.items()})
    write_files(tmp_path / "mnist", {FILES[0]: files[FILES[0]], FILES[1]: b"corrupt"})
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").write_bytes(gzip.decompress(files[FILES[2]]))
    status = verify("mnist", tmp_path)
    assert status[FILES[0]] == "ok"
    assert status[FILES[1]] == f"md5 mismatch: expected {md5(files[FILES[1]])}, got {md5(b'corrupt')}"
    assert status[FILES[2]] == "uncompressed (not checked)"
    assert status[FILES[3]] == "missing"


# ---------------------------------------------------------------------------------------------
# Downloads, from a local server.
# ---------------------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ROUTES[path]; paths under /short/ promise more bytes than they send."""

    routes: dict[str, bytes] = {}

    def do_GET(self):
        data = self.routes.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data) * (2 if "/short/" in self.path else 1)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """(base URL, routes dict) of an HTTP server on 127.0.0.1, stopped after the test."""
    routes: dict[str, bytes] = {}
    handler = type("Routes", (Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def refused_url():
    """A URL nothing listens on: a port bound and released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def files(monkeypatch):
    """Fake MNIST files whose MD5s the module is made to expect."""
    files = fake_mnist()
    monkeypatch.setitem(datasets.MD5, "mnist", {name: md5(data) for name, data in files.items()})
    return files


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_success_is_atomic_and_reports_progress(server, files, tmp_path, monkeypatch):
    base, routes = server
    routes.update({f"/good/{name}": data for name, data in files.items()})
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [f"{base}/good/"])
    monkeypatch.setattr(datasets, "CHUNK", 512)                  # several progress reports
    folder = tmp_path / "root" / "mnist"
    calls = []

    def progress(filename, done, total):
        calls.append((filename, done, total))
        # While downloading, the destination does not exist yet; a temporary file beside it does.
        assert not (folder / filename).exists()
        assert any(p.endswith(".part") and filename in p for p in leftovers(folder))

    train = load_dataset("mnist", "train", data_dir=tmp_path / "root", progress=progress)
    assert train.y.tolist() == decoded(files[FILES[1]]).tolist()
    assert leftovers(folder) == sorted(FILES[:2])                  # no temp files; test split
    for name in FILES[:2]:                                         # not fetched for "train"
        assert (folder / name).read_bytes() == files[name]
        reports = [(done, total) for f, done, total in calls if f == name]
        assert reports[0] == (0, len(files[name])) and reports[-1] == (len(files[name]),) * 2
        assert [d for d, _ in reports] == sorted(d for d, _ in reports)
    assert len([c for c in calls if c[0] == FILES[0]]) > 3

    datasets.download("mnist", tmp_path / "root")                  # the rest
    assert leftovers(folder) == sorted(FILES)
    assert set(verify("mnist", tmp_path / "root").values()) == {"ok"}


def test_checksum_mismatch_falls_back_to_the_next_mirror(server, files, tmp_path, monkeypatch):
    base, routes = server
    routes.update({f"/bad/{name}": data[:-1] + b"x" for name, data in files.items()})
    routes.update({f"/good/{name}": data for name, data in files.items()})
    monkeypatch.setitem(datasets.MIRRORS, "mnist", [f"{base}/bad/", f"{base}/good/"])
    test = load_dataset("mnist", "test", data_dir=tmp_path)
    assert test.y.tolist() == decoded(files[FILES[3]]).tolist()
    assert leftovers(tmp_path / "mnist") == sorted(FILES[2:])


def test_checksum_mismatch_everywhere_leaves_nothing_behind(server, files, tmp_path):
    base, routes = server
    name = FILES[2]
    routes[f"/bad/{name}"] = b"not the real file"
    with pytest.raises(DataError) as info:
        fetch("mnist", [name], tmp_path, mirrors=[f"{base}/bad/"], timeout=5)
    message = str(info.value)
    assert (f"checksum mismatch for {name}: expected md5 {md5(files[name])}, "
            f"got {md5(b'not the real file')}") in message
    assert leftovers(tmp_path / "mnist") == []


def test_unreachable_mirrors_end_in_instructions(server, files, tmp_path, refused_url,
                                                 monkeypatch):
    base, routes = server
    routes[f"/short/{FILES[0]}"] = files[FILES[0]][:100]
    mirrors = [f"{base}/missing/", refused_url, f"{base}/short/"]
    monkeypatch.setitem(datasets.MIRRORS, "mnist", mirrors)
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "train", data_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"mnist: could not download {FILES[0]}")
    assert f"{base}/missing/{FILES[0]}: HTTP 404" in message
    assert f"{refused_url}{FILES[0]}: cannot connect" in message
    assert f"{base}/short/{FILES[0]}: download failed" in message
    for name in FILES:
        assert f"\n  {tmp_path / 'mnist' / name}" in message
    assert "--data-dir" in message and "CNNCALC_DATA" in message
    assert leftovers(tmp_path / "mnist") == []

    # Then a mirror that works: found after the failing ones.
    routes.update({f"/good/{name}": data for name, data in files.items()})
    monkeypatch.setitem(datasets.MIRRORS, "mnist", mirrors + [f"{base}/good/"])
    assert len(load_dataset("mnist", "train", data_dir=tmp_path)) == 5


def test_a_silent_server_times_out(files, tmp_path):
    with socket.socket() as listener:             # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(DataError, match="timed out"):
            fetch("mnist", [FILES[1]], tmp_path, mirrors=[url], timeout=0.5)
    assert leftovers(tmp_path / "mnist") == []


def test_present_files_are_not_downloaded_again(files, tmp_path):
    write_files(tmp_path / "mnist", files)
    fetch("mnist", FILES, tmp_path, mirrors=[])           # no mirror needed: nothing to do


def draw_progress(terminal: bool) -> str:
    from rich.console import Console

    out = io.StringIO()
    with datasets.rich_progress(Console(file=out, width=100, force_terminal=terminal)) as progress:
        progress("train-images-idx3-ubyte.gz", 0, 2048)
        progress("train-images-idx3-ubyte.gz", 2048, 2048)
        progress("unknown-size", 10, None)
    return out.getvalue()


def test_rich_progress_draws_bars_on_a_terminal():
    assert "train-images-idx3-ubyte.gz" in draw_progress(terminal=True)


def test_rich_progress_prints_nothing_off_a_terminal():
    assert draw_progress(terminal=False) == ""


# ---------------------------------------------------------------------------------------------
# Synthetic shapes.
# ---------------------------------------------------------------------------------------------

def area_ratio(image: np.ndarray) -> float:
    """Filled area / area of the smallest circle about the centroid holding the shape.

    Geometry alone separates the classes: a circle fills its circle (1), a square 2 / pi
    (0.64), an equilateral triangle 3 sqrt(3) / (4 pi) (0.41).
    """
    mask = image > image.max() / 2
    rows, cols = np.nonzero(mask)
    reach = np.hypot(rows - rows.mean(), cols - cols.mean()).max() + 0.5
    return mask.sum() / (np.pi * reach ** 2)


def oracle(image: np.ndarray) -> int:
    ratio = area_ratio(image)
    return 0 if ratio < 0.53 else 1 if ratio < 0.77 else 2


def test_shapes_are_deterministic_and_balanced():
    a, b = make_shapes(300, seed=4), make_shapes(300, seed=4)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    c = make_shapes(300, seed=5)
    assert not np.array_equal(a.x, c.x)
    assert a.classes == ("triangle", "square", "circle")
    assert np.bincount(a.y).tolist() == [100, 100, 100]
    assert sorted(np.bincount(make_shapes(301).y).tolist()) == [100, 100, 101]
    assert a.y[:30].tolist() != sorted(a.y[:30].tolist())           # classes interleaved


@pytest.mark.parametrize("size", [8, 28, 64])
def test_shapes_any_size_non_blank_and_not_saturated(size):
    data = make_shapes(150, size=size, seed=2)
    assert data.x.shape == (150, 1, size, size) and data.x.dtype == np.float32
    assert data.x.min() >= 0 and data.x.max() <= 1
    images = data.x[:, 0]
    bright = (images > 0.5).mean(axis=(1, 2))
    assert (images.max(axis=(1, 2)) > 0.6).all()                   # a shape is drawn
    assert (bright > 0.02).all() and (bright < 0.6).all()          # on a larger background
    assert (images.std(axis=(1, 2)) > 0.1).all()


def test_shape_classes_follow_their_geometry():
    for size, required in ((64, 1.0), (28, 0.97)):
        data = make_shapes(600, size=size, seed=3, noise=0)
        guesses = np.array([oracle(image) for image in data.x[:, 0]])
        assert (guesses == data.y).mean() >= required, size


def test_shapes_vary_in_position_size_and_rotation():
    data = make_shapes(600, size=64, seed=6, noise=0)
    images = data.x[:, 0]
    masks = images > images.max(axis=(1, 2), keepdims=True) / 2
    rows = np.array([np.nonzero(m)[0].mean() for m in masks])
    areas = masks.sum(axis=(1, 2))
    assert rows.max() - rows.min() > 20 and areas.max() / areas.min() > 1.8
    # A square fills its bounding box when upright, half of it when turned 45 degrees.
    fills = []
    for mask in masks[data.y == 1]:
        r, c = np.nonzero(mask)
        fills.append(mask.sum() / ((np.ptp(r) + 1) * (np.ptp(c) + 1)))
    assert max(fills) > 0.9 and min(fills) < 0.6
    # Noise: the background is not flat unless noise=0.
    assert (images[:, :2, :2] == 0).mean() > 0.5
    noisy = make_shapes(50, size=64, seed=6).x[:, 0]
    assert (noisy[:, :2, :2] > 0).mean() > 0.3


def test_shapes_dataset_splits():
    train, test = load_dataset("shapes", "train"), load_dataset("shapes", "test")
    assert len(train) == 6000 and len(test) == 1000
    assert train.x.shape[1:] == (1, 28, 28)
    assert not np.array_equal(train.x[:1000], test.x)
    assert np.array_equal(load_dataset("shapes", "test").x, test.x)


# ---------------------------------------------------------------------------------------------
# The real files (CNNCALC_DATA), against published figures.
# ---------------------------------------------------------------------------------------------

def real_folder(name: str) -> Path:
    root = os.environ.get("CNNCALC_DATA")
    folder = Path(root) / name if root else None
    if folder is None or not (folder / FILES[3]).is_file():
        pytest.skip(f"set CNNCALC_DATA to a directory with {name}/ to test the real files")
    return folder


def test_real_mnist_files():
    folder = real_folder("mnist")
    images = read_idx(folder / "train-images-idx3-ubyte.gz")
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,)
    assert labels[0] == 5                                           # the famous first digit, a 5
    # Published class counts (e.g. torchvision / TensorFlow Datasets statistics).
    assert np.bincount(labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                            5851, 5949]
    test = load_dataset("mnist", "test")
    assert test.x.shape == (10000, 1, 28, 28) and test.y[0] == 7
    assert np.bincount(test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974,
                                            1009]
    assert test.x.min() == 0 and test.x.max() == 1
    assert set(verify("mnist").values()) == {"ok"}


def test_real_fashion_mnist_files():
    real_folder("fashion-mnist")
    labels = read_idx(Path(os.environ["CNNCALC_DATA"]) / "fashion-mnist" / FILES[1])
    assert labels.shape == (60000,) and labels[0] == 9              # an ankle boot
    assert np.bincount(labels).tolist() == [6000] * 10
    test = load_dataset("fashion-mnist", "test")
    assert test.x.shape == (10000, 1, 28, 28) and test.y[0] == 9
    assert np.bincount(test.y).tolist() == [1000] * 10
    assert test.classes[test.y[0]] == "Ankle boot"
    assert set(verify("fashion-mnist").values()) == {"ok"}
