"""The layer graph: every use of a layer as a node, with the nodes that feed it.

A chain (`Network`: an input shape and layers applied in order, as the layer language, the
presets and Sequential models give it) is the graph whose node i feeds node i + 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minigrad.errors import Where
from minigrad.layers.base import Layer, Layout, Rules
from minigrad.layers.misc import Input


@dataclass(frozen=True)
class Network:
    """An input shape (in `layout`, without the batch axis) and layers applied in order."""

    input_shape: tuple[int, ...] | None
    layers: tuple[Layer, ...]
    layout: Layout = "hwc"
    rules: Rules = "keras"
    input_where: Where | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Node:
    """One use of a layer.

    name: the row name (dotted for nested modules, 'layer1.0.conv1'); None gives the layer's own
    name or a Keras-style default. inputs: indices of earlier nodes (none for an Input).
    shares: index of an earlier node whose layer object this use reuses (its parameters are
    counted once, as the frameworks count them). functional: a functional op (F.relu,
    torch.cat, x.view) rather than a module or Keras layer. counted: False for a PyTorch
    module the model does not register (kept in a plain Python list, or made in forward()):
    model.parameters() does not hold its parameters, so neither do the totals. trainable:
    False for a Keras layer built with trainable=False (its weights count as non-trainable).
    """

    name: str | None
    layer: Layer
    inputs: tuple[int, ...] = ()
    shares: int | None = None
    functional: bool = False
    counted: bool = True
    trainable: bool = True


@dataclass(frozen=True)
class LayerGraph:
    """Nodes in topological order (every input index is smaller than the node's own), the layout
    of their shapes, the counting rules, and the indices of the model's outputs (empty: the last
    node)."""

    nodes: tuple[Node, ...]
    layout: Layout = "hwc"
    rules: Rules = "keras"
    outputs: tuple[int, ...] = ()

    @classmethod
    def chain(cls, network: Network) -> LayerGraph:
        nodes = [Node(None, Input(shape=network.input_shape, where=network.input_where))]
        nodes += [Node(None, layer, (index,)) for index, layer in enumerate(network.layers)]
        return cls(tuple(nodes), network.layout, network.rules)

    def is_chain(self) -> bool:
        """True when each node after the first is fed by exactly the node before it."""
        return all(node.inputs == (index - 1,) for index, node in enumerate(self.nodes)
                   if index > 0)
