"""Ready-made datasets by name: MNIST, Fashion-MNIST, synthetic shapes, or your own .npz file.

    train = load_dataset("mnist", "train")        # x: (60000, 1, 28, 28) in [0, 1], y: (60000,)
    test = load_dataset("fashion-mnist", "test")
    shapes = load_dataset("shapes", "train")      # triangles, squares, circles; no download

MNIST and Fashion-MNIST are read from <root>/mnist/ and <root>/fashion-mnist/, where root is
--data-dir, else $CNNCALC_DATA, else ~/.cache/cnncalc. Missing files are downloaded from public
mirrors and checked against their published MD5 before they are put in place.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from minigrad.tools.data import ArrayDataset, DataError, load_npz_dataset, read_idx
from minigrad.errors import did_you_mean

# progress(filename, bytes_done, bytes_total or None when the server does not say)
Progress = Callable[[str, int, int | None], None]

# The files of one MNIST-like dataset, per split: (images, labels).
SPLIT_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
               "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

# MD5 of the published .gz files.
MD5 = {
    "mnist": {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
              "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
              "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
              "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    "fashion-mnist": {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                      "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                      "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                      "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
}

# Tried in order; a file's URL is the mirror followed by its name.
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"],
}

CLASSES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
}

SHAPE_CLASSES = ("triangle", "square", "circle")
# load_dataset("shapes", split): (number of images, seed); different seeds keep test unlike train.
SHAPES_SPLITS = {"train": (6000, 0), "test": (1000, 1)}

NAMES = ("shapes", "mnist", "fashion-mnist")
TIMEOUT = 30.0            # seconds a connection or a read may stall before the next mirror
CHUNK = 1 << 16           # download in 64 KiB pieces, reporting progress after each


def data_root(data_dir=None) -> Path:
    """Where datasets live: data_dir, else $CNNCALC_DATA, else ~/.cache/cnncalc."""
    root = data_dir or os.environ.get("CNNCALC_DATA") or Path.home() / ".cache" / "cnncalc"
    return Path(root).expanduser()


def load_dataset(name: str, split: str = "train", data_dir=None, download: bool = True,
                 progress: Progress | None = None) -> ArrayDataset:
    """A dataset by name: "shapes", "mnist", "fashion-mnist", or a path to an .npz file.

    split: "train" or "test" (an .npz file with plain x and y gives the same data for both).
    MNIST-likes: x = pixels / 255 as float32, (N, 1, 28, 28); y int64 (N,). Missing files are
    downloaded (download=True) with progress(filename, bytes_done, bytes_total) reports.
    """
    if split not in SPLIT_FILES:
        raise DataError(f"unknown split '{split}': choose train or test")
    key = str(name).lower().replace("_", "-")
    if key == "shapes":
        n, seed = SHAPES_SPLITS[split]
        return make_shapes(n, seed=seed)
    if key not in MD5:
        if str(name).lower().endswith(".npz"):
            return load_npz_dataset(name, split)
        if Path(name).is_file():
            raise DataError(f"file {name}: datasets from files must be .npz (arrays x and y)")
        hint = did_you_mean(key, NAMES)
        raise DataError(f"unknown dataset '{name}': choose {', '.join(NAMES)} or a path to an "
                        f".npz file" + (f" ({hint})" if hint else ""))
    root = data_root(data_dir)
    paths = [_find(root / key, filename) for filename in SPLIT_FILES[split]]
    if None in paths:
        if not download:
            raise DataError(_missing_message(key, root, "downloading is off"))
        fetch(key, SPLIT_FILES[split], root, progress=progress)
        paths = [_find(root / key, filename) for filename in SPLIT_FILES[split]]
    images, labels = (read_idx(p) for p in paths)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"file {paths[0]}: expected images (N, H, W) of uint8, "
                        f"got {images.dtype} {images.shape}")
    if labels.shape != (len(images),):
        raise DataError(f"file {paths[1]}: expected {len(images)} labels to match {paths[0]}, "
                        f"got shape {labels.shape}")
    x = np.divide(images[:, None], 255, dtype=np.float32)
    return ArrayDataset(x, labels, CLASSES[key], name=key, normalization="x / 255")


def _find(folder: Path, filename: str) -> Path | None:
    """The file as published (.gz), else uncompressed under the same name (or with the
    'train-images.idx3-ubyte' spelling some archives use); None if none exists."""
    plain = filename.removesuffix(".gz")
    for candidate in (filename, plain, plain.replace("-idx", ".idx")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def verify(name: str, data_dir=None) -> dict[str, str]:
    """Check a dataset's files against the published MD5s: {filename: status}.

    status: "ok", "missing", "uncompressed (not checked)", or
    "md5 mismatch: expected <md5>, got <md5>".
    """
    key = str(name).lower().replace("_", "-")
    if key not in MD5:
        raise DataError(f"no checksums for dataset '{name}': choose mnist or fashion-mnist")
    folder = data_root(data_dir) / key
    status = {}
    for filename, expected in MD5[key].items():
        path = _find(folder, filename)
        if path is None:
            status[filename] = "missing"
        elif path.name != filename:
            status[filename] = "uncompressed (not checked)"
        else:
            got = _md5(path)
            status[filename] = ("ok" if got == expected
                                else f"md5 mismatch: expected {expected}, got {got}")
    return status


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Downloading.
# ---------------------------------------------------------------------------------------------

def download(name: str, data_dir=None, progress: Progress | None = None) -> list[Path]:
    """Download every missing file of "mnist" or "fashion-mnist"; returns the files' paths."""
    key = str(name).lower().replace("_", "-")
    if key not in MD5:
        raise DataError(f"nothing to download for '{name}': choose mnist or fashion-mnist")
    root = data_root(data_dir)
    fetch(key, list(MD5[key]), root, progress=progress)
    return [_find(root / key, filename) for filename in MD5[key]]


def fetch(name: str, filenames, root: Path, progress: Progress | None = None,
          mirrors: list[str] | None = None, timeout: float = TIMEOUT) -> None:
    """Make sure root/name/<filename> exists for each filename, downloading what is missing.

    Each file is tried from each mirror in turn (mirrors default to MIRRORS[name]). A file is
    written to a temporary file beside its destination and renamed into place only once its MD5
    matches, so an interrupted or corrupt download never leaves a file that looks complete.
    When every mirror fails: DataError saying which files to put where.
    """
    folder = root / name
    mirrors = MIRRORS[name] if mirrors is None else mirrors
    for filename in filenames:
        if _find(folder, filename) is not None:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(f"cannot create {folder} for the downloaded data ({e.strerror or e}); "
                            f"choose another place with --data-dir or CNNCALC_DATA") from None
        if not os.access(folder, os.W_OK):
            raise DataError(f"cannot write the downloaded data to {folder} (read-only); choose "
                            f"another place with --data-dir or CNNCALC_DATA")
        failures = []
        for mirror in mirrors:
            url = mirror + filename
            try:
                _download_one(url, folder / filename, MD5[name][filename], progress, timeout)
                break
            except DataError as e:
                failures.append(f"{url}: {e}")
        else:
            reasons = "".join(f"\n  {failure}" for failure in failures) or "\n  (no mirrors)"
            raise DataError(_missing_message(name, root, f"could not download {filename}:"
                                                         f"{reasons}"))


def _download_one(url: str, dest: Path, md5: str, progress: Progress | None,
                  timeout: float) -> None:
    """Download url to dest atomically, checking its MD5; DataError (short reason) on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": "cnncalc"})
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as r:
            length = r.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress:
                progress(dest.name, done, total)
            while chunk := r.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(dest.name, done, total)
        if total is not None and done != total:
            # http.client ends a read quietly when the server hangs up early.
            raise DataError(f"download failed (connection closed after {done} of {total} bytes)")
        if digest.hexdigest() != md5:
            raise DataError(f"checksum mismatch for {dest.name}: expected md5 {md5}, "
                            f"got {digest.hexdigest()}")
        os.replace(temp, dest)
    except urllib.error.HTTPError as e:
        raise DataError(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise DataError(f"cannot connect ({e.reason})") from None
    except (OSError, http.client.HTTPException) as e:  # timeouts, cut connections, a full disk
        reason = getattr(e, "strerror", None) or f"{type(e).__name__}: {e}"
        raise DataError(f"download failed ({reason})") from None
    finally:
        if temp is not None and os.path.exists(temp):
            os.remove(temp)


def _missing_message(name: str, root: Path, reason: str) -> str:
    """What went wrong, then exactly which files to put in which directory."""
    folder = root / name
    missing = [folder / f for f in MD5[name] if _find(folder, f) is None]
    files = "".join(f"\n  {path}" for path in missing)
    return (f"{name}: {reason}\nPut these files (from any {name} mirror; .gz or uncompressed) "
            f"in {folder}:{files}\nor point --data-dir (or the CNNCALC_DATA environment variable) "
            f"at a directory that has {name}/ with them.")


@contextmanager
def rich_progress(console=None) -> Iterator[Progress]:
    """A progress callback drawing one rich progress bar per downloaded file (on a terminal).

        with rich_progress() as progress:
            load_dataset("mnist", progress=progress)
    """
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bars
    from rich.progress import TransferSpeedColumn

    console = console or Console()
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    # Off a terminal the bars are not drawn (rich would still print an empty line for them).
    with Bars(*columns, console=console, disable=not console.is_terminal) as bars:
        tasks = {}

        def update(filename: str, done: int, total: int | None) -> None:
            if filename not in tasks:
                tasks[filename] = bars.add_task(filename, total=total)
            bars.update(tasks[filename], completed=done, total=total)

        yield update


# ---------------------------------------------------------------------------------------------
# Synthetic shapes.
# ---------------------------------------------------------------------------------------------

def make_shapes(n: int, size: int = 28, seed: int = 0, noise: float = 0.05) -> ArrayDataset:
    """n images (n, 1, size, size) of filled triangles, squares and circles, in [0, 1].

    Classes ("triangle", "square", "circle") come in equal numbers (±1), in random order. Each
    shape has a random size, position (always wholly inside the image), rotation and brightness,
    with anti-aliased edges, on a black background with Gaussian noise of standard deviation
    `noise`. The same seed always gives the same images.
    """
    if n < 0 or size < 4:
        raise DataError(f"shapes: need n >= 0 and size >= 4, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 3)
    # The shapes' circumradii, scaled per class so their areas are alike and size is no clue:
    # triangle 1.30 (1.2 s)^2 ≈ 1.9 s^2, square 2 s^2, circle pi (0.8 s)^2 ≈ 2.0 s^2.
    s = rng.uniform(0.2, 0.34, n) * size
    radius = s * np.array([1.2, 1.0, 0.8])[labels]
    cx = radius + rng.uniform(0, 1, n) * (size - 2 * radius)
    cy = radius + rng.uniform(0, 1, n) * (size - 2 * radius)
    angle = rng.uniform(0, 2 * np.pi, n)
    brightness = rng.uniform(0.7, 1.0, n)

    images = np.empty((n, size, size), np.float32)
    for lo in range(0, n, 2048):          # in chunks, to bound memory for large n
        part = slice(lo, min(lo + 2048, n))
        distance = _signed_distance(labels[part], cx[part], cy[part], radius[part], angle[part],
                                    size)
        # Coverage of a pixel by the shape, approximately: 1 well inside, 0 well outside, and a
        # linear ramp over the one pixel straddling the edge (anti-aliasing).
        images[part] = np.clip(0.5 - distance, 0, 1) * brightness[part, None, None]
    images += np.float32(noise) * rng.standard_normal(images.shape, dtype=np.float32)
    np.clip(images, 0, 1, out=images)
    # The images are in [0, 1] like pixels / 255, so a drawing given to a trained model later is
    # normalized that way.
    return ArrayDataset(images[:, None], labels, SHAPE_CLASSES, name="shapes",
                        normalization="x / 255")


def _signed_distance(labels, cx, cy, radius, angle, size) -> np.ndarray:
    """Distance in pixels from each pixel centre to each shape's edge (negative inside): (n, S, S).

    A regular polygon with m sides is the intersection of m half-planes; a point's distance
    outside the polygon is (nearly) the largest of its distances outside those half-planes,
    each being (p - centre) · normal - apothem. A circle's is |p - centre| - radius.
    """
    centres = np.arange(size, dtype=np.float32) + 0.5
    distance = np.empty((len(labels), size, size), np.float32)
    for label, sides in ((0, 3), (1, 4), (2, 0)):                      # 0 sides: a circle
        rows = labels == label
        # Per shape: pixel offsets from its centre, (rows, 1, S) across and (rows, S, 1) down.
        dx = centres[None, None, :] - cx[rows, None, None].astype(np.float32)
        dy = centres[None, :, None] - cy[rows, None, None].astype(np.float32)
        r = radius[rows, None, None].astype(np.float32)
        if sides == 0:
            distance[rows] = np.hypot(dx, dy) - r
            continue
        apothem = r * np.float32(np.cos(np.pi / sides))
        polygon = np.full((rows.sum(), size, size), -np.inf, np.float32)
        for k in range(sides):
            normal = angle[rows, None, None] + (2 * k + 1) * np.pi / sides  # midway between corners
            np.maximum(polygon, dx * np.cos(normal, dtype=np.float32)
                       + dy * np.sin(normal, dtype=np.float32) - apothem, out=polygon)
        distance[rows] = polygon
    return distance
