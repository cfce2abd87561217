"""Indexing a tensor per sample: x[:, :, ::4] (every fourth step in time), x[:, :3] (the first
three channels), x[:, -1] (the last step, its axis dropped), x[:, None] (a new axis).

`index` holds one entry per sample axis, in order (the reader drops the batch axis's `:` and
expands `...`): a (start, stop, step) slice, an int (picks one position and drops the axis), or
None (inserts an axis of size 1). Missing trailing entries take the whole axis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import ClassVar

from minigrad.layers.base import Context, Flow, Layer, Outcome, one_input, shape_text

Entry = tuple[int | None, int | None, int | None] | int | None


@dataclass(frozen=True, kw_only=True)
class Slice(Layer):
    index: tuple[Entry, ...]

    type: ClassVar[str] = "slice"
    default_name: ClassVar[str] = "slice"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        shape = flow.shape
        entries = list(self.index)
        axis_entries = [e for e in entries if e is not None]
        if len(axis_entries) > len(shape):
            raise ctx.error(f"{len(axis_entries)} indices for a {len(shape)}-axis input "
                            f"{shape_text(shape)} (indices count per sample)", self)
        spatial = set(range(1, len(shape)) if ctx.layout == "chw" else range(len(shape) - 1))
        if len(shape) < 2:
            spatial = set()
        out: list[int] = []
        axes = list(flow.axes) if flow.axes else None
        new_axes = [] if axes is not None else None
        grid_broken = None
        position = 0
        for entry in entries + [(None, None, None)] * (len(shape) - len(axis_entries)):
            if entry is None:
                out.append(1)
                grid_broken = grid_broken or "indexing with None adds an axis"
                continue
            size = shape[position]
            if isinstance(entry, int):
                if not -size <= entry < size:
                    raise ctx.error(f"index {entry} is out of range for an axis of size {size}", self)
                if position in spatial:
                    grid_broken = grid_broken or "indexing one position drops a grid axis"
            else:
                start, stop, step = slice(*entry).indices(size)
                length = len(range(start, stop, step))
                if length == 0:
                    raise ctx.error(f"slice {_slice_text(entry)} of an axis of size {size} is empty", self)
                if step < 0:
                    grid_broken = grid_broken or "a reversed slice flips the grid"
                out.append(length)
                if position in spatial and axes is not None:
                    axis = axes[sorted(spatial).index(position)]
                    if axis.jump is None:
                        new_axes.append(replace(axis, size=length))
                    else:
                        new_axes.append(replace(axis, size=length, jump=axis.jump * step,
                                                center=axis.center + Fraction(start) * axis.jump))
            position += 1
        out_shape = tuple(out)
        if grid_broken or axes is None:
            result = Flow(out_shape, None, flow.rf_unknown or (grid_broken if axes else None))
        else:
            result = Flow(out_shape, tuple(new_axes), flow.rf_unknown)
        text = ", ".join(_entry_text(e) for e in entries)
        return Outcome(result, description=f"[:, {text}]",
                       explain=(f"{shape_text(shape)} → {shape_text(out_shape)} (x[:, {text}])",))


def _entry_text(entry: Entry) -> str:
    if entry is None:
        return "None"
    return str(entry) if isinstance(entry, int) else _slice_text(entry)


def _slice_text(entry) -> str:
    start, stop, step = ("" if v is None else str(v) for v in entry)
    return f"{start}:{stop}" + (f":{step}" if step else "")
