"""Convolution: im2col + ONE matrix multiply, filled and emptied by loops over the KH·KW kernel
offsets (never over pixels), as in "Deep Learning from Scratch". Decomposing it into
elementwise ops would be 100-300x slower on numpy."""

from __future__ import annotations

import numpy as np

from minigrad.layers import shapes
from minigrad.engine.tensor import Function, Tensor
from minigrad.engine.windows import check_nchw, output_hw, pad_sides, padding_sides, pair, windows

__all__ = ["conv2d", "im2col", "col2im", "Conv2d"]


def im2col(xp: np.ndarray, kernel, stride, dilation, out_hw) -> np.ndarray:
    """Padded x: (N, C, Hp, Wp) -> columns (C*KH*KW, N*OH*OW), one strided copy per kernel offset.

    Column n*OH*OW + p holds the window under output pixel p of image n, so the convolution is
    one matrix product W(F, C*KH*KW) @ columns.
    """
    n, c = xp.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=xp.dtype)
    channels_first = xp.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp) view, matching the column order
    for i, j, rows, columns in windows(kernel, stride, dilation, out_hw):
        cols[:, i, j] = channels_first[:, :, rows, columns]
    return cols.reshape(c * kh * kw, n * oh * ow)


def col2im(cols: np.ndarray, padded_shape, kernel, stride, dilation, out_hw) -> np.ndarray:
    """The adjoint of im2col: sum each column entry back onto the pixel it was copied from."""
    n, c, hp, wp = padded_shape
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = cols.reshape(c, kh, kw, n, oh, ow)
    dxp = np.zeros((c, n, hp, wp), dtype=cols.dtype)
    for i, j, rows, columns in windows(kernel, stride, dilation, out_hw):
        dxp[:, :, rows, columns] += cols[:, i, j]
    return dxp.transpose(1, 0, 2, 3)


def _conv_padding(padding, kernel, stride, dilation, h, w):
    """((top, bottom), (left, right)) from an int, a pair, ((top, bottom), (left, right)),
    'valid' or 'same' (PyTorch's rules)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
            return (shapes.same_padding(h, kernel[0], 1, dilation[0]),
                    shapes.same_padding(w, kernel[1], 1, dilation[1]))
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    return padding_sides("conv2d", padding)


# Columns larger than this are built a slice of the batch at a time, and rebuilt in backward
# instead of kept, so that memory stays bounded for large batches (a batch of 1024 images through
# a 32 -> 64 channel 3x3 conv would otherwise need a 925 MB column buffer, and as much again for
# its gradient).
COLUMN_BUDGET_BYTES = 128 * 2**20


class Conv2d(Function):
    """x: (N, C, H, W), weight: (F, C, KH, KW), bias: (F,) -> (N, F, OH, OW).

    forward:  out = W(F, C·KH·KW) @ im2col(x) + b
    backward: dW = dout @ colsᵀ,  db = Σ dout,  dx = col2im(Wᵀ @ dout)
    (per slice of the batch when the columns would exceed COLUMN_BUDGET_BYTES)
    """

    def forward(self, x, weight, bias=None, *, stride=1, padding=0, dilation=1):
        check_nchw("conv2d", x)
        if weight.ndim != 4:
            raise ValueError(f"conv2d: weight must be (F, C, KH, KW), got shape {weight.shape}")
        if x.shape[1] != weight.shape[1]:
            raise ValueError(f"conv2d: input {x.shape} has {x.shape[1]} channels but weight "
                             f"{weight.shape} expects {weight.shape[1]}")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"conv2d: bias shape {bias.shape} does not match weight "
                             f"{weight.shape} (expected ({weight.shape[0]},))")
        n, c, h, w = x.shape
        f, _, kh, kw = weight.shape
        self.kernel, self.stride = (kh, kw), pair(stride, "stride")
        self.dilation = pair(dilation, "dilation")
        self.pads = _conv_padding(padding, self.kernel, self.stride, self.dilation, h, w)
        self.out_hw = output_hw("conv2d", h, w, self.kernel, self.stride, self.pads, self.dilation)
        self.xp = pad_sides(x, self.pads)
        self.x_shape, self.weight = x.shape, weight
        column_bytes = c * kh * kw * self.out_hw[0] * self.out_hw[1] * x.itemsize  # per image
        self.chunk = max(1, COLUMN_BUDGET_BYTES // column_bytes)
        weights = weight.reshape(f, -1)
        self.cols = None
        if self.chunk >= n:  # one block: keep the columns for backward
            self.cols = im2col(self.xp, self.kernel, self.stride, self.dilation, self.out_hw)
            out = weights @ self.cols                                 # (F, N·OH·OW)
            if bias is not None:
                out += bias[:, None]
            return out.reshape(f, n, *self.out_hw).transpose(1, 0, 2, 3)
        out = np.empty((n, f) + self.out_hw, dtype=np.result_type(x, weight))
        for batch, cols in self._column_blocks():
            part = weights @ cols                                     # (F, n·OH·OW)
            if bias is not None:
                part += bias[:, None]
            out[batch] = part.reshape(f, -1, *self.out_hw).transpose(1, 0, 2, 3)
        return out

    def _column_blocks(self):
        """Yield (batch slice, im2col of that slice): the kept columns, or rebuilt per block."""
        n = self.x_shape[0]
        if self.cols is not None:
            yield slice(0, n), self.cols
            return
        for start in range(0, n, self.chunk):
            batch = slice(start, min(start + self.chunk, n))
            yield batch, im2col(self.xp[batch], self.kernel, self.stride, self.dilation, self.out_hw)

    def backward(self, grad):
        f = self.weight.shape[0]
        weights = self.weight.reshape(f, -1)
        dw = db = None
        dxp_blocks = []
        for batch, cols in self._column_blocks():
            g = grad[batch].transpose(1, 0, 2, 3).reshape(f, -1)      # (F, n·OH·OW)
            if self.needs_grad[1]:
                dw = g @ cols.T if dw is None else dw + g @ cols.T
            if len(self.needs_grad) == 3 and self.needs_grad[2]:
                db = g.sum(axis=1) if db is None else db + g.sum(axis=1)
            if self.needs_grad[0]:  # skipped for a first layer, whose input needs no gradient
                block_shape = (batch.stop - batch.start,) + self.xp.shape[1:]
                dxp_blocks.append(col2im(weights.T @ g, block_shape, self.kernel, self.stride,
                                         self.dilation, self.out_hw))
        dx = None
        if dxp_blocks:
            dxp = dxp_blocks[0] if len(dxp_blocks) == 1 else np.concatenate(dxp_blocks)
            (top, _), (left, _) = self.pads
            h, w = self.x_shape[2:]
            dx = dxp[:, :, top:top + h, left:left + w]
        dw = None if dw is None else dw.reshape(self.weight.shape)
        return (dx, dw, db) if len(self.needs_grad) == 3 else (dx, dw)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """2-D convolution (cross-correlation, as in every framework).

    x: (N, C, H, W), weight: (F, C, KH, KW), bias: (F,) or None -> (N, F, OH, OW) with
    OH = floor((H + 2P − D(KH − 1) − 1) / S) + 1. padding: int, pair (rows, columns), 'valid',
    'same' (stride 1 only) or ((top, bottom), (left, right)), e.g. Keras' 'same' at stride 2.
    """
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation)
