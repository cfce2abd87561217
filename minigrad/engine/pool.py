"""Pooling: max, average and global average over N×C×H×W maps, each a running reduction over
the strided views of the kernel offsets."""

from __future__ import annotations

import numpy as np

from minigrad.engine.tensor import Function, Tensor, as_tensor
from minigrad.engine.windows import check_nchw, output_hw, pad_sides, padding_sides, pair, windows

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d", "MaxPool2d", "AvgPool2d"]


def _pool_geometry(op, x, kernel_size, stride, padding, ceil_mode):
    """A pool's kernel, stride, padding, the padding of the array it slides over, and its output.

    The array's padding is the pool's, except that with ceil_mode the last window may run past
    the padded input: the array is extended after it, so every window is a full strided view.
    """
    check_nchw(op, x)
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    pads = padding_sides(op, padding)
    for side, k in zip(pads, kernel):
        for p in side:
            if 2 * p > k:
                raise ValueError(f"{op}: pad should be at most half of kernel size, but got "
                                 f"pad={p} and kernel_size={k}")
    out_hw = output_hw(op, x.shape[2], x.shape[3], kernel, stride, pads, (1, 1), ceil_mode)
    array_pads = tuple((before, max(after, (o - 1) * s + k - n - before))
                       for (before, after), o, s, k, n in zip(pads, out_hw, stride, kernel,
                                                              x.shape[2:]))
    return kernel, stride, pads, array_pads, out_hw


class MaxPool2d(Function):
    """x: (N, C, H, W) -> (N, C, OH, OW), the maximum of each window (padding is −inf, and so is
    the part of a ceil_mode window that runs past the padded input).

    forward:  running np.maximum over the KH·KW strided views of the windows
    backward: each window's gradient goes to its FIRST maximum (row-major), as in PyTorch
    """

    def forward(self, x, *, kernel_size, stride=None, padding=0, ceil_mode=False):
        self.kernel, self.stride, _, self.pads, self.out_hw = _pool_geometry(
            "max_pool2d", x, kernel_size, stride, padding, ceil_mode)
        self.xp = pad_sides(x, self.pads, -np.inf)
        self.x_shape = x.shape
        out = None
        for _, _, rows, columns in windows(self.kernel, self.stride, (1, 1), self.out_hw):
            window = self.xp[:, :, rows, columns]
            out = window.copy() if out is None else np.maximum(out, window, out=out)
        self.out = out
        return out

    def backward(self, grad):
        dxp = np.zeros(self.xp.shape, dtype=grad.dtype)
        free = np.ones(self.out.shape, dtype=bool)  # windows whose maximum has not had it yet
        first = np.empty(self.out.shape, dtype=bool)
        # Padding must never win a tie (possible when a window's real values are all −inf).
        padded = self.xp.shape != self.x_shape
        real = pad_sides(np.ones((1, 1) + self.x_shape[2:], dtype=bool), self.pads, False)
        # Disjoint windows write each input pixel once, so they can write instead of add.
        overlapping = any(s < k for s, k in zip(self.stride, self.kernel))
        for _, _, rows, columns in windows(self.kernel, self.stride, (1, 1), self.out_hw):
            np.equal(self.xp[:, :, rows, columns], self.out, out=first)
            first &= free
            if padded:
                first &= real[:, :, rows, columns]
            free ^= first  # first ⊆ free: clears the windows served now
            if overlapping:
                dxp[:, :, rows, columns] += grad * first
            else:
                np.multiply(grad, first, out=dxp[:, :, rows, columns])
        (top, _), (left, _) = self.pads
        h, w = self.x_shape[2:]
        return dxp[:, :, top:top + h, left:left + w]


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
