"""Image files for `cnncalc predict`: read a PNG, JPEG or PGM into the pixel array a model takes.

PGM (the plain P2 and binary P5 greyscale formats) is read here, with no dependency. PNG and JPEG
need Pillow (`pip install 'cnncalc[images]'`), which also resizes images of another size with a
high-quality (Lanczos) filter. Pixels come back in 0..255, like the 8-bit data the models were
trained on; predict then applies the training data's normalisation (x / 255).
"""

from __future__ import annotations

import re
import stat
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .render import printable


class ImageError(ValueError):
    """An image file that cannot be read or used; the message names the file."""


INSTALL_HINT = "install Pillow for PNG and JPEG: pip install 'cnncalc[images]'"

# Bounds, checked before any pixel is decoded (the README's table of bounds lists them):
MAX_PIXELS = 4096 * 4096          # width x height of an image predict, visualize and filter read
MAX_FILE_BYTES = 256 * 2**20      # an image file's size on disk
PGM_HEADER_BYTES = 64 * 2**10     # a PGM header (magic, sizes, maxval and comments)
PGM_NUMBER_DIGITS = 9             # digits of one PGM header number (a size below 10^9)
P2_TEXT_BYTES = 64 * 2**20        # the pixel text of a plain (P2) PGM file
# Pillow reads these formats; others (EPS, which runs Ghostscript, and dozens of rare ones) are
# refused before their decoder runs.
PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")


def load_image(path, channels: int, height: int, width: int) -> np.ndarray:
    """The image at `path` as (channels, height, width) float32 pixels in 0..255.

    channels 1: converted to greyscale (Pillow's "L": 0.299 R + 0.587 G + 0.114 B);
    channels 3: RGB (a greyscale image gets its one channel repeated).
    An image of another size is resized to height x width (needs Pillow).
    """
    path = Path(path)
    if channels not in (1, 3):
        raise ImageError(f"{_name(path)}: the model takes {channels} channels; images give 1 or 3")
    if _magic(path) in (b"P2", b"P5"):
        pixels = read_pgm(path)
        if pixels.shape != (height, width):
            pixels = _resize(pixels, height, width, path)
        pixels = pixels[None]
        return np.repeat(pixels, channels, axis=0) if channels == 3 else pixels
    return _load_with_pillow(path, channels, height, width)


def _name(path) -> str:
    return printable(str(path))


def _magic(path: Path) -> bytes:
    """The first two bytes of a regular file of at most MAX_FILE_BYTES (never more is read)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise ImageError(f"{_name(path)}: {kind}; give an image file")
        if info.st_size > MAX_FILE_BYTES:
            raise ImageError(f"{_name(path)}: the file is {info.st_size / 2**20:,.0f} MiB; image "
                             f"files of at most {MAX_FILE_BYTES // 2**20} MiB are read")
        with open(path, "rb") as handle:
            return handle.read(2)
    except OSError as error:
        raise ImageError(f"{_name(path)}: cannot read it "
                         f"({printable(str(error.strerror or error))})") from None


def check_size(path, width: int, height: int) -> None:
    """Refuse an image of more than MAX_PIXELS pixels, before its pixels are decoded."""
    if width * height > MAX_PIXELS:
        raise ImageError(f"{_name(path)}: the image is {width}x{height} "
                         f"({width * height / 1e6:,.1f} megapixels); images of at most "
                         f"{MAX_PIXELS:,} pixels (4096x4096) are read; resize it first")


# ---------------------------------------------------------------------------------------------
# PGM: "P2" or "P5", width, height, maxval (comments after '#'), then the pixels.
# ---------------------------------------------------------------------------------------------

# Whitespace and comments, then one header number.
_HEADER_NUMBER = re.compile(rb"(?:\s|#[^\n]*(?:\n|$))*(\d+)")


def read_pgm(path) -> np.ndarray:
    """A PGM file's pixels as (height, width) float32 scaled to 0..255 (value * 255 / maxval).

    P5 stores the pixels as bytes (two big-endian bytes each when maxval > 255) after exactly one
    whitespace character; P2 writes them as decimal numbers separated by whitespace. Only the
    header and the bytes the pixels need are read.
    """
    path = Path(path)
    name = _name(path)
    magic = _magic(path)
    if magic not in (b"P2", b"P5"):
        raise ImageError(f"{name}: not a PGM file (it should start with P2 or P5)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(PGM_HEADER_BYTES)
            width, height, maxval, pos = _pgm_header(data, name)
            count = width * height
            if magic == b"P5":
                if pos >= len(data) or not data[pos:pos + 1].isspace():
                    raise ImageError(f"{name}: PGM header must end with one whitespace character")
                dtype = np.dtype(">u2") if maxval > 255 else np.dtype("u1")
                need = count * dtype.itemsize
                body = data[pos + 1:pos + 1 + need]
                body += handle.read(need - len(body))
                if len(body) < need:
                    raise ImageError(f"{name}: truncated: {width}x{height} pixels need "
                                     f"{need} bytes, found {len(body)}")
                values = np.frombuffer(body, dtype, count=count)
            else:
                text = data[pos:] + handle.read(P2_TEXT_BYTES + 1 - (len(data) - pos))
                if len(text) > P2_TEXT_BYTES:
                    raise ImageError(f"{name}: the plain (P2) pixel text is longer than "
                                     f"{P2_TEXT_BYTES // 2**20} MiB; save the image as binary "
                                     "PGM (P5) or PNG")
                values = _p2_values(text, count, width, height, maxval, name)
    except OSError as error:
        raise ImageError(f"{name}: cannot read it ({printable(str(error.strerror or error))})"
                         ) from None
    top = int(values.max())
    if top > maxval:
        raise ImageError(f"{name}: a pixel value {top} exceeds maxval {maxval}")
    return (values.reshape(height, width).astype(np.float32) * np.float32(255 / maxval))


def _pgm_header(data: bytes, name: str) -> tuple[int, int, int, int]:
    """(width, height, maxval, the offset after maxval), each number bounded before it is read."""
    numbers, pos = [], 2
    for what in ("width", "height", "maxval"):
        match = _HEADER_NUMBER.match(data, pos)
        if match is None or match.end() == len(data) == PGM_HEADER_BYTES:
            if len(data) == PGM_HEADER_BYTES:  # whitespace and comments to the end of the window
                raise ImageError(f"{name}: PGM header: no complete {what} in the first "
                                 f"{PGM_HEADER_BYTES // 2**10} KiB")
            raise ImageError(f"{name}: PGM header: expected the {what}, a whole number")
        digits = match.group(1)
        if len(digits) > PGM_NUMBER_DIGITS:
            raise ImageError(f"{name}: PGM header: the {what} has {len(digits):,} digits; at most "
                             f"{PGM_NUMBER_DIGITS} are read")
        numbers.append(int(digits))
        pos = match.end()
    width, height, maxval = numbers
    if width < 1 or height < 1 or not 1 <= maxval <= 65535:
        raise ImageError(f"{name}: PGM header: size {width}x{height}, maxval {maxval}; "
                         "expected a positive size and maxval 1..65535")
    check_size(name, width, height)
    return width, height, maxval, pos


_P2_SPACE = np.zeros(256, bool)
_P2_SPACE[list(b" \t\n\r\x0b\x0c")] = True
P2_VALUE_DIGITS = 5  # a value above 99999 is above any maxval (at most 65535)


def _p2_values(text: bytes, count: int, width: int, height: int, maxval: int,
               name: str) -> np.ndarray:
    """The first `count` whitespace-separated decimal numbers of P2 pixel text, as int64.

    Read with numpy, digit by digit: no Python int per pixel, and no number longer than
    P2_VALUE_DIGITS is converted."""
    text = re.sub(rb"#[^\n]*", b" ", text)
    buf = np.frombuffer(text, np.uint8)
    word = ~_P2_SPACE[buf]
    starts = np.flatnonzero(word & ~np.concatenate(([False], word[:-1])))
    ends = np.flatnonzero(word & ~np.concatenate((word[1:], [False]))) + 1
    digit = (buf >= ord("0")) & (buf <= ord("9"))
    found = len(starts) if len(starts) < count else count
    region = ends[found - 1] if found else 0
    bad = np.flatnonzero(word[:region] & ~digit[:region])
    if len(starts) < count or len(bad):
        numbers = found if not len(bad) else int(np.searchsorted(starts, bad[0], "right")) - 1
        raise ImageError(f"{name}: expected {count} pixel values ({width}x{height}), "
                         f"found {numbers}")
    starts, ends = starts[:count], ends[:count]
    lengths = ends - starts
    longest = int(lengths.max())
    if longest > P2_VALUE_DIGITS:
        raise ImageError(f"{name}: a pixel value of {longest:,} digits exceeds maxval {maxval}")
    values = np.zeros(count, np.int64)
    for k in range(longest):  # the k-th digit from the end of each number that has one
        has = lengths > k
        values[has] += (buf[ends[has] - 1 - k].astype(np.int64) - ord("0")) * 10 ** k
    return values


# ---------------------------------------------------------------------------------------------
# Everything else goes through Pillow.
# ---------------------------------------------------------------------------------------------

def _pillow():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


@contextmanager
def _pillow_image(path: Path):
    """The image Pillow opens at `path`, its size checked before any pixel is decoded; any error
    of Pillow's decoders (OSError, SyntaxError for a broken PNG chunk, struct.error, …) becomes
    an ImageError naming the file."""
    Image = _pillow()
    if Image is None:
        raise ImageError(f"{_name(path)}: only PGM files can be read without Pillow; "
                         f"{INSTALL_HINT}")
    _magic(path)  # a regular file of a bounded size
    pillows_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # e.g. "Palette images with Transparency expressed in bytes should be converted":
            # advice to Pillow's callers, not to the person running cnncalc
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            # ours, stricter, is checked right after, and its message names the size
            Image.MAX_IMAGE_PIXELS = None
            try:
                opened = Image.open(path, formats=PILLOW_FORMATS)
            finally:
                Image.MAX_IMAGE_PIXELS = pillows_limit
            with opened as image:
                check_size(path, *image.size)
                yield image
    except ImageError:
        raise
    except Exception as error:  # only Pillow's code runs here: a damaged file, not a bug of ours
        reason = str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
        raise ImageError(f"{_name(path)}: cannot read it as an image "
                         f"({printable(reason[:200])})") from None


def _load_with_pillow(path: Path, channels: int, height: int, width: int) -> np.ndarray:
    with _pillow_image(path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        if image.size != (width, height):
            Image = _pillow()
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        pixels = np.asarray(image, dtype=np.float32)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def _resize(pixels: np.ndarray, height: int, width: int, path: Path) -> np.ndarray:
    """Resize a (H, W) float image with Pillow's Lanczos filter, keeping values in 0..255."""
    Image = _pillow()
    if Image is None:
        raise ImageError(f"{_name(path)}: the image is {pixels.shape[1]}x{pixels.shape[0]} but "
                         f"the model takes {width}x{height}; resizing needs Pillow "
                         f"({INSTALL_HINT}), or give an image of the right size")
    resized = Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 255)


def load_greyscale(path) -> np.ndarray:
    """The image at `path` at its own size, as (height, width) float32 greyscale in 0..255."""
    path = Path(path)
    if _magic(path) in (b"P2", b"P5"):
        return read_pgm(path)
    with _pillow_image(path) as image:
        return np.asarray(image.convert("L"), dtype=np.float32)
