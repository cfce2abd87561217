"""Fully connected modules, Flatten and Embedding."""

from __future__ import annotations

import numpy as np

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.module import Module, Parameter, init_weight
from minigrad.engine.rng import generator

__all__ = ["Linear", "ChannelLinear", "Flatten", "Embedding"]


class Linear(Module):
    """Fully connected layer. x: (..., in_features) -> (..., out_features).

    weight: (out_features, in_features); bias: (out_features,), zero at first.
    init: "he" or "glorot" with fan_in = in_features, fan_out = out_features.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "glorot"):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init_weight((out_features, in_features), in_features,
                                            out_features, init))
        self.bias = Parameter(np.zeros(out_features, dtype=np.float32)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def layer(self) -> layers.Dense:
        return layers.Dense(units=self.out_features, bias=self.bias is not None,
                            in_features=self.in_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ChannelLinear(Linear):
    """Keras' Dense on a feature map: one Linear applied to the channel vector at every position.
    x: (N, in_features, H, W) -> (N, out_features, H, W).

    Keras is channels-last, so its Dense acts on the last axis, C. Here data is N×C×H×W: the
    channel axis is moved last, Linear applied, and the axis moved back.
    """

    def forward(self, x):
        channels_last = x.transpose(0, 2, 3, 1)                   # (N, H, W, C)
        return F.linear(channels_last, self.weight, self.bias).transpose(0, 3, 1, 2)

    def layer(self) -> layers.Dense:
        raise ValueError("ChannelLinear (Keras' Dense on an H×W×C map) has no C×H×W layer; a "
                         "model from build_model is summarised from the network it was built from")


class Flatten(Module):
    """Merge every axis from start_dim on: (N, C, H, W) -> (N, C·H·W), in that order."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim)

    def layer(self) -> layers.Flatten:
        if self.start_dim != 1:
            raise ValueError(f"Flatten(start_dim={self.start_dim}) has no minigrad.layers kind "
                             "(only start_dim=1: keep the batch axis)")
        return layers.Flatten()

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


class Embedding(Module):
    """A table of num_embeddings learnt vectors of embedding_dim values, looked up by integer
    index: (...) -> (..., embedding_dim).

    weight: (num_embeddings, embedding_dim), drawn from N(0, 1) as PyTorch does; the row
    padding_idx (if given) starts at zero and gets no gradient.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within the {num_embeddings} "
                                 f"rows, got {padding_idx}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        weight = generator().standard_normal((num_embeddings, embedding_dim), dtype=np.float32)
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.weight = Parameter(weight)

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx)

    def layer(self) -> layers.Embedding:
        return layers.Embedding(num_embeddings=self.num_embeddings,
                                embedding_dim=self.embedding_dim)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
