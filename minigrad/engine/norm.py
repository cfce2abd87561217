"""Normalisation layers' ops, forward beside backward."""

from __future__ import annotations

import numpy as np

from minigrad.engine.tensor import Function, Tensor

__all__ = ["batch_norm", "BatchNorm"]


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
