"""Convolution, 1-D and 2-D, with groups and dilation (PyTorch Conv1d/Conv2d, Keras Conv1D/Conv2D).

    (*S, C) → (*S', F)       params K·K·(C/g)·F (+ F)       MACs K·K·(C/g)·F·OH·OW

S' per axis: floor((N + P_before + P_after − D·(K − 1) − 1) / S) + 1. Keras' 'same' gives
ceil(N/S) with the odd padding pixel after; PyTorch allows 'same' only at stride 1, where its
split (left = total // 2, the odd pixel at the end) is the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from minigrad.layers.activation import check_activation
from minigrad.layers.base import Context, Flow, Layer, Outcome, check_positive, number, one_input, shape_text
from minigrad.layers.window import (Padding, activation_words, check_padding, kernel_text, need_grid,
                                    refuse_strided_same, slide, window_words)


def _ones(kernel) -> tuple[int, ...]:
    return (1,) * len(kernel) if isinstance(kernel, tuple) else (1,)


@dataclass(frozen=True, kw_only=True)
class Conv(Layer):
    """filters: output channels; kernel, stride, dilation: one int per spatial axis (stride and
    dilation default to ones); padding: "valid", "same", P per axis, or (before, after) per axis;
    groups: channel groups (PyTorch's groups=, Keras' groups=); activation: an inline activation
    (Keras' activation=); in_channels: declared by PyTorch code, checked against what arrives."""

    filters: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    padding: Padding = "valid"
    dilation: tuple[int, ...] | None = None
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    in_channels: int | None = None
    padding_mode: str = "zeros"   # PyTorch's: what the padding pixels hold (reflect, replicate, circular)

    type: ClassVar[str] = "conv"
    default_name: ClassVar[str] = "conv2d"

    def __post_init__(self):
        if self.stride is None:
            object.__setattr__(self, "stride", _ones(self.kernel))
        if self.dilation is None:
            object.__setattr__(self, "dilation", _ones(self.kernel))

    def base_name(self) -> str:
        return f"conv{len(self.kernel)}d" if isinstance(self.kernel, tuple) else "conv2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        kernel, stride, dilation = self.kernel, self.stride, self.dilation
        if not isinstance(kernel, tuple) or len(kernel) not in (1, 2):
            raise ctx.error(f"kernel must be 1 or 2 sizes, got {kernel!r}", self)
        if len(stride) != len(kernel) or len(dilation) != len(kernel):
            raise ctx.error(f"kernel {kernel}, stride {stride} and dilation {dilation} must have "
                            "one entry per spatial axis", self)
        check_positive(ctx, self, filters=self.filters, kernel=kernel, stride=stride,
                       dilation=dilation, groups=self.groups)
        check_padding(ctx, self, self.padding, len(kernel))
        check_activation(ctx, self, self.activation)
        refuse_strided_same(ctx, self, self.padding, stride)
        if ctx.rules == "keras" and any(s != 1 for s in stride) and any(d != 1 for d in dilation):
            raise ctx.error("Keras does not allow strides > 1 together with dilation_rate > 1",
                            self)
        c, _ = need_grid(ctx, self, "conv", flow.shape, len(kernel))
        if self.in_channels is not None and self.in_channels != c:
            raise ctx.error(f"expects {self.in_channels} input channels but receives {c} "
                            f"(input {shape_text(flow.shape)})", self)
        g, f = self.groups, self.filters
        if c % g or f % g:
            raise ctx.error(f"groups={g} must divide both the {c} input channels and the {f} "
                            "filters", self)
        window = slide(ctx, self, "conv", flow, kernel, stride, self.padding, dilation, False)
        k_text = "·".join(map(str, kernel))
        c_text = str(c) if g == 1 else f"({c}/{g})"
        weights = math.prod(kernel) * (c // g) * f
        params = weights + (f if self.bias else 0)
        positions = math.prod(window.sizes)
        macs = weights * positions
        explain = window.explain + [
            f"params = {k_text}·{c_text}·{f}"
            + (f" + {f} = {number(params)}" if self.bias else f" = {number(params)} (no bias)"),
            f"MACs = {k_text}·{c_text}·{f}·{'·'.join(map(str, window.sizes))} = {number(macs)}",
        ]
        parts = [f"{f} filters {kernel_text(kernel)}"] + window_words(stride, self.padding, dilation)
        if g != 1:
            parts.append(f"groups {g}")
        if self.padding_mode != "zeros" and self.padding not in ("valid", (0,) * len(kernel)):
            parts.append(f"{self.padding_mode} padding")
        if not self.bias:
            parts.append("no bias")
        parts += activation_words(self.activation)
        return Outcome(Flow(ctx.shape(f, window.sizes), window.axes), trainable=params, macs=macs,
                       description=", ".join(parts), explain=tuple(explain),
                       notes=tuple(window.notes))
