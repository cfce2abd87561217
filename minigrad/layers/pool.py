"""Pooling: max and average windows (1-D and 2-D), PyTorch's adaptive pools and global pools.

    Pool            (*S, C) → (*S', C)   S' by the window rule; stride defaults to the window
    AdaptivePool    (*S, C) → (*O, C)    window i spans floor(i·N/O) … ceil((i+1)·N/O) − 1
    GlobalPool      (*S, C) → (C,)       or 1×1×C with keepdims
No parameters, no MACs (comparisons and additions only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

from minigrad.layers.base import Context, Flow, Layer, Outcome, check_positive, dims_text, one_input, shape_text
from minigrad.layers.window import (Padding, check_padding, collapse_all, labels, layout_words, need_grid, slide,
                                    window_words)

MODES = ("max", "avg")


def _check_mode(ctx: Context, layer: Layer, mode) -> None:
    if mode not in MODES:
        raise ctx.error(f"mode must be 'max' or 'avg', got {mode!r}", layer)


@dataclass(frozen=True, kw_only=True)
class Pool(Layer):
    """mode "max" | "avg"; kernel: one int per spatial axis; stride None = the kernel (as in
    both frameworks); padding: "valid", "same" (Keras) or P per axis (PyTorch, at most half the
    kernel); ceil: PyTorch's ceil_mode."""

    mode: Literal["max", "avg"]
    kernel: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    padding: Padding = "valid"
    ceil: bool = False

    type: ClassVar[str] = "pool"
    default_name: ClassVar[str] = "max_pooling2d"

    def row_type(self) -> str:
        return f"{self.mode}pool"

    def base_name(self) -> str:
        rank = len(self.kernel) if isinstance(self.kernel, tuple) else 2
        return f"{'max' if self.mode == 'max' else 'average'}_pooling{rank}d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        _check_mode(ctx, self, self.mode)
        if not isinstance(self.kernel, tuple) or len(self.kernel) not in (1, 2):
            raise ctx.error(f"pool size must be 1 or 2 sizes, got {self.kernel!r}", self)
        stride = self.stride or self.kernel
        check_positive(ctx, self, kernel=self.kernel, stride=stride)
        if len(stride) != len(self.kernel):
            raise ctx.error(f"pool size {self.kernel} and stride {stride} must have one entry "
                            "per spatial axis", self)
        check_padding(ctx, self, self.padding, len(self.kernel))
        if isinstance(self.padding, tuple):
            for p, k in zip(self.padding, self.kernel):
                if isinstance(p, int) and 2 * p > k:
                    raise ctx.error(f"pad should be at most half of kernel size, but got "
                                    f"pad={p}, kernel_size={k} (PyTorch's rule: a window must "
                                    "not lie wholly in the padding)", self)
        kind = f"{self.mode}pool"
        c, _ = need_grid(ctx, self, kind, flow.shape, len(self.kernel))
        window = slide(ctx, self, kind, flow, self.kernel, stride, self.padding,
                       (1,) * len(self.kernel), self.ceil, what="pool window")
        k_text = "×".join(map(str, self.kernel))
        explain = window.explain + [f"params = 0 ({'maximum' if self.mode == 'max' else 'mean'} "
                                    f"of each {k_text} window, per channel)"]
        parts = [f"{self.mode} {k_text}"] + window_words(stride, self.padding,
                                                         (1,) * len(self.kernel))
        if self.ceil:
            parts.append("ceil")
        return Outcome(Flow(ctx.shape(c, window.sizes), window.axes),
                       description=", ".join(parts), explain=tuple(explain),
                       notes=tuple(window.notes))


@dataclass(frozen=True, kw_only=True)
class GlobalPool(Layer):
    """Keras' GlobalAveragePooling/GlobalMaxPooling 1D/2D; keepdims keeps the spatial axes as 1
    (PyTorch's AdaptiveAvgPool2d(1) and Keras' keepdims=True)."""

    mode: Literal["max", "avg"] = "avg"
    keepdims: bool = False

    type: ClassVar[str] = "globalpool"
    default_name: ClassVar[str] = "global_average_pooling2d"

    def row_type(self) -> str:
        return f"global{self.mode}pool"

    def base_name(self) -> str:
        return f"global_{'max' if self.mode == 'max' else 'average'}_pooling2d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        _check_mode(ctx, self, self.mode)
        what = "global average pooling" if self.mode == "avg" else "global max pooling"
        if len(flow.shape) < 2:
            raise ctx.error(f"{what} needs a {layout_words(ctx, 2)} feature map but receives "
                            f"{shape_text(flow.shape)}", self)
        c, spatial = ctx.channels(flow.shape), ctx.spatial(flow.shape)
        shape = ctx.shape(c, (1,) * len(spatial)) if self.keepdims else (c,)
        axes = collapse_all(flow.axes)
        grid = "×".join(labels(len(spatial)))
        verb = "averaged" if self.mode == "avg" else "maximum taken"
        explain = [f"{shape_text(flow.shape)} → {shape_text(shape)}: each of the {c} channels "
                   f"{verb} over {'·'.join(map(str, spatial))} positions", "params = 0"]
        if axes is not None:
            explain.append(f"r = {dims_text([a.rf for a in axes])} (the whole input)")
        word = "mean" if self.mode == "avg" else "max"
        return Outcome(Flow(shape, axes), description=f"{word} over {grid} per channel",
                       explain=tuple(explain))


@dataclass(frozen=True, kw_only=True)
class AdaptivePool(Layer):
    """PyTorch's AdaptiveAvgPool/AdaptiveMaxPool 1d/2d: output sizes per spatial axis, None keeps
    that axis' size. Windows of even size and spacing give an exact receptive field; uneven ones
    leave it unknown, saying why."""

    mode: Literal["max", "avg"]
    output: tuple[int | None, ...]

    type: ClassVar[str] = "adaptivepool"
    default_name: ClassVar[str] = "adaptive_avg_pool2d"

    def row_type(self) -> str:
        if isinstance(self.output, tuple) and all(o == 1 for o in self.output):
            return f"global{self.mode}pool"   # to 1×1: the same as a global pool
        return f"{self.mode}pool"

    def base_name(self) -> str:
        rank = len(self.output) if isinstance(self.output, tuple) else 2
        return f"adaptive_{self.mode}_pool{rank}d"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        _check_mode(ctx, self, self.mode)
        if not isinstance(self.output, tuple) or len(self.output) not in (1, 2):
            raise ctx.error(f"output size must be 1 or 2 sizes, got {self.output!r}", self)
        check_positive(ctx, self, output=tuple(o for o in self.output if o is not None))
        what = f"adaptive {self.mode}pool"
        c, spatial = need_grid(ctx, self, what, flow.shape, len(self.output))
        out = tuple(n if o is None else o for n, o in zip(spatial, self.output))
        if all(o == 1 for o in out):
            return GlobalPool(mode=self.mode, keepdims=True, name=self.name,
                              where=self.where).infer(ctx, inputs)
        windows = [_windows(n, o) for n, o in zip(spatial, out)]
        even = all(w is not None for w in windows)
        grid_text = "×".join(map(str, out))
        if even:
            kernel = tuple(w[0] for w in windows)
            stride = tuple(w[1] for w in windows)
            as_pool = Pool(mode=self.mode, kernel=kernel, stride=stride, name=self.name,
                           where=self.where)
            result = as_pool.infer(ctx, inputs)
            return replace(result, description=f"adaptive to {grid_text}: " + result.description)
        reasons = [f"{label} {n}→{o}" for label, n, o, w in
                   zip(labels(len(spatial)), spatial, out, windows) if w is None]
        why = f"adaptive pooling {', '.join(reasons)} uses windows of uneven size or spacing"
        explain = [f"O{label} = {o}: window i covers floor(i·{n}/{o}) … ceil((i + 1)·{n}/{o}) − 1"
                   for label, n, o in zip(labels(len(spatial)), spatial, out)]
        explain.append(f"params = 0 ({'maximum' if self.mode == 'max' else 'mean'} of each "
                       "window, per channel)")
        return Outcome(Flow(ctx.shape(c, out), None, why),
                       description=f"adaptive to {grid_text}, uneven windows",
                       explain=tuple(explain))


def _windows(n: int, o: int) -> tuple[int, int] | None:
    """(kernel, stride) when PyTorch's adaptive windows along an axis are a plain sliding window
    (all the same size, evenly spaced), else None."""
    starts = [i * n // o for i in range(o)]
    ends = [-(-(i + 1) * n // o) for i in range(o)]
    sizes = {e - s for s, e in zip(starts, ends)}
    steps = {b - a for a, b in zip(starts, starts[1:])}
    if len(sizes) != 1 or len(steps) > 1:
        return None
    step = steps.pop() if steps else sizes.copy().pop()
    if step <= 0:
        return None
    kernel = sizes.pop()
    if math.floor((n - kernel) / step) + 1 != o:  # the sliding window would not give o either
        return None
    return kernel, step
