"""Activation and dropout modules, and Identity."""

from __future__ import annotations

from minigrad import layers
from minigrad.engine import functional as F
import numpy as np

from minigrad.engine.nn.module import Module, Parameter

__all__ = ["ValuePReLU", "Dropout", "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout1d", "Dropout2d",
           "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Hardswish", "Hardsigmoid", "ReLU6",
           "Softplus", "Mish", "Softsign", "PReLU", "Identity"]


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


class Dropout2d(Dropout):
    """Channel dropout on (N, C, H, W): in training each channel's whole map is zeroed with
    probability p and the rest scaled by 1/(1 − p); the identity in eval."""

    variant = "dropout2d"

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)

    def layer(self) -> layers.Dropout:
        return layers.Dropout(rate=self.p, variant=self.variant)


class Dropout1d(Dropout2d):
    """Channel dropout on (N, C, L) or (C, L): whole channels zeroed, as Dropout2d."""

    variant = "dropout1d"

    def forward(self, x):
        return F.dropout1d(x, self.p, self.training)


class Identity(Module):
    """The input, unchanged (a placeholder where a layer is optional)."""

    def forward(self, x):
        return x

    def layer(self) -> layers.Identity:
        return layers.Identity()


class _Elementwise(Module):
    """An activation without settings: fn names both the functional op and the layer kind."""

    fn = ""

    def forward(self, x):
        return getattr(F, self.fn)(x)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn=self.fn)


class SELU(_Elementwise):
    fn = "selu"


class SiLU(_Elementwise):
    fn = "silu"


class Hardswish(_Elementwise):
    fn = "hardswish"


class Hardsigmoid(_Elementwise):
    fn = "hardsigmoid"


class ReLU6(_Elementwise):
    fn = "relu6"


class Mish(_Elementwise):
    fn = "mish"


class Softsign(_Elementwise):
    fn = "softsign"


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="leaky_relu", alpha=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="elu", alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="gelu")

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def layer(self) -> layers.Activation:
        return layers.Activation(fn="softplus")

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    """Leaky ReLU with learnt negative slopes: num_parameters 1 (shared) or C (one per channel,
    axis 1), each starting at init."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(np.full(num_parameters, init, dtype=np.float32))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def layer(self) -> layers.PReLU:
        return layers.PReLU(num_parameters=self.num_parameters)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"



class ValuePReLU(Module):
    """Keras' PReLU: a learnt negative slope per value, shared along some axes: slopes of shape
    `slope_shape` (the per-sample shape, channels first, with 1 on the shared axes), starting
    at 0 as Keras' do.  f(x) = x for x ≥ 0, alpha·x below."""

    def __init__(self, slope_shape: tuple[int, ...]):
        super().__init__()
        self.alpha = Parameter(np.zeros(slope_shape, dtype=np.float32))

    def forward(self, x):
        return x.relu() - self.alpha * (-x).relu()

    def extra_repr(self) -> str:
        return f"slope_shape={self.alpha.shape}"
