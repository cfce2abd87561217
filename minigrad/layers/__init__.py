"""The layer math: one small definition per layer kind, the layer graph and its analysis.

    from minigrad.layers import Conv, Dense, LayerGraph, Node, Input, analyze_graph

Every kind is a frozen dataclass (its configuration) with `infer(ctx, inputs) -> Outcome`
(layers/base.py). `LayerGraph.chain(network)` turns a chain `Network` (the layer language,
presets) into a graph; `analyze_graph` gives one `Row` per node (minigrad.layers.shapes.Summary).
`KINDS` lists every kind class; each has its table word in `.type`.
"""

from __future__ import annotations

from minigrad.layers.activation import ACTIVATION_FUNCTIONS, ACTIVATIONS, Activation, PReLU
from minigrad.layers.analysis import analyze, analyze_graph, default_names
from minigrad.layers.base import Axis, Context, Flow, Layer, Outcome
from minigrad.layers.conv import Conv
from minigrad.layers.dense import Dense, Embedding
from minigrad.layers.graph import LayerGraph, Network, Node
from minigrad.layers.index import Slice
from minigrad.layers.merge import Merge
from minigrad.layers.misc import Dropout, Elementwise, Identity, Input
from minigrad.layers.norm import BatchNorm, GroupNorm, InstanceNorm, LayerNorm
from minigrad.layers.pool import AdaptivePool, GlobalPool, Pool
from minigrad.layers.preprocessing import Augment, Normalization, RandomCrop, Rescaling
from minigrad.layers.reshape import Flatten, Permute, Reduce, Reshape, Squeeze, Unsqueeze
from minigrad.layers.resize import CenterCrop, Crop, Pad, PixelShuffle, Resizing, Upsample
from minigrad.layers.separable import DepthwiseConv, SeparableConv
from minigrad.layers.transposed import ConvTranspose

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
