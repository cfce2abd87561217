"""Tracing: calling a model on a symbolic tensor and recording each layer call as a graph node.

A `SymTensor` is a shape per sample and the node that produced it, never data. Each layer call
goes through `Trace.apply`, which asks the layer kind for its output right away (so the pasted
code can read `x.size(1)` or `x.shape[1:]` while it runs) and remembers the node; `Trace.graph`
then returns the nodes that lead to the outputs as a `LayerGraph` for the analysis.

The batch axis is symbolic (`BATCH`): `x.size(0)` is BATCH, and a reshape that would move values
between the batch axis and the features (`x.view(-1, 400)` where one sample holds 800 values) is
the classic bug, reported with both numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from minigrad.errors import SpecError, Where
from minigrad.layers import bounds
from minigrad.layers.analysis import bounded_flow
from minigrad.layers.base import Context, Flow, Layer, Layout, Rules, shape_text
from minigrad.layers.graph import LayerGraph, Node
from minigrad.layers.misc import Input
from minigrad.readers.interp.values import Foreign, Unknown

# layer calls one trace records (the model's graph keeps those its outputs need, at most
# bounds.MAX_LAYERS of them): a bound on the time a loop of layer calls can take
MAX_USES = 4 * bounds.MAX_LAYERS

# (operator, whether the number comes first) -> the Elementwise op of `x op number`
SCALAR_OPS = {("+", False): "add", ("+", True): "add", ("-", False): "sub", ("-", True): "rsub",
               ("*", False): "mul", ("*", True): "mul", ("/", False): "div", ("/", True): "rdiv",
               ("**", False): "pow", ("**", True): "rpow"}


class _Batch(Foreign):
    """The batch size of a traced tensor: any number of samples."""

    def describe(self) -> str:
        return "the batch size"

    def binary(self, interp, op, other, right, at):
        return Unknown("an expression of the batch size", at)

    def compare(self, interp, op, other, right, at):
        if op in ("==", "!=") and other is self:
            return op == "=="
        return Unknown("a comparison with the batch size", at)


BATCH = _Batch()


@dataclass
class _Use:
    node: Node
    flow: Flow


class Trace:
    """The nodes recorded so far for one model, in call order."""

    def __init__(self, layout: Layout, rules: Rules, methods: dict[str, Any]):
        self.layout = layout
        self.methods = methods  # framework -> the tensor methods its tensors get
        self.rules = rules
        self.uses: list[_Use] = []
        self.modules: list[Any] = []          # the module object behind each node (None: a function)
        self.first_use: dict[int, int] = {}   # id(module object) -> index of its first node
        self.name_counts: dict[str, int] = {}

    def unique(self, base: str) -> str:
        """'relu', 'relu_1', … for nodes that have no name of their own."""
        count = self.name_counts.get(base, 0)
        self.name_counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def input(self, shape: tuple[int, ...], name: str, framework: str,
              where: Where | None = None, channels: bool = True) -> SymTensor:
        layer = Input(shape=tuple(shape), name=name, where=where, channels=channels)
        return self.apply(layer, [], name, framework)

    def apply(self, layer: Layer, inputs: list[SymTensor], name: str, framework: str, *,
              module: Any = None, functional: bool = False, counted: bool = True,
              trainable: bool = True) -> SymTensor:
        """Record one use of `layer` on `inputs` and return its output."""
        for tensor in inputs:
            if tensor.trace is not self:
                raise SpecError(f"{name}: its input does not come from this model's input "
                                "(a tensor made outside the model?)", layer.where)
        if layer.name is None:  # the row name, so a chain's layers carry it (spec.network)
            layer = replace(layer, name=name)
        shares = self.first_use.get(id(module)) if module is not None else None
        flows = tuple(self.uses[t.node].flow for t in inputs)
        if len(self.uses) > MAX_USES:
            raise SpecError(f"the model calls more than {MAX_USES:,} layers: above cnncalc's "
                            f"ceiling of {bounds.MAX_LAYERS:,} layers for one model", layer.where)
        bounds.check_layer(layer, name)   # sizes that no number could print are refused first
        outcome = layer.infer(Context(self.layout, self.rules, name), flows)
        node = Node(name=name, layer=layer, inputs=tuple(t.node for t in inputs), shares=shares,
                    functional=functional, counted=counted, trainable=trainable)
        self.uses.append(_Use(node, bounded_flow(outcome.flow, name, layer)))
        self.modules.append(module)
        index = len(self.uses) - 1
        if module is not None and shares is None:
            self.first_use[id(module)] = index
        return SymTensor(framework, outcome.flow.shape, self, index, methods=self.methods[framework])

    def rename(self, index: int, name: str) -> None:
        use = self.uses[index]
        use.node = replace(use.node, name=name)

    def graph(self, outputs: list[SymTensor]) -> LayerGraph:
        """The nodes that the outputs depend on, in call order, renumbered."""
        needed = set()
        stack = [t.node for t in outputs]
        while stack:
            index = stack.pop()
            if index not in needed:
                needed.add(index)
                node = self.uses[index].node
                stack += node.inputs
                if node.shares is not None:
                    stack.append(node.shares)
        order = sorted(needed)
        renumber = {old: new for new, old in enumerate(order)}
        nodes = []
        for old in order:
            node = self.uses[old].node
            shares = renumber.get(node.shares) if node.shares is not None else None
            nodes.append(replace(node, inputs=tuple(renumber[i] for i in node.inputs),
                                 shares=shares))
        return LayerGraph(tuple(nodes), self.layout, self.rules,
                          tuple(renumber[t.node] for t in outputs))


class SymTensor(Foreign):
    """A tensor of `shape` per sample (batch axis excluded), produced by node `node` of `trace`.

    Outside a trace (`trace` None) it is a sample the pasted code made itself, such as
    `torch.randn(1, 3, 32, 32)`: `batch` then holds the batch size it was written with.
    `methods` (from the framework's table) answers attribute access and operators.
    """

    def __init__(self, framework: str, shape: tuple[int, ...], trace: Trace | None = None,
                 node: int | None = None, batch: int | None = None, methods: Any = None):
        self.methods = methods
        self.framework = framework
        self.shape = tuple(shape)
        self.trace = trace
        self.node = node
        self.batch = batch

    def describe(self) -> str:
        return f"a {shape_text(self.shape)} tensor" if self.shape else "a tensor"

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def get_attr(self, interp, name, at):
        return self.methods.get_attr(interp, self, name, at)

    def binary(self, interp, op, other, right, at):
        return self.methods.binary(interp, self, op, other, right, at)

    def unary(self, interp, op, at):
        return self.methods.unary(interp, self, op, at)

    def get_item(self, interp, key, at):
        return self.methods.get_item(interp, self, key, at)

    def length(self, interp, at):
        return BATCH

    def truth(self, interp, at):
        return Unknown("the truth value of a tensor", at)
