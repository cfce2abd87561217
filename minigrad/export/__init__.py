"""Carry a model on: framework code for any model cnncalc reads, and a trained minigrad model
with its weights, for PyTorch, Keras and ONNX.

Design. The builder (minigrad.tools.build) already turns every layer kind, with each framework's
rules (TF 'same' padding, ceil_mode, BatchNorm's eps and momentum, Keras' last-axis layers), into
channels-first minigrad modules whose outputs equal the frameworks' (tests/test_build_graph.py).
So the exporters translate those modules, one translation per module class and target, and never
re-derive a framework's rules; the layer graph supplies what the modules do not know: the row
names, each node's output shape (for the comments), and the source's layout.

    exportable = for_spec(spec)          # any model cnncalc reads (random weights, not exported)
    exportable = for_trained(modelfile)  # a model file from `cnncalc train` (its weights)
    export = pytorch.export(exportable)  # -> Export(code, warnings, weights)

What the exported model must compute:
- from a spec: the function the source code computes. Two things differ from the built minigrad
  model: a final softmax the builder leaves to the loss is put back (`final_activation`), and a
  flatten of a map lays features out in the source's order (`flatten_order`: "hwc" for Keras
  and the layer language, "chw" for PyTorch), which matters to anyone loading the source's
  weights into the export;
- from a trained model file: exactly what minigrad computes with those weights (logits; the
  flatten in minigrad's C, H, W order), so that outputs agree to float32 rounding.

Each target module (pytorch.py, keras.py, onnx.py, layers.py) has `export(Exportable) -> Export`.
Anything a target cannot express exactly is a warning, and a comment at that line of the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minigrad.engine import nn
from minigrad.layers import Layer, LayerGraph, analyze_graph
from minigrad.layers.analysis import default_names
from minigrad.layers.base import Layout, Rules
from minigrad.layers.shapes import convert_shape

__all__ = ["Part", "Exportable", "Export", "for_spec", "for_trained", "for_model"]


@dataclass(frozen=True)
class Part:
    """One node of the model as built.

    index: the node's index in the layer graph; name: its row name ("conv1", "layer1.0.conv1",
    "dense_1"); layer: the layer-graph kind with the settings the source wrote; inputs: indices
    of the nodes feeding it (none for an input); modules: the minigrad modules computing it,
    channels first, applied in order (none: the identity, or an input); shape_chw: its output
    per sample, channels first; shape: the same in the source's layout (for comments); shares:
    the earlier node whose modules (and weights) this use reuses, or None.
    """

    index: int
    name: str
    layer: Layer
    inputs: tuple[int, ...]
    modules: tuple[nn.Module, ...]
    shape_chw: tuple[int, ...]
    shape: tuple[int, ...]
    shares: int | None = None


@dataclass(frozen=True)
class Exportable:
    """A built model, node by node, with what the export must compute (see the module doc).

    parts: the nodes the outputs need, in topological order, inputs included; inputs / outputs:
    node indices (inputs in the order the model takes them); layout / rules: the source's;
    flatten_order: the order a flatten of a map lays out features in ("chw" or "hwc");
    final_activation: "softmax" or "log_softmax" to apply after the last module, or None;
    trained: whether the weights are the point (a model file) or random (a spec);
    name: a class name for the code ("Net").
    """

    parts: tuple[Part, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    layout: Layout
    rules: Rules
    flatten_order: Layout
    final_activation: str | None
    trained: bool
    name: str = "Net"

    def part(self, index: int) -> Part:
        return next(p for p in self.parts if p.index == index)

    def is_chain(self) -> bool:
        """One input, one output, each part fed by the one before it, nothing shared."""
        return (len(self.inputs) == 1 and len(self.outputs) == 1
                and all(p.inputs == (q.index,) and p.shares is None
                        for q, p in zip(self.parts, self.parts[1:])))


@dataclass
class Export:
    """What an exporter gives: the code (or text), warnings for what is not exact (each also a
    comment in the code), and the weights the code loads (name -> array), for a trained model."""

    code: str
    warnings: list[str] = field(default_factory=list)
    weights: dict[str, np.ndarray] | None = None


def for_model(model, graph: LayerGraph, *, trained: bool, name: str = "Net") -> Exportable:
    """The Exportable of a model from build_model(graph) (a Sequential or a GraphModel)."""
    summary = analyze_graph(graph)
    names = default_names(graph)
    steps = {step.node: step for step in model.steps}
    outputs = graph.outputs or (len(graph.nodes) - 1,)
    # the inputs the model takes (a GraphModel leaves out those the outputs do not need)
    inputs = tuple(getattr(model, "input_shapes", None) or (0,))
    parts = []
    for index, node in enumerate(graph.nodes):
        if index not in steps and index not in inputs:  # a node the outputs do not need
            continue
        step = steps.get(index)
        shape = summary.rows[index].output_shape
        parts.append(Part(index, names[index], node.layer, node.inputs,
                          step.modules if step else (), convert_shape(shape, graph.layout, "chw"),
                          shape, node.shares if node.shares in steps else None))
    return Exportable(tuple(parts), inputs, tuple(outputs), graph.layout, graph.rules,
                      "chw" if trained else graph.layout,
                      None if trained else model.output_activation, trained, name)


def for_spec(spec, name: str = "Net") -> Exportable:
    """Any model cnncalc reads (a minigrad.readers Spec), built with random weights."""
    from minigrad.tools.build import build_model
    graph = spec.graph
    return for_model(build_model(graph), graph, trained=False, name=name)


def for_trained(modelfile, name: str = "Net") -> Exportable:
    """A model file from `cnncalc train` (minigrad.tools.modelfile.load_model's result)."""
    return for_model(modelfile.model, modelfile.spec.graph, trained=True, name=name)
