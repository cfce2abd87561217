"""Activations and dropout: element-wise functions of one tensor, and softmax along an axis."""

from __future__ import annotations

import numpy as np

from minigrad.engine.rng import generator
from minigrad.engine.tensor import Function, Tensor, as_tensor

__all__ = ["relu", "sigmoid", "tanh", "dropout", "softmax", "log_softmax", "Softmax", "LogSoftmax"]


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
