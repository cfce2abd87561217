"""Which model a script is about, which input it takes, and tracing it into a layer graph.

The model: `--model NAME` if given; else the object the code hands to summary(), .summary(),
.compile(), .fit(), an optimizer (`model.parameters()`), or calls on a sample tensor; else the
last model built that is not part of another; else the only model class, built with its
defaults. When several models qualify (a generator and a discriminator), a note names them.

The input: `--input` if given; else what the code states (Keras `Input`, `input_shape=`,
`InputLayer`, `build(...)`; a PyTorch sample tensor or `summary(model, (3, 32, 32))`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from minigrad.errors import SpecError, Where, did_you_mean
from minigrad.readers.arguments import unknown_error
from minigrad.layers.graph import LayerGraph
from minigrad.readers.environment import Environment
from minigrad.readers.interp.values import Instance, Unknown, UserClass, UserFunction
from minigrad.readers.keras_models import KerasFunctional, KerasLayer, KerasSequential, ModelClass, is_keras_model, replay
from minigrad.readers.keras_names import KERAS_DATASETS
from minigrad.readers.torch_modules import ModuleClass, TorchLayer, children_of, is_module, module_names
from minigrad.readers.torch_names import DATASET_SHAPES
from minigrad.readers.trace import SymTensor, Trace


@dataclass
class Chosen:
    model: Any
    name: str          # how notes and titles call it: the variable, else the class
    framework: str     # "torch" or "keras"
    why: str


def framework_of(model: Any) -> str | None:
    if is_keras_model(model):
        return "keras"
    if is_module(model):
        return "torch"
    return None


def choose(env: Environment, interp, tree: ast.Module, model_name: str | None) -> Chosen:
    names = _variable_names(interp)
    if model_name:
        return _by_name(env, interp, tree, model_name, names)
    signalled: list[Any] = []
    for signal in sorted(env.signals, key=_strength):  # training it says most, a summary less
        if framework_of(signal.model) and id(signal.model) not in env.nested \
                and all(signal.model is not m for m in signalled):
            signalled.append(signal.model)
    roots = _roots(env)
    signalled = [m for m in signalled if any(m is r for r in roots)] or signalled
    # "the last model built at top level": one a module-level name holds, else a model class's
    # instance (made in main()), before containers left over inside other modules' __init__
    candidates = signalled or [m for m in roots if id(m) in names] or \
        [m for m in roots if isinstance(m, Instance)] or roots
    why = "the model the code uses" if signalled else "the last model the code builds"
    if not candidates:
        return _unbuilt(env, interp, tree)
    model = candidates[0] if signalled else candidates[-1]
    if len(candidates) > 1:
        listed = ", ".join(_name(m, names) for m in candidates)
        env.note(f"several models ({listed}); showing {_name(model, names)}; pick another with "
                 "--model NAME")
    return Chosen(model, _name(model, names), framework_of(model), why)


def _unbuilt(env: Environment, interp, tree: ast.Module) -> Chosen:
    """The code defines a model but never builds one: the only model class, built with its
    defaults, or else a function that builds one without arguments (torchvision's resnet50())."""
    classes = _top_classes(interp, tree)
    failure = None
    if classes:
        cls = classes[-1]
        try:
            model = _instantiate(interp, cls)
        except SpecError as error:
            failure = error
        else:
            if len(classes) > 1:
                env.note(f"several model classes ({', '.join(c.name for c in classes)}); showing "
                         f"{cls.name}, built with its defaults; pick another with --model NAME")
            return Chosen(model, cls.name, framework_of_class(cls), "the model class, built with its defaults")
    factories = [f for f in _factories(interp)]
    if factories:
        name, function = factories[-1]
        model = interp.call(function, [], {}, None)
        if len(factories) > 1:
            env.note(f"several functions build a model ({', '.join(n for n, _ in factories)}); "
                     f"showing {name}(); pick another with --model NAME")
        return Chosen(model, f"{name}()", framework_of(model), "built by the code's own function")
    if failure is not None:
        raise failure
    raise SpecError("no model found: paste an nn.Module or keras.Model class, or code that builds "
                    "one (nn.Sequential(...), keras.Sequential([...]), keras.Model(inputs, outputs))")


def _factories(interp) -> list[tuple[str, Any]]:
    """Module-level functions without required parameters whose name says they build a model
    and that return one when called."""
    found = []
    for name, value in interp.globals.items():
        if isinstance(value, UserFunction) and not _required(value):
            try:
                model = interp.call(value, [], {}, None)
            except SpecError:
                continue
            if framework_of(model):
                found.append((name, value))
    return found


def _required(function: UserFunction) -> int:
    node = function.node
    positional = node.args.posonlyargs + node.args.args
    return len(positional) - len(function.defaults) + sum(
        1 for arg in node.args.kwonlyargs if arg.arg not in function.kw_defaults)


def _strength(signal) -> int:
    """How surely a use marks the model the script is about (lower is surer)."""
    what = signal.what
    if what.startswith(("fit", "compile", "train_on_batch", "fit_generator", ".parameters", ".named_parameters")):
        return 0
    if "summary" in what or what.startswith(("evaluate", "predict", "save")):
        return 1
    return 2


def framework_of_class(cls: UserClass) -> str:
    return "keras" if isinstance(cls.foreign_base(), ModelClass) else "torch"


def _by_name(env, interp, tree, wanted: str, names: dict[int, list[str]]) -> Chosen:
    value = interp.globals.get(wanted)
    if value is not None and framework_of(value):
        return Chosen(value, wanted, framework_of(value), "chosen with --model")
    if isinstance(value, UserClass) and value.foreign_base() is not None:
        return Chosen(_instantiate(interp, value), wanted, framework_of_class(value), "chosen with --model")
    if isinstance(value, UserFunction) and not _required(value):
        model = interp.call(value, [], {}, None)
        if framework_of(model):
            return Chosen(model, f"{wanted}()", framework_of(model), "chosen with --model")
    for model, _ in env.built:  # a model made inside a function, named by Keras or its class
        if wanted in (getattr(model, "name", None), _class_name(model)):
            return Chosen(model, wanted, framework_of(model), "chosen with --model")
    known = sorted({n for m in _roots(env) + [s.model for s in env.signals] for n in names.get(id(m), [])}
                   | {c.name for c in _top_classes(interp, tree)})
    listed = f"the code's models: {', '.join(known)}" if known else None
    close = did_you_mean(wanted, known)
    raise SpecError(f"--model {wanted}: no model of that name",
                    hint=f"{close} {listed}" if close and listed else close or listed)


def _variable_names(interp) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for name, value in interp.globals.items():
        if framework_of(value):
            names.setdefault(id(value), []).append(name)
    return names


def _name(model: Any, names: dict[int, list[str]]) -> str:
    if id(model) in names:
        return names[id(model)][0]
    return getattr(model, "name", None) or _class_name(model)


def _class_name(model: Any) -> str:
    if isinstance(model, Instance):
        return model.cls.name
    return model.describe() if hasattr(model, "describe") else type(model).__name__


def _roots(env: Environment) -> list[Any]:
    """Models built that are not a part of another built model."""
    built = [m for m, _ in env.built if framework_of(m)]
    inside: set[int] = set()
    for model in built:
        if is_module(model):
            inside |= {key for key in module_names(model) if key != id(model)}
        elif isinstance(model, KerasSequential):
            inside |= {id(layer) for layer in model.layers}
        elif isinstance(model, Instance):
            inside |= {id(v) for v in model.attrs.values()}
    return [m for m in built if id(m) not in inside and id(m) not in env.nested]


def _top_classes(interp, tree: ast.Module) -> list[UserClass]:
    """Model classes the code defines but no other model class uses."""
    classes = [v for v in interp.globals.values()
               if isinstance(v, UserClass) and isinstance(v.foreign_base(), (ModuleClass, ModelClass))
               and not (isinstance(v.foreign_base(), ModelClass) and v.foreign_base().kind == "Layer")]
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):  # names used in a class body, not its bases
            used |= {n.id for stmt in node.body for n in ast.walk(stmt)
                     if isinstance(n, ast.Name) and n.id != node.name}
    top = [c for c in classes if c.name not in used]
    return top or classes


def _instantiate(interp, cls: UserClass) -> Any:
    try:
        return interp.call(cls, [], {}, cls.where)
    except SpecError as error:
        raise SpecError(f"class {cls.name} cannot be built with its defaults: {error.message}",
                        error.where or cls.where, hint=error.hint or "build it in the code "
                        f"(model = {cls.name}(...)) or pass --model") from None


# ---------------------------------------------------------------------------------------------
# The input, and the trace.
# ---------------------------------------------------------------------------------------------

def trace_model(env: Environment, interp, chosen: Chosen) -> LayerGraph:
    model, at = chosen.model, getattr(chosen.model, "where", None)
    if isinstance(model, KerasFunctional):
        if env.input_override is None:
            return env.keras_trace.graph(model.outputs)
        if len(model.inputs) != 1:
            raise SpecError(f"{chosen.name} has {len(model.inputs)} inputs; --input sets one")
        trace = Trace("hwc", "keras", env.tensor_methods)
        start = model.inputs[0]
        x = trace.input(env.input_override, env.keras_trace.uses[start.node].node.name, "keras")
        return trace.graph(replay(env.keras_trace, [start], model.outputs, [x], at))
    framework = chosen.framework
    env.root = model
    _check_layers(model)
    shape = _input_shape(env, chosen)
    trace = Trace("chw" if framework == "torch" else "hwc", framework, env.tensor_methods)
    if framework == "torch":
        env.trace, env.trace_names = trace, module_names(model)
        env.trace_names.pop(id(model), None)
    name = model.input_name if isinstance(model, KerasSequential) else "input"
    where = getattr(model, "input_where", None) if env.input_override is None else None
    if where is None and isinstance(model, KerasSequential) and env.input_override is None and model.layers:
        where = getattr(model.layers[0], "where", None)   # input_shape= on the first layer
    # Keras' Flatten(input_shape=(28, 28)): a grey image without its channel axis, both axes pixels
    image = not (isinstance(model, KerasSequential) and len(shape) == 2 and model.layers
                 and getattr(model.layers[0], "class_name", None) == "Flatten")
    x = trace.input(shape, name, framework, where, channels=image)
    try:
        output = interp.call(model, [x], {}, at)
    finally:
        env.trace = None
    if framework == "torch":
        _note_unused(env, trace, model)
    outputs = list(output) if isinstance(output, (tuple, list)) else [output]
    if not outputs or not all(isinstance(o, SymTensor) and o.trace is trace for o in outputs):
        bad = next((o for o in outputs if not (isinstance(o, SymTensor) and o.trace is trace)), None)
        what = bad.reason if isinstance(bad, Unknown) else type(bad).__name__ if bad is not None else "nothing"
        raise SpecError(f"{chosen.name}: its forward pass returns {what}, not a tensor of the model "
                        "(does forward() return its result?)", at)
    return trace.graph(outputs)


def _note_unused(env: Environment, trace: Trace, model: Any) -> None:
    """Modules __init__ makes that forward() never calls: model.parameters() still holds them."""
    used = {id(m) for m in trace.modules if m is not None}
    for module, name in ((m, env.trace_names.get(id(m))) for m in _modules(model)):
        if isinstance(module, TorchLayer) and name and id(module) not in used \
                and any(key in module.args.values for key in _WEIGHTED):
            env.note(f"{name} ({module.describe()}) is made in __init__ but never called in "
                     "forward(): PyTorch's model.parameters() counts its parameters, these totals "
                     "do not")


_WEIGHTED = ("in_channels", "in_features", "num_features", "num_embeddings", "num_channels",
             "normalized_shape", "num_parameters")


def _check_layers(model: Any) -> None:
    """Each layer's own arguments, checked before the input is asked for: a bad kernel size is
    the first thing to hear about, whatever else is missing."""
    if isinstance(model, KerasSequential):
        layers = model.layers
    elif is_module(model):
        layers = [m for m in _modules(model) if isinstance(m, TorchLayer)]
    else:
        return
    for layer in layers:
        if isinstance(layer, (KerasLayer, TorchLayer)):
            layer.layer()


def _modules(root: Any) -> list[Any]:
    seen, order, stack = set(), [], [root]
    while stack:
        module = stack.pop(0)
        if id(module) not in seen:
            seen.add(id(module))
            order.append(module)
            stack += list(children_of(module).values())
    return order


def _input_shape(env: Environment, chosen: Chosen) -> tuple[int, ...]:
    if env.input_override is not None:
        return env.input_override
    model = chosen.model
    if isinstance(model, KerasSequential) and isinstance(model.input_shape, Unknown):
        raise unknown_error(model.input_shape, f"{chosen.name}: its input_shape", model.where)
    if isinstance(model, KerasSequential) and model.input_shape is not None:
        if any(d is None for d in model.input_shape):
            raise SpecError(f"{chosen.name}: input shape {model.input_shape} has sizes known only "
                            "when data arrives", hint="pass --input with the sizes")
        return model.input_shape
    if isinstance(model, Instance) and "input_shape" in model.extra:
        return model.extra["input_shape"]
    for signal in env.signals:
        if signal.model is model and signal.input_shape:
            return signal.input_shape
    if env.fallback_input_chw is not None:
        c, *spatial = env.fallback_input_chw
        return env.fallback_input_chw if chosen.framework == "torch" else (*spatial, c)
    layout = "C×H×W, e.g. --input 3x32x32" if chosen.framework == "torch" else \
        "H×W×C, e.g. --input 28x28x1"
    raise SpecError(f"{chosen.name} does not say what input it takes; pass --input ({layout})",
                    hint=_dataset_hint(env, chosen.framework))


def _dataset_hint(env: Environment, framework: str) -> str | None:
    for dataset in env.datasets:
        if dataset.startswith("keras:"):
            shape = KERAS_DATASETS.get(dataset[6:])
            if shape and framework == "keras":
                shape = shape if len(shape) == 3 else (*shape, 1)
                return f"the code loads {dataset[6:]}: --input {'x'.join(map(str, shape))}"
        elif dataset in DATASET_SHAPES:
            shape = DATASET_SHAPES[dataset]
            if framework == "keras":
                shape = (*shape[1:], shape[0])
            return f"the code loads {dataset}: --input {'x'.join(map(str, shape))}"
    return None


__all__ = ["Chosen", "choose", "children_of", "framework_of", "trace_model"]
