"""Layers that change the spatial size without weights: upsampling, padding, cropping, pixel
shuffle, Keras' Resizing and CenterCrop. None has parameters or MACs.

    Upsample      (C, H, W) → (C, floor(H·s), floor(W·s)) or (C, *size)   nn.Upsample, F.interpolate,
                                                                         UpSampling1D/2D
    Pad           (C, H, W) → (C, H + b + a, W + b + a)                   ZeroPad2d, ReflectionPad2d,
                                                                         ReplicationPad2d, F.pad,
                                                                         ZeroPadding1D/2D
    Crop          (C, H, W) → (C, H − b − a, W − b − a)                   Cropping1D/2D
    PixelShuffle  (C·r², H, W) → (C, H·r, W·r)                            nn.PixelShuffle
    Resizing      (H, W, C) → (h, w, C)                                   keras Resizing
    CenterCrop    (H, W, C) → (h, w, C)                                   keras CenterCrop

Padding and cropping keep the pixel grid, so the receptive field goes on: its size and jump are
unchanged and only the first unit's centre moves (−before·jump for padding, +before·jump for
cropping). Upsampling, pixel shuffle and resizing break the grid: the field is unknown from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from minigrad.layers.base import (Axis, Context, Flow, Layer, Outcome, check_positive, number, per_axis,
                                  shape_text, unknown_field, with_axes)
from minigrad.layers.window import labels, merge_axes, merge_sizes, need_grid

UPSAMPLE = "upsampling repeats or interpolates each input pixel over several outputs"
SHUFFLE = "a pixel shuffle moves channels into space: neighbouring outputs come from one input pixel"
RESIZE = "resizing interpolates between input pixels at a non-integer ratio"
PAD_MODES = ("zeros", "constant", "reflect", "replicate", "circular")


def _pairs(ctx: Context, layer: Layer, what: str, value, rank: int) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial axis from p, (p_axis, …) or ((b, a), …); in 1-D (b, a) too."""
    if rank == 1 and isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) for v in value):
        value = (tuple(value),)  # Keras ZeroPadding1D((1, 2)) / Cropping1D((1, 2)): before, after
    pairs = per_axis(ctx, layer, what, value, rank)
    out = []
    for p in pairs:
        pair = tuple(p) if isinstance(p, (tuple, list)) else (p, p)
        if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
            raise ctx.error(f"{what} must be integers (before, after) per axis, got {value!r}", layer)
        out.append(pair)
    return tuple(out)


def _signed(v: int) -> str:
    return f"+ {v}" if v >= 0 else f"− {-v}"


def _pairs_text(pairs) -> str:
    """1 when every side is 1, else 1+2 × 3+4 (before+after per axis)."""
    flat = {v for pair in pairs for v in pair}
    if len(flat) == 1:
        return str(flat.pop())
    return " × ".join(f"{b}{'+' if a >= 0 else '−'}{abs(a)}".replace("-", "−") for b, a in pairs)


def _shifted(flow: Flow, sizes: tuple[int, ...], shifts: tuple[int, ...], sign: int, word: str):
    """Axes of a pad (sign −1) or crop (sign +1): size changes, centre moves by sign·before·jump."""
    if flow.axes is None or flow.rf_unknown is not None:
        return None, []
    axes, lines = [], []
    names = labels(len(sizes))
    for a, n, b, label in zip(flow.axes, sizes, shifts, names):
        if a.jump is None:
            axes.append(replace(a, size=n))
            lines.append(f"r_{label} = {a.rf} (already the whole input)")
            continue
        new = Axis(n, a.rf, a.jump, a.center + sign * b * a.jump)
        axes.append(new)
        op = "−" if (sign < 0) == (b >= 0) else "+"
        lines.append(f"r_{label} = {a.rf} (unchanged),  center_{label} = {number(a.center)} {op} "
                     f"{abs(b)}·{a.jump} = {number(new.center)}  ({word} {b} before)")
    return tuple(axes), merge_axes(lines, names)


def _broadcast(value):
    """A 1-tuple (a reader's form of PyTorch's scalar scale_factor=2) applies to every axis."""
    return value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value


@dataclass(frozen=True, kw_only=True)
class Upsample(Layer):
    """nn.Upsample / F.interpolate / UpSampling1D/2D: (C, *S) → (C, *S').

    scale: a factor for every axis (a number or a 1-tuple) or one per spatial axis
    (S' = floor(S·scale), as PyTorch computes it in double precision); size: the output sizes
    (an int or 1-tuple for every axis, or one per axis). Exactly one of the two.
    mode: "nearest", "bilinear", … and align_corners (PyTorch's): how the values are computed;
    the shape does not depend on them.
    """

    scale: float | tuple[float, ...] | None = None
    size: int | tuple[int, ...] | None = None
    mode: str = "nearest"
    align_corners: bool = False

    type = "upsample"
    default_name = "up_sampling2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, spatial = need_grid(ctx, self, "upsampling", flow.shape, (1, 2, 3))
        rank = len(spatial)
        if (self.scale is None) == (self.size is None):
            raise ctx.error("give either a scale factor or an output size, not both or neither", self)
        explain = []
        if self.size is not None:
            sizes = per_axis(ctx, self, "size", _broadcast(self.size), rank)
            check_positive(ctx, self, size=sizes)
            explain.append(f"{shape_text(spatial)} → {shape_text(sizes)} (size given)")
            words = f"to {shape_text(sizes)}"
        else:
            scales = per_axis(ctx, self, "scale", _broadcast(self.scale), rank)
            for s in scales:
                if isinstance(s, bool) or not isinstance(s, (int, float)) or not s > 0:
                    raise ctx.error(f"scale factor must be a positive number, got {s!r}", self)
            sizes = tuple(math.floor(float(n) * float(s)) for n, s in zip(spatial, scales))
            for n, s, o, label in zip(spatial, scales, sizes, labels(rank)):
                explain.append(f"O{label} = floor({n}·{number(s)}) = {o}")
                if o < 1:
                    raise ctx.error(f"output size {o} along {label}: floor({n}·{number(s)}) is 0 "
                                    "(PyTorch: input and output sizes should be greater than 0)", self)
            explain = merge_sizes(explain)
            words = "×" + (number(scales[0]) if len(set(scales)) == 1
                           else shape_text(tuple(map(number, scales))))
        explain += ["params = 0", f"receptive field: none ({UPSAMPLE})"]
        return Outcome(unknown_field(flow, ctx.shape(c, sizes), UPSAMPLE),
                       description=f"{words} {self.mode}", explain=tuple(explain))


@dataclass(frozen=True, kw_only=True)
class Pad(Layer):
    """Padding: (C, *S) → (C, *(S + before + after)), per spatial axis, in spatial order.

    padding: p (every side), one p per axis, or ((before, after), …) per axis (readers turn
    PyTorch's (left, right, top, bottom) and Keras' ((top, bottom), (left, right)) into this).
    Negative values crop, as in PyTorch. mode: "zeros", "constant" (value), "reflect" (each pad
    smaller than the axis, as PyTorch requires), "replicate", "circular" (at most the axis).
    """

    padding: int | tuple
    mode: str = "zeros"
    value: float = 0.0

    type = "pad"
    default_name = "zero_padding2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, spatial = need_grid(ctx, self, "padding", flow.shape, (1, 2, 3))
        if self.mode not in PAD_MODES:
            raise ctx.error(f"padding mode must be one of {', '.join(PAD_MODES)}, got {self.mode!r}", self)
        pairs = _pairs(ctx, self, "padding", self.padding, len(spatial))
        sizes, explain = [], []
        for n, (b, a), label in zip(spatial, pairs, labels(len(spatial))):
            if self.mode == "reflect" and (b >= n or a >= n):
                raise ctx.error(f"reflect padding {b}+{a} along {label} must be smaller than the input "
                                f"size {n} (PyTorch: padding size should be less than the "
                                "corresponding input dimension)", self)
            if self.mode == "circular" and (b > n or a > n):
                raise ctx.error(f"circular padding {b}+{a} along {label} is larger than the input "
                                f"size {n}: it would wrap around more than once (PyTorch refuses)", self)
            out = n + b + a
            explain.append(f"O{label} = {n} {_signed(b)} {_signed(a)} = {out}")
            if out < 1:
                raise ctx.error(f"negative padding {b}+{a} along {label} leaves nothing of {n}", self)
            sizes.append(out)
        axes, rf = _shifted(flow, tuple(sizes), tuple(b for b, _ in pairs), -1, "padded")
        what = {"zeros": "zeros", "constant": f"constant {number(self.value)}",
                "reflect": "reflection (mirror without the edge pixel)",
                "replicate": "copies of the edge pixel", "circular": "wrap-around"}[self.mode]
        explain += [f"new pixels: {what}", "params = 0"] + rf
        mode = f"constant {number(self.value)}" if self.mode == "constant" else self.mode
        return Outcome(with_axes(flow, ctx.shape(c, tuple(sizes)), axes),
                       description=f"{mode} {_pairs_text(pairs)}", explain=tuple(explain))


@dataclass(frozen=True, kw_only=True)
class Crop(Layer):
    """Keras Cropping1D/2D: (*S, C) → (*(S − before − after), C) per spatial axis.

    cropping: c (every side), one c per axis, or ((before, after), …) per axis.
    """

    cropping: int | tuple

    type = "crop"
    default_name = "cropping2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, spatial = need_grid(ctx, self, "cropping", flow.shape, (1, 2, 3))
        pairs = _pairs(ctx, self, "cropping", self.cropping, len(spatial))
        for pair in pairs:
            check_positive(ctx, self, zero_ok=True, cropping=pair)
        sizes, explain = [], []
        for n, (b, a), label in zip(spatial, pairs, labels(len(spatial))):
            out = n - b - a
            explain.append(f"O{label} = {n} − {b} − {a} = {out}")
            if out < 1:
                raise ctx.error(f"cropping {b}+{a} along {label} leaves nothing of the input size {n} "
                                "(Keras: cropping must be smaller than the input)", self)
            sizes.append(out)
        axes, rf = _shifted(flow, tuple(sizes), tuple(b for b, _ in pairs), +1, "cropped")
        return Outcome(with_axes(flow, ctx.shape(c, tuple(sizes)), axes),
                       description=f"crop {_pairs_text(pairs)}",
                       explain=tuple(explain + ["params = 0"] + rf))


@dataclass(frozen=True, kw_only=True)
class PixelShuffle(Layer):
    """nn.PixelShuffle(r): (C·r², H, W) → (C, H·r, W·r); C·r² must divide by r²."""

    factor: int

    type = "pixelshuffle"
    default_name = "pixel_shuffle"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, (h, w) = need_grid(ctx, self, "a pixel shuffle", flow.shape, 2)
        r = self.factor
        check_positive(ctx, self, **{"upscale factor": r})
        if c % (r * r):
            raise ctx.error(f"pixel shuffle by {r} needs channels divisible by {r}² = {r * r}, but the "
                            f"input has {c} (input {shape_text(flow.shape)})", self)
        shape = ctx.shape(c // (r * r), (h * r, w * r))
        explain = (f"C = {c} / {r}² = {c // (r * r)},  OH = {h}·{r} = {h * r},  OW = {w}·{r} = {w * r}",
                   "params = 0", f"receptive field: none ({SHUFFLE})")
        return Outcome(unknown_field(flow, shape, SHUFFLE), description=f"×{r}", explain=explain)


@dataclass(frozen=True, kw_only=True)
class Resizing(Layer):
    """Keras Resizing(height, width): (H, W, C) → (height, width, C) by interpolation."""

    height: int
    width: int
    interpolation: str = "bilinear"

    type = "resize"
    default_name = "resizing"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, (h, w) = need_grid(ctx, self, "resizing", flow.shape, 2)
        check_positive(ctx, self, height=self.height, width=self.width)
        explain = (f"{h}×{w} → {self.height}×{self.width} ({self.interpolation})", "params = 0",
                   f"receptive field: none ({RESIZE})")
        return Outcome(unknown_field(flow, ctx.shape(c, (self.height, self.width)), RESIZE),
                       description=f"to {self.height}×{self.width} {self.interpolation}",
                       explain=explain)


@dataclass(frozen=True, kw_only=True)
class CenterCrop(Layer):
    """Keras CenterCrop(height, width): (H, W, C) → (height, width, C).

    Crops rows (H − height)//2 … and columns (W − width)//2 … as Keras slices them. When the
    target is larger than the input along either axis Keras does not crop: it resizes
    (smart_resize: crop to the target's aspect ratio, then interpolate); the field is then unknown.
    """

    height: int
    width: int

    type = "centercrop"
    default_name = "center_crop"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, (h, w) = need_grid(ctx, self, "center crop", flow.shape, 2)
        check_positive(ctx, self, height=self.height, width=self.width)
        shape = ctx.shape(c, (self.height, self.width))
        if self.height > h or self.width > w:
            why = (f"the target {self.height}×{self.width} is larger than the input {h}×{w}, so Keras "
                   "resizes (smart_resize) instead of cropping")
            return Outcome(unknown_field(flow, shape, why), description=f"to {self.height}×{self.width}",
                           explain=(why, "params = 0"), notes=(why,))
        top, left = (h - self.height) // 2, (w - self.width) // 2
        explain = [f"rows {top} … {top + self.height - 1} of {h}: "
                   f"top = ({h} − {self.height}) // 2 = {top}",
                   f"columns {left} … {left + self.width - 1} of {w}: "
                   f"left = ({w} − {self.width}) // 2 = {left}",
                   "params = 0"]
        axes, rf = _shifted(flow, (self.height, self.width), (top, left), +1, "cropped")
        return Outcome(with_axes(flow, shape, axes), description=f"to {self.height}×{self.width}",
                       explain=tuple(explain + rf))


__all__ = ["Upsample", "Pad", "Crop", "PixelShuffle", "Resizing", "CenterCrop", "PAD_MODES"]
