"""Keras' depthwise and separable convolutions, 1-D and 2-D.

DepthwiseConv (DepthwiseConv1D/2D): each of the C input channels gets its own m = depth_multiplier
filters of size k (k·k in 2-D); nothing mixes channels.
    (*S, C) → (*S', C·m)          params k·k·C·m (+ C·m bias)      MACs k·k·C·m·OH·OW
SeparableConv (SeparableConv1D/2D): that depthwise stage (no bias of its own), then a 1×1
convolution from C·m to F channels at the output resolution.
    (*S, C) → (*S', F)            params k·k·C·m + C·m·F (+ F)     MACs (k·k·C·m + C·m·F)·OH·OW

S' follows the usual window rule, floor((H + P_before + P_after − D·(K − 1) − 1) / S) + 1, with
Keras' 'same' (ceil(H/S), the odd padding pixel after). PyTorch writes a depthwise convolution
as an ordinary Conv with groups=C; that is conv.py's kind, not this one.

The small helpers below (per-axis arguments, positive checks, number formatting, the sliding
window with its --explain lines) are shared by transposed.py, resize.py and preprocessing.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Union

from minigrad.layers.base import Axis, Context, Flow, Layer, Outcome, shape_text

Ints = Union[int, tuple[int, ...]]
Padding = Union[str, int, tuple[int, ...]]  # "valid", "same", or P on both sides per axis


# ---------------------------------------------------------------------------------------------
# Helpers shared by the kinds of separable.py, transposed.py, resize.py and preprocessing.py.
# ---------------------------------------------------------------------------------------------

def number(x) -> str:
    """An exact number as a learner would write it: 3, 2.5, 1,605,760."""
    if isinstance(x, Fraction):
        return f"{x.numerator:,}" if x.denominator == 1 else f"{float(x):g}"
    if isinstance(x, bool):
        return str(x)
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def axis_labels(rank: int) -> tuple[str, ...]:
    """Names of the spatial axes in explain lines: L for 1-D, H and W for 2-D, D H W for 3-D."""
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(rank, tuple(f"X{i}" for i in range(rank)))


def sizes_text(values) -> str:
    """3×3 for a 2-D kernel, 3 for a 1-D one."""
    return "×".join(str(v) for v in values)


def kernel_text(kernel) -> str:
    """3×3 for a 2-D window; "size 3" for a 1-D one, so "64 filters size 3" reads as words."""
    return sizes_text(kernel) if len(kernel) > 1 else f"size {kernel[0]}"


def short(values) -> str:
    """One number when all axes agree (stride 2), else 2×1."""
    return str(values[0]) if len(set(values)) == 1 else sizes_text(values)


def check_positive(ctx: Context, layer: Layer, what: str, values, zero_ok: bool = False) -> None:
    """Raise a SpecError naming the layer and the number unless every value is a positive int."""
    for v in values if isinstance(values, tuple) else (values,):
        low = 0 if zero_ok else 1
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            kind = "a non-negative" if zero_ok else "a positive"
            raise ctx.error(f"{what} must be {kind} integer, got {v!r}", layer)


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


def grid(ctx: Context, layer: Layer, flow: Flow, what: str, ranks=(1, 2, 3)) -> tuple[int, tuple[int, ...]]:
    """The channel count and spatial sizes of a feature map, or an error naming what arrived."""
    if len(flow.shape) - 1 not in ranks:
        words = [f"{r}-D" for r in ranks]
        want = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        layout = "channels first (C×H×W)" if ctx.layout == "chw" else "channels last (H×W×C)"
        raise ctx.error(f"{what} needs a {want} feature map, {layout}, but receives "
                        f"{shape_text(flow.shape)}", layer)
    return ctx.channels(flow.shape), ctx.spatial(flow.shape)


def keras_same(size: int, eff_kernel: int, stride: int) -> tuple[int, int]:
    """Keras/TensorFlow 'same' padding (before, after): output ceil(H/S), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + eff_kernel - size, 0)
    return total // 2, total - total // 2


def rf_lines(labels, old: tuple[Axis, ...], new: tuple[Axis, ...], grows: tuple[str, ...],
             strides: tuple[int, ...]) -> list[str]:
    """r = r_in + D·(K − 1)·j_in, j = j_in·S, center, per axis; one line when all axes agree."""
    lines = []
    for label, a, b, grow, s in zip(labels, old, new, grows, strides):
        if a.jump is None:
            lines.append(f"r_{label} = {a.rf} (already the whole input)")
        else:
            lines.append(f"r_{label} = {a.rf} + {grow}·{a.jump} = {b.rf},  j_{label} = {a.jump}·{s} "
                         f"= {b.jump},  center_{label} = {number(b.center)}")
    return merge_axes(lines, labels)


def merge_axes(lines: list[str], labels) -> list[str]:
    """['r_H = …', 'r_W = …'] → ['r = …'] when the lines only differ in their axis label."""
    plain = {line.replace(f"_{label}", "") for line, label in zip(lines, labels)}
    return [plain.pop()] if len(plain) == 1 else lines


def with_axes(flow: Flow, shape: tuple[int, ...], axes) -> Flow:
    """The output flow: the new shape and axes, keeping why the field is unknown upstream."""
    return Flow(shape, axes if flow.rf_unknown is None else None, flow.rf_unknown)


def unknown_field(flow: Flow, shape: tuple[int, ...], why: str) -> Flow:
    """A flow past a layer that breaks the pixel grid; an earlier reason is kept (it came first)."""
    return Flow(shape, None, flow.rf_unknown or why)


@dataclass(frozen=True)
class Window:
    """A sliding window over every spatial axis: output sizes, new axes, explain lines, notes."""

    sizes: tuple[int, ...]
    axes: tuple[Axis, ...] | None
    explain: list[str]
    notes: list[str]


def slide(ctx: Context, layer: Layer, flow: Flow, spatial: tuple[int, ...], kernel, stride,
          padding: Padding, dilation, what: str = "kernel") -> Window:
    """floor((H + P_b + P_a − D·(K − 1) − 1) / S) + 1 per axis, with Keras' 'same' rule."""
    rank = len(spatial)
    labels = axis_labels(rank)
    if padding == "same" and ctx.rules == "torch" and any(s != 1 for s in stride):
        raise ctx.error("padding='same' is not supported for strided convolutions (PyTorch refuses "
                        "it too)", layer)
    pads = None if padding in ("same", "valid") else per_axis(ctx, layer, "padding", padding, rank)
    if pads is not None:
        check_positive(ctx, layer, "padding", pads, zero_ok=True)
    sizes, axes, explain, notes, grows = [], [], [], [], []
    for i, (n, k, s, d, label) in enumerate(zip(spatial, kernel, stride, dilation, labels)):
        eff = d * (k - 1) + 1
        before, after = (keras_same(n, eff, s) if padding == "same"
                         else (0, 0) if padding == "valid" else (pads[i], pads[i]))
        if n + before + after < eff:
            dilated = f" (dilated to {eff})" if d > 1 else ""
            raise ctx.error(f"{what} {sizes_text(kernel)}{dilated} is larger than its "
                            f"{'padded ' if before + after else ''}input {n + before + after} "
                            f"along {label}", layer)
        span = n + before + after - eff
        out = span // s + 1
        sizes.append(out)
        pad = f"2·{before}" if before == after else f"{before} + {after}"
        kern = f"{k}" if d == 1 else f"({d}·({k} − 1) + 1)"
        line = f"O{label} = floor(({n} + {pad} − {kern}) / {s}) + 1 = {out}"
        if padding == "same":
            line += f"   ('same': ceil({n}/{s}) = {out}, pad {before} + {after})"
        explain.append(line)
        if span % s:
            left = span % s
            unit = {"L": "position", "H": "row", "W": "column"}.get(label, "unit") + "s" * (left > 1)
            notes.append(f"stride {s} does not divide {n} + {before + after} − {eff} = {span}: the "
                         f"last {left} {unit} of the padded input {'are' if left > 1 else 'is'} "
                         "never covered")
        grows.append(f"({k} − 1)" if d == 1 else f"{d}·({k} − 1)")
        if flow.axes is not None:
            axes.append(flow.axes[i].slide(out, eff, s, before))
    if len(explain) > 1 and len({e.split(" = ", 1)[1] for e in explain}) == 1:
        explain = [" = ".join(f"O{label}" for label in labels) + " = " + explain[0].split(" = ", 1)[1]]
    new_axes = tuple(axes) if flow.axes is not None and flow.rf_unknown is None else None
    if new_axes is not None:
        explain += rf_lines(labels, flow.axes, new_axes, tuple(grows), stride)
    return Window(tuple(sizes), new_axes, explain, notes)


def window_words(stride, padding, dilation) -> list[str]:
    words = []
    if any(s != 1 for s in stride):
        words.append(f"stride {short(stride)}")
    if padding == "same":
        words.append("same")
    elif not isinstance(padding, str):
        pads = padding if isinstance(padding, tuple) else (padding,)
        if any(p != 0 for p in pads):
            words.append(f"pad {short(pads)}")
    if any(d != 1 for d in dilation):
        words.append(f"dilation {short(dilation)}")
    return words


def activation_words(activation: str | None) -> list[str]:
    return [activation] if activation and activation != "linear" else []


# ---------------------------------------------------------------------------------------------
# The kinds.
# ---------------------------------------------------------------------------------------------

def _depthwise_stage(ctx: Context, layer, flow: Flow, what: str):
    """Check the shared arguments and slide the depthwise window: (C, kernel, stride, window)."""
    c, spatial = grid(ctx, layer, flow, what)
    rank = len(spatial)
    kernel = per_axis(ctx, layer, "kernel", layer.kernel, rank)
    stride = per_axis(ctx, layer, "stride", layer.stride, rank, 1)
    dilation = per_axis(ctx, layer, "dilation", layer.dilation, rank, 1)
    check_positive(ctx, layer, "kernel", kernel)
    check_positive(ctx, layer, "stride", stride)
    check_positive(ctx, layer, "dilation", dilation)
    check_positive(ctx, layer, "depth_multiplier", layer.depth_multiplier)
    if isinstance(layer.padding, str) and layer.padding not in ("valid", "same"):
        raise ctx.error(f"padding must be 'valid', 'same' or integers, got {layer.padding!r}", layer)
    return c, kernel, stride, dilation, slide(ctx, layer, flow, spatial, kernel, stride,
                                              layer.padding, dilation)


@dataclass(frozen=True, kw_only=True)
class DepthwiseConv(Layer):
    """Keras DepthwiseConv1D/2D: (*S, C) → (*S', C·depth_multiplier), one filter set per channel.

    kernel, stride, dilation: one int for every axis or one per spatial axis (None: 1).
    padding: "valid", "same" (Keras' rule) or P zeros on both sides (an int or one per axis).
    """

    kernel: Ints
    stride: Ints | None = None
    padding: Padding = "valid"
    dilation: Ints | None = None
    depth_multiplier: int = 1
    bias: bool = True
    activation: str | None = None

    type = "depthwise"
    default_name = "depthwise_conv2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, kernel, stride, dilation, win = _depthwise_stage(ctx, self, flow, "a depthwise convolution")
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
        words = [f"depthwise {kernel_text(kernel)}"] + ([f"multiplier {m}"] if m != 1 else [])
        words += window_words(stride, self.padding, dilation)
        words += ([] if self.bias else ["no bias"]) + activation_words(self.activation)
        shape = ctx.shape(c * m, win.sizes)
        return Outcome(with_axes(flow, shape, win.axes), trainable=params, macs=macs,
                       description=", ".join(words), explain=tuple(explain), notes=tuple(win.notes))


@dataclass(frozen=True, kw_only=True)
class SeparableConv(Layer):
    """Keras SeparableConv1D/2D: depthwise k×k (no bias), then 1×1 to `filters`: (*S, C) → (*S', F).

    Arguments as DepthwiseConv; bias belongs to the pointwise stage (F values).
    """

    filters: int
    kernel: Ints
    stride: Ints | None = None
    padding: Padding = "valid"
    dilation: Ints | None = None
    depth_multiplier: int = 1
    bias: bool = True
    activation: str | None = None

    type = "sepconv"
    default_name = "separable_conv2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        check_positive(ctx, self, "filters", self.filters)
        c, kernel, stride, dilation, win = _depthwise_stage(ctx, self, flow, "a separable convolution")
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
        words = [f"{f} filters {kernel_text(kernel)}"] + ([f"multiplier {m}"] if m != 1 else [])
        words += window_words(stride, self.padding, dilation)
        words += ([] if self.bias else ["no bias"]) + activation_words(self.activation)
        return Outcome(with_axes(flow, ctx.shape(f, win.sizes), win.axes), trainable=params,
                       macs=macs, description=", ".join(words), explain=tuple(explain),
                       notes=tuple(win.notes))


__all__ = ["DepthwiseConv", "SeparableConv"]
