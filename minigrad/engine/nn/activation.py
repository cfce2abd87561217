"""Activation and dropout modules."""

from __future__ import annotations

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.module import Module

__all__ = ["Dropout", "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax"]


class Dropout(Module):
    """Inverted dropout in training (each value zeroed with probability p, the rest scaled by
    1/(1 − p)); the identity in eval. Masks come from minigrad.engine.rng's generator."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def layer(self) -> layers.Dropout:
        return layers.Dropout(rate=self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="relu")


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="sigmoid")


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="tanh")


class Softmax(Module):
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, self.axis)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="softmax")

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return F.log_softmax(x, self.axis)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="log_softmax")
