"""Normalisation modules."""

from __future__ import annotations

import numpy as np

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.module import Module, Parameter

__all__ = ["BatchNorm2d", "BatchNorm1d", "LayerNorm", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d"]


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



class BatchNorm1d(BatchNorm2d):
    """Batch normalisation per channel of (N, C) features or (N, C, L) sequences; parameters and
    running statistics as BatchNorm2d."""

    def forward(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: input must be (N, C) or (N, C, L), got shape "
                             f"{x.shape}")
        return super().forward(x)


class LayerNorm(Module):
    """Layer normalisation over the last axes. x: (..., *normalized_shape) -> the same shape.

    elementwise_affine: learn γ (ones) and, with bias, β (zeros), each of normalized_shape.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
            else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=np.float32)) \
            if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=np.float32)) \
            if elementwise_affine and bias else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def layer(self) -> layers.LayerNorm:
        return layers.LayerNorm(normalized_shape=self.normalized_shape,
                                elementwise_affine=self.elementwise_affine,
                                bias=self.bias is not None)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalisation. x: (N, num_channels, ...) -> the same shape; the channels split into
    num_groups groups. affine: learn γ (ones) and β (zeros) per channel."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by "
                             f"num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        self.weight = Parameter(np.ones(num_channels, dtype=np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype=np.float32)) if affine else None

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def layer(self) -> layers.GroupNorm:
        return layers.GroupNorm(groups=self.num_groups, channels=self.num_channels,
                                affine=self.affine)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class InstanceNorm2d(Module):
    """Instance normalisation: each sample's channel over its own positions.
    x: (N, C, H, W) -> the same shape.

    affine: learn γ (ones) and β (zeros) per channel. track_running_stats: keep running_mean
    (zeros) and running_var (ones) as buffers, updated in training and used in eval (without it
    every call, training or not, uses the input's statistics).
    """

    ranks = (4,)
    shape_words = "(N, C, H, W)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype=np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32)) if affine else None
        self.running_mean = self.running_var = None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
            self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))

    def forward(self, x):
        if x.ndim not in self.ranks:
            raise ValueError(f"{type(self).__name__}: input must be {self.shape_words}, got "
                             f"shape {x.shape}")
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               self.training or not self.track_running_stats, self.momentum,
                               self.eps)

    def layer(self) -> layers.InstanceNorm:
        return layers.InstanceNorm(num_features=self.num_features, affine=self.affine,
                                   track_running_stats=self.track_running_stats)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(InstanceNorm2d):
    """Instance normalisation of (N, C, L) sequences: each sample's channel over its positions;
    options as InstanceNorm2d."""

    ranks = (3,)
    shape_words = "(N, C, L)"
