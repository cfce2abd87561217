"""Activations and dropout: element-wise functions of one tensor, and softmax along an axis.

Where a function has a kink (relu6 at 0 and 6, hardswish at ±3, ...), backward uses the one-sided
derivative PyTorch uses there; each docstring says which side.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad.engine import workspace
from minigrad.engine.rng import generator
from minigrad.engine.tensor import (Function, Tensor, as_tensor, dim_or_axis, normalize_dim,
                                    unbroadcast)

__all__ = ["relu", "sigmoid", "tanh", "dropout", "softmax", "log_softmax", "Softmax", "LogSoftmax",
           "leaky_relu", "elu", "selu", "gelu", "silu", "hardswish", "hardsigmoid", "relu6",
           "softplus", "mish", "softsign", "prelu", "dropout1d", "dropout2d", "LeakyReLU", "ELU",
           "GELU", "SiLU", "Hardswish", "Hardsigmoid", "ReLU6", "Softplus", "Mish", "Softsign",
           "PReLU"]


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
    return x * _kept_and_scaled(x.shape, p, x.dtype)


def _kept_and_scaled(shape, p: float, dtype) -> np.ndarray:
    """The mask of inverted dropout: 1/(1 − p) where an element is kept, else 0, in the input's
    dtype. An element is kept when a uniform 32-bit draw is ≥ p·2³² (p to within 2⁻³²): the
    generator's raw 64-bit draws, two values each, cost half as much as Generator.random in
    float32 (1.84M values: 2.7 against 5.7 ms). The draws are freed before the mask is made, so
    that the mask takes their memory: kept alive, every step faulted in fresh pages (2,000)."""
    count = math.prod(shape)
    draws = generator().bit_generator.random_raw((count + 1) // 2)  # PCG64: 64 random bits
    keep = draws.view(np.uint32)[:count].reshape(shape) >= round(p * 2**32)
    del draws
    return np.multiply(keep, 1 / (1 - p), dtype=dtype)


def _channel_dropout(op: str, x, p: float, training: bool, spatial_axes: int, ranks) -> Tensor:
    """Zero whole channels: one draw per (n, c) (per c without a batch axis), broadcast over the
    last spatial_axes axes; the kept channels are scaled by 1/(1 − p)."""
    if not 0 <= p < 1:
        raise ValueError(f"{op}: p must be in [0, 1), got {p}")
    x = as_tensor(x)
    if x.ndim not in ranks:
        raise ValueError(f"{op}: input must have {' or '.join(map(str, ranks))} axes, got shape "
                         f"{x.shape}")
    if not training or p == 0:
        return x
    return x * _kept_and_scaled(x.shape[:-spatial_axes] + (1,) * spatial_axes, p, x.dtype)


def dropout1d(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Channel dropout on (N, C, L) or (C, L): each channel's whole sequence is zeroed with
    probability p, the rest scaled by 1/(1 − p). The identity when not training."""
    return _channel_dropout("dropout1d", x, p, training, 1, (2, 3))


def dropout2d(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Channel dropout on (N, C, H, W): each channel's whole map is zeroed with probability p,
    the rest scaled by 1/(1 − p). The identity when not training."""
    return _channel_dropout("dropout2d", x, p, training, 2, (4,))



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


def softmax(x, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Softmax along `dim` (PyTorch's name) or `axis` (numpy's); the last axis by default."""
    x = as_tensor(x)
    return Softmax.apply(x, axis=normalize_dim(_last_by_default(dim, axis), x.ndim))


def log_softmax(x, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    x = as_tensor(x)
    return LogSoftmax.apply(x, axis=normalize_dim(_last_by_default(dim, axis), x.ndim))


def _last_by_default(dim, axis) -> int:
    chosen = dim_or_axis(dim, axis)
    return -1 if chosen is None else chosen



# ---------------------------------------------------------------------------------------------
# Piecewise-linear activations
# ---------------------------------------------------------------------------------------------

class LeakyReLU(Function):
    """x if x > 0 else slope·x.  d/dx = 1 where x > 0, else slope (slope at 0, as PyTorch)."""

    def forward(self, x, *, negative_slope=0.01):
        self.positive, self.slope = x > 0, negative_slope
        return np.where(self.positive, x, x * negative_slope)

    def backward(self, grad):
        return np.where(self.positive, grad, grad * self.slope)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    return LeakyReLU.apply(x, negative_slope=negative_slope)


class ReLU6(Function):
    """min(max(x, 0), 6).  d/dx = 1 for 0 < x < 6, else 0 (0 at both kinks, as PyTorch)."""

    def forward(self, x):
        self.out = x.clip(0, 6, out=workspace.result_like(x))
        return self.out

    def backward(self, grad):
        # x lies strictly between 0 and 6 exactly where the output does: the output, alive
        # until backward anyway, gives the mask, and forward keeps no mask array. The mask and
        # dx are result arrays laid out as the output (recycled, so no fresh pages to fault in).
        # The mask stays boolean: comparisons written as floats run numpy's slow casting loop
        # (32×16×14×14 alone: 0.071 -> 0.043 ms; mobilenet-mini's nine in a step, where the
        # maps come from memory, 1.28 -> 1.24).
        inside = np.greater(self.out, 0, out=workspace.result_like(self.out, np.bool_))
        inside &= np.less(self.out, 6, out=workspace.result_like(self.out, np.bool_))
        return np.multiply(grad, inside, out=workspace.result_like(self.out, grad.dtype))


def relu6(x) -> Tensor:
    return ReLU6.apply(x)


class Hardsigmoid(Function):
    """relu6(x + 3) / 6.  d/dx = 1/6 for −3 < x < 3, else 0 (0 at ±3, as PyTorch)."""

    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        return np.clip(x + 3, 0, 6) / 6

    def backward(self, grad):
        return grad * self.inside / 6


def hardsigmoid(x) -> Tensor:
    return Hardsigmoid.apply(x)


class Hardswish(Function):
    """x·relu6(x + 3) / 6: 0 for x ≤ −3, x for x ≥ 3, x(x + 3)/6 between.
    d/dx = 0 for x ≤ −3, x/3 + 1/2 for −3 < x < 3, 1 for x ≥ 3 (PyTorch's sides at ±3)."""

    def forward(self, x):
        self.x = x
        return x * np.clip(x + 3, 0, 6) / 6

    def backward(self, grad):
        x = self.x
        slope = np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0))
        return (grad * slope).astype(grad.dtype, copy=False)


def hardswish(x) -> Tensor:
    return Hardswish.apply(x)


class PReLU(Function):
    """x: (N, C, ...) or any shape with one slope, weight a: (1,) or (C,) slopes along axis 1.
    x if x > 0 else a·x.  dx = g where x > 0 else a·g;  da = Σ g·x over x ≤ 0 (per channel)."""

    def forward(self, x, weight):
        channels = x.shape[1] if x.ndim >= 2 else 1
        if weight.ndim != 1 or weight.size not in (1, channels):
            raise ValueError(f"prelu: weight {weight.shape} must hold 1 or {channels} slopes "
                             f"(the channels of input {x.shape})")
        per_channel = (1, weight.size) + (1,) * (x.ndim - 2) if x.ndim >= 2 else (1,)
        self.x, self.slopes, self.weight_shape = x, weight.reshape(per_channel), weight.shape
        self.positive = x > 0
        return np.where(self.positive, x, self.slopes * x)

    def backward(self, grad):
        dx = np.where(self.positive, grad, self.slopes * grad) if self.needs_grad[0] else None
        dweight = None
        if self.needs_grad[1]:
            negative_part = np.where(self.positive, 0, grad * self.x)
            dweight = unbroadcast(negative_part, self.slopes.shape).reshape(self.weight_shape)
        return dx, dweight


def prelu(x, weight) -> Tensor:
    """Leaky ReLU with learnt slopes: weight (1,) shared, or (C,) one per channel (axis 1)."""
    return PReLU.apply(x, weight)


# ---------------------------------------------------------------------------------------------
# Smooth activations
# ---------------------------------------------------------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class ELU(Function):
    """scale·(x if x > 0 else α·(eᵡ − 1)).  d/dx = scale where x > 0, else scale·α·eᵡ
    (the exponential side at 0, as PyTorch). SELU is ELU with fixed α and scale."""

    def forward(self, x, *, alpha=1.0, scale=1.0):
        self.positive, self.alpha, self.scale = x > 0, alpha, scale
        self.exp = np.exp(np.minimum(x, 0))  # the negative side only: never overflows
        return scale * np.where(self.positive, x, alpha * (self.exp - 1))

    def backward(self, grad):
        return grad * self.scale * np.where(self.positive, 1, self.alpha * self.exp)


def elu(x, alpha: float = 1.0) -> Tensor:
    return ELU.apply(x, alpha=alpha)


def selu(x) -> Tensor:
    """Self-normalising ELU: scale·elu(x, α) with PyTorch's α ≈ 1.6733 and scale ≈ 1.0507."""
    return ELU.apply(x, alpha=SELU_ALPHA, scale=SELU_SCALE)


# W. J. Cody's rational approximations of erf and erfc (Math. Comp. 23, 1969), accurate to
# double precision; numpy has no erf of its own.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
           2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)


def _ratio(z, numerator, denominator):
    """Cody's rational function in z: the leading numerator coefficient is stored last."""
    top, bottom = numerator[-1] * z, z
    for a, b in zip(numerator[:len(denominator) - 1], denominator[:-1]):
        top, bottom = (top + a) * z, (bottom + b) * z
    return (top + numerator[len(denominator) - 1]) / (bottom + denominator[-1])


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, element-wise: x·R(x²) for |x| ≤ 0.46875, else 1 − erfc(|x|) with
    erfc(y) = e^(−y²)·R(y) up to 4 and e^(−y²)/y·(1/√π − R(1/y²)/y²) beyond, signed.
    (Every range is computed everywhere and np.where picks: faster than masking in numpy.)"""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    small = x * _ratio(y * y, _ERF_A, _ERF_B)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # in unpicked ranges
        middle = np.exp(-y * y) * _ratio(y, _ERFC_C, _ERFC_D)
        inv_sq = 1 / (y * y)
        tail = np.exp(-y * y) / y * (1 / np.sqrt(np.pi) - inv_sq * _ratio(inv_sq, _ERFC_P,
                                                                          _ERFC_Q))
    erfc = np.where(y <= 4, middle, tail)
    return np.where(y <= 0.46875, small, np.sign(x) * (1 - erfc))


class GELU(Function):
    """x·Φ(x), Φ the standard normal CDF.
    approximate='none': Φ(x) = (1 + erf(x/√2))/2;  d/dx = Φ(x) + x·φ(x), φ = e^(−x²/2)/√(2π)
    approximate='tanh': 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³);
                        d/dx = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)
    """

    def forward(self, x, *, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.tanh_u = np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))
            return (0.5 * x * (1 + self.tanh_u)).astype(x.dtype, copy=False)
        self.cdf = (0.5 * (1 + erf(x / np.sqrt(2)))).astype(x.dtype, copy=False)
        return x * self.cdf

    def backward(self, grad):
        x = self.x
        if self.approximate == "tanh":
            du = np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x * x)
            slope = 0.5 * (1 + self.tanh_u) + 0.5 * x * (1 - self.tanh_u ** 2) * du
        else:
            slope = self.cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return (grad * slope).astype(grad.dtype, copy=False)


def gelu(x, approximate: str = "none") -> Tensor:
    return GELU.apply(x, approximate=approximate)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1/(1 + e^(−x)), split by sign so that exp never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class SiLU(Function):
    """x·σ(x) (swish).  d/dx = σ(x)·(1 + x·(1 − σ(x)))."""

    def forward(self, x):
        self.x, self.s = x, _sigmoid(x)
        return x * self.s

    def backward(self, grad):
        return grad * self.s * (1 + self.x * (1 - self.s))


def silu(x) -> Tensor:
    return SiLU.apply(x)


class Softplus(Function):
    """log(1 + e^(β·x))/β, and x itself where β·x > threshold (PyTorch's switch to linear).
    d/dx = σ(β·x) below the threshold, 1 above."""

    def forward(self, x, *, beta=1.0, threshold=20.0):
        self.linear = x * beta > threshold
        self.s = _sigmoid(x * beta)
        return np.where(self.linear, x, np.logaddexp(0, x * beta) / beta).astype(x.dtype,
                                                                                 copy=False)

    def backward(self, grad):
        return np.where(self.linear, grad, grad * self.s)


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(x, beta=beta, threshold=threshold)


class Mish(Function):
    """x·tanh(softplus(x)).  d/dx = t + x·σ(x)·(1 − t²), t = tanh(softplus(x))."""

    def forward(self, x):
        self.x = x
        self.t = np.tanh(np.logaddexp(0, x)).astype(x.dtype, copy=False)
        return x * self.t

    def backward(self, grad):
        return grad * (self.t + self.x * _sigmoid(self.x) * (1 - self.t * self.t))


def mish(x) -> Tensor:
    return Mish.apply(x)


class Softsign(Function):
    """x / (1 + |x|).  d/dx = 1 / (1 + |x|)²."""

    def forward(self, x):
        self.denominator = 1 + np.abs(x)
        return x / self.denominator

    def backward(self, grad):
        return grad / (self.denominator * self.denominator)


def softsign(x) -> Tensor:
    return Softsign.apply(x)
