"""Merges of two or more branches: element-wise (add / `+`, subtract, multiply, average, maximum,
minimum; shapes broadcast as in both frameworks, e.g. a C×1×1 gate times a C×H×W map) and
concatenation along one axis (all other axes must agree). No parameters, no MACs.

Receptive field, as google-research/receptive_field defines it: a merged unit sees what each
branch's unit sees, so the field is the largest of the branches' when they are aligned (same
jump and same centre along every axis). When they are not, there is no single field per layer:
the merge's flow says why, and every layer after it inherits that.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

from minigrad.layers.base import (
    Axis,
    Context,
    Flow,
    Layer,
    Outcome,
    dims_text,
    number,
    per_sample_axis,
    shape_text,
)
from minigrad.layers.window import labels

OPS = ("add", "subtract", "multiply", "average", "maximum", "minimum", "concat")
_KERAS_NAMES = {"concat": "concatenate"}


@dataclass(frozen=True, kw_only=True)
class Merge(Layer):
    """op: one of OPS; axis: concat's per-sample axis (negative from the end; the readers pass
    the channel axis for Keras' Concatenate() and torch.cat(dim=1))."""

    op: str
    axis: int = -1

    type: ClassVar[str] = "merge"
    default_name: ClassVar[str] = "add"
    arity: ClassVar[int | None] = None

    def row_type(self) -> str:
        return self.op

    def base_name(self) -> str:
        return _KERAS_NAMES.get(self.op, self.op)

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        if self.op not in OPS:
            raise ctx.error(f"unknown merge {self.op!r}; known: {', '.join(OPS)}", self)
        if len(inputs) < 2:
            raise ctx.error(f"{self.op} needs at least two inputs, got {len(inputs)}", self)
        if self.op == "subtract" and len(inputs) != 2:
            raise ctx.error(f"subtract takes exactly two inputs, got {len(inputs)}", self)
        shapes = [f.shape for f in inputs]
        if self.op == "concat":
            shape, along = self._concat_shape(ctx, shapes)
        else:
            shape, along = _broadcast(ctx, self, shapes), None
        flow = _merged_flow(ctx, inputs, shape, along)
        texts = [shape_text(s) for s in shapes]
        explain = [f"{self.op}: {', '.join(texts)} → {shape_text(shape)}"]
        if flow.axes is not None and flow.rf_unknown is None:
            fields = [dims_text([a.rf for a in f.axes]) for f in inputs if f.axes is not None]
            explain.append(f"r = max({', '.join(fields)}) = "
                           f"{dims_text([a.rf for a in flow.axes])} (the largest branch field)")
        description = f"axis {self.axis}" if self.op == "concat" else ""
        return Outcome(flow, description=description, explain=tuple(explain))

    def _concat_shape(self, ctx: Context, shapes) -> tuple[tuple[int, ...], int]:
        rank = len(shapes[0])
        axis = per_sample_axis(ctx, self, self.axis, rank)
        for other in shapes[1:]:
            if len(other) != rank or any(a != b for i, (a, b) in enumerate(zip(shapes[0], other))
                                         if i != axis):
                raise ctx.error(f"cannot concatenate {shape_text(shapes[0])} and "
                                f"{shape_text(other)} along axis {self.axis}: the other axes "
                                "differ", self)
        total = sum(s[axis] for s in shapes)
        return shapes[0][:axis] + (total,) + shapes[0][axis + 1:], axis


def _broadcast(ctx: Context, layer: Layer, shapes) -> tuple[int, ...]:
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        sizes = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0} - {1}
        if len(sizes) > 1:
            a, b = next((x, y) for x in shapes for y in shapes if _clash(x, y))
            raise ctx.error(f"cannot {layer.op} shapes {shape_text(a)} and {shape_text(b)}: "
                            "they must be equal (or 1 where one is broadcast)", layer)
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _clash(a, b) -> bool:
    return any(x != y and 1 not in (x, y) for x, y in zip(reversed(a), reversed(b)))


def _merged_flow(ctx: Context, inputs: tuple[Flow, ...], shape, along: int | None) -> Flow:
    unknown = next((f.rf_unknown for f in inputs if f.rf_unknown), None)
    if unknown:
        return Flow(shape, None, unknown)
    grids = [f for f in inputs if f.axes is not None]
    if not grids:
        return Flow(shape, None)
    if len({len(f.shape) for f in inputs}) > 1 or len({len(f.axes) for f in grids}) > 1:
        return Flow(shape, None, "merged branches have different grids")
    if len(shape) > 1:
        spatial = list(range(1, len(shape))) if ctx.layout == "chw" else list(range(len(shape) - 1))
        if along in spatial:
            return Flow(shape, None, "concatenation along a grid axis")
        sizes = [shape[p] for p in spatial]
    else:
        sizes = [a.size for a in grids[0].axes]
    names = labels(len(sizes))
    axes = []
    for i, size in enumerate(sizes):
        branch = [f.axes[i] for f in grids]
        where = f" along {names[i]}" if len(sizes) > 1 else ""
        if len(shape) > 1 and any(a.size == 1 and a.jump is not None for a in branch) and size > 1:
            return Flow(shape, None, f"a branch of size 1 is broadcast{where}")
        if any(a.jump is None for a in branch):  # some branch already sees the whole axis
            low = min(a.center - Fraction(a.rf - 1, 2) for a in branch)
            high = max(a.center + Fraction(a.rf - 1, 2) for a in branch)
            axes.append(Axis(size, int(high - low) + 1, None, (low + high) / 2))
            continue
        jumps = sorted({a.jump for a in branch}, reverse=True)
        if len(jumps) > 1:
            return Flow(shape, None, f"branches disagree{where}: jump "
                                     f"{' vs '.join(map(str, jumps))}")
        centers = sorted({a.center for a in branch}, reverse=True)
        if len(centers) > 1:
            return Flow(shape, None, f"branches disagree{where}: center "
                                     f"{' vs '.join(number(c) for c in centers)}")
        axes.append(Axis(size, max(a.rf for a in branch), jumps[0], centers[0]))
    return Flow(shape, tuple(axes))
