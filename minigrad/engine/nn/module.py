"""Module, the container behaviour every layer shares (parameters, buffers, sub-modules, state
dicts, train/eval), Parameter, the initial weights, and Sequential."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np
from rich.console import Console

from minigrad import layers
from minigrad.layers import report
from minigrad.engine.rng import generator
from minigrad.engine.tensor import Tensor, is_grad_enabled

__all__ = ["INITS", "Parameter", "init_weight", "Module", "Sequential", "ModuleList", "ModuleDict"]


INITS = ("he", "glorot")


class Parameter(Tensor):
    """A tensor that a Module learns: requires_grad=True; float32 unless the data is a float64
    array (kept for gradient checks)."""

    def __init__(self, data, name: str | None = None):
        data = data.data if isinstance(data, Tensor) else data
        float64 = isinstance(data, np.ndarray) and data.dtype == np.float64
        super().__init__(data, requires_grad=True, dtype=np.float64 if float64 else np.float32,
                         name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__().removeprefix("Tensor")


def init_weight(shape: tuple[int, ...], fan_in: int, fan_out: int, init: str) -> np.ndarray:
    """Uniform float32 weights in [−bound, bound], drawn from minigrad.engine.rng's generator.

    "he" (Kaiming uniform, for layers followed by ReLU): bound = √(6 / fan_in), which keeps the
    variance of the activations steady although ReLU zeroes half of them.
    "glorot" (Xavier uniform, Keras' default): bound = √(6 / (fan_in + fan_out)).
    A uniform draw in [−b, b] has variance b²/3.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    bound = math.sqrt(6 / fan_in) if init == "he" else math.sqrt(6 / (fan_in + fan_out))
    weight = generator().random(shape, dtype=np.float32)  # [0, 1); float32 halves the memory
    weight *= 2 * bound
    weight -= bound
    return weight


# ---------------------------------------------------------------------------------------------
# Module: the container behaviour every layer shares
# ---------------------------------------------------------------------------------------------

class Module:
    """Base class of every layer and model.

    Assigning a Parameter or a Module to an attribute registers it (in assignment order);
    `register_buffer` registers a plain array that belongs in the state but is not learnt
    (BatchNorm's running statistics). Subclasses call `super().__init__()` first and write
    `forward`; calling the module runs `forward`.
    """

    def __init__(self):
        # name -> "parameter" | "buffer" | "module"; the values themselves are plain attributes.
        object.__setattr__(self, "_registered", {})
        self.training = True

    def __setattr__(self, name: str, value) -> None:
        registered = self.__dict__.get("_registered")
        if registered is None:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() has run: call "
                                 "super().__init__() first")
        if isinstance(value, Module) or registered.get(name) == "module":
            self._structure_changed()
        if isinstance(value, Parameter):
            registered[name] = "parameter"
        elif isinstance(value, Module):
            registered[name] = "module"
        elif registered.get(name) in ("parameter", "module"):
            del registered[name]  # e.g. `self.bias = None`: no longer a parameter
        if isinstance(value, (list, tuple, dict)) and any(
                isinstance(item, Module) for item in (value.values() if isinstance(value, dict)
                                                      else value)):
            # PyTorch is silent here too, and the model then trains with no weights in them.
            container = "nn.ModuleDict" if isinstance(value, dict) else "nn.ModuleList"
            warnings.warn(f"{type(self).__name__}.{name}: a plain {type(value).__name__} of "
                          "Modules is not registered, so their parameters are not in "
                          f"parameters() or state_dict() and will not train: use {container}",
                          UserWarning, stacklevel=2)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._registered.pop(name, None) == "module":
            self._structure_changed()
        object.__delattr__(self, name)

    def _structure_changed(self) -> None:
        """Count changes to the set of sub-modules, so that a Sequential knows when the plan it
        runs (plan.py) must be made again without walking its modules at every call."""
        object.__setattr__(self, "_structure", self.__dict__.get("_structure", 0) + 1)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep `array` as attribute `name`, saved in the state dict but never trained."""
        setattr(self, name, array)
        self._registered[name] = "buffer"

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args):
        return self.forward(*args)

    def layer(self) -> layers.Layer:
        """The minigrad.layers kind this module corresponds to (for summary())."""
        raise NotImplementedError(f"{type(self).__name__} has no minigrad.layers kind")

    # -- walking the tree ---------------------------------------------------------------------
    def _own(self, kind: str) -> Iterator[tuple[str, object]]:
        for name, what in self._registered.items():
            if what == kind:
                yield name, getattr(self, name)

    def children(self) -> Iterator[Module]:
        for _, module in self._own("module"):
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (under `prefix`) and every module inside it, depth first."""
        yield prefix, self
        for name, module in self._own("module"):
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def _named(self, kind: str) -> Iterator[tuple[str, object]]:
        seen = set()  # a parameter shared by two layers is listed once
        for prefix, module in self.named_modules():
            for name, value in module._own(kind):
                if id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, e.g. ("0.weight", ...)."""
        return self._named("parameter")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for every buffer, e.g. ("3.running_mean", ...)."""
        return self._named("buffer")

    # -- state ------------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        """The live arrays of the state, parameters first, then buffers."""
        state = {name: p.data for name, p in self.named_parameters()}
        state.update(self.named_buffers())
        return state

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name (changing them changes nothing)."""
        return {name: array.copy() for name, array in self._state_arrays().items()}

    def load_state_dict(self, state: dict, strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy arrays into the parameters and buffers, in place, keeping their dtypes.

        Raises ValueError naming missing and unexpected keys (unless strict=False) and every
        shape mismatch (always); nothing is loaded then. Returns (missing, unexpected).
        """
        own = self._state_arrays()
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for name, target in own.items():
            if name in state:
                value = np.asarray(state[name])
                if value.shape != target.shape:
                    problems.append(f"shape mismatch for {name}: expected {target.shape}, "
                                    f"got {value.shape}")
                elif not np.issubdtype(value.dtype, np.number):
                    problems.append(f"{name} holds {value.dtype} values, not numbers")
        if problems:
            raise ValueError("load_state_dict: " + "; ".join(problems))
        for name, target in own.items():
            if name in state:
                target[...] = state[name]
        return missing, unexpected

    def to(self, dtype) -> Module:
        """Convert every parameter and floating-point buffer to `dtype`, in place (PyTorch's
        model.to(torch.float64)); float64 is what gradient checks want."""
        for module in (m for _, m in self.named_modules()):
            for name, what in module._registered.items():
                value = getattr(module, name)
                if what == "parameter":
                    value.data = value.data.astype(dtype)
                elif what == "buffer" and np.issubdtype(value.dtype, np.floating):
                    object.__setattr__(module, name, value.astype(dtype))
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # -- modes and gradients -------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout drops, batch norm uses batch statistics) for this module and
        every module inside it."""
        for _, module in self.named_modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # -- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The settings shown inside the parentheses of repr()."""
        return ""

    def __repr__(self) -> str:
        children = list(self._own("module"))
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        for name, module in children:
            lines.append(f"  ({name}): " + repr(module).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


# ---------------------------------------------------------------------------------------------
# Sequential
# ---------------------------------------------------------------------------------------------

class Sequential(Module):
    """Modules applied one after the other; they are named "0", "1", ...

    `build_model` sets two attributes: `network` (the minigrad.layers Network it was built
    from) and `output_activation` ("softmax", "log_softmax" or None: a final softmax that is
    not built because the loss applies it).
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {index} is a {type(module).__name__}, not a "
                                "Module")
            setattr(self, str(index), module)
        self.network: layers.Network | None = None
        self.output_activation: str | None = None

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __getitem__(self, index):
        modules = list(self.children())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def forward(self, x):
        for module in self._plan():
            x = module(x)
        return x

    def _plan(self) -> list:
        """What runs the modules: they themselves, neighbours rewritten where that computes the
        same values with less work (plan.py). Made again only when the modules change."""
        from minigrad.engine.nn.plan import chain_plan, rewriting  # plan.py builds on this module
        if not rewriting():
            return list(self)
        structure, recording = self.__dict__.get("_structure", 0), is_grad_enabled()
        plans = self.__dict__.get("_plans")
        if plans is None or plans["structure"] != structure:
            plans = {"structure": structure, "folds": {}}
            object.__setattr__(self, "_plans", plans)  # plain data, not registered modules
        if recording not in plans:
            plans[recording] = chain_plan(list(self), recording, plans["folds"])
        return plans[recording]

    def _layers(self) -> list[layers.Layer]:
        found = []
        for module in self:
            found += module._layers() if isinstance(module, Sequential) else [module.layer()]
        return found

    def summary(self, input_shape: tuple[int, ...] | None = None, console: Console | None = None,
                name: str = "model", explain: bool = False) -> None:
        """Print the table of `cnncalc shapes` for this model.

        A model from build_model is shown as the network it was built from, in that network's
        layout (input_shape, in that layout, may replace its input shape). Any other Sequential
        is described by its layers' .layer() in C×H×W with PyTorch's rules, and needs
        input_shape (C, H, W) or a flat (features,).
        """
        if self.network is not None:
            network = self.network
            if input_shape is not None:
                network = replace(network, input_shape=tuple(input_shape))
        else:
            if input_shape is None:
                raise ValueError("summary() needs input_shape, e.g. (1, 28, 28) in C×H×W, for a "
                                 "model that build_model did not make")
            network = layers.Network(tuple(input_shape), tuple(self._layers()), "chw", "torch")
        report.print_summary(console or Console(), layers.analyze(network), name, explain)


# ---------------------------------------------------------------------------------------------
# ModuleList and ModuleDict: containers that register what they hold
# ---------------------------------------------------------------------------------------------

class ModuleList(Module):
    """A list of modules, registered under "0", "1", ... as PyTorch does, so a model's
    `self.blocks = ModuleList([...])` gives parameters named "blocks.0.weight". It has no
    forward(): the owner decides how to call its modules."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)

    def _set_all(self, modules: list[Module]) -> None:
        """Re-register `modules` as "0", "1", ... (after an insertion or deletion)."""
        for name in [name for name, _ in self._own("module")]:
            delattr(self, name)
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"ModuleList: item {index} is a {type(module).__name__}, not a "
                                "Module")
            setattr(self, str(index), module)

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, index):
        modules = list(self.children())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[index]

    def __setitem__(self, index: int, module: Module) -> None:
        modules = list(self.children())
        modules[index] = module
        self._set_all(modules)

    def __delitem__(self, index) -> None:
        modules = list(self.children())
        del modules[index]
        self._set_all(modules)

    def append(self, module: Module) -> ModuleList:
        self._set_all(list(self.children()) + [module])
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        self._set_all(list(self.children()) + list(modules))
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self.children())
        modules.insert(index, module)
        self._set_all(modules)

    def index(self, module: Module) -> int:
        """The position of `module` itself (by identity, not equality)."""
        for position, held in enumerate(self.children()):
            if held is module:
                return position
        raise ValueError(f"{type(module).__name__} is not in the ModuleList")


class ModuleDict(Module):
    """Modules by name, in insertion order, registered under their keys ("heads.cls.weight")."""

    def __init__(self, modules: dict[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without '.', got {key!r}")
        if key not in self._registered and hasattr(self, key):
            raise KeyError(f"ModuleDict: key {key!r} is the name of a ModuleDict attribute")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {key!r} is a {type(module).__name__}, not a Module")
        setattr(self, key, module)

    def __getitem__(self, key: str) -> Module:
        if self._registered.get(key) != "module":
            raise KeyError(key)
        return getattr(self, key)

    def __delitem__(self, key: str) -> None:
        self[key]  # KeyError for a missing key
        delattr(self, key)

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key) -> bool:
        return self._registered.get(key) == "module"

    def keys(self) -> list[str]:
        return [name for name, _ in self._own("module")]

    def values(self) -> list[Module]:
        return list(self.children())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._own("module"))

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def update(self, modules) -> None:
        for key, module in (modules.items() if isinstance(modules, dict) else modules):
            self[key] = module
