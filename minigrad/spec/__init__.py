"""Read a model description (layer language, pasted Keras code, pasted PyTorch code or a preset)
into a `Network`. One parser for everything that describes a model: the CLI and the model
builder both come through here."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, replace

from ..errors import SpecError, Where
from ..layers import Network, analyze
from ..shapes import Summary, convert_shape
from . import dsl, keras, pytorch
from .presets import PRESETS, Preset

FORMATS = ("dsl", "keras", "pytorch")
_KERAS_ONLY = {"Conv2D", "Dense", "MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D",
               "GlobalAveragePooling2D", "GlobalAvgPool2D", "BatchNormalization", "InputLayer",
               "Activation"}
_TORCH_ONLY = {"Conv2d", "Linear", "MaxPool2d", "AvgPool2d", "BatchNorm2d", "BatchNorm1d",
               "AdaptiveAvgPool2d", "ReLU", "Module", "max_pool2d", "relu"}


@dataclass(frozen=True)
class Spec:
    """A parsed model description and where it came from."""

    network: Network
    format: str   # "dsl", "keras" or "pytorch"
    source: str   # the text that was parsed (for error excerpts)
    origin: str   # "preset NAME", a file path, or "inline"

    @property
    def name(self) -> str:
        """What a title calls the model: the preset's name, the file, or its origin."""
        if self.origin.startswith("preset "):
            return self.origin.removeprefix("preset ")
        return "inline model" if self.origin == "inline" else self.origin

    def analyze(self) -> Summary:
        """The layer arithmetic of this model; a SpecError carries the source it points into."""
        try:
            return analyze(self.network)
        except SpecError as error:
            error.source = self.source
            raise


def load_spec(spec: str, fmt: str | None = None, input_shape: tuple[int, ...] | None = None) -> Spec:
    """Resolve SPEC (a preset name, a file path or inline text) and parse it.

    `input_shape`, in the spec's own layout, replaces (or supplies) the model's input shape.
    """
    if spec in PRESETS:
        preset = PRESETS[spec]
        parsed = parse_spec(preset.text, fmt or preset.format, input_shape or preset.input_shape)
        return replace(parsed, origin=f"preset {spec}")
    if "\n" not in spec and os.path.isfile(spec):
        try:
            with open(spec, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise SpecError(f"cannot read {spec}: {error}") from None
        return replace(parse_spec(text, fmt, input_shape), origin=spec)
    if "\n" not in spec and spec.endswith((".py", ".txt", ".cnn", ".spec")):
        raise SpecError(f"no such file: {spec}")
    return parse_spec(spec, fmt, input_shape)


def parse_spec(text: str, fmt: str | None = None, input_shape: tuple[int, ...] | None = None) -> Spec:
    """Parse model text in the given format (detected when None)."""
    if not text.strip():
        raise SpecError("empty model: nothing to read")
    try:
        fmt = fmt or detect_format(text)
        if fmt not in FORMATS:
            raise SpecError(f"unknown format '{fmt}'; known: {', '.join(FORMATS)}")
        network = {"dsl": dsl.parse, "keras": keras.parse, "pytorch": pytorch.parse}[fmt](text)
    except SpecError as error:
        error.source = text
        raise
    if input_shape is not None:
        network = replace(network, input_shape=tuple(input_shape), input_where=None)
    return Spec(network, fmt, text, "inline")


def detect_format(text: str) -> str:
    """'keras' or 'pytorch' for Python code that names their layers, else 'dsl'."""
    names = _called_names(text)
    if names is None:
        return "dsl"
    if names & _TORCH_ONLY or "nn" in names:
        return "pytorch"
    if names & _KERAS_ONLY:
        return "keras"
    return "dsl"


def _called_names(text: str) -> set[str] | None:
    """Names of everything called or referenced as an attribute, or None if not Python."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        words = set(text.replace("(", " ").replace(".", " ").split())
        if "(" in text and words & (_KERAS_ONLY | _TORCH_ONLY | {"Sequential"}):
            raise SpecError(f"pasted code is not valid Python: {error.msg}",
                            Where(error.lineno or 1, error.offset or 1)) from None
        return None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
            if isinstance(node.value, ast.Name):
                names.add(node.value.id)
        elif isinstance(node, ast.Name):
            names.add(node.id)
    return names


def preset_list() -> list[Preset]:
    return list(PRESETS.values())


__all__ = ["FORMATS", "PRESETS", "Spec", "SpecError", "convert_shape", "detect_format",
           "load_spec", "parse_spec", "preset_list"]
