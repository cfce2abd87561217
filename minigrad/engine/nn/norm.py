"""Normalisation modules."""

from __future__ import annotations

import numpy as np

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.module import Module, Parameter

__all__ = ["BatchNorm2d"]


class BatchNorm2d(Module):
    """Batch normalisation per channel. x: (N, C, H, W) or (N, C) -> the same shape.

    weight γ (ones) and bias β (zeros) are learnt; the buffers running_mean (zeros) and
    running_var (ones) follow the batches in training and replace them in eval.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=np.float32))
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)

    def layer(self) -> layers.BatchNorm:
        return layers.BatchNorm(num_features=self.num_features)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


# ---------------------------------------------------------------------------------------------
# Layers without parameters
# ---------------------------------------------------------------------------------------------
