"""Layers as objects that own their parameters, PyTorch-style (`import minigrad.engine.nn as nn`).

A `Module` notices the `Parameter`s and sub-`Module`s assigned to its attributes, so
`named_parameters()` finds every weight under a dotted name ("0.weight", "3.running_mean"), and
`state_dict()` / `load_state_dict()` save and restore them. Each layer computes with the ops of
`minigrad.engine.functional`; the sizes of its outputs come from there (and so from `minigrad.layers.shapes`).

Every layer also knows the `minigrad.layers` kind it corresponds to (`.layer()`), which is how
`Sequential.summary()` prints the same table as `cnncalc shapes`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from rich.console import Console

from minigrad.engine import functional as F
from minigrad import layers
from minigrad.layers import report
from minigrad.engine.rng import generator
from minigrad.engine.tensor import Tensor
from minigrad.engine.windows import padding_sides, pair

INITS = ("he", "glorot")


class Parameter(Tensor):
    """A tensor that a Module learns: requires_grad=True; float32 unless the data is a float64
    array (kept for gradient checks)."""

    def __init__(self, data, name: str | None = None):
        data = data.data if isinstance(data, Tensor) else data
        float64 = isinstance(data, np.ndarray) and data.dtype == np.float64
        super().__init__(data, requires_grad=True, dtype=np.float64 if float64 else np.float32,
                         name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__().removeprefix("Tensor")


def init_weight(shape: tuple[int, ...], fan_in: int, fan_out: int, init: str) -> np.ndarray:
    """Uniform float32 weights in [−bound, bound], drawn from minigrad.engine.rng's generator.

    "he" (Kaiming uniform, for layers followed by ReLU): bound = √(6 / fan_in), which keeps the
    variance of the activations steady although ReLU zeroes half of them.
    "glorot" (Xavier uniform, Keras' default): bound = √(6 / (fan_in + fan_out)).
    A uniform draw in [−b, b] has variance b²/3.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    bound = math.sqrt(6 / fan_in) if init == "he" else math.sqrt(6 / (fan_in + fan_out))
    weight = generator().random(shape, dtype=np.float32)  # [0, 1); float32 halves the memory
    weight *= 2 * bound
    weight -= bound
    return weight


# ---------------------------------------------------------------------------------------------
# Module: the container behaviour every layer shares
# ---------------------------------------------------------------------------------------------

class Module:
    """Base class of every layer and model.

    Assigning a Parameter or a Module to an attribute registers it (in assignment order);
    `register_buffer` registers a plain array that belongs in the state but is not learnt
    (BatchNorm's running statistics). Subclasses call `super().__init__()` first and write
    `forward`; calling the module runs `forward`.
    """

    def __init__(self):
        # name -> "parameter" | "buffer" | "module"; the values themselves are plain attributes.
        object.__setattr__(self, "_registered", {})
        self.training = True

    def __setattr__(self, name: str, value) -> None:
        registered = self.__dict__.get("_registered")
        if registered is None:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() has run: call "
                                 "super().__init__() first")
        if isinstance(value, Parameter):
            registered[name] = "parameter"
        elif isinstance(value, Module):
            registered[name] = "module"
        elif registered.get(name) in ("parameter", "module"):
            del registered[name]  # e.g. `self.bias = None`: no longer a parameter
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._registered.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep `array` as attribute `name`, saved in the state dict but never trained."""
        setattr(self, name, array)
        self._registered[name] = "buffer"

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args):
        return self.forward(*args)

    def layer(self) -> layers.Layer:
        """The minigrad.layers kind this module corresponds to (for summary())."""
        raise NotImplementedError(f"{type(self).__name__} has no minigrad.layers kind")

    # -- walking the tree ---------------------------------------------------------------------
    def _own(self, kind: str) -> Iterator[tuple[str, object]]:
        for name, what in self._registered.items():
            if what == kind:
                yield name, getattr(self, name)

    def children(self) -> Iterator[Module]:
        for _, module in self._own("module"):
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (under `prefix`) and every module inside it, depth first."""
        yield prefix, self
        for name, module in self._own("module"):
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def _named(self, kind: str) -> Iterator[tuple[str, object]]:
        seen = set()  # a parameter shared by two layers is listed once
        for prefix, module in self.named_modules():
            for name, value in module._own(kind):
                if id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, e.g. ("0.weight", ...)."""
        return self._named("parameter")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for every buffer, e.g. ("3.running_mean", ...)."""
        return self._named("buffer")

    # -- state ------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        """The live arrays of the state, parameters first, then buffers."""
        state = {name: p.data for name, p in self.named_parameters()}
        state.update(self.named_buffers())
        return state

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name (changing them changes nothing)."""
        return {name: array.copy() for name, array in self._state_arrays().items()}

    def load_state_dict(self, state: dict, strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy arrays into the parameters and buffers, in place, keeping their dtypes.

        Raises ValueError naming missing and unexpected keys (unless strict=False) and every
        shape mismatch (always); nothing is loaded then. Returns (missing, unexpected).
        """
        own = self._state_arrays()
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for name, target in own.items():
            if name in state:
                value = np.asarray(state[name])
                if value.shape != target.shape:
                    problems.append(f"shape mismatch for {name}: expected {target.shape}, "
                                    f"got {value.shape}")
                elif not np.issubdtype(value.dtype, np.number):
                    problems.append(f"{name} holds {value.dtype} values, not numbers")
        if problems:
            raise ValueError("load_state_dict: " + "; ".join(problems))
        for name, target in own.items():
            if name in state:
                target[...] = state[name]
        return missing, unexpected

    # -- modes and gradients -------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout drops, batch norm uses batch statistics) for this module and
        every module inside it."""
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # -- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The settings shown inside the parentheses of repr()."""
        return ""

    def __repr__(self) -> str:
        children = list(self._own("module"))
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, module in children:
            lines.append(f"  ({name}): " + repr(module).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


# ---------------------------------------------------------------------------------------------
# Sequential
# ---------------------------------------------------------------------------------------------

class Sequential(Module):
    """Modules applied one after the other; they are named "0", "1", ...

    `build_model` sets two attributes: `network` (the minigrad.layers Network it was built
    from) and `output_activation` ("softmax", "log_softmax" or None: a final softmax that is
    not built because the loss applies it).
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {index} is a {type(module).__name__}, not a "
                                "Module")
            setattr(self, str(index), module)
        self.network: layers.Network | None = None
        self.output_activation: str | None = None

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __getitem__(self, index):
        modules = list(self.children())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

    def _layers(self) -> list[layers.Layer]:
        found = []
        for module in self:
            found += module._layers() if isinstance(module, Sequential) else [module.layer()]
        return found

    def summary(self, input_shape: tuple[int, ...] | None = None, console: Console | None = None,
                name: str = "model", explain: bool = False) -> None:
        """Print the table of `cnncalc shapes` for this model.

        A model from build_model is shown as the network it was built from, in that network's
        layout (input_shape, in that layout, may replace its input shape). Any other Sequential
        is described by its layers' .layer() in C×H×W with PyTorch's rules, and needs
        input_shape (C, H, W) or a flat (features,).
        """
        if self.network is not None:
            network = self.network
            if input_shape is not None:
                network = replace(network, input_shape=tuple(input_shape))
        else:
            if input_shape is None:
                raise ValueError("summary() needs input_shape, e.g. (1, 28, 28) in C×H×W, for a "
                                 "model that build_model did not make")
            network = layers.Network(tuple(input_shape), tuple(self._layers()), "chw", "torch")
        report.print_summary(console or Console(), layers.analyze(network), name, explain)


# ---------------------------------------------------------------------------------------------
# Layers with parameters
# ---------------------------------------------------------------------------------------------

def _padding_arg(module: str, padding):
    """Padding as given, with ((a, a), (b, b)) simplified to (a, b) and an int to a pair."""
    if isinstance(padding, str):
        return padding
    (top, bottom), (left, right) = padding_sides(module, padding)
    if top == bottom and left == right:
        return top, left
    return (top, bottom), (left, right)


def _shapes_padding(module: Module, padding):
    """The padding in minigrad.layers terms: 'valid', 'same' or a symmetric pair."""
    if isinstance(padding, str) or isinstance(padding[0], int):
        return padding
    raise ValueError(f"{type(module).__name__} with padding {padding} (different before and "
                     "after) has no minigrad.layers kind; a model from build_model is summarised "
                     "from the network it was built from")


class Conv2d(Module):
    """2-D convolution. x: (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    weight: (out_channels, in_channels, KH, KW); bias: (out_channels,), zero at first.
    padding: int, pair, 'valid', 'same' (stride 1) or ((top, bottom), (left, right)).
    init: "he" or "glorot" (see init_weight); fan_in = in_channels·KH·KW,
    fan_out = out_channels·KH·KW.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, init: str = "glorot"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = _padding_arg("Conv2d", padding)
        self.dilation = pair(dilation, "dilation")
        if self.padding == "same" and self.stride != (1, 1):
            raise ValueError("Conv2d: padding='same' is not supported for strided convolutions; "
                             "give ((top, bottom), (left, right)) instead")
        kh, kw = self.kernel_size
        self.weight = Parameter(init_weight((out_channels, in_channels, kh, kw),
                                            in_channels * kh * kw, out_channels * kh * kw, init))
        self.bias = Parameter(np.zeros(out_channels, dtype=np.float32)) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def layer(self) -> layers.Conv:
        return layers.Conv(filters=self.out_channels, kernel=self.kernel_size, stride=self.stride,
                           padding=_shapes_padding(self, self.padding), dilation=self.dilation,
                           bias=self.bias is not None, in_channels=self.in_channels)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text


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

class MaxPool2d(Module):
    """Max pooling. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.
    padding: int, pair or ((top, bottom), (left, right)); ceil_mode as PyTorch."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = _padding_arg("MaxPool2d", padding)
        self.ceil_mode = ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def layer(self) -> layers.Pool:
        return layers.Pool(mode="max", kernel=self.kernel_size, stride=self.stride,
                           padding=_shapes_padding(self, self.padding), ceil=self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Average pooling. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.
    count_include_pad=False divides each window by its number of real values (TensorFlow's
    'same' pooling)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = _padding_arg("AvgPool2d", padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def layer(self) -> layers.Pool:
        return layers.Pool(mode="avg", kernel=self.kernel_size, stride=self.stride,
                           padding=_shapes_padding(self, self.padding), ceil=self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}")


class GlobalAvgPool2d(Module):
    """Mean over H and W. x: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims."""

    def __init__(self, keepdims: bool = False):
        super().__init__()
        self.keepdims = keepdims

    def forward(self, x):
        return F.global_avg_pool2d(x, self.keepdims)

    def layer(self) -> layers.GlobalPool:
        return layers.GlobalPool(mode="avg", keepdims=self.keepdims)

    def extra_repr(self) -> str:
        return f"keepdims={self.keepdims}"


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
