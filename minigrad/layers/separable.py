"""Keras' depthwise and separable convolutions, 1-D and 2-D.

DepthwiseConv (DepthwiseConv1D/2D): each of the C input channels gets its own m = depth_multiplier
filters of size k (k·k in 2-D); nothing mixes channels.
    (*S, C) → (*S', C·m)          params k·k·C·m (+ C·m bias)      MACs k·k·C·m·OH·OW
SeparableConv (SeparableConv1D/2D): that depthwise stage (no bias of its own), then a 1×1
convolution from C·m to F channels at the output resolution.
    (*S, C) → (*S', F)            params k·k·C·m + C·m·F (+ F)     MACs (k·k·C·m + C·m·F)·OH·OW

S' follows Conv's window rule (window.slide), floor((H + P_before + P_after − D·(K − 1) − 1) / S) + 1,
with Keras' 'same' (ceil(H/S), the odd padding pixel after). PyTorch writes a depthwise convolution
as an ordinary Conv with groups=C; that is conv.py's kind, not this one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from minigrad.layers.base import (Context, Flow, Ints, Layer, Outcome, check_positive, number, per_axis,
                                  with_axes)
from minigrad.layers.window import (Padding, activation_words, check_padding, kernel_text, need_grid,
                                    refuse_strided_same, slide, window_words)


@dataclass(frozen=True, kw_only=True)
class _Depthwise(Layer):
    """The arguments DepthwiseConv and SeparableConv share, and their depthwise stage."""

    kernel: Ints
    stride: Ints | None = None
    padding: Padding = "valid"
    dilation: Ints | None = None
    depth_multiplier: int = 1
    bias: bool = True
    activation: str | None = None

    def _stage(self, ctx: Context, flow: Flow, what: str):
        """Check the shared arguments and slide the depthwise window (as Conv slides its own):
        (C, kernel, window, description words after the kernel's)."""
        c, spatial = need_grid(ctx, self, what, flow.shape, (1, 2, 3))
        rank = len(spatial)
        kernel = per_axis(ctx, self, "kernel", self.kernel, rank)
        stride = per_axis(ctx, self, "stride", self.stride, rank, 1)
        dilation = per_axis(ctx, self, "dilation", self.dilation, rank, 1)
        check_positive(ctx, self, kernel=kernel, stride=stride, dilation=dilation,
                       depth_multiplier=self.depth_multiplier)
        padding = self.padding
        if not isinstance(padding, str):
            padding = per_axis(ctx, self, "padding", padding, rank)
            check_positive(ctx, self, zero_ok=True, padding=padding)
        check_padding(ctx, self, padding, rank)
        refuse_strided_same(ctx, self, padding, stride)
        win = slide(ctx, self, what, flow, kernel, stride, padding, dilation)
        m = self.depth_multiplier
        words = ([f"multiplier {m}"] if m != 1 else []) + window_words(stride, padding, dilation)
        words += ([] if self.bias else ["no bias"]) + activation_words(self.activation)
        return c, kernel, win, words


@dataclass(frozen=True, kw_only=True)
class DepthwiseConv(_Depthwise):
    """Keras DepthwiseConv1D/2D: (*S, C) → (*S', C·depth_multiplier), one filter set per channel.

    kernel, stride, dilation: one int for every axis or one per spatial axis (None: 1).
    padding: "valid", "same" (Keras' rule) or P zeros on both sides (an int or one per axis).
    """

    type = "depthwise"
    default_name = "depthwise_conv2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, kernel, win, words = self._stage(ctx, flow, "a depthwise convolution")
        m = self.depth_multiplier
        k_text, k_prod = "·".join(map(str, kernel)), math.prod(kernel)
        weights = k_prod * c * m
        params = weights + (c * m if self.bias else 0)
        positions = math.prod(win.sizes)
        macs = weights * positions
        explain = list(win.explain) + [
            f"channels = {c}·{m} = {number(c * m)} (each input channel gets {m} filter"
            f"{'s' if m > 1 else ''} of its own)",
            f"params = {k_text}·{c}·{m}" + (f" + {c}·{m} = {number(params)}" if self.bias
                                           else f" = {number(params)} (no bias)"),
            f"MACs = {k_text}·{c}·{m}·{'·'.join(map(str, win.sizes))} = {number(macs)}",
        ]
        words = [f"depthwise {kernel_text(kernel)}"] + words
        shape = ctx.shape(c * m, win.sizes)
        return Outcome(with_axes(flow, shape, win.axes), trainable=params, macs=macs,
                       description=", ".join(words), explain=tuple(explain), notes=tuple(win.notes))


@dataclass(frozen=True, kw_only=True)
class SeparableConv(_Depthwise):
    """Keras SeparableConv1D/2D: depthwise k×k (no bias), then 1×1 to `filters`: (*S, C) → (*S', F).

    Arguments as DepthwiseConv; bias belongs to the pointwise stage (F values).
    """

    filters: int

    type = "sepconv"
    default_name = "separable_conv2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        check_positive(ctx, self, filters=self.filters)
        c, kernel, win, words = self._stage(ctx, flow, "a separable convolution")
        m, f = self.depth_multiplier, self.filters
        k_text = "·".join(map(str, kernel))
        depthwise = math.prod(kernel) * c * m
        pointwise = c * m * f
        params = depthwise + pointwise + (f if self.bias else 0)
        positions = math.prod(win.sizes)
        at = "·".join(map(str, win.sizes))
        macs = (depthwise + pointwise) * positions
        explain = list(win.explain) + [
            f"params = {k_text}·{c}·{m} + {c}·{m}·{f}" + (f" + {f}" if self.bias else "")
            + f" = {number(depthwise)} + {number(pointwise)}" + (f" + {f}" if self.bias else "")
            + f" = {number(params)}   (depthwise + pointwise" + (" + bias)" if self.bias else ", no bias)"),
            f"MACs = ({k_text}·{c}·{m} + {c}·{m}·{f})·{at} = {number(macs)}",
        ]
        words = [f"{f} filters {kernel_text(kernel)}"] + words
        return Outcome(with_axes(flow, ctx.shape(f, win.sizes), win.axes), trainable=params,
                       macs=macs, description=", ".join(words), explain=tuple(explain),
                       notes=tuple(win.notes))


__all__ = ["DepthwiseConv", "SeparableConv"]
