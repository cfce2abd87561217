"""PyTorch modules as the interpreter sees them: leaf layers, containers and pasted nn.Module
classes, how they register children, how they are named, and what calling one does.

Three kinds of module object reach the pasted code:
- `TorchLayer`: `nn.Conv2d(3, 6, 5)` and the other leaf layers of the table; it knows the layer
  kind it stands for. A layer whose arguments are not known (a value read from data) is still
  built; the error comes only if the model actually uses it.
- `TorchContainer`: `nn.Sequential(...)`, `nn.ModuleList([...])`, `nn.ModuleDict({...})`.
- an `Instance` of a pasted class deriving from nn.Module (or nn.Sequential…): its children are
  the modules assigned to `self.NAME`, in order, as PyTorch registers them.

Calling a module while a trace is active records its layers; calling it at the top of the script
on a sample tensor (`net(torch.randn(1, 3, 32, 32))`) only marks it as the model and its input.
"""

from __future__ import annotations

from typing import Any, Callable

from minigrad.errors import SpecError, Where, did_you_mean
from minigrad.layers.base import Layer
from minigrad.layers.misc import Identity
from minigrad.readers.arguments import Args, unknown_error
from minigrad.readers.environment import Environment, Function
from minigrad.readers.interp.values import MISSING, BoundMethod, Foreign, Instance, Unknown, UserClass
from minigrad.readers.trace import SymTensor

CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


class TorchLayer(Foreign):
    """A leaf layer such as nn.Conv2d(3, 6, 5): the kind is made from its bound arguments."""

    def __init__(self, env: Environment, class_name: str, args: Args, make: Callable[[Args], Layer],
                 where: Where | None):
        self.env = env
        self.class_name = class_name
        self.args = args
        self.where = where
        self._make = make
        self._layer: Layer | None = None
        self.cls: Any = None   # the nn class that made it, for type(m)

    def describe(self) -> str:
        return f"nn.{self.class_name}(...)"

    def type_of(self, interp, at):
        return self.cls if self.cls is not None else Unknown(f"type({self.describe()})", at)

    def layer(self) -> Layer:
        """The layer kind; an unknown or bad argument is reported here, when the model uses it."""
        if self._layer is None:
            self._layer = self._make(self.args)
        return self._layer

    def get_attr(self, interp, name, at):
        if name in self.args.values:  # self.fc.in_features, conv.out_channels, …
            return self.args.values[name]
        method = module_method(self.env, interp, self, name, at)
        return method if method is not MISSING else Unknown(f"{self.describe()}.{name}", at)

    def call(self, interp, args, kwargs, at):
        return call_module(self.env, interp, self, args, kwargs, at)


class TorchContainer(Foreign):
    """nn.Sequential / nn.ModuleList / nn.ModuleDict with their children by name."""

    def __init__(self, env: Environment, kind: str, children: dict[str, Any]):
        self.env = env
        self.kind = kind
        self.children = children

    def describe(self) -> str:
        return f"nn.{self.kind}(...)"

    def get_attr(self, interp, name, at):
        if self.kind == "Sequential" and name in self.children:  # nn.Sequential(OrderedDict(...)).conv1
            return self.children[name]
        container = container_method(self.env, self, self.children, name, at)
        if container is not MISSING:
            return container
        method = module_method(self.env, interp, self, name, at)
        return method if method is not MISSING else Unknown(f"{self.describe()}.{name}", at)

    def get_item(self, interp, key, at):
        return container_item(self.env, self.kind, self.children, key, at)

    def iterate(self, interp, at):
        return list(self.children) if self.kind == "ModuleDict" else list(self.children.values())

    def length(self, interp, at):
        return len(self.children)

    def call(self, interp, args, kwargs, at):
        return call_module(self.env, interp, self, args, kwargs, at)


class ModuleClass(Foreign):
    """nn.Module, nn.Sequential, nn.ModuleList, nn.ModuleDict as classes: called directly they
    make a container; subclassed by pasted code they give its instances module behaviour."""

    def __init__(self, env: Environment, kind: str):
        self.env = env
        self.kind = kind  # "Module" or one of CONTAINERS

    def describe(self) -> str:
        return f"nn.{self.kind}"

    def is_class(self) -> bool:
        return True

    def instance_check(self, interp, value):
        if self.kind == "Module":
            return is_module(value)
        if isinstance(value, TorchContainer):
            return value.kind == self.kind
        return isinstance(value, Instance) and any(c is self for c in value.cls.mro())

    def call(self, interp, args, kwargs, at):
        if self.kind == "Module":
            raise SpecError("nn.Module() on its own is an empty module; subclass it", at)
        container = TorchContainer(self.env, self.kind, container_children(self.kind, args, kwargs, at))
        self.env.built.append((container, at))
        return container

    def init_instance(self, interp, instance, args, kwargs, at):
        if "children" not in instance.extra:
            self.env.built.append((instance, at))
        children = instance.extra.setdefault("children", {})
        if self.kind != "Module":
            children.update(container_children(self.kind, args, kwargs, at))

    def instance_set_attr(self, interp, instance, name, value, at):
        children = instance.extra.setdefault("children", {})
        if is_module(value):
            children[name] = value
        else:
            children.pop(name, None)

    def instance_attr(self, interp, instance, name, at):
        children = instance.extra.setdefault("children", {})
        if self.kind != "Module":
            container = container_method(self.env, instance, children, name, at)
            if container is not MISSING:
                return container
        if name == "training":
            return False
        return module_method(self.env, interp, instance, name, at)

    def instance_call(self, interp, instance, args, kwargs, at):
        return call_module(self.env, interp, instance, args, kwargs, at)


class ItemsView(Foreign):
    """What .children(), .modules(), .items() … return: a list the code can loop over."""

    def __init__(self, items: list):
        self.items = items

    def iterate(self, interp, at):
        return list(self.items)

    def length(self, interp, at):
        return len(self.items)


def is_module(value: Any) -> bool:
    if isinstance(value, (TorchLayer, TorchContainer)):
        return True
    return isinstance(value, Instance) and isinstance(value.cls.foreign_base(), ModuleClass)


def children_of(module: Any) -> dict[str, Any]:
    if isinstance(module, TorchContainer):
        return module.children
    if isinstance(module, Instance):
        return module.extra.get("children", {})
    return {}


def module_names(root: Any) -> dict[int, str]:
    """id(module) -> dotted name under `root` ('layer1.0.conv1'), first path wins, as
    named_modules() gives them."""
    names: dict[int, str] = {id(root): ""}
    stack = [(root, "")]
    while stack:
        module, prefix = stack.pop(0)
        for name, child in children_of(module).items():
            if id(child) not in names:
                names[id(child)] = f"{prefix}{name}"
                stack.append((child, f"{prefix}{name}."))
    return names


def class_name(module: Any) -> str:
    if isinstance(module, TorchLayer):
        return module.class_name
    if isinstance(module, TorchContainer):
        return module.kind
    return module.cls.name


def container_children(kind: str, args: list, kwargs: dict, at: Where | None) -> dict[str, Any]:
    """Children of nn.Sequential(*modules) / nn.Sequential(OrderedDict) / nn.ModuleList(list) /
    nn.ModuleDict(dict), named as PyTorch names them."""
    if kwargs:
        raise SpecError(f"nn.{kind} takes no keyword arguments, got '{next(iter(kwargs))}'", at)
    if kind == "Sequential":
        if len(args) == 1 and isinstance(args[0], dict):
            items = list(args[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(args)]
    elif not args:
        items = []
    elif kind == "ModuleList":
        if not isinstance(args[0], (list, tuple)):
            raise SpecError(f"nn.ModuleList takes a list of modules, got {_what(args[0])}", at)
        items = [(str(i), m) for i, m in enumerate(args[0])]
    else:
        source = args[0]
        if isinstance(source, dict):
            items = list(source.items())
        elif isinstance(source, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2
                                                      for p in source):
            items = [tuple(p) for p in source]
        else:
            raise SpecError(f"nn.ModuleDict takes a dict of modules, got {_what(source)}", at)
    for name, module in items:
        if isinstance(module, Unknown):
            raise unknown_error(module, f"nn.{kind} (child '{name}')", module.where or at)
        if not isinstance(name, str):
            raise SpecError(f"nn.{kind}: module names must be strings, got {name!r}", at)
        if not is_module(module):
            raise SpecError(f"nn.{kind}: {_what(module)} is not a module (child '{name}')", at)
    return dict(items)


def container_method(env: Environment, owner: Any, children: dict, name: str, at) -> Any:
    """append / extend / insert / add_module / keys / values / items on a container's children."""
    def append(interp, args, kwargs, at):
        for module in args:
            children[str(len(children))] = module
        return owner

    def extend(interp, args, kwargs, at):
        items = interp.iterate(args[0], at) if args else []
        if isinstance(items, Unknown):
            return items
        for module in items:
            children[str(len(children))] = module
        return owner

    def insert(interp, args, kwargs, at):
        index, module = args
        values = list(children.values())
        values.insert(index, module)
        children.clear()
        children.update((str(i), m) for i, m in enumerate(values))
        return None

    table = {"append": append, "extend": extend, "insert": insert,
             "keys": lambda *a: ItemsView(list(children)),
             "values": lambda *a: ItemsView(list(children.values())),
             "items": lambda *a: ItemsView(list(children.items()))}
    return Function(name, table[name]) if name in table else MISSING


def container_item(env: Environment, kind: str, children: dict, key: Any, at) -> Any:
    if kind == "ModuleDict":
        if key in children:
            return children[key]
        raise SpecError(f"nn.ModuleDict has no key {key!r}", at,
                        hint=did_you_mean(str(key), [str(k) for k in children]))
    values = list(children.values())
    if isinstance(key, slice):
        return TorchContainer(env, kind, {str(i): m for i, m in enumerate(values[key])})
    if isinstance(key, int) and not isinstance(key, bool) and -len(values) <= key < len(values):
        return values[key]
    if isinstance(key, Unknown):
        return key
    raise SpecError(f"nn.{kind} index {key!r} is out of range ({len(values)} modules)", at)


def module_method(env: Environment, interp, module: Any, name: str, at) -> Any:
    """Methods every module has. Those that move or switch the model return it unchanged."""
    if name in ("to", "cuda", "cpu", "eval", "train", "double", "float", "half",
                "requires_grad_", "share_memory", "type"):
        return Function(name, lambda interp, args, kwargs, at: module)
    if name in ("parameters", "named_parameters"):
        def parameters(interp, args, kwargs, at):
            if env.trace is None:
                env.signal(f".{name}() (handed to an optimizer?)", module, at)
            return Unknown(f"the parameters of {class_name(module)}", at)
        return Function(name, parameters)
    if name in ("children", "named_children", "modules", "named_modules"):
        def listing(interp, args, kwargs, at):
            if name.endswith("children"):
                items = list(children_of(module).items())
            else:
                items = [(n, m) for m, n in _walk(module)]
            return ItemsView(items if name.startswith("named") else [m for _, m in items])
        return Function(name, listing)
    if name == "add_module" or name == "register_module":
        def add(interp, args, kwargs, at):
            if len(args) == 2 and isinstance(args[0], str) and is_module(args[1]):
                if isinstance(module, Instance):
                    module.extra.setdefault("children", {})[args[0]] = args[1]
                    module.attrs[args[0]] = args[1]
                elif isinstance(module, TorchContainer):
                    module.children[args[0]] = args[1]
            return None
        return Function(name, add)
    if name == "forward" and not isinstance(module, Instance):
        return Function("forward", lambda interp, args, kwargs, at:
                        call_module(env, interp, module, args, kwargs, at))
    if name in ("apply",):
        return Function(name, lambda interp, args, kwargs, at: module)
    if name in ("zero_grad", "state_dict", "load_state_dict", "register_buffer",
                "register_parameter", "register_forward_hook", "weight", "bias"):
        return Function(name, lambda interp, args, kwargs, at: Unknown(f".{name}(...)", at)) \
            if name not in ("weight", "bias") else Unknown(f"the {name} of {class_name(module)}", at)
    return MISSING


def _walk(root: Any) -> list[tuple[Any, str]]:
    names = module_names(root)
    seen, order, stack = set(), [], [root]
    while stack:
        module = stack.pop(0)
        if id(module) in seen:
            continue
        seen.add(id(module))
        order.append((module, names.get(id(module), "")))
        stack += list(children_of(module).values())
    return order


def call_module(env: Environment, interp, module: Any, args: list, kwargs: dict, at) -> Any:
    """What calling a module does: trace it, or, outside a trace, note it as the model."""
    first = args[0] if args else None
    if env.trace is None:
        if isinstance(first, SymTensor) and first.trace is None:
            env.signal("called on a sample tensor", module, at, first.shape)
        return Unknown(f"the output of {class_name(module)}", at)
    if isinstance(module, TorchLayer):
        if not isinstance(first, SymTensor) or len(args) != 1:
            raise SpecError(f"{module.describe()} takes one tensor, got "
                            f"{', '.join(_what(a) for a in args) or 'nothing'}", at)
        layer = module.layer()
        registered = id(module) in env.trace_names
        name = env.trace_names.get(id(module)) or env.trace.unique(
            env.qualified_module(module.class_name.lower()))
        return env.trace.apply(layer, [first], name, "torch", module=module, counted=registered)
    if isinstance(module, TorchContainer):
        if module.kind != "Sequential":
            raise SpecError(f"nn.{module.kind} cannot be called; loop over its modules", at)
        if not module.children:  # nn.Sequential() as an identity shortcut: a leaf to PyTorch
            return _identity(env, module, args, at)
        return run_sequential(interp, module.children, args, kwargs, at)
    forward = module.cls.lookup("forward")
    if forward is MISSING:
        base = module.cls.foreign_base()
        if isinstance(base, ModuleClass) and base.kind == "Sequential":
            return run_sequential(interp, children_of(module), args, kwargs, at)
        raise SpecError(f"class {module.cls.name} has no forward(); cnncalc follows it to see "
                        "how the layers connect", module.cls.where)
    name = env.trace_names.get(id(module), "")
    env.scope.append(name)
    before = len(env.trace.uses)
    try:
        output = interp.call(BoundMethod(forward, module), args, kwargs, at)
    finally:
        env.scope.pop()
    # A pasted module without children (a custom Flatten, say) is a leaf to PyTorch: its output
    # row carries its name, as named_modules() and torchinfo show it.
    if name and not children_of(module) and isinstance(output, SymTensor) and output.trace is env.trace:
        if output.node >= before:
            env.trace.rename(output.node, name)
        elif output is args[0]:  # a leaf that returns its input: still a row, as its hook shows
            return _identity(env, module, args, at)
    return output


def _identity(env: Environment, module: Any, args: list, at) -> Any:
    tensor = args[0] if len(args) == 1 else None
    if not isinstance(tensor, SymTensor):
        raise SpecError(f"{class_name(module)} takes one tensor", at)
    name = env.trace_names.get(id(module)) or env.trace.unique(class_name(module).lower())
    return env.trace.apply(Identity(where=at), [tensor], name, "torch", module=module)


def run_sequential(interp, children: dict, args: list, kwargs: dict, at) -> Any:
    if len(args) != 1 or kwargs:
        raise SpecError("nn.Sequential takes one input", at)
    value = args[0]
    for child in children.values():
        value = interp.call(child, [value], {}, at)
    return value


def _what(value: Any) -> str:
    if isinstance(value, Foreign):
        return value.describe()
    if isinstance(value, Instance):
        return f"a {value.cls.name}"
    if isinstance(value, UserClass):
        return f"the class {value.name}"
    return type(value).__name__
