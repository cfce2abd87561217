"""Keras preprocessing layers placed inside a model: Rescaling, Normalization, the random
augmentations, and RandomCrop. All keep the shape except RandomCrop; only Normalization has
weights, and they are statistics, not trained.

    Rescaling     (*S, C) → (*S, C)   x·scale + offset                        0 params
    Normalization (*S, C) → (*S, C)   (x − mean) / sqrt(variance)             mean, variance, count
    Augment       (*S, C) → (*S, C)   RandomFlip, RandomRotation, …: identity at inference, 0 params
    RandomCrop    (H, W, C) → (h, w, C)                                       0 params

Measured with Keras 3.15 (torch backend): Normalization(axis=-1) on H×W×C has C means, C
variances and one count, all non-trainable weights that model.count_params() counts (2·C + 1);
given mean= and variance= it has none. The random layers keep their seed state outside
`weights`: count_params() counts 0 for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from minigrad.layers.base import (Context, Flow, Layer, Outcome, check_positive, number, shape_text,
                                  unknown_field)
from minigrad.layers.window import need_grid

AUGMENTATIONS = ("random_flip", "random_rotation", "random_zoom", "random_translation",
                 "random_contrast", "random_brightness", "random_saturation", "random_hue",
                 "random_sharpness", "random_shear", "random_grayscale", "random_color_jitter",
                 "random_color_degeneration", "random_invert", "random_posterization",
                 "random_erasing", "random_gaussian_blur", "random_perspective",
                 "random_elastic_transform")
RANDOM_CROP = "a random crop takes a different window of every image"


@dataclass(frozen=True, kw_only=True)
class Rescaling(Layer):
    """Keras Rescaling(scale, offset): y = x·scale + offset, same shape, no parameters."""

    scale: float
    offset: float = 0.0

    type = "rescale"
    default_name = "rescaling"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        scale = _ratio(self.scale)
        text = f"x·{scale}" + (f" + {number(self.offset)}" if self.offset else "")
        return Outcome(flow, description=text,
                       explain=(f"y = {text} elementwise, shape {shape_text(flow.shape)} unchanged",
                                "params = 0"))


def _ratio(x: float) -> str:
    """1/255 for 0.00392156…, else the number itself."""
    if isinstance(x, (int, float)) and 0 < abs(x) < 1:
        inv = 1 / x
        if abs(inv - round(inv)) < 1e-9 * abs(inv):
            return f"(1/{round(inv)})"
    return number(x)


@dataclass(frozen=True, kw_only=True)
class Normalization(Layer):
    """Keras Normalization(axis=-1): y = (x − mean) / sqrt(variance), same shape.

    axis: Keras' axis or axes (counted with the batch axis, as Keras counts: -1 is the last,
    1 the first after the batch) along which separate statistics are kept; None for one mean and
    variance overall. constants: mean and variance were given to the constructor (no weights).
    The weights (mean and variance per kept position, plus one count) are Outcome.stats:
    non-trainable parameters under Keras' counting, which is the only one this layer has.
    """

    axis: int | tuple[int, ...] | None = -1
    constants: bool = False

    type = "normalize"
    default_name = "normalization"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        shape, rank = flow.shape, len(flow.shape)
        axes = () if self.axis is None else (self.axis if isinstance(self.axis, tuple) else (self.axis,))
        kept = []
        for a in axes:
            if isinstance(a, bool) or not isinstance(a, int) or a == 0 or not -rank <= a <= rank:
                raise ctx.error(f"axis {a!r} is not a feature axis of the input "
                                f"{shape_text(shape)} (Keras counts the batch as axis 0: use 1 … "
                                f"{rank} or -1 … -{rank})", self)
            kept.append(a - 1 if a > 0 else rank + a)
        if len(set(kept)) != len(kept):
            raise ctx.error(f"axis {self.axis!r} names the same axis twice", self)
        per = math.prod(shape[i] for i in kept)
        over = [str(shape[i]) for i in range(rank) if i not in kept]
        if self.constants:
            stats, line = 0, "params = 0 (mean and variance given as constants)"
        else:
            stats = 2 * per + 1
            where = (f"for each of the {number(per)} positions of "
                     f"{'×'.join(str(shape[i]) for i in sorted(kept))}" if kept else "for the whole layer")
            line = (f"params = 2·{number(per)} + 1 = {number(stats)} non-trainable: a mean and a "
                    f"variance {where}, and the count of samples adapt() saw")
        explain = (f"y = (x − mean) / sqrt(variance), statistics over "
                   f"{'batch' + (' × ' + ' × '.join(over) if over else '')}", line)
        what = f"mean/var per {number(per)}" if kept else "one mean/var"
        return Outcome(flow, stats=stats, description=what, explain=explain)


def snake(name: str) -> str:
    """RandomFlip → random_flip (Keras' own rule for default names); snake_case stays as it is."""
    return "".join(f"_{ch.lower()}" if ch.isupper() and i else ch.lower() for i, ch in enumerate(name))


class _KindName:
    """default_name of an Augment: its own on an instance (random_flip), a generic word on the class."""

    def __get__(self, obj, cls=None) -> str:
        return "random_augmentation" if obj is None else snake(obj.kind)


@dataclass(frozen=True, kw_only=True)
class Augment(Layer):
    """A Keras random augmentation: (*S, C) → (*S, C), the identity at inference, no parameters.

    kind: the Keras class ("RandomFlip") or its snake_case name ("random_flip"); the default row
    name is the snake_case one. RandomCrop changes the shape: it is its own kind.
    """

    kind: str

    type = "augment"
    default_name = _KindName()

    def base_name(self) -> str:
        return snake(self.kind)

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        op = snake(self.kind)
        if op not in AUGMENTATIONS:
            raise ctx.error(f"unknown augmentation {self.kind!r}; known: {', '.join(AUGMENTATIONS)}", self)
        return Outcome(flow, description="training only",
                       explain=(f"{op}: a random change of each image while training; the identity "
                                "at inference", "params = 0"))


@dataclass(frozen=True, kw_only=True)
class RandomCrop(Layer):
    """Keras RandomCrop(height, width): (H, W, C) → (height, width, C), as model.summary() shows.

    Keras 3 crops (or, when the input is smaller, resizes) only while training; at inference
    (predict, training=False) it passes the image through unchanged: a note says so.
    """

    height: int
    width: int

    type = "randomcrop"
    default_name = "random_crop"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, (h, w) = need_grid(ctx, self, "a random crop", flow.shape, 2)
        check_positive(ctx, self, height=self.height, width=self.width)
        notes = ()
        if (h, w) != (self.height, self.width):
            notes = (f"Keras 3 crops only while training: at inference (predict) the {h}×{w} input "
                     f"passes through uncropped, so the layers after it get {h}×{w}, not "
                     f"{self.height}×{self.width}",)
        how = "resized" if self.height > h or self.width > w else "cropped at a random offset"
        explain = (f"{h}×{w} → {self.height}×{self.width} ({how}, training only)", "params = 0",
                   f"receptive field: none ({RANDOM_CROP})")
        return Outcome(unknown_field(flow, ctx.shape(c, (self.height, self.width)), RANDOM_CROP),
                       description=f"to {self.height}×{self.width}", explain=explain, notes=notes)


__all__ = ["Rescaling", "Normalization", "Augment", "RandomCrop", "AUGMENTATIONS"]
