"""Normalisation layers: batch, instance, layer and group norm. The shape never changes.

    BatchNorm     γ, β per channel (trainable) + running mean, variance (stats)
    InstanceNorm  PyTorch: γ, β only with affine; running stats only with track_running_stats
    LayerNorm     γ, β over the normalised axes (PyTorch: normalized_shape; Keras: axis)
    GroupNorm     γ, β per channel; the channels must split into the groups
Stats are non-trainable parameters under Keras' rules and buffers under PyTorch's (its integer
num_batches_tracked counter is left out, as a count of values rather than of statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from minigrad.layers.base import (
    Context,
    Flow,
    Layer,
    Outcome,
    check_positive,
    number,
    one_input,
    per_sample_axis,
    shape_text,
)


def _channels(ctx: Context, shape: tuple[int, ...]) -> int:
    return ctx.channels(shape) if len(shape) > 1 else shape[0]


def _check_declared(ctx: Context, layer: Layer, declared: int | None, channels: int,
                    shape: tuple[int, ...]) -> None:
    if declared is not None and declared != channels:
        raise ctx.error(f"expects {declared} channels but receives {channels} "
                        f"(input {shape_text(shape)})", layer)


def _affine_params(c: int, affine: bool) -> str:
    return f"params = 2·{c} = {number(2 * c)} (γ, β)" if affine else "params = 0 (affine=False)"


def _affine_words(gamma: bool, beta: bool) -> str:
    return ", ".join(w for w, on in (("γ", gamma), ("β", beta)) if on)


@dataclass(frozen=True, kw_only=True)
class BatchNorm(Layer):
    """num_features: declared by PyTorch code, checked; axis: the normalised (channel) axis,
    per-sample (None: the layout's channel axis); scale, center: γ and β (PyTorch's affine sets
    both); track_running_stats: PyTorch's (False: no running statistics at all). eps and
    momentum as the code gives them, momentum in PyTorch's sense (the weight of each batch's
    statistic: Keras' momentum 0.99 is 0.01 here); None: the framework's default. They change
    the numbers a built model computes, not its shape."""

    num_features: int | None = None
    axis: int | None = None
    scale: bool = True
    center: bool = True
    track_running_stats: bool = True
    eps: float | None = None
    momentum: float | None = None

    type: ClassVar[str] = "batchnorm"
    default_name: ClassVar[str] = "batch_normalization"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        shape = flow.shape
        if self.axis is None:
            c = _channels(ctx, shape)
        else:
            c = shape[per_sample_axis(ctx, self, self.axis, len(shape))]
        _check_declared(ctx, self, self.num_features, c, shape)
        affine = int(self.scale) + int(self.center)
        trainable = affine * c
        tracked = self.track_running_stats or ctx.rules == "keras"
        stats = 2 * c if tracked else 0
        words = _affine_words(self.scale, self.center)
        if ctx.rules == "keras" and affine == 2:
            explain = [f"params = 4·{c} = {number(4 * c)}: γ, β trainable "
                       f"({number(2 * c)}); running mean, variance not ({number(2 * c)})"]
        elif ctx.rules == "keras":
            explain = [f"params = {affine + 2}·{c} = {number((affine + 2) * c)}: "
                       f"{words + ' trainable (' + number(trainable) + '); ' if affine else ''}"
                       f"running mean, variance not ({number(2 * c)})"]
        else:
            explain = [f"params = {affine}·{c} = {number(trainable)}"
                       + (f" ({words})" if affine else " (affine=False)")]
            if tracked:
                explain.append(f"buffers = 2·{c} = {number(stats)}: running mean and variance "
                               "(not parameters in PyTorch)")
        return Outcome(flow, trainable=trainable, stats=stats, explain=tuple(explain))


@dataclass(frozen=True, kw_only=True)
class InstanceNorm(Layer):
    """PyTorch's InstanceNorm1d/2d: each sample's channels normalised over their own positions."""

    num_features: int | None = None
    affine: bool = False
    track_running_stats: bool = False

    type: ClassVar[str] = "instancenorm"
    default_name: ClassVar[str] = "instance_normalization"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        if len(flow.shape) < 2:
            raise ctx.error(f"instance norm needs channels and positions, got "
                            f"{shape_text(flow.shape)}", self)
        c = ctx.channels(flow.shape)
        _check_declared(ctx, self, self.num_features, c, flow.shape)
        trainable = 2 * c if self.affine else 0
        stats = 2 * c if self.track_running_stats else 0
        explain = [_affine_params(c, self.affine)]
        if stats:
            explain.append(f"buffers = 2·{c} = {number(stats)}: running mean and variance")
        return Outcome(flow, trainable=trainable, stats=stats,
                       description="affine" if self.affine else "",
                       explain=tuple(explain))


@dataclass(frozen=True, kw_only=True)
class LayerNorm(Layer):
    """normalized_shape: PyTorch's (the trailing dims it normalises; they must match); else axes
    (Keras' axis=, per-sample; default the last axis). elementwise_affine: γ; bias: β (under
    PyTorch's rules only together with elementwise_affine, as torch.nn.LayerNorm does)."""

    normalized_shape: tuple[int, ...] | None = None
    axes: tuple[int, ...] = (-1,)
    elementwise_affine: bool = True
    bias: bool = True
    eps: float | None = None  # None: the framework's default (PyTorch 1e-5, Keras 1e-3)

    type: ClassVar[str] = "layernorm"
    default_name: ClassVar[str] = "layer_normalization"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        shape = flow.shape
        if self.normalized_shape is not None:
            ns = tuple(self.normalized_shape)
            if len(ns) > len(shape) or shape[len(shape) - len(ns):] != ns:
                raise ctx.error(f"normalized_shape {shape_text(ns)} does not match the last "
                                f"axes of the input {shape_text(shape)}", self)
            dims = ns
        else:
            axes = sorted({per_sample_axis(ctx, self, a, len(shape)) for a in self.axes})
            dims = tuple(shape[a] for a in axes)
        gamma = self.elementwise_affine
        beta = self.bias and (self.elementwise_affine or ctx.rules == "keras")
        count = math.prod(dims)
        trainable = (int(gamma) + int(beta)) * count
        explain = (f"params = {int(gamma) + int(beta)}·{'·'.join(map(str, dims))} = "
                   f"{number(trainable)}"
                   + (f" ({_affine_words(gamma, beta)})" if trainable else ""),
                   f"normalised over {shape_text(dims)} values of each sample")
        return Outcome(flow, trainable=trainable, explain=explain,
                       description=f"over {shape_text(dims)}")


@dataclass(frozen=True, kw_only=True)
class GroupNorm(Layer):
    """groups: how many groups the channels split into; channels: declared (PyTorch), checked."""

    groups: int
    channels: int | None = None
    affine: bool = True
    eps: float | None = None  # None: the framework's default (PyTorch 1e-5, Keras 1e-3)

    type: ClassVar[str] = "groupnorm"
    default_name: ClassVar[str] = "group_normalization"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        check_positive(ctx, self, groups=self.groups)
        c = _channels(ctx, flow.shape)
        _check_declared(ctx, self, self.channels, c, flow.shape)
        if c % self.groups:
            raise ctx.error(f"{c} channels do not split into {self.groups} groups", self)
        trainable = 2 * c if self.affine else 0
        explain = (_affine_params(c, self.affine),
                   f"{self.groups} groups of {c // self.groups} channels")
        return Outcome(flow, trainable=trainable, description=f"{self.groups} groups",
                       explain=explain)
