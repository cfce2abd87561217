"""Neural-network ops, PyTorch-style (`import minigrad.engine.functional as F`): NCHW layout, conv weights
(F, C, KH, KW), linear weights (out, in).

conv2d, the pools, batch_norm, linear, softmax, log_softmax and cross_entropy are fused
primitives with hand-written backward passes; decomposing them into elementwise ops would be
100-300x slower on numpy. Convolution is im2col + ONE matrix multiply, filled and emptied by loops
over the KH*KW kernel offsets (never over pixels), as in "Deep Learning from Scratch".
"""

from __future__ import annotations

import numpy as np

from minigrad.layers import shapes
from minigrad.engine.rng import generator
from minigrad.engine.tensor import Function, Tensor, as_tensor


def _pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) != v for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_nchw(op: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be (N, C, H, W), got shape {x.shape}")


def _output_hw(op, h, w, kernel, stride, pads, dilation, ceil_mode=False):
    """Output size from the layer-math module (the one source of truth), with this op's name."""
    try:
        return (shapes.output_size(h, kernel[0], stride[0], pads[0], dilation[0], ceil_mode),
                shapes.output_size(w, kernel[1], stride[1], pads[1], dilation[1], ceil_mode))
    except ValueError as error:
        raise ValueError(f"{op}: {error} (input {h}x{w}, kernel {kernel[0]}x{kernel[1]})") from None


def _windows(kernel, stride, dilation, out_hw):
    """Yield (i, j, slice_h, slice_w): the strided view of every window's (i, j) kernel offset."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            yield i, j, slice(top, top + sh * (oh - 1) + 1, sh), slice(left, left + sw * (ow - 1) + 1, sw)


def _pads(op: str, padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from P (every side), (PH, PW) (rows, columns) or the
    explicit ((top, bottom), (left, right)) that Keras' 'same' needs when the padding is odd."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and \
            all(isinstance(side, (tuple, list)) for side in padding):
        pads = (_pair(padding[0], "padding"), _pair(padding[1], "padding"))
    else:
        ph, pw = _pair(padding, "padding")
        pads = ((ph, ph), (pw, pw))
    if min(min(side) for side in pads) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return pads


def _pad(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------

def im2col(xp: np.ndarray, kernel, stride, dilation, out_hw) -> np.ndarray:
    """Padded x: (N, C, Hp, Wp) -> columns (C*KH*KW, N*OH*OW), one strided copy per kernel offset.

    Column n*OH*OW + p holds the window under output pixel p of image n, so the convolution is
    one matrix product W(F, C*KH*KW) @ columns.
    """
    n, c = xp.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=xp.dtype)
    channels_first = xp.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp) view, matching the column order
    for i, j, rows, columns in _windows(kernel, stride, dilation, out_hw):
        cols[:, i, j] = channels_first[:, :, rows, columns]
    return cols.reshape(c * kh * kw, n * oh * ow)


def col2im(cols: np.ndarray, padded_shape, kernel, stride, dilation, out_hw) -> np.ndarray:
    """The adjoint of im2col: sum each column entry back onto the pixel it was copied from."""
    n, c, hp, wp = padded_shape
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = cols.reshape(c, kh, kw, n, oh, ow)
    dxp = np.zeros((c, n, hp, wp), dtype=cols.dtype)
    for i, j, rows, columns in _windows(kernel, stride, dilation, out_hw):
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
    return _pads("conv2d", padding)


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
        _check_nchw("conv2d", x)
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
        self.kernel, self.stride = (kh, kw), _pair(stride, "stride")
        self.dilation = _pair(dilation, "dilation")
        self.pads = _conv_padding(padding, self.kernel, self.stride, self.dilation, h, w)
        self.out_hw = _output_hw("conv2d", h, w, self.kernel, self.stride, self.pads, self.dilation)
        self.xp = _pad(x, self.pads)
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


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------

def _pool_geometry(op, x, kernel_size, stride, padding, ceil_mode):
    """A pool's kernel, stride, padding, the padding of the array it slides over, and its output.

    The array's padding is the pool's, except that with ceil_mode the last window may run past
    the padded input: the array is extended after it, so every window is a full strided view.
    """
    _check_nchw(op, x)
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    pads = _pads(op, padding)
    for side, k in zip(pads, kernel):
        for p in side:
            if 2 * p > k:
                raise ValueError(f"{op}: pad should be at most half of kernel size, but got "
                                 f"pad={p} and kernel_size={k}")
    out_hw = _output_hw(op, x.shape[2], x.shape[3], kernel, stride, pads, (1, 1), ceil_mode)
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
        self.xp = _pad(x, self.pads, -np.inf)
        self.x_shape = x.shape
        out = None
        for _, _, rows, columns in _windows(self.kernel, self.stride, (1, 1), self.out_hw):
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
        real = _pad(np.ones((1, 1) + self.x_shape[2:], dtype=bool), self.pads, False)
        # Disjoint windows write each input pixel once, so they can write instead of add.
        overlapping = any(s < k for s, k in zip(self.stride, self.kernel))
        for _, _, rows, columns in _windows(self.kernel, self.stride, (1, 1), self.out_hw):
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
        xp = _pad(x, self.pads)
        self.x_shape, self.padded_shape = x.shape, xp.shape
        self.divisor = self._divisor(pads, count_include_pad).astype(x.dtype)
        out = np.zeros(x.shape[:2] + self.out_hw, dtype=x.dtype)
        for _, _, rows, columns in _windows(self.kernel, self.stride, (1, 1), self.out_hw):
            out += xp[:, :, rows, columns]
        return out / self.divisor

    def _divisor(self, pads, count_include_pad) -> np.ndarray:
        """(1, 1, OH, OW): each window's count of the cells that count (1s summed per window)."""
        h, w = self.x_shape[2:]
        (top, bottom), (left, right) = pads if count_include_pad else ((0, 0), (0, 0))
        counted = np.ones((1, 1, h + top + bottom, w + left + right))
        (array_top, array_bottom), (array_left, array_right) = self.pads
        counted = _pad(counted, ((array_top - top, array_bottom - bottom),
                                 (array_left - left, array_right - right)))  # in the array's frame
        divisor = np.zeros((1, 1) + self.out_hw)
        for _, _, rows, columns in _windows(self.kernel, self.stride, (1, 1), self.out_hw):
            divisor += counted[:, :, rows, columns]
        return divisor

    def backward(self, grad):
        share = grad / self.divisor
        dxp = np.zeros(self.padded_shape, dtype=grad.dtype)
        for _, _, rows, columns in _windows(self.kernel, self.stride, (1, 1), self.out_hw):
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
    _check_nchw("global_avg_pool2d", x.data)
    return x.mean(axis=(2, 3), keepdims=keepdims)


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------

class BatchNorm(Function):
    """x: (N, C) or (N, C, H, W), weight γ and bias β: (C,) -> x's shape, per channel c:

    forward:  x̂ = (x − μ) / √(σ² + ε),  y = γ·x̂ + β
              training: μ, σ² are the batch's mean and biased variance over the m = N·H·W values
              of the channel; eval: the running statistics
    backward: dγ = Σ g·x̂,  dβ = Σ g,  and with ĝ = γ·g
              training: dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(σ² + ε)  (μ and σ² depend on x)
              eval:     dx = ĝ / √(σ² + ε)
    """

    def forward(self, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        if x.ndim < 2:
            raise ValueError(f"batch_norm: input must be (N, C) or (N, C, H, W), got shape "
                             f"{x.shape}")
        c = x.shape[1]
        for label, array in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                             ("running_var", running_var)):
            if array.shape != (c,):
                raise ValueError(f"batch_norm: {label} shape {array.shape} does not match the "
                                 f"input's {c} channels (input {x.shape})")
        self.axes = (0,) + tuple(range(2, x.ndim))          # every axis but the channels
        per_channel = (1, c) + (1,) * (x.ndim - 2)          # (C,) arrays broadcast like this
        self.training = training
        if training:
            m = x.size // c
            if m < 2:
                raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}")
            mean, var = x.mean(axis=self.axes), x.var(axis=self.axes)
            # In place: the caller's buffers (a module's running statistics) are updated.
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * var * (m / (m - 1))  # the unbiased variance, as PyTorch
        else:
            mean, var = running_mean.astype(x.dtype), running_var.astype(x.dtype)
        self.inv_std = (1 / np.sqrt(var + eps)).reshape(per_channel)
        self.x_hat = (x - mean.reshape(per_channel)) * self.inv_std
        self.gamma = weight.reshape(per_channel)
        return self.gamma * self.x_hat + bias.reshape(per_channel)

    def backward(self, grad):
        g_hat = grad * self.gamma
        dx = None
        if self.needs_grad[0]:
            if self.training:
                dx = (g_hat - g_hat.mean(axis=self.axes, keepdims=True)
                      - self.x_hat * (g_hat * self.x_hat).mean(axis=self.axes, keepdims=True))
                dx = dx * self.inv_std
            else:
                dx = g_hat * self.inv_std
        dweight = (grad * self.x_hat).sum(axis=self.axes) if self.needs_grad[1] else None
        dbias = grad.sum(axis=self.axes) if self.needs_grad[2] else None
        return dx, dweight, dbias


def batch_norm(x, running_mean, running_var, weight, bias, training: bool,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over the channel axis 1. x: (N, C) or (N, C, H, W); running_mean,
    running_var: (C,) numpy arrays, updated in place when training (new = (1 − momentum)·old +
    momentum·batch statistic); weight, bias: (C,)."""
    return BatchNorm.apply(x, weight, bias, running_mean=running_mean, running_var=running_var,
                           training=training, momentum=momentum, eps=eps)


# ---------------------------------------------------------------------------------------------
# Dense layers and shapes
# ---------------------------------------------------------------------------------------------

class Linear(Function):
    """x: (..., in), weight: (out, in), bias: (out,) -> (..., out).

    forward:  y = x @ Wᵀ + b
    backward: dx = dy @ W,  dW = dyᵀ @ x,  db = Σ dy
    """

    def forward(self, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input {x.shape} has {x.shape[-1] if x.ndim else 0} features "
                             f"but weight {weight.shape} expects {weight.shape[-1]}")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias shape {bias.shape} does not match weight "
                             f"{weight.shape} (expected ({weight.shape[0]},))")
        self.x, self.weight = x, weight
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, grad):
        x2 = self.x.reshape(-1, self.x.shape[-1])
        g2 = grad.reshape(-1, grad.shape[-1])
        dx = grad @ self.weight if self.needs_grad[0] else None
        dw = g2.T @ x2 if self.needs_grad[1] else None
        if len(self.needs_grad) == 3:
            return dx, dw, (g2.sum(axis=0) if self.needs_grad[2] else None)
        return dx, dw


def linear(x, weight, bias=None) -> Tensor:
    """Fully connected layer. x: (..., in), weight: (out, in), bias: (out,) -> (..., out)."""
    return Linear.apply(*((x, weight) if bias is None else (x, weight, bias)))


def flatten(x, start_dim: int = 1) -> Tensor:
    """Merge every axis from start_dim on: (N, C, H, W) -> (N, C·H·W)."""
    x = as_tensor(x)
    return x.reshape(x.shape[:start_dim] + (-1,))


def relu(x) -> Tensor:
    return as_tensor(x).relu()


def sigmoid(x) -> Tensor:
    return as_tensor(x).sigmoid()


def tanh(x) -> Tensor:
    return as_tensor(x).tanh()


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p) (inverted dropout,
    so inference needs no rescaling). The identity when not training."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    keep = generator().random(x.shape) >= p
    return x * (keep / (1 - p)).astype(x.dtype)


# ---------------------------------------------------------------------------------------------
# Softmax and losses
# ---------------------------------------------------------------------------------------------

def _log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    """a − logsumexp(a): the maximum is subtracted first, so large logits never overflow."""
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """s = exp(a) / Σ exp(a) along axis.  d/da: s·(g − Σ g·s)."""

    def forward(self, a, *, axis=-1):
        self.axis = axis
        self.out = np.exp(_log_softmax(a, axis))
        return self.out

    def backward(self, grad):
        s = self.out
        return s * (grad - (grad * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """a − logsumexp(a) along axis.  d/da: g − softmax(a)·Σ g."""

    def forward(self, a, *, axis=-1):
        self.axis = axis
        self.out = _log_softmax(a, axis)
        return self.out

    def backward(self, grad):
        return grad - np.exp(self.out) * grad.sum(axis=self.axis, keepdims=True)


def softmax(x, axis: int = -1) -> Tensor:
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    return LogSoftmax.apply(x, axis=axis)


class CrossEntropy(Function):
    """logits: (N, K), target: (N,) integer classes -> mean over the batch of −log softmax[target].

    forward:  computed through log-sum-exp, so logits of ±1000 give a finite loss
    backward: (softmax(logits) − one_hot(target)) / N
    """

    def forward(self, logits, target):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: logits must be (N, K), got shape {logits.shape}")
        if target.shape != (logits.shape[0],) or not np.issubdtype(target.dtype, np.integer):
            raise ValueError(f"cross_entropy: target must be {logits.shape[0]} integer class "
                             f"labels, got shape {target.shape} of {target.dtype}")
        if target.size and (target.min() < 0 or target.max() >= logits.shape[1]):
            raise ValueError(f"cross_entropy: labels must be in [0, {logits.shape[1]}), got "
                             f"{target.min()}..{target.max()}")
        log_probs = _log_softmax(logits, axis=1)
        self.log_probs, self.target = log_probs, target
        rows = np.arange(len(target))
        return np.asarray(-log_probs[rows, target].mean(), dtype=logits.dtype)

    def backward(self, grad):
        n = len(self.target)
        d = np.exp(self.log_probs)
        d[np.arange(n), self.target] -= 1
        return d * (grad / n), None


def cross_entropy(logits, target) -> Tensor:
    """Mean cross-entropy of integer class labels under softmax(logits). logits: (N, K)."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    return CrossEntropy.apply(logits, Tensor(target))


def mse_loss(prediction, target) -> Tensor:
    """Mean of squared differences; the shapes must match exactly."""
    prediction, target = as_tensor(prediction), as_tensor(target)
    if prediction.shape != target.shape:
        raise ValueError(f"mse_loss: prediction shape {prediction.shape} does not match target "
                         f"shape {target.shape}")
    diff = prediction - target
    return (diff * diff).mean()
