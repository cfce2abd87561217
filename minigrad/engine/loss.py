"""Losses: each reduces a prediction and a target to one number, with its gradient."""

from __future__ import annotations

import numpy as np

from minigrad.engine.activation import _log_softmax
from minigrad.engine.tensor import Function, Tensor, as_tensor

__all__ = ["cross_entropy", "mse_loss", "CrossEntropy"]


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
