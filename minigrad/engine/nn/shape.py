"""Modules that move values without learning anything: reshapes, permutes, squeezes, reductions,
per-sample indexing, merges of several tensors (add, concatenate, …), and ChannelsLast, which runs
a Keras layer written for channels-last data on minigrad's channels-first maps.

Axes are per sample (the batch axis is never named), as minigrad.layers counts them: on
N×C×H×W data, axis 0 is C.
"""

from __future__ import annotations

import minigrad
from minigrad.engine import functional as F
from minigrad.engine.nn.module import Module
from minigrad.engine.tensor import Tensor

__all__ = ["Reshape", "Permute", "Squeeze", "Unsqueeze", "Reduce", "Slice", "Merge", "Arithmetic",
           "PadSides", "ChannelsLast"]


class Reshape(Module):
    """x: (N, *S) -> (N, *target); one -1 in target is worked out from the size."""

    def __init__(self, target: tuple[int, ...]):
        super().__init__()
        self.target = tuple(target)

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.target)

    def extra_repr(self) -> str:
        return f"target={self.target}"


class Permute(Module):
    """The per-sample axes in a new order: dims (1, 2, 0) turns (N, C, H, W) into (N, H, W, C)."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        return x.transpose((0,) + tuple(d % (x.ndim - 1) + 1 for d in self.dims))

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Squeeze(Module):
    """Drop per-sample axis `axis` if its size is 1 (PyTorch leaves other sizes alone), or every
    per-sample axis of size 1 when axis is None."""

    def __init__(self, axis: int | None = None):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        sample = list(x.shape[1:])
        if self.axis is None:
            sample = [n for n in sample if n != 1]
        elif sample[self.axis] == 1:
            del sample[self.axis]
        return x.reshape([x.shape[0]] + sample)


class Unsqueeze(Module):
    """Insert a size-1 axis at per-sample position `axis` (-1 appends)."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        sample = list(x.shape[1:])
        position = self.axis if self.axis >= 0 else len(sample) + 1 + self.axis
        sample.insert(position, 1)
        return x.reshape([x.shape[0]] + sample)


class Reduce(Module):
    """mean, sum, max or min over per-sample axes (x.mean([2, 3]) on N×C×H×W is axes (1, 2))."""

    def __init__(self, op: str, axes: tuple[int, ...], keepdims: bool = False):
        super().__init__()
        self.op, self.axes, self.keepdims = op, tuple(axes), keepdims

    def forward(self, x):
        axes = tuple(a % (x.ndim - 1) + 1 for a in self.axes)
        if self.op == "min":  # the smallest is minus the largest of the negated values
            return -((-x).max(axis=axes, keepdims=self.keepdims))
        return getattr(x, self.op)(axis=axes, keepdims=self.keepdims)

    def extra_repr(self) -> str:
        return f"op={self.op}, axes={self.axes}, keepdims={self.keepdims}"


class Slice(Module):
    """Per-sample indexing: entries (start, stop, step), an int, or None (a new axis); the batch
    axis is kept whole. x[:, :3] is Slice(((None, 3, None),))."""

    def __init__(self, index: tuple):
        super().__init__()
        self.index = tuple(index)

    def forward(self, x):
        entries = [slice(*e) if isinstance(e, tuple) else e for e in self.index]
        return x[(slice(None), *entries)]

    def extra_repr(self) -> str:
        return f"index={self.index}"


class Merge(Module):
    """Several tensors into one: add, subtract (two), multiply, average, maximum, minimum
    (broadcast as numpy does), or concat along per-sample axis `axis`."""

    def __init__(self, op: str, axis: int = -1):
        super().__init__()
        self.op, self.axis = op, axis

    def forward(self, *xs):
        if self.op == "concat":
            return minigrad.cat(list(xs), dim=self.axis % (xs[0].ndim - 1) + 1)
        if self.op == "subtract":
            return xs[0] - xs[1]
        combine = {"add": lambda a, b: a + b, "average": lambda a, b: a + b,
                   "multiply": lambda a, b: a * b, "maximum": minigrad.maximum,
                   "minimum": minigrad.minimum}[self.op]
        out = xs[0]
        for x in xs[1:]:
            out = combine(out, x)
        return out / len(xs) if self.op == "average" else out

    def extra_repr(self) -> str:
        return f"op={self.op}" + (f", axis={self.axis}" if self.op == "concat" else "")


class Arithmetic(Module):
    """Every value with one number: op "add" (x + v), "sub", "rsub" (v − x), "mul", "div",
    "rdiv" (v / x), "pow" (x ** v) or "rpow" (v ** x); Keras' Rescaling is a mul and an add."""

    def __init__(self, op: str, operand: float):
        super().__init__()
        self.op, self.operand = op, operand

    def forward(self, x):
        v = self.operand
        return {"add": lambda: x + v, "sub": lambda: x - v, "rsub": lambda: v - x,
                "mul": lambda: x * v, "div": lambda: x / v, "rdiv": lambda: v / x,
                "pow": lambda: x ** v, "rpow": lambda: v ** x}[self.op]()

    def extra_repr(self) -> str:
        return f"op={self.op}, operand={self.operand}"


class PadSides(Module):
    """Pad (or, with negative sizes, crop) each spatial axis: sides ((before, after), …) in axis
    order, mode "constant" (value), "reflect" or "replicate", as F.pad computes them."""

    def __init__(self, sides: tuple[tuple[int, int], ...], mode: str = "constant",
                 value: float = 0.0):
        super().__init__()
        self.sides, self.mode, self.value = tuple(sides), mode, value

    def forward(self, x):
        last_axis_first = tuple(p for side in reversed(self.sides) for p in side)
        return F.pad(x, last_axis_first, self.mode, self.value)

    def extra_repr(self) -> str:
        return f"sides={self.sides}, mode={self.mode}"


class ChannelsLast(Module):
    """Run `inner`, written for channels-last data (Keras' layout), on channels-first maps:
    (N, C, *S) is moved to (N, *S, C), `inner` applied, and a map result moved back. Flat
    (N, K) tensors pass as they are. `inner` is held, not registered: the model registers it
    under its layer's name."""

    def __init__(self, inner: Module):
        super().__init__()
        object.__setattr__(self, "inner", inner)

    def forward(self, *xs):
        return _channels_first(self.inner(*(_channels_last(x) for x in xs)))

    def extra_repr(self) -> str:
        return repr(self.inner)


def _channels_last(x: Tensor) -> Tensor:
    return x if x.ndim < 3 else x.transpose((0, *range(2, x.ndim), 1))


def _channels_first(x: Tensor) -> Tensor:
    return x if x.ndim < 3 else x.transpose((0, x.ndim - 1, *range(1, x.ndim - 1)))

