"""Layers that rearrange values without computing: flatten, reshape, permute, squeeze, unsqueeze,
and reductions (x.mean([2, 3]), torch.amax). Axes are per sample (no batch axis), 0-based;
negative ones count from the end.

Receptive fields follow the grid axes when they stay grid axes (a permute of H and W, a squeeze of
a size-1 axis, a flatten then a reshape back); when values move between the grid and the channels
the field is unknown from there on, and the table says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from minigrad.layers.base import (
    Axis,
    Context,
    Flow,
    Layer,
    Outcome,
    number,
    one_input,
    per_sample_axis,
    shape_text,
)


def _spatial_positions(layout: str, rank: int) -> list[int]:
    if rank < 2:
        return []
    return list(range(1, rank)) if layout == "chw" else list(range(rank - 1))


def _channel_position(layout: str, rank: int) -> int:
    return 0 if layout == "chw" else rank - 1


def regrid(ctx: Context, flow: Flow, shape: tuple[int, ...], source: list[int | None] | None,
           what: str) -> Flow:
    """The flow of `shape` made from `flow` by moving whole axes: source[p] is the input axis that
    output axis p comes from (None for a new size-1 axis), or None when it is not known."""
    if flow.rf_unknown:
        return Flow(shape, None, flow.rf_unknown)
    if len(shape) <= 1:   # a vector (or one number): keep the map's axes, as a flatten does
        return Flow(shape, flow.axes, None,
                    flow.shape if len(flow.shape) > 1 else flow.flattened_from)
    if flow.axes is None:
        return Flow(shape, None)
    new_positions = _spatial_positions(ctx.layout, len(shape))
    if len(flow.shape) == 1 and flow.flattened_from == shape:   # a flatten undone
        return Flow(shape, flow.axes)
    if all(a.jump is None for a in flow.axes) and len(new_positions) == len(flow.axes):
        # every unit already sees the whole input: it still does, whatever the arrangement
        return Flow(shape, tuple(replace(a, size=shape[p])
                                 for a, p in zip(flow.axes, new_positions)))
    if source is not None and len(flow.shape) > 1:
        old = {p: a for p, a in zip(_spatial_positions(ctx.layout, len(flow.shape)), flow.axes)}
        axes, ok = [], True
        for p in new_positions:
            s = source[p]
            if s is None and shape[p] == 1:
                axes.append(Axis(1))
            elif s in old:
                axes.append(replace(old[s], size=shape[p]))
            else:
                ok = False
        s = source[_channel_position(ctx.layout, len(shape))]
        if s in old and flow.shape[s] != 1:
            ok = False
        if ok:
            return Flow(shape, tuple(axes))
    return Flow(shape, None, f"{what} moves values between the grid axes and the channels")


def _aligned_source(old: tuple[int, ...], new: tuple[int, ...]) -> list[int | None] | None:
    """For a reshape that only adds or removes size-1 axes: where each new axis comes from."""
    old_big = [i for i, n in enumerate(old) if n != 1]
    new_big = [i for i, n in enumerate(new) if n != 1]
    if [old[i] for i in old_big] != [new[i] for i in new_big]:
        return None
    source: list[int | None] = [None] * len(new)
    for i, j in zip(old_big, new_big):
        source[j] = i
    return source


@dataclass(frozen=True, kw_only=True)
class Flatten(Layer):
    """Merge every axis from start_dim on (per sample; 0 = everything, as Keras' Flatten and
    torch.flatten(x, 1) do). expect_features: the size code such as x.view(-1, 400) states."""

    expect_features: int | None = None
    start_dim: int = 0

    type: ClassVar[str] = "flatten"
    default_name: ClassVar[str] = "flatten"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        shape = flow.shape
        start = per_sample_axis(ctx, self, self.start_dim, len(shape), "start_dim")
        merged = shape[start:]
        size = math.prod(merged)
        if self.expect_features is not None and self.expect_features != size:
            raise ctx.error(f"reshaping to {self.expect_features} features per sample, but the "
                            f"tensor has {' · '.join(map(str, merged))} = {size:,}", self)
        out = shape[:start] + (size,)
        big = [i for i in range(start, len(shape)) if shape[i] != 1]
        source = (list(range(start)) + [big[0] if big else None]) if len(big) <= 1 else None
        result = regrid(ctx, flow, out, source, f"flatten from axis {start}")
        explain = (f"{number(size)} = {' · '.join(map(str, merged))}",)
        return Outcome(result, explain=explain,
                       description="" if start == 0 else f"from axis {start}")


@dataclass(frozen=True, kw_only=True)
class Reshape(Layer):
    """target: the per-sample shape, with at most one -1 (worked out from the size)."""

    target: tuple[int, ...]

    type: ClassVar[str] = "reshape"
    default_name: ClassVar[str] = "reshape"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        size = math.prod(flow.shape)
        target = tuple(self.target)
        if (not target or target.count(-1) > 1
                or any(not isinstance(d, int) or isinstance(d, bool) or (d <= 0 and d != -1)
                       for d in target)):
            raise ctx.error(f"target shape must be positive integers with at most one -1, got "
                            f"{target!r}", self)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if size % known:
                raise ctx.error(f"cannot reshape {shape_text(flow.shape)} ({size:,} values) into "
                                f"{shape_text(target)}: {size:,} is not a multiple of "
                                f"{known:,}", self)
            target = tuple(size // known if d == -1 else d for d in target)
        elif known != size:
            raise ctx.error(f"cannot reshape {shape_text(flow.shape)} ({size:,} values) into "
                            f"{shape_text(target)} ({known:,} values)", self)
        result = regrid(ctx, flow, target, _aligned_source(flow.shape, target), "reshape")
        return Outcome(result, description=f"to {shape_text(target)}",
                       explain=(f"{shape_text(flow.shape)} → {shape_text(target)}: "
                                f"{number(size)} values, same order",))


@dataclass(frozen=True, kw_only=True)
class Permute(Layer):
    """dims: the new order of the per-sample axes (x.permute(0, 2, 3, 1) is dims (1, 2, 0);
    Keras' Permute((2, 1)) is dims (1, 0))."""

    dims: tuple[int, ...]

    type: ClassVar[str] = "permute"
    default_name: ClassVar[str] = "permute"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        rank = len(flow.shape)
        dims = tuple(d % rank if isinstance(d, int) and -rank <= d < rank else d
                     for d in self.dims)
        if sorted(dims) != list(range(rank)):
            raise ctx.error(f"dims {self.dims} are not an order of the {rank} axes of "
                            f"{shape_text(flow.shape)}", self)
        shape = tuple(flow.shape[d] for d in dims)
        result = regrid(ctx, flow, shape, list(dims), "permute")
        return Outcome(result, description=f"dims {', '.join(map(str, self.dims))}",
                       explain=(f"{shape_text(flow.shape)} → {shape_text(shape)}",))


@dataclass(frozen=True, kw_only=True)
class Squeeze(Layer):
    """Drop axis `axis` if it has size 1 (PyTorch leaves other sizes alone), or every size-1
    axis when axis is None."""

    axis: int | None = None

    type: ClassVar[str] = "squeeze"
    default_name: ClassVar[str] = "squeeze"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        shape = flow.shape
        if self.axis is None:
            keep = [i for i, n in enumerate(shape) if n != 1]
        else:
            axis = per_sample_axis(ctx, self, self.axis, len(shape))
            keep = [i for i in range(len(shape)) if i != axis or shape[i] != 1]
        out = tuple(shape[i] for i in keep)  # may be (): one number per sample (a GAN critic)
        return Outcome(regrid(ctx, flow, out, keep, "squeeze"),
                       description="" if self.axis is None else f"axis {self.axis}",
                       explain=(f"{shape_text(shape)} → {shape_text(out)}",))


@dataclass(frozen=True, kw_only=True)
class Unsqueeze(Layer):
    """Insert a size-1 axis at `axis` (per sample; -1 appends)."""

    axis: int

    type: ClassVar[str] = "unsqueeze"
    default_name: ClassVar[str] = "unsqueeze"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        rank = len(flow.shape) + 1
        axis = per_sample_axis(ctx, self, self.axis, rank)
        source: list[int | None] = list(range(len(flow.shape)))
        source.insert(axis, None)
        out = flow.shape[:axis] + (1,) + flow.shape[axis:]
        return Outcome(regrid(ctx, flow, out, source, "unsqueeze"), description=f"axis {self.axis}",
                       explain=(f"{shape_text(flow.shape)} → {shape_text(out)}",))


@dataclass(frozen=True, kw_only=True)
class Reduce(Layer):
    """op over the per-sample axes `axes` (x.mean([2, 3]) on N×C×H×W is axes (1, 2)); keepdims
    keeps them as size 1."""

    op: Literal["mean", "sum", "max", "min"]
    axes: tuple[int, ...]
    keepdims: bool = False

    type: ClassVar[str] = "reduce"
    default_name: ClassVar[str] = "reduce"

    def base_name(self) -> str:
        return f"reduce_{self.op}"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        if self.op not in ("mean", "sum", "max", "min"):
            raise ctx.error(f"op must be mean, sum, max or min, got {self.op!r}", self)
        shape = flow.shape
        axes = sorted({per_sample_axis(ctx, self, a, len(shape)) for a in self.axes})
        if not axes:
            raise ctx.error("reduces over no axis", self)
        positions = _spatial_positions(ctx.layout, len(shape))
        grid = flow.axes
        if grid is not None and len(shape) > 1:  # reduced grid axes: every unit sees all of them
            grid = tuple(a.collapse(1) if p in axes else a for p, a in zip(positions, grid))
        elif grid is not None:   # a flattened map: every value mixes all of it
            grid = tuple(a.collapse() for a in grid)
        collapsed = replace(flow, axes=grid)
        if self.keepdims:
            out = tuple(1 if i in axes else n for i, n in enumerate(shape))
            source: list[int | None] = list(range(len(shape)))
        else:
            source = [i for i in range(len(shape)) if i not in axes]
            out = tuple(shape[i] for i in source)   # may be (): one number per sample
        result = regrid(ctx, collapsed, out, source, f"{self.op} over the channels")
        over = "·".join(str(shape[a]) for a in axes)
        return Outcome(result, description=f"{self.op} over axes {', '.join(map(str, axes))}",
                       explain=(f"{shape_text(shape)} → {shape_text(out)}: {self.op} of {over} "
                                "values each",))
