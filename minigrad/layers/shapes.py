"""The primitive window arithmetic and the result of a model's analysis.

- One axis of a sliding window: output_size, same_padding, effective_kernel, and the padding
  solver (`cnncalc pad`). The layer kinds (minigrad.layers) build on them.
- Row and Summary: one row per node of the layer graph with its shape, parameters, receptive
  field and cost, as minigrad.layers.analyze_graph computes them and minigrad.layers.report shows them.

Everything is plain Python integers (no numpy), so a 100000x100000 input is exact.

Conventions
- Two layouts: "hwc" (Keras and the layer language: H x W x C, or L x C for 1-D signals) or
  "chw" (PyTorch: C x H x W, C x L). Shapes never include the batch axis.
- Two rule sets: "keras" (padding 'same' gives ceil(H/S), odd padding pixel at the bottom/right;
  running statistics are non-trainable parameters) and "torch" ('same' only at stride 1; pools
  may use ceil_mode; running statistics are buffers, not parameters).
- Receptive fields use input pixel coordinates with pixel centres at 0, 1, 2, ...; padding pixels
  have coordinates outside 0..H-1 and count towards the field's size, as in the usual recurrence
  r_out = r_in + (K_eff - 1) * j_in, j_out = j_in * S.
- MACs count multiply-accumulates per sample, bias excluded; FLOPs = 2 * MACs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Literal

Layout = Literal["hwc", "chw"]
Rules = Literal["keras", "torch"]
Pair = tuple[int, int]

BYTES_PER_FLOAT32 = 4


# ---------------------------------------------------------------------------------------------
# Results: one row per node of the layer graph.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """What one use of a layer produces. Shapes are in the summary's layout.

    receptive_field, jump, rf_center: one entry per spatial axis ((H, W) for images, (L,) for
    1-D signals), None when the flow has no pixel grid or the field is unknown (rf_unknown then
    says why). `jump` entries are None once a layer has mixed the whole extent of an axis (dense
    after flatten, global pooling): every unit then sees all of it.
    inputs: the names of the rows that feed this one (none for an input).
    buffers: values PyTorch keeps outside model.parameters() (BatchNorm's running statistics);
    always 0 under Keras' rules, which count them as non-trainable parameters.
    """

    index: int
    name: str
    type: str
    description: str
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int
    receptive_field: tuple[int, ...] | None
    jump: tuple[int | None, ...] | None
    rf_center: tuple[float, ...] | None
    notes: tuple[str, ...] = ()
    explain: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    buffers: int = 0
    rf_unknown: str | None = None

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    def to_dict(self) -> dict:
        return {
            "index": self.index, "name": self.name, "type": self.type,
            "description": self.description, "output_shape": list(self.output_shape),
            "params": self.params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "receptive_field": _list_or_none(self.receptive_field), "jump": _list_or_none(self.jump),
            "rf_center": _list_or_none(self.rf_center), "macs": self.macs,
            "notes": list(self.notes), "explain": list(self.explain),
            "inputs": list(self.inputs), "buffers": self.buffers, "rf_unknown": self.rf_unknown,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Row:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for key in ("output_shape", "receptive_field", "jump", "rf_center", "notes", "explain",
                    "inputs"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Summary:
    """All rows of a model, inputs first, with totals; `rules` says how parameters were counted."""

    layout: Layout
    rows: tuple[Row, ...]
    rules: Rules = "keras"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.rows[0].output_shape

    @property
    def layers(self) -> tuple[Row, ...]:
        """The rows after the input row."""
        return self.rows[1:]

    @property
    def is_chain(self) -> bool:
        """Each row after the first is fed by exactly the row before it."""
        return all(row.inputs == (self.rows[i - 1].name,) for i, row in enumerate(self.rows)
                   if i > 0)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def buffers(self) -> int:
        return sum(r.buffers for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def param_bytes(self) -> int:
        """Parameter memory in float32."""
        return BYTES_PER_FLOAT32 * self.total_params

    @property
    def activation_bytes(self) -> int:
        """Forward activation memory per sample in float32: every layer's output, input excluded."""
        return BYTES_PER_FLOAT32 * sum(math.prod(r.output_shape) for r in self.layers)

    def in_layout(self, layout: Layout) -> Summary:
        """The same summary with map shapes shown in another layout."""
        if layout == self.layout:
            return self
        rows = tuple(replace(r, output_shape=convert_shape(r.output_shape, self.layout, layout))
                     for r in self.rows)
        return Summary(layout, rows, self.rules)

    def to_dict(self) -> dict:
        return {
            "input_shape": list(self.input_shape), "layout": self.layout, "rules": self.rules,
            "layers": [r.to_dict() for r in self.rows],
            "total_params": self.total_params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params, "buffers": self.buffers,
            "total_macs": self.total_macs, "total_flops": self.total_flops,
            "param_bytes": self.param_bytes, "activation_bytes": self.activation_bytes,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        return cls(data["layout"], tuple(Row.from_dict(r) for r in data["layers"]),
                   data.get("rules", "keras"))


def convert_shape(shape: tuple[int, ...], source: Layout, target: Layout) -> tuple[int, ...]:
    """Move the channel axis of a map between last (H x W x C, L x C) and first (C x H x W,
    C x L); flat vectors are unchanged."""
    if len(shape) < 2 or source == target:
        return tuple(shape)
    if source == "hwc":
        return (shape[-1], *shape[:-1])
    return (*shape[1:], shape[0])


def _list_or_none(pair):
    return None if pair is None else list(pair)


# ---------------------------------------------------------------------------------------------
# One spatial axis: output size of a sliding window, and the receptive-field recurrence.
# ---------------------------------------------------------------------------------------------

def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: D*(K-1) + 1."""
    return dilation * (kernel - 1) + 1


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> Pair:
    """Keras/TensorFlow 'same' padding as (before, after); the odd pixel goes after.

    Output ceil(H/S); total padding max((ceil(H/S) - 1)*S + D*(K-1) + 1 - H, 0).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def output_size(size: int, kernel: int, stride: int = 1, padding: int | Pair = 0,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Number of window positions along one axis: floor((H + 2P - D(K-1) - 1) / S) + 1.

    `padding` is P on both sides or (before, after). With ceil_mode (PyTorch pools) the division
    rounds up, but a last window that would start in the trailing padding is dropped (PyTorch's
    rule; with pool padding at most half the kernel, at most one window is ever dropped).
    Raises ValueError when the window does not fit in the padded input.
    """
    before, after = (padding, padding) if isinstance(padding, int) else padding
    span = size + before + after - effective_kernel(kernel, dilation)
    if span < 0:
        raise ValueError(f"window {effective_kernel(kernel, dilation)} is larger than the padded "
                         f"input {size + before + after}")
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out


# ---------------------------------------------------------------------------------------------
# The padding solver: which padding gives a wanted output size?
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaddingSolution:
    """Paddings that make a window of `kernel` (dilated) at `stride` turn `size` into `output`.

    symmetric: every P (same on both sides) that works, smallest first; keras_same: the
    (before, after) split of TensorFlow's 'same' when it gives `output`; total_range: the range of
    total padding (before + after) that works, for asymmetric padding; nearest: the closest outputs
    symmetric padding can reach when none gives `output`.
    """

    size: int
    kernel: int
    stride: int
    dilation: int
    output: int
    symmetric: tuple[int, ...]
    total_range: Pair | None
    keras_same: Pair | None
    nearest: tuple[tuple[int, int], ...]  # (output, P) pairs


def solve_padding(size: int, kernel: int, stride: int, output: int, dilation: int = 1) -> PaddingSolution:
    """Solve floor((H + T - D(K-1) - 1) / S) + 1 = O for the total padding T, then P = T / 2."""
    for label, value in (("size", size), ("kernel", kernel), ("stride", stride),
                         ("output", output), ("dilation", dilation)):
        if value <= 0:
            raise ValueError(f"{label} must be a positive integer, got {value}")
    eff = effective_kernel(kernel, dilation)
    low = (output - 1) * stride + eff - size  # smallest total padding that reaches `output`
    high = low + stride - 1                    # beyond this the output grows by one
    total_range = (max(low, 0), high) if high >= 0 else None
    symmetric = ()
    if total_range:
        first = -(-total_range[0] // 2)
        symmetric = tuple(range(first, total_range[1] // 2 + 1))
    keras = same_padding(size, kernel, stride, dilation) if output == -(-size // stride) else None
    nearest: tuple[tuple[int, int], ...] = ()
    if not symmetric:
        nearest = _nearest_outputs(size, kernel, stride, output, dilation,
                                   max(total_range[1] if total_range else 0, eff) + stride)
    return PaddingSolution(size, kernel, stride, dilation, output, symmetric, total_range,
                           keras, nearest)


def _nearest_outputs(size: int, kernel: int, stride: int, output: int, dilation: int,
                     last: int) -> tuple[tuple[int, int], ...]:
    """The closest outputs below and above `output` that a padding P in 0..last on both sides
    reaches, each with the smallest such P. The output grows with P, so each is found by
    arithmetic, not by trying every P (a kernel of 10^11 would take hours)."""
    eff = effective_kernel(kernel, dilation)
    first = max(0, -(-(eff - size) // 2))     # the smallest P at which the window fits

    def out(p: int) -> int:
        return (size + 2 * p - eff) // stride + 1

    def smallest_p(target: int) -> int:       # the smallest P with out(P) >= target
        return max(first, -(-((target - 1) * stride + eff - size) // 2))

    if first > last:
        return ()
    found = []
    if out(first) < output:
        below = out(min(smallest_p(output) - 1, last))
        found.append((below, smallest_p(below)))
    above_p = smallest_p(output + 1)
    if above_p <= last:
        found.append((out(above_p), above_p))
    return tuple(found)
