"""What one reading of pasted code shares between the framework tables: the active trace, the
models built so far and the hints about which of them is "the model", notes for the user, and
the import table that turns `import torch.nn as nn` into symbolic framework objects.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

from minigrad.errors import Where
from minigrad.readers.interp.values import Foreign, Unknown
from minigrad.readers.trace import SymTensor, Trace


@dataclass
class Signal:
    """Something the code did with a model that marks it as the one it is about."""

    what: str                                 # 'summary(...)', 'model.fit(...)', 'an optimizer', …
    model: Any
    where: Where | None
    input_shape: tuple[int, ...] | None = None  # a sample's shape per sample, when it gives one


@dataclass
class Environment:
    """State of one reading. `trace` is set while a model is being traced."""

    trace: Trace | None = None
    trace_names: dict[int, str] = field(default_factory=dict)  # id(module) -> dotted name in the traced model
    scope: list[str] = field(default_factory=list)              # the modules being run, outermost first
    nested: set[int] = field(default_factory=set)               # ids of models used as layers of another
    root: Any = None                                            # the model being traced
    keras_trace: Trace | None = None          # the Keras functional graph being built as the code runs
    signals: list[Signal] = field(default_factory=list)
    built: list[tuple[Any, Where | None]] = field(default_factory=list)  # models constructed, in order
    datasets: list[str] = field(default_factory=list)                    # known datasets the code loads
    notes: list[str] = field(default_factory=list)
    keras_name_counts: dict[str, int] = field(default_factory=dict)
    frameworks: set[str] = field(default_factory=set)                    # 'torch' / 'keras' imported
    tensor_methods: dict[str, Any] = field(default_factory=dict)          # framework -> tensor methods
    keras_layer_names: tuple[str, ...] = ()                              # for "did you mean" hints
    input_override: tuple[int, ...] | None = None                        # --input, per sample
    fallback_input_chw: tuple[int, ...] | None = None                    # the data's shape, if the code gives none

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def signal(self, what: str, model: Any, where: Where | None,
               input_shape: tuple[int, ...] | None = None) -> None:
        self.signals.append(Signal(what, model, where, input_shape))

    def traced(self, value: Any) -> bool:
        """Whether `value` is a tensor of the model being traced."""
        return isinstance(value, SymTensor) and value.trace is not None and value.trace is self.trace

    def keras_traced(self, value: Any) -> bool:
        """Whether `value` is a Keras symbolic tensor (of any model being built or traced)."""
        return isinstance(value, SymTensor) and value.trace is not None and value.framework == "keras"

    def untraced(self, value: Any, what: str, at: Where | None) -> Any:
        """The result of an op outside the traced model: a sample keeps its shape, else unknown."""
        if isinstance(value, SymTensor) and value.trace is None:
            return value
        return value if isinstance(value, Unknown) else Unknown(f"the result of {what}(...)", at)

    @contextmanager
    def scoped(self, name: str):
        """Run a nested module or model: rows made inside are named under it."""
        self.scope.append(name)
        try:
            yield
        finally:
            self.scope.pop()

    def qualified(self, name: str) -> str:
        """'encoder.conv2d' for a layer called inside the nested model 'encoder'."""
        scope = ".".join(s for s in self.scope if s)
        return f"{scope}.{name}" if scope else name

    def functional_name(self, function: str) -> str:
        """A PyTorch functional op's row name: 'relu', or 'layer1.0.relu' inside a block (torch
        scopes hold a module's full dotted name)."""
        scope = next((s for s in reversed(self.scope) if s), "")
        return self.trace.unique(f"{scope}.{function}" if scope else function)

    def qualified_module(self, name: str) -> str:
        """A name for a PyTorch module the model does not register: under the block using it."""
        scope = next((s for s in reversed(self.scope) if s), "")
        return f"{scope}.{name}" if scope else name

    def keras_name(self, base: str) -> str:
        """Keras' automatic names: conv2d, conv2d_1, … counted per name over the whole script."""
        count = self.keras_name_counts.get(base, 0)
        self.keras_name_counts[base] = count + 1
        return base if count == 0 else f"{base}_{count}"


class Namespace(Foreign):
    """A framework module (`torch.nn`, `keras.layers`…): its members by name, anything else
    unknown. `submodules` are resolved lazily so tables can refer to each other."""

    def __init__(self, env: Environment, path: str,
                 members: dict[str, Any] | Callable[[], dict[str, Any]]):
        self.env = env
        self.path = path
        self._members = members

    @property
    def members(self) -> dict[str, Any]:
        if callable(self._members):
            self._members = self._members()
        return self._members

    def describe(self) -> str:
        return self.path

    def get_attr(self, interp, name, at):
        if name in self.members:
            value = self.members[name]
            return value(self.env, at) if isinstance(value, _Lazy) else value
        return Unknown(f"{self.path}.{name}", at)


class LayerMembers(dict):
    """A layer module's members (torch.nn, keras.layers): any other capitalised name is a layer
    class cnncalc does not know (nn.LSTM, layers.Lambda), made by `unknown(name)` on first use;
    using it in the model is the error, not importing it."""

    def __init__(self, members: dict, unknown: Callable[[str], Any]):
        super().__init__(members)
        self.unknown = unknown

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and name[:1].isupper())

    def __getitem__(self, name: str) -> Any:
        if not super().__contains__(name):
            self[name] = self.unknown(name)
        return super().__getitem__(name)


class _Lazy:
    """A member computed on access (one that records something, like a dataset's name)."""

    def __init__(self, make: Callable[[Environment, Where | None], Any]):
        self.make = make

    def __call__(self, env: Environment, at: Where | None) -> Any:
        return self.make(env, at)


def lazy(make: Callable[[Environment, Where | None], Any]) -> _Lazy:
    return _Lazy(make)


class Function(Foreign):
    """A framework function implemented by a Python callable `fn(interp, args, kwargs, at)`."""

    def __init__(self, name: str, fn: Callable[..., Any]):
        self.name = name
        self.fn = fn

    def describe(self) -> str:
        return self.name

    def call(self, interp, args, kwargs, at):
        return self.fn(interp, args, kwargs, at)
