"""Read pasted model code — a class, a whole script, a notebook's cells — into a layer graph.

    model = read_code(text, input_shape=(3, 32, 32))
    model.graph       # the LayerGraph of the chosen model
    model.notes       # what a user should know (which model was chosen, spelling fixes…)

The code is interpreted by minigrad.readers.interp, never run: framework names are the
symbolic objects of torch_names and keras_names, the chosen model is called on a symbolic
tensor (select.trace_model) and every layer call becomes a node. Code that pastes only a class
or a Sequential, without its imports, still reads: framework names it uses but never defines
are looked up in both frameworks' tables.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Any

from minigrad.errors import SpecError, Where
from minigrad.layers import Activation, Conv, Dense
from minigrad.layers.graph import LayerGraph
from minigrad.readers.environment import Environment, Namespace
from minigrad.readers.interp import Interpreter, parse_source
from minigrad.readers.interp.values import Unknown
from minigrad.readers.keras_names import keras_modules
from minigrad.readers.notebook import is_notebook, notebook_code
from minigrad.readers.select import choose, trace_model
from minigrad.readers.stdlib_names import stdlib_modules
from minigrad.readers.torch_names import torch_modules

_FALLBACK = "__cnncalc_frameworks__"   # the star-import that resolves names the code never imports


@dataclass(frozen=True)
class CodeModel:
    graph: LayerGraph
    framework: str      # "torch" or "keras"
    name: str           # the model's variable or class name
    notes: tuple[str, ...]
    source: str         # the code that was read (a notebook's cells joined)


def read_code(text: str, *, input_shape: tuple[int, ...] | None = None, model_name: str | None = None,
              overrides: dict[str, Any] | None = None,
              fallback_input_chw: tuple[int, ...] | None = None) -> CodeModel:
    """Interpret `text` and trace its model. Raises SpecError (with a place) for what cannot be
    read; any other exception is a bug of the reader."""
    source = notebook_code(text) if is_notebook(text) else text
    try:
        return _read(source, input_shape, model_name, overrides, fallback_input_chw)
    except SpecError as error:
        error.source = source
        raise
    # Anything else is a case the reader does not handle yet: a bug in cnncalc, not in the code.
    # It reaches the command line's error boundary (exit status 70, "internal error, please
    # report"), so a test or a user's report can tell it from a problem in the pasted code.


def _read(source: str, input_shape, model_name, overrides, fallback_input_chw) -> CodeModel:
    tree = parse_source(source)
    env = Environment(input_override=tuple(input_shape) if input_shape else None,
                      fallback_input_chw=fallback_input_chw)
    modules = {**torch_modules(env), **keras_modules(env), **stdlib_modules(env, overrides or {})}
    modules[_FALLBACK] = Namespace(env, "frameworks", lambda: _fallback_names(modules))
    # An implicit `from frameworks import *` first: pasted classes often come without imports.
    tree.body.insert(0, ast.ImportFrom(module=_FALLBACK, names=[ast.alias(name="*")], level=0,
                                       lineno=1, col_offset=0, end_lineno=1, end_col_offset=0))

    def importer(name: str, at: Where | None) -> Any:
        if name in modules:
            return modules[name]
        return Unknown(f"the module {name}", at)

    interp = Interpreter(tree, source, importer=importer, overrides=overrides or {})
    interp.run()
    chosen = choose(env, interp, tree, model_name)
    graph = trace_model(env, interp, chosen)
    if chosen.framework == "torch":
        graph = fold_activations(graph)
    return CodeModel(graph, chosen.framework, chosen.name, tuple(env.notes), source)


def _fallback_names(modules: dict[str, Any]) -> dict[str, Any]:
    """Names pasted model code uses without importing them: nn, F, torch, tf, keras, layers,
    Sequential, Conv2D…"""
    torch, keras = modules["torch"], modules["keras"]
    layers = keras.members["layers"]
    names: dict[str, Any] = {name: layers.get_attr(None, name, None) for name in layers.members}
    names.update({"keras": keras, "tf": modules["tensorflow"], "layers": layers,
                  "Sequential": keras.members["Sequential"], "Model": keras.members["Model"],
                  "models": keras.members["models"],
                  "Input": keras.members["Input"], "torch": torch, "nn": modules["torch.nn"],
                  "F": modules["torch.nn.functional"]})
    return names


def fold_activations(graph: LayerGraph) -> LayerGraph:
    """F.relu right after a conv or linear layer becomes that layer's activation, as in the
    layer language's 'conv 6 5x5 relu': one row instead of two. Only when nothing else reads the
    layer's output and the layer is not shared."""
    nodes = list(graph.nodes)
    readers: dict[int, int] = {}
    for node in nodes:
        for i in node.inputs:
            readers[i] = readers.get(i, 0) + 1
    for i in graph.outputs:
        readers[i] = readers.get(i, 0) + 1
    keep = []
    replaced: dict[int, int] = {}
    for index, node in enumerate(nodes):
        layer = node.layer
        if (node.functional and isinstance(layer, Activation) and len(node.inputs) == 1
                and _foldable(nodes[node.inputs[0]], readers.get(node.inputs[0], 0), layer, nodes)):
            source = node.inputs[0]
            nodes[source] = replace(nodes[source], layer=replace(nodes[source].layer, activation=layer.fn))
            replaced[index] = source
        keep.append(index)
    if not replaced:
        return graph
    order = [i for i in keep if i not in replaced]
    target = {old: new for new, old in enumerate(order)}

    def moved(i: int) -> int:
        while i in replaced:
            i = replaced[i]
        return target[i]

    new_nodes = tuple(replace(nodes[i], inputs=tuple(moved(j) for j in nodes[i].inputs),
                              shares=None if nodes[i].shares is None else moved(nodes[i].shares))
                      for i in order)
    return replace(graph, nodes=new_nodes, outputs=tuple(moved(i) for i in graph.outputs))


def _foldable(source, readers: int, activation: Activation, nodes) -> bool:
    layer = source.layer
    return (isinstance(layer, (Conv, Dense)) and layer.activation is None and readers == 1
            and source.shares is None and activation.alpha is None and activation.axis is None
            and activation.fn in ("relu", "sigmoid", "tanh", "softmax", "log_softmax")
            and not any(n.shares == nodes.index(source) for n in nodes))
