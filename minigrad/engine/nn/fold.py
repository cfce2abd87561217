"""Batch norm folded into the convolution before it, for inference.

In eval mode a BatchNorm2d is a fixed affine map per channel, y = x·s + t with s = γ/√(σ² + ε)
and t = β − μ·s. After a convolution it moves into the convolution's weights and bias:

    bn(conv(x; W, b)) = conv(x; W·s, b·s + t)     (s scales each filter)

so the map is made once, with no batch norm passes over it and one op call fewer: what
PyTorch's fuse_modules, ONNX Runtime and TFLite do to a model before deployment.

Only where no graph is recorded (eval mode, inside no_grad): a backward must reach the conv's and
the batch norm's own parameters, not folded copies. The folded weights are recomputed from the
current parameters at every call (F·C·KH·KW multiplies, far fewer than the map's), so a model
trained between two calls is never answered with stale ones.

Sequential and GraphModel call `chain_plan` and `graph_plan` for their forward without a graph.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine.nn.conv import Conv2d
from minigrad.engine.nn.norm import BatchNorm2d
from minigrad.engine.tensor import Tensor, is_grad_enabled

__all__ = ["FoldedConvBatchNorm", "chain_plan", "graph_plan"]


def _foldable(conv, norm) -> bool:
    return type(conv) is Conv2d and type(norm) is BatchNorm2d \
        and norm.num_features == conv.out_channels


class FoldedConvBatchNorm:
    """conv then norm, computed as one convolution when neither is training and no graph is
    recorded; otherwise the two modules in turn. Not a Module: it owns no parameters (the
    folded copies are scratch), so state dicts and parameter lists never see it."""

    def __init__(self, conv: Conv2d, norm: BatchNorm2d):
        self.conv, self.norm = conv, norm
        # Kept across calls: the conv op keeps its column buffers with its weight tensor
        # (workspace.py), so a fresh tensor per call would map fresh buffers every call.
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None

    def __call__(self, x):
        conv, norm = self.conv, self.norm
        if conv.training or norm.training or is_grad_enabled():
            return norm(conv(x))
        weight = conv.weight.data
        if self.weight is None or self.weight.data.shape != weight.shape \
                or self.weight.data.dtype != weight.dtype:
            self.weight = Tensor(np.empty_like(weight))
            self.bias = Tensor(np.empty(weight.shape[0], dtype=weight.dtype))
        scale = norm.weight.data / np.sqrt(norm.running_var + norm.eps)           # s
        np.multiply(weight, scale.reshape(-1, 1, 1, 1), out=self.weight.data)     # W·s
        shift = norm.bias.data - norm.running_mean * scale                         # t
        if conv.bias is not None:
            shift += conv.bias.data * scale                                        # b·s + t
        self.bias.data[...] = shift
        return conv.convolve(x, self.weight, self.bias)

    def __repr__(self) -> str:
        return f"FoldedConvBatchNorm({self.conv!r}, {self.norm!r})"


def chain_plan(modules: list, folds: dict) -> list:
    """The modules of a chain with each foldable (Conv2d, BatchNorm2d) pair made one callable.
    folds: the caller's cache of FoldedConvBatchNorm by the pair's ids, kept between calls."""
    plan, index = [], 0
    while index < len(modules):
        module = modules[index]
        following = modules[index + 1] if index + 1 < len(modules) else None
        if _foldable(module, following):
            key = (id(module), id(following))
            if key not in folds:
                folds[key] = FoldedConvBatchNorm(module, following)
            plan.append(folds[key])
            index += 2
        else:
            plan.append(module)
            index += 1
    return plan


def graph_plan(steps: tuple, outputs: tuple[int, ...], make_step) -> tuple:
    """A GraphModel's steps with each conv step ending in a Conv2d merged into the step that
    follows it when that step starts with a BatchNorm2d, reads only the conv's node, and is the
    only reader of it (so nobody else needs the conv's own output). make_step(name, modules,
    node, inputs) builds a step."""
    readers: dict[int, int] = {}
    for step in steps:
        for node in step.inputs:
            readers[node] = readers.get(node, 0) + 1
    by_node = {step.node: step for step in steps}
    merged_into: dict[int, object] = {}   # BN step's node -> the merged step
    absorbed = set()                      # conv steps' nodes merged into their BN step
    for step in steps:
        if len(step.inputs) != 1 or not step.modules:
            continue
        conv_step = by_node.get(step.inputs[0])
        if conv_step is None or conv_step.node in merged_into or not conv_step.modules \
                or readers[conv_step.node] != 1 \
                or conv_step.node in outputs \
                or not _foldable(conv_step.modules[-1], step.modules[0]):
            continue
        folded = FoldedConvBatchNorm(conv_step.modules[-1], step.modules[0])
        merged_into[step.node] = make_step(
            step.name, conv_step.modules[:-1] + (folded,) + step.modules[1:], step.node,
            conv_step.inputs)
        absorbed.add(conv_step.node)
    return tuple(merged_into.get(step.node, step) for step in steps
                 if step.node not in absorbed)
