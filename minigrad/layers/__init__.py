"""The layer math: one small definition per layer kind, the layer graph and its analysis.

    from minigrad.layers import Conv, Dense, LayerGraph, Node, Input, analyze_graph

Every kind is a frozen dataclass (its configuration) with `infer(ctx, inputs) -> Outcome`
(layers/base.py). `LayerGraph.chain(network)` turns a chain `Network` (the layer language,
presets) into a graph; `analyze_graph` gives one `Row` per node (minigrad.shapes.Summary).
`KINDS` lists every kind class; each has its table word in `.type`.
"""

from __future__ import annotations

from .activation import ACTIVATION_FUNCTIONS, ACTIVATIONS, Activation, PReLU
from .analysis import analyze, analyze_graph, default_names
from .base import Axis, Context, Flow, Layer, Outcome
from .conv import Conv
from .dense import Dense, Embedding
from .graph import LayerGraph, Network, Node
from .merge import Merge
from .misc import Dropout, Elementwise, Identity, Input
from .norm import BatchNorm, GroupNorm, InstanceNorm, LayerNorm
from .pool import AdaptivePool, GlobalPool, Pool
from .reshape import Flatten, Permute, Reduce, Reshape, Squeeze, Unsqueeze

KINDS: tuple[type[Layer], ...] = (
    Input, Conv, Pool, AdaptivePool, GlobalPool, Dense, Embedding, Flatten, Reshape, Permute,
    Squeeze, Unsqueeze, Reduce, BatchNorm, InstanceNorm, LayerNorm, GroupNorm, Activation, PReLU,
    Merge, Dropout, Identity, Elementwise,
)

__all__ = [
    "ACTIVATIONS", "ACTIVATION_FUNCTIONS", "KINDS", "Activation", "AdaptivePool", "Axis",
    "BatchNorm", "Context", "Conv", "Dense", "Dropout", "Elementwise", "Embedding", "Flatten",
    "Flow", "GlobalPool", "GroupNorm", "Identity", "Input", "InstanceNorm", "Layer", "LayerGraph",
    "LayerNorm", "Merge", "Network", "Node", "Outcome", "PReLU", "Permute", "Pool", "Reduce",
    "Reshape", "Squeeze", "Unsqueeze", "analyze", "analyze_graph", "default_names",
]
