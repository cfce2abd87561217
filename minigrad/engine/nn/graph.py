"""GraphModel: a model whose layers form a graph — residual adds, concatenations, shared layers,
several inputs or outputs — as `minigrad.tools.build.build_model` makes it from a layer graph.

Each step applies a callable to the outputs of earlier nodes, in topological order, so
`forward` is one loop:

    values = dict(zip(input_nodes, inputs))
    for step in steps:
        values[step.node] = step(*(values[i] for i in step.inputs))

Modules with parameters are registered under their layer's dotted name ("layer1.0.conv1"), so
`named_parameters()` gives the names PyTorch's `state_dict()` gives for the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from rich.console import Console

from minigrad.engine.nn.module import Module
from minigrad.engine.nn.plan import graph_plan, rewriting
from minigrad.engine.tensor import Tensor, is_grad_enabled
from minigrad.layers import LayerGraph, analyze_graph, report

__all__ = ["GraphModel", "Step"]


@dataclass(frozen=True)
class Step:
    """One node of the graph: its `modules` applied in order (none: the identity) to the values of
    the nodes `inputs`, giving the value of node `node`. `name` is the node's row name."""

    name: str
    modules: tuple[Module, ...]
    node: int
    inputs: tuple[int, ...]

    def __call__(self, *xs):
        if not self.modules:
            return xs[0]
        out = self.modules[0](*xs)
        for module in self.modules[1:]:
            out = module(out)
        return out


class _Namespace(Module):
    """A level of dotted names ("layer1", then "layer1.0"), holding the modules below it."""

    def forward(self, *args):
        raise TypeError("a level of names in a GraphModel is not called; the model is")


def _free(name: str) -> str:
    """`name`, with '_' added where it would hide a method of the model ("forward", "eval")."""
    return name + "_" if hasattr(GraphModel, name) else name


class GraphModel(Module):
    """x (or several inputs, each (N, *shape) in C×H×W order) -> the output, or a tuple of outputs.

    graph: the minigrad.layers.LayerGraph it computes; input_shapes: each input node's
    per-sample shape in C×H×W, in the order forward() takes them; steps: the other nodes the
    outputs need; outputs: the nodes returned; output_activation: a final softmax or
    log_softmax left out because the loss applies it.
    """

    def __init__(self, graph: LayerGraph, input_shapes: dict[int, tuple[int, ...]],
                 steps: list[Step], outputs: tuple[int, ...], output_activation: str | None = None):
        super().__init__()
        object.__setattr__(self, "steps", tuple(steps))  # plain data: not registered modules
        self.graph, self.input_shapes, self.outputs = graph, input_shapes, outputs
        self.output_activation = output_activation

    def register(self, dotted: str, module: Module) -> None:
        """Register `module` under `dotted` ("layer1.0.conv1"), making the levels as needed."""
        *levels, last = (_free(part) for part in dotted.split("."))
        owner: Module = self
        for level in levels:
            below = owner.__dict__.get(level)
            if not isinstance(below, Module):
                below = _Namespace()
                setattr(owner, level, below)
            owner = below
        setattr(owner, last, module)

    def train(self, mode: bool = True) -> GraphModel:
        """Training or eval mode for every step's modules: those without weights (dropout) are
        not registered under a name, so the registered tree alone would miss them."""
        super().train(mode)
        for step in self.steps:
            for module in step.modules:
                module.train(mode)
        return self

    def forward(self, *inputs):
        if len(inputs) != len(self.input_shapes):
            raise ValueError(f"the model takes {len(self.input_shapes)} input(s), got {len(inputs)}")
        values = {}
        for x, (node, shape) in zip(inputs, self.input_shapes.items()):
            x = x if isinstance(x, Tensor) else Tensor(x)
            if tuple(x.shape[1:]) != shape:
                raise ValueError(f"input of shape {x.shape} does not fit the model's "
                                 f"(N, {', '.join(map(str, shape))})")
            values[node] = x
        for step in self._plan():
            values[step.node] = step(*(values[i] for i in step.inputs))
        results = tuple(values[i] for i in self.outputs)
        return results[0] if len(results) == 1 else results

    def _plan(self) -> tuple[Step, ...]:
        """The steps that run, neighbours merged where that computes the same values with less
        work (plan.py): one plan while a graph is recorded, one without."""
        if not rewriting():
            return self.steps
        recording = is_grad_enabled()
        plans = self.__dict__.get("_plans")
        if plans is None:
            plans = {}
            object.__setattr__(self, "_plans", plans)  # the steps never change
        if recording not in plans:
            plans[recording] = graph_plan(self.steps, self.outputs, recording, Step)
        return plans[recording]

    def summary(self, console: Console | None = None, name: str = "model",
                explain: bool = False) -> None:
        """Print the table of `cnncalc shapes` for the graph this model computes."""
        report.print_summary(console or Console(), analyze_graph(self.graph), name, explain)

    def extra_repr(self) -> str:
        return f"{len(self.steps)} steps, inputs {list(self.input_shapes.values())}"
