"""Pooling modules."""

from __future__ import annotations

from minigrad import layers
from minigrad.engine import functional as F
from minigrad.engine.nn.conv import _padding_arg, _shapes_padding
from minigrad.engine.nn.module import Module
from minigrad.engine.pool import _single
from minigrad.engine.windows import pair

__all__ = ["MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "GlobalMaxPool2d", "MaxPool1d", "AvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d"]


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


class GlobalMaxPool2d(Module):
    """Maximum over H and W. x: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims."""

    def __init__(self, keepdims: bool = False):
        super().__init__()
        self.keepdims = keepdims

    def forward(self, x):
        return F.global_max_pool2d(x, self.keepdims)

    def layer(self) -> layers.GlobalPool:
        return layers.GlobalPool(mode="max", keepdims=self.keepdims)

    def extra_repr(self) -> str:
        return f"keepdims={self.keepdims}"


class MaxPool1d(Module):
    """Max pooling along L. x: (N, C, L) -> (N, C, OL); stride defaults to kernel_size."""

    mode = "max"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = _single(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _single(stride, "stride")
        self.padding = _single(padding, "padding")
        self.ceil_mode = ceil_mode

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def layer(self) -> layers.Pool:
        return layers.Pool(mode=self.mode, kernel=(self.kernel_size,), stride=(self.stride,),
                           padding=(self.padding,), ceil=self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"ceil_mode={self.ceil_mode}")


class AvgPool1d(MaxPool1d):
    """Average pooling along L. x: (N, C, L) -> (N, C, OL); count_include_pad as AvgPool2d."""

    mode = "avg"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", count_include_pad={self.count_include_pad}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed size. x: (N, C, H, W) -> (N, C, OH, OW); output_size an int,
    a pair, or a pair with None (that axis keeps its size)."""

    mode = "avg"

    def __init__(self, output_size):
        super().__init__()
        self.output_size = tuple(output_size) if isinstance(output_size, (tuple, list)) \
            else (output_size, output_size)

    def forward(self, x):
        pool = F.adaptive_avg_pool2d if self.mode == "avg" else F.adaptive_max_pool2d
        return pool(x, self.output_size)

    def layer(self) -> layers.AdaptivePool:
        return layers.AdaptivePool(mode=self.mode, output=self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """Max pooling to a fixed size, windows as AdaptiveAvgPool2d; the gradient of each window
    goes to its first maximum."""

    mode = "max"


class AdaptiveAvgPool1d(Module):
    """Average pooling along L to output_size. x: (N, C, L) -> (N, C, output_size)."""

    mode = "avg"

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _single(output_size, "output_size")

    def forward(self, x):
        pool = F.adaptive_avg_pool1d if self.mode == "avg" else F.adaptive_max_pool1d
        return pool(x, self.output_size)

    def layer(self) -> layers.AdaptivePool:
        return layers.AdaptivePool(mode=self.mode, output=(self.output_size,))

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveAvgPool1d):
    """Max pooling along L to output_size; the gradient of each window goes to its first
    maximum."""

    mode = "max"
