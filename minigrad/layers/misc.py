"""The model's input, dropout, identity and element-wise arithmetic (x * 0.5, x + 1): layers that
pass the shape through (or, for the input, start it) and cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minigrad.errors import SpecError
from minigrad.layers.base import Axis, Context, Flow, Layer, Outcome, grid_axes, one_input, shape_text

DROPOUT_VARIANTS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "spatial_dropout",
                    "alpha_dropout")


@dataclass(frozen=True, kw_only=True)
class Input(Layer):
    """The per-sample input shape in the graph's layout: a flat size (784,), token ids (L,),
    a 1-D signal (L, C) / (C, L), or an image (H, W, C) / (C, H, W). None: not given (an error
    that says how to give it). channels=False: every axis is a pixel axis, as in Keras'
    Flatten(input_shape=(28, 28)) on a grey image written without its channel axis."""

    shape: tuple[int, ...] | None
    channels: bool = True

    type: ClassVar[str] = "input"
    default_name: ClassVar[str] = "input"
    arity: ClassVar[int | None] = 0

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        if inputs:
            raise ctx.error("an input takes no inputs", self)
        if self.shape is None:
            raise SpecError("missing input shape: start with an input line (e.g. 'input 28x28x1') "
                            "or pass --input", self.where)
        shape = tuple(self.shape)
        if (not 1 <= len(shape) <= 3
                or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in shape)):
            layout = "H x W x C" if ctx.layout == "hwc" else "C x H x W"
            raise SpecError(f"input shape must be positive integers, {layout} or a flat size; got "
                            f"{shape_text(shape)}", self.where)
        axes = grid_axes(ctx, shape) if self.channels else tuple(Axis(n) for n in shape)
        return Outcome(Flow(shape, axes), description="input")


@dataclass(frozen=True, kw_only=True)
class Dropout(Layer):
    """rate in [0, 1); variant: which units are dropped together (dropout2d and Keras'
    spatial_dropout zero whole channels). Only training is affected; the shape is unchanged."""

    rate: float
    variant: str = "dropout"

    type: ClassVar[str] = "dropout"
    default_name: ClassVar[str] = "dropout"

    def base_name(self) -> str:
        return "spatial_dropout2d" if self.variant == "spatial_dropout" else "dropout"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        if not 0 <= self.rate < 1:
            raise ctx.error(f"dropout rate must be in [0, 1), got {self.rate}", self)
        if self.variant not in DROPOUT_VARIANTS:
            raise ctx.error(f"unknown dropout variant {self.variant!r}; known: "
                            f"{', '.join(DROPOUT_VARIANTS)}", self)
        whole = self.variant in ("dropout1d", "dropout2d", "dropout3d", "spatial_dropout")
        unit = "channel" if whole else "unit"
        explain = (f"training: each {unit} zeroed with probability {self.rate:g}, the rest scaled "
                   f"by 1/(1 − {self.rate:g}); inference: unchanged",)
        description = f"rate {self.rate:g}" + (", whole channels" if whole else "")
        return Outcome(flow, description=description, explain=explain)


@dataclass(frozen=True, kw_only=True)
class Identity(Layer):
    """nn.Identity: the input, unchanged."""

    type: ClassVar[str] = "identity"
    default_name: ClassVar[str] = "identity"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        return Outcome(one_input(ctx, self, inputs))


# op -> how the row shows it (x is the input, v the operand)
ELEMENTWISE = {"add": "+ {v}", "sub": "− {v}", "rsub": "{v} − x", "mul": "× {v}", "div": "/ {v}",
               "rdiv": "{v} / x", "pow": "^ {v}", "rpow": "{v} ^ x"}


@dataclass(frozen=True, kw_only=True)
class Elementwise(Layer):
    """Arithmetic of every value with one number (x * 0.5, x + 1, 1 - x, x ** 2): op is one of
    ELEMENTWISE, operand the number. The shape is unchanged; no parameters, no MACs counted."""

    op: str
    operand: float

    type: ClassVar[str] = "elementwise"
    default_name: ClassVar[str] = "elementwise"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        if self.op not in ELEMENTWISE:
            raise ctx.error(f"unknown element-wise op {self.op!r}; known: {', '.join(ELEMENTWISE)}",
                            self)
        text = ELEMENTWISE[self.op].format(v=f"{self.operand:g}")
        return Outcome(one_input(ctx, self, inputs), description=text)
