"""The contract every layer kind keeps: given what flows in, say what flows out and what it costs.

A layer kind is a frozen dataclass (its configuration, as the model wrote it) with one method,
`infer`, that the graph analysis calls once per use of the layer. The kind never knows which
framework or reader produced it; what differs between frameworks is passed in a `Context`
(layout and padding rules). Everything is plain Python integers, so sizes are exact.

Shapes never include the batch axis. Spatial axes are the ones a window slides over:
channels-first ("chw", PyTorch) shapes are (C, *spatial); channels-last ("hwc", Keras and the
layer language) shapes are (*spatial, C). A rank-1 shape is a flat vector (no grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import ClassVar, Literal, Union

from minigrad.errors import SpecError, Where

Layout = Literal["hwc", "chw"]
Rules = Literal["keras", "torch"]
Ints = Union[int, tuple[int, ...]]  # one int for every spatial axis, or one per axis


@dataclass(frozen=True)
class Axis:
    """How the units along one spatial axis map back to input pixels.

    size: units along the axis; rf: receptive-field size in input pixels; jump: input pixels
    between neighbouring units (None once the axis is fully mixed, e.g. after global pooling);
    center: centre of the first unit's field in input pixel coordinates (pixel centres 0, 1, 2…).
    """

    size: int
    rf: int = 1
    jump: int | None = 1
    center: Fraction = Fraction(0)

    def slide(self, out: int, eff_kernel: int, stride: int, pad_before: int) -> Axis:
        """r_out = r_in + (K_eff − 1)·j_in, j_out = j_in·S, centre moved by ((K_eff−1)/2 − P)·j_in."""
        if self.jump is None:  # already sees the whole input along this axis
            return replace(self, size=out)
        return Axis(out, self.rf + (eff_kernel - 1) * self.jump, self.jump * stride,
                    self.center + (Fraction(eff_kernel - 1, 2) - pad_before) * self.jump)

    def collapse(self, size: int = 1) -> Axis:
        """Every unit now depends on all `self.size` units: the field covers the whole extent."""
        if self.jump is None:
            return replace(self, size=size)
        return Axis(size, self.rf + (self.size - 1) * self.jump, None,
                    self.center + Fraction(self.size - 1, 2) * self.jump)


@dataclass(frozen=True)
class Flow:
    """What travels along one edge of the layer graph, per sample.

    axes: one Axis per spatial axis, in shape order, or None where there is no pixel grid
    (a flat vector from the start, token ids). rf_unknown: why no receptive field can be given
    from here on (a layer that breaks the pixel grid, a merge of misaligned branches); once set it
    travels downstream. flattened_from: the map a flatten just turned into this vector, so a
    dense layer's size error can say where its input came from.
    """

    shape: tuple[int, ...]
    axes: tuple[Axis, ...] | None = None
    rf_unknown: str | None = None
    flattened_from: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Context:
    """What one use of a layer needs to know beyond its configuration."""

    layout: Layout
    rules: Rules
    name: str  # the row name of this use, for messages

    def channels(self, shape: tuple[int, ...]) -> int:
        return shape[0] if self.layout == "chw" else shape[-1]

    def spatial(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shape[1:]) if self.layout == "chw" else tuple(shape[:-1])

    def shape(self, channels: int, spatial: tuple[int, ...]) -> tuple[int, ...]:
        """A shape in this layout from its channel count and spatial sizes."""
        return (channels, *spatial) if self.layout == "chw" else (*spatial, channels)

    def error(self, message: str, layer: Layer, hint: str | None = None) -> SpecError:
        """A SpecError prefixed with this use's name and pointing at the layer's source."""
        return SpecError(f"{self.name}: {message}", layer.where, hint=hint)


@dataclass(frozen=True)
class Outcome:
    """What one use of a layer produces and costs.

    trainable: parameters a gradient updates. frozen: parameters both frameworks count but do
    not train (rare: a layer built with trainable=False). stats: running statistics (batch
    norm's mean and variance, Normalization's mean, variance and count): Keras counts them as
    non-trainable parameters, PyTorch keeps them as buffers outside model.parameters(); the
    analysis decides by the rules (PyTorch's integer num_batches_tracked counter is not counted:
    buffers are the floating-point running statistics). macs: multiply-accumulates per sample,
    bias excluded.
    """

    flow: Flow
    trainable: int = 0
    frozen: int = 0
    stats: int = 0
    macs: int = 0
    description: str = ""
    explain: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Layer:
    """Base of every layer kind: an optional name and where the model wrote it.

    type: the kind's short word in tables ("conv", "maxpool", "add", …). default_name: the base
    of Keras-style names for unnamed layers ("conv2d" → conv2d, conv2d_1, …). arity: how many
    inputs a use takes; None for merges, which take two or more.
    """

    name: str | None = None
    where: Where | None = field(default=None, compare=False, repr=False)

    type: ClassVar[str] = "layer"
    default_name: ClassVar[str] = "layer"
    arity: ClassVar[int | None] = 1

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        raise NotImplementedError

    def row_type(self) -> str:
        """The word the table shows for this use; a kind whose word depends on its configuration
        (a pool's mode, a merge's operation) overrides it."""
        return self.type

    def base_name(self) -> str:
        """The base of the Keras-style default name; a kind whose name depends on its
        configuration (conv1d or conv2d) overrides it."""
        return self.default_name


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape) if shape else "()"


def size(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def number(x) -> str:
    """An exact number as a learner would write it: 3, 2.5, 1,605,760; a whole Fraction (a field's
    centre) without separators, like the r and j it stands beside."""
    if isinstance(x, Fraction):
        return f"{x.numerator}" if x.denominator == 1 else f"{float(x):g}"
    if isinstance(x, bool):
        return str(x)
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def dims_text(values) -> str:
    """One number when every axis agrees (stride 2), else 3×5; None entries as '—'."""
    texts = ["—" if v is None else str(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "×".join(texts)


def check_positive(ctx: Context, layer: Layer, *, zero_ok: bool = False, **values) -> None:
    """Every value (an int or a tuple of ints) must be a positive integer (or ≥ 0 with zero_ok)."""
    kind = "a non-negative" if zero_ok else "a positive"
    for key, value in values.items():
        for v in value if isinstance(value, tuple) else (value,):
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if zero_ok else 1):
                raise ctx.error(f"{key} must be {kind} integer, got {v!r}", layer)


def per_axis(ctx: Context, layer: Layer, what: str, value, rank: int, default=None) -> tuple:
    """An argument given once (3) or per spatial axis ((3, 3)) as a tuple of `rank` values."""
    if value is None:
        value = default
    if isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, tuple):
        return (value,) * rank
    if len(value) != rank:
        axes = "axis" if rank == 1 else "axes"
        raise ctx.error(f"{what} {value!r} has {len(value)} values but the input has {rank} "
                        f"spatial {axes}", layer)
    return value


def one_input(ctx: Context, layer: Layer, inputs: tuple[Flow, ...]) -> Flow:
    if len(inputs) != 1:
        raise ctx.error(f"takes one input, got {len(inputs)}", layer)
    return inputs[0]


def per_sample_axis(ctx: Context, layer: Layer, axis: int, rank: int, what: str = "axis") -> int:
    """A per-sample axis (negative counts from the end) as an index into a shape of `rank`."""
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
        raise ctx.error(f"{what} {axis!r} is out of range for a {rank}-axis input "
                        "(axes count per sample, without the batch axis)", layer)
    return axis % rank


def grid_axes(ctx: Context, shape: tuple[int, ...]) -> tuple[Axis, ...] | None:
    """Fresh axes (field 1, jump 1, centre 0) for an input of this shape; None for a vector."""
    if len(shape) < 2:
        return None
    return tuple(Axis(n) for n in ctx.spatial(shape))


def with_axes(flow: Flow, shape: tuple[int, ...], axes) -> Flow:
    """The output flow: the new shape and axes, keeping why the field is unknown upstream."""
    return Flow(shape, axes if flow.rf_unknown is None else None, flow.rf_unknown)


def unknown_field(flow: Flow, shape: tuple[int, ...], why: str) -> Flow:
    """A flow past a layer that breaks the pixel grid; an earlier reason is kept (it came first)."""
    return Flow(shape, None, flow.rf_unknown or why)
