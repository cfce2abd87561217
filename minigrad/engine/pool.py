"""Pooling: max, average, adaptive and global pools over N×C×H×W maps (and their 1-D forms on
N×C×L, which run the 2-D ops on a map of height 1). Each is a running reduction over the views of
the kernel offsets."""

from __future__ import annotations

import numpy as np

from minigrad.engine import parallel, workspace
from minigrad.engine.tensor import Function, Tensor, as_tensor
from minigrad.engine.windows import (by_cache_blocks, check_nchw, output_hw, pad_sides,
                                     padding_sides, pair, remembered, windows)

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d", "MaxPool2d", "AvgPool2d",
           "max_pool1d", "avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "adaptive_avg_pool1d", "adaptive_max_pool1d", "global_max_pool2d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool2d"]


def _pool_geometry(op, x, kernel_size, stride, padding, ceil_mode):
    """A pool's kernel, stride, padding, the padding of the array it slides over, and its output.

    The array's padding is the pool's, except that with ceil_mode the last window may run past
    the padded input: the array is extended after it, so every window is a full strided view.
    """
    check_nchw(op, x)
    return _window_geometry(op, x.shape[2:], kernel_size, stride, padding, ceil_mode)


@remembered
def _window_geometry(op, image_hw, kernel_size, stride, padding, ceil_mode):
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    pads = padding_sides(op, padding)
    for side, k in zip(pads, kernel):
        for p in side:
            if 2 * p > k:
                raise ValueError(f"{op}: pad should be at most half of kernel size, but got "
                                 f"pad={p} and kernel_size={k}")
    out_hw = output_hw(op, *image_hw, kernel, stride, pads, (1, 1), ceil_mode)
    array_pads = tuple((before, max(after, (o - 1) * s + k - n - before))
                       for (before, after), o, s, k, n in zip(pads, out_hw, stride, kernel,
                                                              image_hw))
    return kernel, stride, pads, array_pads, out_hw


class MaxPool2d(Function):
    """x: (N, C, H, W) -> (N, C, OH, OW), the maximum of each window (padding is −inf, and so is
    the part of a ceil_mode window that runs past the padded input).

    forward:  running np.maximum over the KH·KW strided views of the windows, noting in a small
              int array which kernel offset holds each window's FIRST maximum (row-major) when
              a graph is recorded (without one, the maxima alone)
    backward: each window's gradient goes to that offset, as in PyTorch
    """

    def forward(self, x, *, kernel_size, stride=None, padding=0, ceil_mode=False):
        self.kernel, self.stride, _, self.pads, self.out_hw = _pool_geometry(
            "max_pool2d", x, kernel_size, stride, padding, ceil_mode)
        xp = pad_sides(x, self.pads, -np.inf)
        self.x, self.x_shape, self.padded_shape = x, x.shape, xp.shape
        out = workspace.result_array(x.shape[:2] + self.out_hw, x.dtype)
        split = parallel.parts(x.shape[0], out[:1].size * self.kernel[0] * self.kernel[1])
        image_bytes = xp[:1].nbytes
        if not self.records_graph:  # no backward: the maxima alone, a quarter of the passes
            parallel.run(lambda batch: by_cache_blocks(
                lambda block: self._maxima(xp[block], out[block]), batch, image_bytes), split)
            return out
        # Padding must never win a tie (possible when a window's real values are all −inf):
        # while a window's best so far is padding, any real value replaces it.
        real = pad_sides(np.ones((1, 1) + x.shape[2:], dtype=bool), self.pads, False)
        # the largest offset index, kh·kw − 1, decides: uint8 for kernels up to 16x16
        self.argmax = np.empty(out.shape, np.min_scalar_type(self.kernel[0] * self.kernel[1] - 1))
        parallel.run(lambda batch: by_cache_blocks(
            lambda block: self._max_of_windows(xp[block], real, out[block], self.argmax[block]),
            batch, image_bytes), split)
        return out

    def _maxima(self, xp, out):
        """The forward for one block of the batch without argmax: a running np.maximum (padding,
        −inf, never exceeds a window's real values, of which every window has one)."""
        for offset, (_, _, rows, columns) in enumerate(
                windows(self.kernel, self.stride, (1, 1), self.out_hw)):
            if offset == 0:
                out[...] = xp[:, :, rows, columns]
            else:
                np.maximum(out, xp[:, :, rows, columns], out=out)

    def _max_of_windows(self, xp, real, out, argmax):
        """The forward for one block of the batch: out and argmax filled from padded xp."""
        padded = xp.shape[2:] != self.x_shape[2:]
        on_padding = None
        wins = np.empty(out.shape, dtype=bool)
        candidate = np.empty(out.shape, dtype=argmax.dtype)
        for offset, (_, _, rows, columns) in enumerate(
                windows(self.kernel, self.stride, (1, 1), self.out_hw)):
            window = xp[:, :, rows, columns]
            if offset == 0:
                out[...] = window
                argmax[...] = 0
                if padded:
                    on_padding = np.broadcast_to(~real[:, :, rows, columns], out.shape).copy()
                continue
            np.greater(window, out, out=wins)  # strictly: an equal later value is not first
            if padded:
                wins |= on_padding & real[:, :, rows, columns]
                on_padding &= ~wins
            # Offsets come in increasing order, so the offset of the last strict improvement,
            # the first maximum, is the largest offset that improved: a running np.maximum.
            np.multiply(wins, argmax.dtype.type(offset), out=candidate)
            np.maximum(argmax, candidate, out=argmax)
            np.maximum(out, window, out=out)

    def backward(self, grad):
        # Disjoint windows write each input pixel at most once, so they can write instead of
        # add; when they also tile the whole input (kernel = stride, no padding, nothing left
        # over) every pixel is written and the zeros need not be written first.
        tiled = self.stride == self.kernel and self.padded_shape == self.x_shape and \
            all(o * s == n for o, s, n in zip(self.out_hw, self.stride, self.x_shape[2:]))
        # A tiled input's gradient takes the input's memory layout, which the op before
        # (a ReLU after a conv, filter-major) then multiplies fastest.
        if tiled:
            dxp = workspace.result_like(self.x, grad.dtype)
        else:
            dxp = np.zeros(self.padded_shape, dtype=grad.dtype)
        parallel.run(lambda batch: by_cache_blocks(
            lambda block: self._to_the_maxima(grad[block], self.argmax[block], dxp[block]),
            batch, dxp[:1].nbytes),
            parallel.parts(grad.shape[0], grad[:1].size * self.kernel[0] * self.kernel[1]))
        (top, _), (left, _) = self.pads
        h, w = self.x_shape[2:]
        return dxp[:, :, top:top + h, left:left + w]

    def _to_the_maxima(self, grad, argmax, dxp):
        """The backward for one block of the batch: each window's gradient to its maximum."""
        overlapping = any(s < k for s, k in zip(self.stride, self.kernel))
        chosen = np.empty(argmax.shape, dtype=bool)
        for offset, (_, _, rows, columns) in enumerate(
                windows(self.kernel, self.stride, (1, 1), self.out_hw)):
            np.equal(argmax, offset, out=chosen)
            if overlapping:
                dxp[:, :, rows, columns] += grad * chosen
            else:
                np.multiply(grad, chosen, out=dxp[:, :, rows, columns])


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False) -> Tensor:
    """Max pooling. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.

    padding: int, pair (rows, columns) or ((top, bottom), (left, right)), each at most half the
    kernel. ceil_mode: round the output size up, as PyTorch does (shapes.output_size).
    """
    return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           ceil_mode=ceil_mode)


class AvgPool2d(Function):
    """x: (N, C, H, W) -> (N, C, OH, OW), the mean of each window.

    Each window is divided by the number of cells it counts. With count_include_pad (PyTorch's
    default) the zeros of the padding count; without it only real input values do, as in
    TensorFlow's 'same' pooling. The overhang of a ceil_mode window past the padded input never
    counts (PyTorch's rule).

    forward:  (sum of the KH·KW strided views) / divisor of each window
    backward: every element of a window gets grad / divisor of that window
    """

    def forward(self, x, *, kernel_size, stride=None, padding=0, ceil_mode=False,
                count_include_pad=True):
        self.kernel, self.stride, pads, self.pads, self.out_hw = _pool_geometry(
            "avg_pool2d", x, kernel_size, stride, padding, ceil_mode)
        xp = pad_sides(x, self.pads)
        self.x_shape, self.padded_shape = x.shape, xp.shape
        self.divisor = self._divisor(pads, count_include_pad).astype(x.dtype)
        out = np.zeros(x.shape[:2] + self.out_hw, dtype=x.dtype)
        for _, _, rows, columns in windows(self.kernel, self.stride, (1, 1), self.out_hw):
            out += xp[:, :, rows, columns]
        return out / self.divisor

    def _divisor(self, pads, count_include_pad) -> np.ndarray:
        """(1, 1, OH, OW): each window's count of the cells that count (1s summed per window)."""
        h, w = self.x_shape[2:]
        (top, bottom), (left, right) = pads if count_include_pad else ((0, 0), (0, 0))
        counted = np.ones((1, 1, h + top + bottom, w + left + right))
        (array_top, array_bottom), (array_left, array_right) = self.pads
        counted = pad_sides(counted, ((array_top - top, array_bottom - bottom),
                                 (array_left - left, array_right - right)))  # in the array's frame
        divisor = np.zeros((1, 1) + self.out_hw)
        for _, _, rows, columns in windows(self.kernel, self.stride, (1, 1), self.out_hw):
            divisor += counted[:, :, rows, columns]
        return divisor

    def backward(self, grad):
        share = grad / self.divisor
        dxp = np.zeros(self.padded_shape, dtype=grad.dtype)
        for _, _, rows, columns in windows(self.kernel, self.stride, (1, 1), self.out_hw):
            dxp[:, :, rows, columns] += share
        (top, _), (left, _) = self.pads
        h, w = self.x_shape[2:]
        return dxp[:, :, top:top + h, left:left + w]


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    """Average pooling. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.

    padding and ceil_mode as in max_pool2d. count_include_pad=False divides each window by its
    number of real (non-padding) values, as TensorFlow's 'same' average pooling does.
    """
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                           ceil_mode=ceil_mode, count_include_pad=count_include_pad)


def global_avg_pool2d(x, keepdims: bool = False) -> Tensor:
    """The mean of each channel over all positions: (N, C, H, W) -> (N, C), or (N, C, 1, 1)
    with keepdims (PyTorch's AdaptiveAvgPool2d(1))."""
    x = as_tensor(x)
    check_nchw("global_avg_pool2d", x.data)
    return x.mean(axis=(2, 3), keepdims=keepdims)


def global_max_pool2d(x, keepdims: bool = False) -> Tensor:
    """The maximum of each channel over all positions: (N, C, H, W) -> (N, C), or (N, C, 1, 1)
    with keepdims (PyTorch's AdaptiveMaxPool2d(1)); the gradient goes to the first maximum."""
    x = as_tensor(x)
    check_nchw("global_max_pool2d", x.data)
    return x.max(axis=(2, 3), keepdims=keepdims)


# ---------------------------------------------------------------------------------------------
# 1-D pools: the 2-D ops on (N, C, 1, L)
# ---------------------------------------------------------------------------------------------

def _single(value, name: str) -> int:
    """An int, or a 1-tuple of one (PyTorch accepts both for 1-D layers)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int or a 1-tuple of an int, got {value!r}")
    return int(value)


def _as_2d(op: str, x) -> Tensor:
    """(N, C, L) -> (N, C, 1, L): a 1-D pool is a 2-D pool over a map of height 1."""
    x = as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"{op}: input must be (N, C, L), got shape {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])


def _window_1d(kernel_size, stride, padding):
    """The 1-D kernel, stride and padding as their 2-D forms over a map of height 1."""
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None else _single(stride, "stride")
    p = _single(padding, "padding")
    return (1, k), (1, s), ((0, 0), (p, p))


def max_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False) -> Tensor:
    """Max pooling along L. x: (N, C, L) -> (N, C, OL); stride defaults to kernel_size."""
    x2 = _as_2d("max_pool1d", x)
    kernel, stride, padding = _window_1d(kernel_size, stride, padding)
    out = max_pool2d(x2, kernel, stride, padding, ceil_mode)
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    """Average pooling along L. x: (N, C, L) -> (N, C, OL); options as avg_pool2d."""
    x2 = _as_2d("avg_pool1d", x)
    kernel, stride, padding = _window_1d(kernel_size, stride, padding)
    out = avg_pool2d(x2, kernel, stride, padding, ceil_mode, count_include_pad)
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])


# ---------------------------------------------------------------------------------------------
# Adaptive pools: PyTorch's windows for any input and output size
# ---------------------------------------------------------------------------------------------

def adaptive_windows(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows along one axis of n values pooled to o: window i covers
    start = floor(i·n/o) up to end = ceil((i + 1)·n/o) (exclusive). Windows may differ in size
    by one and overlap when o does not divide n."""
    i = np.arange(o)
    return i * n // o, -(-(i + 1) * n // o)


def _adaptive_output(op: str, x: np.ndarray, output_size) -> tuple[int, int]:
    """(OH, OW) from an int, a pair, or a pair with None (that axis keeps its size)."""
    check_nchw(op, x)
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(n if o is None else o for n, o in zip(x.shape[2:], sizes))
    if any(not isinstance(o, (int, np.integer)) or o < 1 for o in out):
        raise ValueError(f"{op}: output sizes must be positive ints or None, got "
                         f"{output_size!r} (input {x.shape})")
    if 0 in x.shape[2:]:
        raise ValueError(f"{op}: input {x.shape} has an empty spatial axis")
    return int(out[0]), int(out[1])


class AdaptiveAvgPool2d(Function):
    """x: (N, C, H, W) -> (N, C, OH, OW), the mean of each adaptive window (adaptive_windows).

    A window is a block of rows times a block of columns, so its sum is separable: with
    R (OH, H) and K (OW, W) marking each window's rows and columns with 1s, the window sums of
    every (n, c) map are R · x · Kᵀ, divided by the window sizes D (OH, OW).
    forward:  out = (R x Kᵀ) / D
    backward: dx = Rᵀ (g / D) K
    """

    def forward(self, x, *, output_size):
        self.out_hw = _adaptive_output("adaptive_avg_pool2d", x, output_size)
        self.rows = self._membership(x.shape[2], self.out_hw[0], x.dtype)
        self.columns = self._membership(x.shape[3], self.out_hw[1], x.dtype)
        self.sizes = np.outer(self.rows.sum(axis=1), self.columns.sum(axis=1))
        return self.rows @ x @ self.columns.T / self.sizes

    @staticmethod
    def _membership(n: int, o: int, dtype) -> np.ndarray:
        """(o, n): row i is 1 on window i's cells, 0 elsewhere."""
        start, end = adaptive_windows(n, o)
        cells = np.arange(n)
        return ((cells >= start[:, None]) & (cells < end[:, None])).astype(dtype)

    def backward(self, grad):
        return self.rows.T @ (grad / self.sizes) @ self.columns


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Average pooling to a fixed output size. x: (N, C, H, W) -> (N, C, OH, OW).

    output_size: int, pair, or a pair with None to keep that axis. Window i along an axis of n
    covers floor(i·n/o) … ceil((i + 1)·n/o) − 1, as PyTorch's AdaptiveAvgPool2d.
    """
    return AdaptiveAvgPool2d.apply(x, output_size=output_size)


class AdaptiveMaxPool2d(Function):
    """x: (N, C, H, W) -> (N, C, OH, OW), the maximum of each adaptive window.

    Windows differ in size, so each kernel offset (i, j), up to the largest window, gathers one
    cell per window (clipped to the window's last cell: a repeat never changes a maximum).
    forward:  running maximum over the offsets, remembering the flat index (h·W + w) of each
              window's FIRST maximum in row-major order, as PyTorch
    backward: each window's gradient goes to that index (summed where windows overlap)
    """

    def forward(self, x, *, output_size):
        self.out_hw = _adaptive_output("adaptive_max_pool2d", x, output_size)
        self.x_shape = x.shape
        (row_start, row_end), (col_start, col_end) = (
            adaptive_windows(n, o) for n, o in zip(x.shape[2:], self.out_hw))
        out = first = None
        for i in range(int((row_end - row_start).max())):
            rows = np.minimum(row_start + i, row_end - 1)
            for j in range(int((col_end - col_start).max())):
                columns = np.minimum(col_start + j, col_end - 1)
                window = x[:, :, rows[:, None], columns[None, :]]
                flat = rows[:, None] * x.shape[3] + columns[None, :]
                if out is None:
                    out, first = window, np.broadcast_to(flat, window.shape).copy()
                    continue
                better = window > out  # strictly: an equal later value is not the first
                out = np.where(better, window, out)
                first = np.where(better, flat, first)
        self.first = first
        return out

    def backward(self, grad):
        n, c, h, w = self.x_shape
        # Index of each window's maximum in the flattened input; bincount sums repeats.
        maps = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
        dx = np.bincount((maps + self.first).ravel(), weights=grad.ravel(), minlength=n * c * h * w)
        return dx.reshape(self.x_shape).astype(grad.dtype, copy=False)


def adaptive_max_pool2d(x, output_size) -> Tensor:
    """Max pooling to a fixed output size. x: (N, C, H, W) -> (N, C, OH, OW); windows as
    adaptive_avg_pool2d; each window's gradient goes to its first maximum."""
    return AdaptiveMaxPool2d.apply(x, output_size=output_size)


def _adaptive_1d(op: str, pool, x, output_size) -> Tensor:
    x2 = _as_2d(op, x)
    out = pool(x2, (1, _single(output_size, "output_size")))
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])


def adaptive_avg_pool1d(x, output_size) -> Tensor:
    """Average pooling along L to output_size. x: (N, C, L) -> (N, C, output_size)."""
    return _adaptive_1d("adaptive_avg_pool1d", adaptive_avg_pool2d, x, output_size)


def adaptive_max_pool1d(x, output_size) -> Tensor:
    """Max pooling along L to output_size. x: (N, C, L) -> (N, C, output_size)."""
    return _adaptive_1d("adaptive_max_pool1d", adaptive_max_pool2d, x, output_size)
