"""Resampling modules: upsampling, padding and pixel shuffle (no parameters)."""

from __future__ import annotations

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.module import Module

__all__ = ["Upsample", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d",
           "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d",
           "PixelShuffle"]


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) maps by scale_factor or to size (see F.interpolate).
    mode: 'nearest', 'linear' (1-D) or 'bilinear' (2-D)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
        super().__init__()
        self.size, self.scale_factor = size, scale_factor
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def layer(self) -> layers.Upsample:
        return layers.Upsample(scale=self.scale_factor, size=self.size, mode=self.mode)

    def extra_repr(self) -> str:
        given = (f"size={self.size}" if self.size is not None
                 else f"scale_factor={self.scale_factor}")
        text = f"{given}, mode={self.mode!r}"
        if self.align_corners is not None:
            text += f", align_corners={self.align_corners}"
        return text


class _Pad(Module):
    """Padding of the last `axes` axes. padding: an int for every side, or PyTorch's
    (left, right) in 1-D and (left, right, top, bottom) in 2-D; negative values crop."""

    axes: int
    mode: str
    layer_mode: str  # the same mode in minigrad.layers' words

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        sides = (padding,) * (2 * self.axes) if isinstance(padding, int) else tuple(padding)
        if len(sides) != 2 * self.axes or not all(isinstance(p, int) for p in sides):
            raise ValueError(f"{type(self).__name__}: padding must be an int or {2 * self.axes} "
                             f"ints, got {padding!r}")
        self.padding, self.value = sides, value

    def forward(self, x):
        return F.pad(x, self.padding, self.mode, self.value)

    def layer(self) -> layers.Pad:
        # PyTorch lists the last axis first; minigrad.layers wants (before, after) per axis in order
        pairs = tuple((self.padding[2 * i], self.padding[2 * i + 1])
                      for i in reversed(range(self.axes)))
        return layers.Pad(padding=pairs, mode=self.layer_mode, value=self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_Pad):
    axes, mode, layer_mode = 1, "constant", "zeros"


class ZeroPad2d(ZeroPad1d):
    axes = 2


class ConstantPad1d(_Pad):
    axes, mode, layer_mode = 1, "constant", "constant"

    def __init__(self, padding, value: float):
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    axes = 2


class ReflectionPad1d(_Pad):
    """Mirror padding without the edge pixel (each pad smaller than its axis)."""
    axes, mode, layer_mode = 1, "reflect", "reflect"


class ReflectionPad2d(ReflectionPad1d):
    axes = 2


class ReplicationPad1d(_Pad):
    """Padding with copies of the edge pixel."""
    axes, mode, layer_mode = 1, "replicate", "replicate"


class ReplicationPad2d(ReplicationPad1d):
    axes = 2


class PixelShuffle(Module):
    """(N, C·r², H, W) -> (N, C, H·r, W·r), channels moved into space (see F.pixel_shuffle)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def layer(self) -> layers.PixelShuffle:
        return layers.PixelShuffle(factor=self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"
