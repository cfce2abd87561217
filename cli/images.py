"""Image files for `cnncalc predict`: read a PNG, JPEG or PGM into the pixel array a model takes.

PGM (the plain P2 and binary P5 greyscale formats) is read here, with no dependency. PNG and JPEG
need Pillow (`pip install 'cnncalc[images]'`), which also resizes images of another size with a
high-quality (Lanczos) filter. Pixels come back in 0..255, like the 8-bit data the models were
trained on; predict then applies the training data's normalisation (x / 255).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np


class ImageError(ValueError):
    """An image file that cannot be read or used; the message names the file."""


INSTALL_HINT = "install Pillow for PNG and JPEG: pip install 'cnncalc[images]'"


def load_image(path, channels: int, height: int, width: int) -> np.ndarray:
    """The image at `path` as (channels, height, width) float32 pixels in 0..255.

    channels 1: converted to greyscale (Pillow's "L": 0.299 R + 0.587 G + 0.114 B);
    channels 3: RGB (a greyscale image gets its one channel repeated).
    An image of another size is resized to height x width (needs Pillow).
    """
    path = Path(path)
    if channels not in (1, 3):
        raise ImageError(f"{path}: the model takes {channels} channels; images give 1 or 3")
    try:
        head = path.read_bytes()[:2]
    except OSError as error:
        raise ImageError(f"{path}: cannot read it ({error.strerror or error})") from None
    if head in (b"P2", b"P5"):
        pixels = read_pgm(path)
        if pixels.shape != (height, width):
            pixels = _resize(pixels, height, width, path)
        pixels = pixels[None]
        return np.repeat(pixels, channels, axis=0) if channels == 3 else pixels
    return _load_with_pillow(path, channels, height, width)


# ---------------------------------------------------------------------------------------------
# PGM: "P2" or "P5", width, height, maxval (comments after '#'), then the pixels.
# ---------------------------------------------------------------------------------------------

# Whitespace and comments, then one header number.
_HEADER_NUMBER = re.compile(rb"(?:\s|#[^\n]*(?:\n|$))*(\d+)")


def read_pgm(path) -> np.ndarray:
    """A PGM file's pixels as (height, width) float32 scaled to 0..255 (value * 255 / maxval).

    P5 stores the pixels as bytes (two big-endian bytes each when maxval > 255) after exactly one
    whitespace character; P2 writes them as decimal numbers separated by whitespace.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read it ({error.strerror or error})") from None
    magic = data[:2]
    if magic not in (b"P2", b"P5"):
        raise ImageError(f"{path}: not a PGM file (it should start with P2 or P5)")
    numbers, pos = [], 2
    for name in ("width", "height", "maxval"):
        match = _HEADER_NUMBER.match(data, pos)
        if match is None:
            raise ImageError(f"{path}: PGM header: expected the {name}, a whole number")
        numbers.append(int(match.group(1)))
        pos = match.end()
    width, height, maxval = numbers
    if width < 1 or height < 1 or not 1 <= maxval <= 65535:
        raise ImageError(f"{path}: PGM header: size {width}x{height}, maxval {maxval}; "
                         "expected a positive size and maxval 1..65535")
    count = width * height
    if magic == b"P5":
        if pos >= len(data) or not data[pos:pos + 1].isspace():
            raise ImageError(f"{path}: PGM header must end with one whitespace character")
        dtype = np.dtype(">u2") if maxval > 255 else np.dtype("u1")
        body = data[pos + 1:]
        if len(body) < count * dtype.itemsize:
            raise ImageError(f"{path}: truncated: {width}x{height} pixels need "
                             f"{count * dtype.itemsize} bytes, found {len(body)}")
        values = np.frombuffer(body, dtype, count=count)
    else:
        text = re.sub(rb"#[^\n]*", b" ", data[pos:])
        words = text.split()
        if len(words) < count or not all(w.isdigit() for w in words[:count]):
            raise ImageError(f"{path}: expected {count} pixel values ({width}x{height}), "
                             f"found {sum(w.isdigit() for w in words)}")
        values = np.array([int(w) for w in words[:count]], dtype=np.int64)
    if values.max() > maxval:
        raise ImageError(f"{path}: a pixel value {values.max()} exceeds maxval {maxval}")
    return (values.reshape(height, width).astype(np.float32) * np.float32(255 / maxval))


# ---------------------------------------------------------------------------------------------
# Everything else goes through Pillow.
# ---------------------------------------------------------------------------------------------

def _pillow():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _load_with_pillow(path: Path, channels: int, height: int, width: int) -> np.ndarray:
    Image = _pillow()
    if Image is None:
        raise ImageError(f"{path}: only PGM files can be read without Pillow; {INSTALL_HINT}")
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            pixels = np.asarray(image, dtype=np.float32)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        # UnidentifiedImageError (not an image) is an OSError, as are truncated files.
        raise ImageError(f"{path}: cannot read it as an image ({error})") from None
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def _resize(pixels: np.ndarray, height: int, width: int, path: Path) -> np.ndarray:
    """Resize a (H, W) float image with Pillow's Lanczos filter, keeping values in 0..255."""
    Image = _pillow()
    if Image is None:
        raise ImageError(f"{path}: the image is {pixels.shape[1]}x{pixels.shape[0]} but the model "
                         f"takes {width}x{height}; resizing needs Pillow ({INSTALL_HINT}), "
                         "or give an image of the right size")
    resized = Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 255)


def load_greyscale(path) -> np.ndarray:
    """The image at `path` at its own size, as (height, width) float32 greyscale in 0..255."""
    path = Path(path)
    try:
        head = path.read_bytes()[:2]
    except OSError as error:
        raise ImageError(f"{path}: cannot read it ({error.strerror or error})") from None
    if head in (b"P2", b"P5"):
        return read_pgm(path)
    Image = _pillow()
    if Image is None:
        raise ImageError(f"{path}: only PGM files can be read without Pillow; {INSTALL_HINT}")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), dtype=np.float32)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageError(f"{path}: cannot read it as an image ({error})") from None
