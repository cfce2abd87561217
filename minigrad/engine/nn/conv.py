"""Convolution modules: Conv1d, Conv2d (groups, padding modes), ConvTranspose1d/2d."""

from __future__ import annotations

import math

import numpy as np

from minigrad import layers
from minigrad.layers import shapes
from minigrad.engine import functional as F
from minigrad.engine.conv import _conv_padding, _single
from minigrad.engine.nn.module import Module, Parameter, init_weight
from minigrad.engine.windows import padding_sides, pair

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


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


PADDING_MODES = ("zeros", "reflect", "replicate")


def _check_conv_module(module: str, in_channels: int, out_channels: int, groups: int,
                       padding_mode: str) -> None:
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(f"{module}: groups={groups} must divide both in_channels={in_channels} "
                         f"and out_channels={out_channels}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{module}: padding_mode must be one of {', '.join(PADDING_MODES)}, got "
                         f"{padding_mode!r}")


def _conv_repr(module, zeros, ones, output_padding=None) -> str:
    """PyTorch's Conv repr: the settings that differ from the defaults, in PyTorch's order."""
    text = (f"{module.in_channels}, {module.out_channels}, kernel_size={module.kernel_size}, "
            f"stride={module.stride}")
    if module.padding not in (zeros, "valid"):
        text += f", padding={module.padding!r}"
    if module.dilation != ones:
        text += f", dilation={module.dilation}"
    if output_padding not in (None, zeros):
        text += f", output_padding={output_padding}"
    if module.groups != 1:
        text += f", groups={module.groups}"
    if module.bias is None:
        text += ", bias=False"
    if module.padding_mode != "zeros":
        text += f", padding_mode={module.padding_mode!r}"
    return text


class Conv2d(Module):
    """2-D convolution. x: (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    weight: (out_channels, in_channels/groups, KH, KW); bias: (out_channels,), zero at first.
    padding: int, pair, 'valid', 'same' (stride 1) or ((top, bottom), (left, right)).
    groups: channel groups (depthwise: groups = in_channels). padding_mode: what the padding
    holds, 'zeros', 'reflect' or 'replicate' (the last two through F.pad, then no padding).
    init: "he" or "glorot" (see init_weight); fan_in = in_channels/groups·KH·KW (what one
    output sums over), fan_out = out_channels·KH·KW (PyTorch's).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 init: str = "glorot"):
        super().__init__()
        _check_conv_module("Conv2d", in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = _padding_arg("Conv2d", padding)
        self.dilation = pair(dilation, "dilation")
        self.groups, self.padding_mode = groups, padding_mode
        if self.padding == "same" and self.stride != (1, 1):
            raise ValueError("Conv2d: padding='same' is not supported for strided convolutions; "
                             "give ((top, bottom), (left, right)) instead")
        kh, kw = self.kernel_size
        self.weight = Parameter(init_weight((out_channels, in_channels // groups, kh, kw),
                                            in_channels // groups * kh * kw,
                                            out_channels * kh * kw, init))
        self.bias = Parameter(np.zeros(out_channels, dtype=np.float32)) if bias else None

    def forward(self, x):
        return self.convolve(x, self.weight, self.bias)

    def convolve(self, x, weight, bias):
        """This layer's convolution of x with the given weight and bias (its own, or batch norm
        folded into them: plan.py)."""
        padding = self.padding
        if self.padding_mode != "zeros":
            (top, bottom), (left, right) = _conv_padding(
                "Conv2d", padding, self.kernel_size, self.stride, self.dilation, *x.shape[2:])
            x, padding = F.pad(x, (left, right, top, bottom), mode=self.padding_mode), 0
        return F.conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups)

    def layer(self) -> layers.Conv:
        return layers.Conv(filters=self.out_channels, kernel=self.kernel_size, stride=self.stride,
                           padding=_shapes_padding(self, self.padding), dilation=self.dilation,
                           groups=self.groups, bias=self.bias is not None,
                           in_channels=self.in_channels, padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        return _conv_repr(self, (0, 0), (1, 1))


class Conv1d(Module):
    """1-D convolution. x: (N, in_channels, L) -> (N, out_channels, OL).

    weight: (out_channels, in_channels/groups, K); bias: (out_channels,), zero at first.
    padding: int, 'valid' or 'same' (stride 1); padding_mode, groups and init as Conv2d.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 init: str = "glorot"):
        super().__init__()
        _check_conv_module("Conv1d", in_channels, out_channels, groups, padding_mode)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (_single(kernel_size, "kernel_size"),)
        self.stride = (_single(stride, "stride"),)
        self.padding = padding if isinstance(padding, str) else (_single(padding, "padding"),)
        self.dilation = (_single(dilation, "dilation"),)
        self.groups, self.padding_mode = groups, padding_mode
        if self.padding == "same" and self.stride != (1,):
            raise ValueError("Conv1d: padding='same' is not supported for strided convolutions")
        (k,) = self.kernel_size
        self.weight = Parameter(init_weight((out_channels, in_channels // groups, k),
                                            in_channels // groups * k, out_channels * k, init))
        self.bias = Parameter(np.zeros(out_channels, dtype=np.float32)) if bias else None

    def forward(self, x):
        padding = self.padding
        if self.padding_mode != "zeros":
            if padding == "same":
                left, right = shapes.same_padding(x.shape[2], self.kernel_size[0], 1,
                                                  self.dilation[0])
            else:
                left = right = 0 if padding == "valid" else padding[0]
            x, padding = F.pad(x, (left, right), mode=self.padding_mode), 0
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)

    def layer(self) -> layers.Conv:
        return layers.Conv(filters=self.out_channels, kernel=self.kernel_size, stride=self.stride,
                           padding=self.padding, dilation=self.dilation, groups=self.groups,
                           bias=self.bias is not None, in_channels=self.in_channels,
                           padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        return _conv_repr(self, (0,), (1,))


class _ConvTranspose(Module):
    """What ConvTranspose1d and ConvTranspose2d share: weights, layer() and repr.

    weight: (in_channels, out_channels/groups, *kernel), as PyTorch; bias: (out_channels,).
    init: fan_in = in_channels/groups·K (what one output pixel sums over, ignoring the stride),
    fan_out = out_channels·K, as for Conv; PyTorch derives them from the weight's shape, which
    for a transposed convolution swaps the roles of the two channel counts.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 init: str = "glorot"):
        super().__init__()
        name = type(self).__name__
        _check_conv_module(name, in_channels, out_channels, groups, "zeros")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = "zeros"  # the only one PyTorch's transposed convolutions take
        if self.rank == 2:
            as_tuple = pair
        else:
            def as_tuple(value, what):
                return (_single(value, what),)
        self.kernel_size = as_tuple(kernel_size, "kernel_size")
        self.stride = as_tuple(stride, "stride")
        self.padding = as_tuple(padding, "padding")
        self.output_padding = as_tuple(output_padding, "output_padding")
        self.dilation = as_tuple(dilation, "dilation")
        area = math.prod(self.kernel_size)
        shape = (in_channels, out_channels // groups) + self.kernel_size
        self.weight = Parameter(init_weight(shape, in_channels // groups * area,
                                            out_channels * area, init))
        self.bias = Parameter(np.zeros(out_channels, dtype=np.float32)) if bias else None

    def layer(self) -> layers.ConvTranspose:
        return layers.ConvTranspose(filters=self.out_channels, kernel=self.kernel_size,
                                    stride=self.stride, padding=self.padding,
                                    output_padding=self.output_padding, dilation=self.dilation,
                                    groups=self.groups, bias=self.bias is not None,
                                    in_channels=self.in_channels)

    def extra_repr(self) -> str:
        return _conv_repr(self, (0,) * self.rank, (1,) * self.rank, self.output_padding)


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution. x: (N, in_channels, H, W) -> (N, out_channels, OH, OW),
    OH = (H − 1)·S − 2P + D·(KH − 1) + output_padding + 1 (see F.conv_transpose2d)."""

    rank = 2

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution. x: (N, in_channels, L) -> (N, out_channels, OL),
    OL = (L − 1)·S − 2P + D·(K − 1) + output_padding + 1 (see F.conv_transpose1d)."""

    rank = 1

    def forward(self, x):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
