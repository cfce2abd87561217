"""Convolution modules."""

from __future__ import annotations

import numpy as np

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.module import Module, Parameter, init_weight
from minigrad.engine.windows import padding_sides, pair

__all__ = ["Conv2d"]


def _padding_arg(module: str, padding):
    """Padding as given, with ((a, a), (b, b)) simplified to (a, b) and an int to a pair."""
    if isinstance(padding, str):
        return padding
    (top, bottom), (left, right) = padding_sides(module, padding)
    if top == bottom and left == right:
        return top, left
    return (top, bottom), (left, right)


def _shapes_padding(module: Module, padding):
    """The padding in minigrad.layers terms: 'valid', 'same' or a symmetric pair."""
    if isinstance(padding, str) or isinstance(padding[0], int):
        return padding
    raise ValueError(f"{type(module).__name__} with padding {padding} (different before and "
                     "after) has no minigrad.layers kind; a model from build_model is summarised "
                     "from the network it was built from")


class Conv2d(Module):
    """2-D convolution. x: (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    weight: (out_channels, in_channels, KH, KW); bias: (out_channels,), zero at first.
    padding: int, pair, 'valid', 'same' (stride 1) or ((top, bottom), (left, right)).
    init: "he" or "glorot" (see init_weight); fan_in = in_channels·KH·KW,
    fan_out = out_channels·KH·KW.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, init: str = "glorot"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = _padding_arg("Conv2d", padding)
        self.dilation = pair(dilation, "dilation")
        if self.padding == "same" and self.stride != (1, 1):
            raise ValueError("Conv2d: padding='same' is not supported for strided convolutions; "
                             "give ((top, bottom), (left, right)) instead")
        kh, kw = self.kernel_size
        self.weight = Parameter(init_weight((out_channels, in_channels, kh, kw),
                                            in_channels * kh * kw, out_channels * kh * kw, init))
        self.bias = Parameter(np.zeros(out_channels, dtype=np.float32)) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def layer(self) -> layers.Conv:
        return layers.Conv(filters=self.out_channels, kernel=self.kernel_size, stride=self.stride,
                           padding=_shapes_padding(self, self.padding), dilation=self.dilation,
                           bias=self.bias is not None, in_channels=self.in_channels)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text
