"""Turn anything `cnncalc shapes` reads — a `minigrad.layers.LayerGraph` or a chain `Network` from
the layer language, pasted Keras or PyTorch code, or a preset — into a minigrad model.

- A chain of the layer language or Keras (each layer feeds the next, one input, no shared
  weights) becomes an `nn.Sequential` whose modules are named "0", "1", … (as saved model files
  name their arrays).
- PyTorch code, and any other graph — residual adds, concatenations, shared layers, several
  inputs or outputs — becomes an `nn.GraphModel` that runs the nodes in topological order; its
  parameters carry the layers' dotted names ("layer1.0.conv1.weight"), as PyTorch's state_dict
  names them.

The graph is first analysed (minigrad.layers), which refuses layers that do not fit and gives
every node's shape; each node then becomes the modules of minigrad.tools.build_kinds. A final
softmax or log_softmax is not built: the loss (cross_entropy on logits) applies it, and the
model's `output_activation` says which one was left out.
"""

from __future__ import annotations

import math

from minigrad import layers
from minigrad.engine import nn
from minigrad.errors import SpecError
from minigrad.layers import LayerGraph, Network, shapes
from minigrad.layers.analysis import default_names
from minigrad.layers.base import shape_text
from minigrad.tools.build_kinds import Where, activation_of, modules_for

FOLDED = ("softmax", "log_softmax")
INITS = ("auto",) + nn.INITS

# What minigrad allocates for one model, checked on the layer arithmetic before any array is made
# (`cnncalc shapes` analyses far bigger ones): VGG16's 138 million parameters fit; a dense layer
# of 10^11 units (285 TiB) or a 100000x100000 input (40 GB per image) is refused by name.
MAX_BUILD_PARAMS = 200_000_000          # 800 MB of float32
MAX_BUILD_VALUES = 100_000_000          # input and activations of one sample: 400 MB of float32


def check_buildable(summary: shapes.Summary) -> None:
    """A SpecError when the model is too big for minigrad to allocate (see MAX_BUILD_*)."""
    if summary.total_params > MAX_BUILD_PARAMS:
        raise SpecError(f"the model has {summary.total_params:,} parameters, more than the "
                        f"{MAX_BUILD_PARAMS:,} minigrad builds (800 MB of float32); "
                        "cnncalc shapes still analyses it")
    values = sum(math.prod(row.output_shape) for row in summary.rows)
    if values > MAX_BUILD_VALUES:
        raise SpecError(f"one sample flows through {values:,} values (input and every layer's "
                        f"output), more than the {MAX_BUILD_VALUES:,} minigrad allocates (400 MB "
                        "of float32); use a smaller input")


def build_model(model: LayerGraph | Network, init: str = "auto") -> nn.Module:
    """An nn.Sequential (a chain) or nn.GraphModel computing `model` on channels-first batches.

    init: "he" or "glorot" for every conv and dense layer, or "auto": "he" for one whose
    activation (inline, or an activation layer fed by it) is relu, "glorot" otherwise.
    Raises SpecError, naming the layer, for a model that cannot be built.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    graph = LayerGraph.chain(model) if isinstance(model, Network) else model
    summary = layers.analyze_graph(graph)
    check_buildable(summary)
    built = _Built(graph, summary, init)
    if _is_plain_chain(graph, summary):
        return built.sequential()
    return built.graph_model()


def classifier_problem(summary: shapes.Summary) -> str | None:
    """Why `cnncalc train` cannot train this model as an image classifier, or None."""
    inputs = [row for row in summary.rows if row.type == "input"]
    if len(inputs) != 1:
        return f"it takes {len(inputs)} inputs; an image classifier takes one image"
    if any(row.type == "embedding" for row in summary.rows):
        return "it starts from token ids (an embedding): a text model, not an image classifier"
    output = summary.rows[-1].output_shape
    if len(output) != 1:
        what = "an image" if len(output) == 3 else "a sequence" if len(output) == 2 else "a map"
        return (f"its output is {shape_text(output)}, {what} (a generator, autoencoder or "
                "segmenter), not one score per class")
    return None


def _is_plain_chain(graph: LayerGraph, summary: shapes.Summary) -> bool:
    """A chain nn.Sequential can hold: no branch, no weights shared between nodes, every module
    registered and trainable, one output. PyTorch code is never one: its modules keep the names
    the code gives them ("features.0"), as its state_dict() does."""
    shared = any(node.shares is not None and summary.rows[node.shares].params
                 for node in graph.nodes)
    return (graph.rules != "torch" and graph.is_chain() and not shared
            and graph.outputs in ((), (len(graph.nodes) - 1,))
            and all(node.counted and node.trainable for node in graph.nodes))


class _Built:
    """The modules of one graph, node by node."""

    def __init__(self, graph: LayerGraph, summary: shapes.Summary, init: str):
        self.graph, self.summary, self.init = graph, summary, init
        self.names = default_names(graph)
        self.outputs = graph.outputs or (len(graph.nodes) - 1,)
        last = graph.nodes[self.outputs[0]].layer
        single = len(self.outputs) == 1
        self.folded = activation_of(last) if single and activation_of(last) in FOLDED else None
        self.consumers: dict[int, list[int]] = {}
        for index, node in enumerate(graph.nodes):
            for source in node.inputs:
                self.consumers.setdefault(source, []).append(index)

    def chw(self, index: int) -> tuple[int, ...]:
        """Node `index`'s per-sample output shape, channels first."""
        return shapes.convert_shape(self.summary.rows[index].output_shape, self.graph.layout, "chw")

    def node_init(self, index: int) -> str:
        if self.init != "auto":
            return self.init
        node = self.graph.nodes[index]
        after = activation_of(node.layer) or next(
            (activation_of(self.graph.nodes[c].layer) for c in self.consumers.get(index, ())
             if isinstance(self.graph.nodes[c].layer, layers.Activation)), None)
        return "he" if after == "relu" else "glorot"

    def modules(self, index: int) -> list[nn.Module]:
        node = self.graph.nodes[index]
        where = Where(self.graph.layout, self.graph.rules, self.node_init(index))
        modules = modules_for(node.layer, [self.chw(i) for i in node.inputs], where,
                              self.names[index])
        if self.folded and index == self.outputs[0] and activation_of(node.layer) == self.folded:
            modules = modules[:-1]  # the loss applies it
        return modules

    def sequential(self) -> nn.Sequential:
        per_node = [self.modules(index) for index in range(1, len(self.graph.nodes))]
        model = nn.Sequential(*(m for modules in per_node for m in modules))
        # which modules compute which node, as a GraphModel's steps say (for export)
        object.__setattr__(model, "steps", tuple(
            nn.Step(self.names[index], tuple(modules), index, (index - 1,))
            for index, modules in enumerate(per_node, start=1)))
        nodes = self.graph.nodes
        model.network = Network(nodes[0].layer.shape, tuple(n.layer for n in nodes[1:]),
                                self.graph.layout, self.graph.rules, nodes[0].layer.where)
        model.output_activation = self.folded
        _name_parameters(model)
        return model

    def graph_model(self) -> nn.GraphModel:
        needed = self.ancestors_of_outputs()
        inputs = [i for i in needed if isinstance(self.graph.nodes[i].layer, layers.Input)]
        steps, built = [], {}
        registered: list[tuple[str, nn.Module, bool]] = []
        for index in needed:
            node = self.graph.nodes[index]
            if index in inputs:
                continue
            shared = node.shares is not None and node.shares in built
            modules = built[node.shares] if shared else self.modules(index)
            built[index] = modules
            if not shared:
                registered += [(name, owner, node.trainable)
                               for name, owner in _owners(self.names[index], modules, node.counted)]
            steps.append(nn.Step(self.names[index], tuple(modules), index, node.inputs))
        model = nn.GraphModel(self.graph, {i: self.chw(i) for i in inputs}, steps, self.outputs,
                              self.folded)
        for name, owner, trainable in registered:
            model.register(name, owner)
            for parameter in owner.parameters():
                parameter.requires_grad = trainable
        _name_parameters(model)
        return model

    def ancestors_of_outputs(self) -> list[int]:
        """The nodes the outputs depend on, in order: code around the model (a standalone
        encoder beside the autoencoder that reuses its layers) is left out."""
        needed, pending = set(), list(self.outputs)
        while pending:
            index = pending.pop()
            if index not in needed:
                needed.add(index)
                pending.extend(self.graph.nodes[index].inputs)
        return sorted(needed)


def _owners(name: str, modules: list[nn.Module], counted: bool):
    """(dotted name, module) for each module of a node that holds parameters or buffers. A
    module PyTorch would not register (counted False) is left out, as model.parameters() leaves
    it out."""
    owners = [m.inner if isinstance(m, nn.ChannelsLast) else m for m in modules]
    owners = [m for m in owners if m.state_dict()]
    if not counted:
        return []
    if len(owners) == 1:
        return [(name, owners[0])]
    return [(f"{name}.{i}", m) for i, m in enumerate(owners)]


def _name_parameters(model: nn.Module) -> None:
    for dotted, parameter in model.named_parameters():
        parameter.name = dotted  # shown by minigrad.print_graph
