"""Pooling modules."""

from __future__ import annotations

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.conv import _padding_arg, _shapes_padding
from minigrad.engine.nn.module import Module
from minigrad.engine.windows import pair

__all__ = ["MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"]


class MaxPool2d(Module):
    """Max pooling. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.
    padding: int, pair or ((top, bottom), (left, right)); ceil_mode as PyTorch."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = _padding_arg("MaxPool2d", padding)
        self.ceil_mode = ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def layer(self) -> layers.Pool:
        return layers.Pool(mode="max", kernel=self.kernel_size, stride=self.stride,
                           padding=_shapes_padding(self, self.padding), ceil=self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Average pooling. x: (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size.
    count_include_pad=False divides each window by its number of real values (TensorFlow's
    'same' pooling)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = _padding_arg("AvgPool2d", padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def layer(self) -> layers.Pool:
        return layers.Pool(mode="avg", kernel=self.kernel_size, stride=self.stride,
                           padding=_shapes_padding(self, self.padding), ceil=self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}")


class GlobalAvgPool2d(Module):
    """Mean over H and W. x: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims."""

    def __init__(self, keepdims: bool = False):
        super().__init__()
        self.keepdims = keepdims

    def forward(self, x):
        return F.global_avg_pool2d(x, self.keepdims)

    def layer(self) -> layers.GlobalPool:
        return layers.GlobalPool(mode="avg", keepdims=self.keepdims)

    def extra_repr(self) -> str:
        return f"keepdims={self.keepdims}"
