"""The graph's arithmetic: propagate each node's Flow through its kind and turn the outcome into a
table row, counting parameters by the graph's rules.

- Keras' rules (Keras code, the layer language, presets written in Keras): running statistics
  are non-trainable parameters, as model.count_params() counts them.
- PyTorch's rules: they are buffers, outside model.parameters(); Row.buffers shows them.
- A node that reuses an earlier node's layer object counts no parameters of its own.
- Once a flow's receptive field is unknown (a misaligned merge, a layer that breaks the pixel
  grid), every row after it says so instead of giving numbers.
"""

from __future__ import annotations

from dataclasses import replace

from minigrad.errors import SpecError
from minigrad.layers import bounds
from minigrad.layers.shapes import Row, Summary
from minigrad.layers.base import Context, Flow, Layer
from minigrad.layers.graph import LayerGraph, Network


def analyze(network: Network) -> Summary:
    """The rows of a chain network (see analyze_graph)."""
    return analyze_graph(LayerGraph.chain(network))


def analyze_graph(graph: LayerGraph) -> Summary:
    """Compute every node's row, in order. Raises SpecError naming the layer when they do not
    fit."""
    if len(graph.nodes) > bounds.MAX_LAYERS + 1:  # the input node is not a layer
        bounds.check_layer_count(len(graph.nodes) - 1, graph.nodes[bounds.MAX_LAYERS + 1].layer.where)
    names = default_names(graph)
    flows: list[Flow] = []
    rows: list[Row] = []
    for index, (node, name) in enumerate(zip(graph.nodes, names)):
        layer = node.layer
        _check_node(graph, index, name)
        bounds.check_layer(layer, name)
        inputs = tuple(flows[i] for i in node.inputs)
        inherited = next((f.rf_unknown for f in inputs if f.rf_unknown), None)
        if inherited:   # the kinds see no grid: nothing downstream has a field either
            inputs = tuple(replace(f, axes=None, rf_unknown=None) for f in inputs)
        outcome = layer.infer(Context(graph.layout, graph.rules, name), inputs)
        flow = bounded_flow(outcome.flow, name, layer)
        if inherited:
            flow = replace(flow, axes=None, rf_unknown=inherited)
        flows.append(flow)
        notes = list(outcome.notes)
        if node.shares is not None:
            params = trainable = buffers = 0
            if outcome.trainable + outcome.frozen + outcome.stats:  # a pool used twice shares nothing
                notes.append(f"shares the parameters of {names[node.shares]}")
        elif not node.counted:
            params = trainable = buffers = 0
            if outcome.trainable + outcome.frozen + outcome.stats:
                notes.append(f"not registered with the model (kept in a plain Python list, or made "
                             f"in forward()): PyTorch's model.parameters() misses its "
                             f"{outcome.trainable + outcome.frozen:,} parameters; use nn.ModuleList "
                             "or assign it to self in __init__")
        elif graph.rules == "keras":
            params = outcome.trainable + outcome.frozen + outcome.stats
            trainable, buffers = outcome.trainable, 0
        else:
            params = outcome.trainable + outcome.frozen
            trainable, buffers = outcome.trainable, outcome.stats
        if not node.trainable:
            trainable = 0
        axes = flow.axes if not flow.rf_unknown else None
        rows.append(Row(
            index=index, name=name, type=layer.row_type(), description=outcome.description,
            output_shape=flow.shape, params=params, trainable_params=trainable,
            macs=outcome.macs,
            receptive_field=tuple(a.rf for a in axes) if axes is not None else None,
            jump=tuple(a.jump for a in axes) if axes is not None else None,
            rf_center=tuple(_center_value(a.center) for a in axes) if axes is not None else None,
            notes=tuple(notes), explain=outcome.explain,
            inputs=tuple(names[i] for i in node.inputs), buffers=buffers,
            rf_unknown=flow.rf_unknown))
    return Summary(graph.layout, tuple(rows), graph.rules)


def _check_node(graph: LayerGraph, index: int, name: str) -> None:
    node = graph.nodes[index]
    layer: Layer = node.layer
    for i in node.inputs:
        if not 0 <= i < index:
            raise SpecError(f"{name}: input {i} is not an earlier node", layer.where)
    if layer.arity is not None and len(node.inputs) != layer.arity:
        want = "no inputs" if layer.arity == 0 else f"{layer.arity} input" + "s" * (layer.arity > 1)
        raise SpecError(f"{name}: takes {want}, got {len(node.inputs)}", layer.where)
    if node.shares is not None:
        if not 0 <= node.shares < index:
            raise SpecError(f"{name}: shares node {node.shares}, which is not an earlier node",
                            layer.where)
        if graph.nodes[node.shares].layer != layer:
            raise SpecError(f"{name}: shares the parameters of a different layer", layer.where)


def default_names(graph: LayerGraph) -> list[str]:
    """Each node's row name: its own, its layer's, else Keras-style (conv2d, conv2d_1, …)."""
    counts: dict[str, int] = {}
    names = []
    for node in graph.nodes:
        given = node.name or node.layer.name
        if given:
            names.append(given)
            continue
        base = node.layer.base_name()
        n = counts.get(base, 0)
        counts[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def bounded_flow(flow: Flow, name: str, layer: Layer) -> Flow:
    """A layer's output within the ceilings of minigrad.layers.bounds: a SpecError for a shape
    above them; a receptive field past MAX_FIELD pixels is no longer tracked (rf_unknown)."""
    bounds.check_shape(flow.shape, name, layer.where)
    if flow.axes is not None and not flow.rf_unknown and any(_beyond(a) for a in flow.axes):
        return replace(flow, axes=None, rf_unknown=(
            f"the receptive field, its jump or its centre passes "
            f"{bounds.power_of_ten(bounds.MAX_FIELD)} input pixels: no longer tracked"))
    return flow


def _beyond(axis) -> bool:
    limit = bounds.MAX_FIELD
    return (axis.rf > limit or (axis.jump is not None and axis.jump > limit)
            or abs(axis.center) > limit)


def _center_value(center):
    return int(center) if center.denominator == 1 else bounds.safe_float(center)

