"""Activations: element-wise functions (no parameters, shape unchanged) and PReLU, which learns
its negative slopes.

    Activation   params 0                      MACs 0
    PReLU        PyTorch: num_parameters (1 or C); Keras: one slope per input value, shared
                 along shared_axes              MACs 1 per value (a slope times a negative input)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from minigrad.layers.base import Context, Flow, Layer, Outcome, number, one_input, per_sample_axis, shape_text

# What the layer language, Keras' activation= strings and the model builder understand.
ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "linear")
# Every function an Activation kind accepts ("identity" and "linear" are the same).
ACTIVATION_FUNCTIONS = ACTIVATIONS + (
    "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "hardswish", "hardsigmoid",
    "softplus", "softsign", "mish", "identity")


def check_activation(ctx: Context, layer: Layer, fn: str | None) -> None:
    if fn is not None and fn not in ACTIVATION_FUNCTIONS:
        raise ctx.error(f"unknown activation {fn!r}; known: {', '.join(ACTIVATION_FUNCTIONS)}",
                        layer)


@dataclass(frozen=True, kw_only=True)
class Activation(Layer):
    """fn: one of ACTIVATION_FUNCTIONS; alpha: LeakyReLU's negative slope or ELU's alpha; axis:
    softmax's axis as the framework wrote it (shown, not used: the shape is unchanged);
    settings: other keyword settings the code gave that change the values, not the shape
    (PyTorch's GELU approximate, Softplus beta and threshold), as (name, value) pairs for the
    built module."""

    fn: str
    alpha: float | None = None
    axis: int | None = None
    settings: tuple[tuple[str, object], ...] = ()

    type: ClassVar[str] = "activation"
    default_name: ClassVar[str] = "activation"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        check_activation(ctx, self, self.fn)
        words = [self.fn]
        if self.alpha is not None:
            words.append(f"alpha {self.alpha:g}")
        if self.axis is not None:
            words.append(f"axis {self.axis}")
        return Outcome(flow, description=", ".join(words))


@dataclass(frozen=True, kw_only=True)
class PReLU(Layer):
    """num_parameters: PyTorch's (1, or C for one slope per channel); None for Keras' PReLU, whose
    slopes have the input's per-sample shape except along shared_axes (per-sample, 0-based;
    Keras' shared_axes=[1, 2] on H×W×C are (0, 1) here)."""

    num_parameters: int | None = None
    shared_axes: tuple[int, ...] = ()

    type: ClassVar[str] = "prelu"
    default_name: ClassVar[str] = "p_re_lu"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        shape = flow.shape
        if self.num_parameters is not None:
            channels = ctx.channels(shape) if len(shape) > 1 else shape[0]
            if self.num_parameters not in (1, channels):
                raise ctx.error(f"num_parameters={self.num_parameters} must be 1 or the "
                                f"{channels} input channels", self)
            params = self.num_parameters
            share = "shared by every value" if params == 1 else "per channel"
            explain = [f"params = {params} (one slope {share})"]
        else:
            shared = {per_sample_axis(ctx, self, a, len(shape), "shared axis")
                      for a in self.shared_axes}
            slopes = tuple(1 if i in shared else n for i, n in enumerate(shape))
            params = math.prod(slopes)
            explain = [f"params = {'·'.join(map(str, slopes))} = {number(params)} (one slope per "
                       f"value of {shape_text(shape)}"
                       + (", shared along the shared axes)" if shared else ")")]
        macs = math.prod(shape)
        explain.append(f"MACs = {number(macs)} (one slope times each value)")
        return Outcome(flow, trainable=params, macs=macs,
                       description=f"{number(params)} slope{'s' if params != 1 else ''}",
                       explain=tuple(explain))
