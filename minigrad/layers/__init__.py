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
from .index import Slice
from .merge import Merge
from .misc import Dropout, Elementwise, Identity, Input
from .norm import BatchNorm, GroupNorm, InstanceNorm, LayerNorm
from .pool import AdaptivePool, GlobalPool, Pool
from .preprocessing import Augment, Normalization, RandomCrop, Rescaling
from .reshape import Flatten, Permute, Reduce, Reshape, Squeeze, Unsqueeze
from .resize import CenterCrop, Crop, Pad, PixelShuffle, Resizing, Upsample
from .separable import DepthwiseConv, SeparableConv
from .transposed import ConvTranspose

KINDS: tuple[type[Layer], ...] = (
    Input, Conv, Pool, AdaptivePool, GlobalPool, Dense, Embedding, Flatten, Reshape, Permute,
    Squeeze, Unsqueeze, Reduce, BatchNorm, InstanceNorm, LayerNorm, GroupNorm, Activation, PReLU,
    Merge, Dropout, Identity, Elementwise, DepthwiseConv, SeparableConv, ConvTranspose, Upsample,
    Pad, Crop, PixelShuffle, Resizing, CenterCrop, Rescaling, Normalization, Augment, RandomCrop,
    Slice,
)

__all__ = [
    "ACTIVATIONS", "ACTIVATION_FUNCTIONS", "KINDS", "Activation", "AdaptivePool", "Axis",
    "BatchNorm", "Context", "Conv", "Dense", "Dropout", "Elementwise", "Embedding", "Flatten",
    "Flow", "GlobalPool", "GroupNorm", "Identity", "Input", "InstanceNorm", "Layer", "LayerGraph",
    "LayerNorm", "Merge", "Network", "Node", "Outcome", "PReLU", "Permute", "Pool", "Reduce",
    "Reshape", "Squeeze", "Unsqueeze", "analyze", "analyze_graph", "default_names",
    "Augment", "CenterCrop", "ConvTranspose", "Crop", "DepthwiseConv", "Normalization", "Pad",
    "PixelShuffle", "RandomCrop", "Rescaling", "Resizing", "SeparableConv", "Slice", "Upsample",
]
