"""Read a model description — the layer language, pasted Keras or PyTorch code (a class, a whole
script, a notebook), or a preset — into a `Spec` holding its layer graph. One reader for
everything that describes a model: the CLI, the model builder and model files all come through
here.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from dataclasses import dataclass, field, replace

from minigrad.errors import SpecError
from minigrad.layers import LayerGraph, Network, analyze_graph
from minigrad.readers.code import read_code
from minigrad.readers.notebook import is_notebook
from minigrad.layers.shapes import Summary, convert_shape
from minigrad.readers import dsl
from minigrad.readers.presets import PRESETS, Preset

# "keras" and "pytorch" name the same reader, kept for --from and saved model files
FORMATS = ("dsl", "code", "keras", "pytorch")
CODE_FORMATS = ("code", "keras", "pytorch")


@dataclass(frozen=True)
class ReadOptions:
    """What the user can tell the code reader: --model NAME and --set NAME=VALUE, and the input
    to use (C×H×W) when neither the code nor --input says it (`cnncalc train` gives the data's)."""

    model: str | None = None
    overrides: dict = field(default_factory=dict)
    fallback_input_chw: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Spec:
    """A parsed model description and where it came from."""

    graph: LayerGraph
    format: str   # "dsl" or "code"
    source: str   # the text that was parsed (for error excerpts)
    origin: str   # "preset NAME", a file path, or "inline"
    notes: tuple[str, ...] = ()             # what the reader wants the user to know
    options: ReadOptions = ReadOptions()
    model_name: str | None = None           # the variable or class the code reader chose

    @property
    def name(self) -> str:
        """What a title calls the model: the preset's name, the file, or its origin."""
        if self.origin.startswith("preset "):
            return self.origin.removeprefix("preset ")
        return "inline model" if self.origin == "inline" else self.origin

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        return self.graph.nodes[0].layer.shape if self.graph.nodes else None

    @property
    def layout(self) -> str:
        return self.graph.layout

    @property
    def network(self) -> Network:
        """The model as a chain of layers (`Network`), for code that walks a chain; a SpecError
        for a graph with branches or shared weights (`graph` holds every model, and
        minigrad.tools.build.build_model builds it)."""
        graph = self.graph
        # a layer used twice is built twice: right for a pool, wrong for weights shared on purpose
        shared = [node for node in graph.nodes if node.shares is not None]
        if not graph.is_chain() or (shared and any(self.analyze().rows[n.shares].params for n in shared)):
            raise SpecError(f"{self.name} has branches or shared weights: it is a graph, not a "
                            "chain of layers (build it from spec.graph)")
        return Network(self.input_shape, tuple(node.layer for node in graph.nodes[1:]),
                       graph.layout, graph.rules, graph.nodes[0].layer.where)

    def with_input(self, shape: tuple[int, ...]) -> Spec:
        """The same model read again with another input shape (in its own layout)."""
        return replace(parse_spec(self.source, self.format, shape, self.options), origin=self.origin)

    def analyze(self) -> Summary:
        """The layer arithmetic of this model; a SpecError carries the source it points into."""
        try:
            return analyze_graph(self.graph)
        except SpecError as error:
            error.source = self.source
            raise


def load_spec(spec: str, fmt: str | None = None, input_shape: tuple[int, ...] | None = None,
              options: ReadOptions = ReadOptions()) -> Spec:
    """Resolve SPEC (a preset name, a file path or inline text) and parse it.

    `input_shape`, in the spec's own layout, replaces (or supplies) the model's input shape.
    """
    if spec in PRESETS:
        preset = PRESETS[spec]
        parsed = parse_spec(preset.text, fmt or preset.format, input_shape or preset.input_shape, options)
        return replace(parsed, origin=f"preset {spec}")
    if "\n" not in spec and os.path.isfile(spec):
        try:
            with open(spec, "rb") as handle:
                data = handle.read(MAX_SOURCE_BYTES + 1)
        except OSError as error:
            raise SpecError(f"cannot read {spec}: {error.strerror or error}") from None
        return replace(parse_spec(decode_source(data, spec), fmt, input_shape, options), origin=spec)
    if "\n" not in spec and spec.endswith((".py", ".txt", ".cnn", ".spec", ".ipynb")):
        raise SpecError(f"no such file: {spec}")
    return parse_spec(spec, fmt, input_shape, options)


MAX_SOURCE_BYTES = 20 * 1024 * 1024


def decode_source(data: bytes, origin: str) -> str:
    """A file's or stdin's bytes as text: UTF-8 (a BOM allowed); anything else is named."""
    if len(data) > MAX_SOURCE_BYTES:
        raise SpecError(f"{origin} is larger than {MAX_SOURCE_BYTES // 2**20} MiB; paste the model")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise SpecError(f"{origin} is not UTF-8 text: byte 0x{data[error.start]:02x} on line {line} "
                        "cannot be decoded", hint="save the file as UTF-8") from None


def parse_spec(text: str, fmt: str | None = None, input_shape: tuple[int, ...] | None = None,
               options: ReadOptions = ReadOptions()) -> Spec:
    """Parse model text in the given format (detected when None)."""
    if not text.strip():
        raise SpecError("empty model: nothing to read")
    fmt = fmt or detect_format(text)
    if fmt not in FORMATS:
        raise SpecError(f"unknown format '{fmt}'; known: {', '.join(FORMATS)}")
    if fmt in CODE_FORMATS:
        model = read_code(text, input_shape=input_shape, model_name=options.model,
                          overrides=options.overrides, fallback_input_chw=options.fallback_input_chw)
        return Spec(model.graph, "code", model.source, "inline", model.notes, options, model.name)
    try:
        network = dsl.parse(text)
    except SpecError as error:
        error.source = text
        raise
    if input_shape is not None:
        network = replace(network, input_shape=tuple(input_shape), input_where=None)
    return Spec(LayerGraph.chain(network), "dsl", text, "inline", (), options)


def detect_format(text: str) -> str:
    """'code' for Python code or a notebook, else 'dsl' (the layer language)."""
    if is_notebook(text):
        return "code"
    if len(text) > 1_000_000:  # too long to parse just to choose: both readers refuse it by name
        return "code" if _looks_like_code(text[:100_000]) else "dsl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings of odd escapes are the code reader's business
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return "code" if _looks_like_code(text) else "dsl"
        except (RecursionError, MemoryError, ValueError):
            return "code"
    statements = (ast.Call, ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.Assign)
    return "code" if any(isinstance(node, statements) for node in ast.walk(tree)) else "dsl"


def _looks_like_code(text: str) -> bool:
    """Broken Python still goes to the code reader, which says where it breaks."""
    return bool(re.search(r"^\s*(import|from|def|class)\s|\w\s*\(", text, re.MULTILINE))


def preset_list() -> list[Preset]:
    return list(PRESETS.values())


__all__ = ["CODE_FORMATS", "FORMATS", "PRESETS", "ReadOptions", "Spec", "SpecError", "convert_shape",
           "decode_source", "detect_format", "load_spec", "parse_spec", "preset_list"]
