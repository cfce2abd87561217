"""Sliding-window geometry shared by the convolutions and the pools: argument pairs, padding,
output sizes (from minigrad.layers.shapes, the one source of truth), the strided view of each
kernel offset, and the blocks of the batch those views are worked through."""

from __future__ import annotations

import functools

import numpy as np

from minigrad.layers import shapes


def remembered(geometry):
    """geometry(*arguments), worked out once per distinct arguments (types told apart): the
    calls of a model's ops repeat the same few, and working out a window geometry took 4-8 µs of
    every call, a tenth of a small conv's at batch 1. Arguments that cannot be remembered (a
    list) are worked out every time; errors are raised every time."""
    remembered_geometry = functools.lru_cache(maxsize=1024, typed=True)(geometry)

    @functools.wraps(geometry)
    def look_up(*arguments):
        try:
            hash(arguments)
        except TypeError:
            return geometry(*arguments)
        return remembered_geometry(*arguments)
    return look_up


def pair(value, name: str) -> tuple[int, int]:
    # Every op call reads its arguments through here: the common forms are returned first.
    if type(value) is int:
        return value, value
    if type(value) is tuple and len(value) == 2 and type(value[0]) is type(value[1]) is int:
        return value
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) != v for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_nchw(op: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be (N, C, H, W), got shape {x.shape}")


def output_hw(op, h, w, kernel, stride, pads, dilation, ceil_mode=False):
    """Output size from the layer-math module (the one source of truth), with this op's name."""
    try:
        return (shapes.output_size(h, kernel[0], stride[0], pads[0], dilation[0], ceil_mode),
                shapes.output_size(w, kernel[1], stride[1], pads[1], dilation[1], ceil_mode))
    except ValueError as error:
        raise ValueError(f"{op}: {error} (input {h}x{w}, kernel {kernel[0]}x{kernel[1]})") from None


def strided_view(x: np.ndarray, shape, strides) -> np.ndarray:
    """A read-only view of x's memory with these shape and strides (np.lib.stride_tricks'
    as_strided), made straight from x's buffer when x is C-contiguous: 1.3 µs instead of 6.2,
    which at batch 1 is a large part of a small conv's time."""
    if not x.flags.c_contiguous:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)
    view.flags.writeable = False
    return view


def windows(kernel, stride, dilation, out_hw):
    """Yield (i, j, slice_h, slice_w): the strided view of every window's (i, j) kernel offset."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            yield i, j, slice(top, top + sh * (oh - 1) + 1, sh), slice(left, left + sw * (ow - 1) + 1, sw)


def padding_sides(op: str, padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from P (every side), (PH, PW) (rows, columns) or the
    explicit ((top, bottom), (left, right)) that Keras' 'same' needs when the padding is odd."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and \
            all(isinstance(side, (tuple, list)) for side in padding):
        pads = (pair(padding[0], "padding"), pair(padding[1], "padding"))
    else:
        ph, pw = pair(padding, "padding")
        pads = ((ph, ph), (pw, pw))
    if min(min(side) for side in pads) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return pads


def pad_sides(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    # A filled array with x copied in: np.pad does the same 2-10x slower on small maps.
    n, c, h, w = x.shape
    padded = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    padded[:, :, top:top + h, left:left + w] = x
    return padded


# An op that makes one pass per kernel offset over a block of the batch reads (or adds into) the
# same pixels KH·KW times, the views' rows a few pixels apart: in blocks of about this many bytes
# of the map those pixels are still in cache for the next pass. One thread: mnist-cnn-dropout's
# max pool at batch 200, forward and backward, 50.7 -> 23.9 ms; its conv 2's col2im 44.8 -> 33.5.
CACHE_BLOCK_BYTES = 2 * 2**20


def by_cache_blocks(work, batch: slice, image_bytes: int) -> None:
    """work(block) for consecutive blocks of `batch` of about CACHE_BLOCK_BYTES each, an image
    of the map being image_bytes."""
    step = max(1, CACHE_BLOCK_BYTES // image_bytes)
    for start in range(batch.start, batch.stop, step):
        work(slice(start, min(start + step, batch.stop)))
