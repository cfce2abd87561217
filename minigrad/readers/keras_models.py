"""Keras layers and models as the interpreter sees them.

- `KerasLayer`: a layer object (`layers.Conv2D(32, 3)`), named when it is made, as Keras names
  it. Called on a symbolic tensor it records one node; called twice it is one layer used twice.
- `keras.Input(...)` / `InputLayer(...)`: the input of a functional model, or of a Sequential.
- `KerasSequential`: a list of layers and its input shape (from `Input`, `InputLayer`, the first
  layer's `input_shape=`/`input_dim=`, or `model.build(...)`). It is traced when chosen.
- `KerasFunctional`: `keras.Model(inputs, outputs)`; its nodes were recorded as the code ran.
- a pasted class deriving from keras.Model or keras.layers.Layer: `call()` is run when traced.

What the code does with a model (`summary()`, `compile()`, `fit()`…) marks it as the model.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from minigrad import layers as K
from minigrad.errors import SpecError, Where, did_you_mean
from minigrad.layers.base import Layer
from minigrad.readers.arguments import Args, Signature, bind, unknown_error
from minigrad.readers.environment import Environment, Function
from minigrad.readers.interp.values import MISSING, BoundMethod, Foreign, Instance, Unknown
from minigrad.readers.trace import SCALAR_OPS, SymTensor, Trace

MODEL_METHODS = ("summary", "compile", "fit", "evaluate", "predict", "save", "save_weights",
                 "load_weights", "train_on_batch", "fit_generator", "count_params", "get_weights",
                 "set_weights", "to_json")


def snake_case(name: str) -> str:
    """Keras' to_snake_case: Conv2D → conv2d, MaxPooling2D → max_pooling2d, ReLU → re_lu."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


class KerasLayer(Foreign):
    """One Keras layer object; `make` turns its bound arguments into a layer kind."""

    def __init__(self, env: Environment, class_name: str, args: Args,
                 make: Callable[[Args], Layer], name: str, input_shape: tuple | None, where: Where | None):
        self.env = env
        self.class_name = class_name
        self.args = args
        self.name = name
        self.input_shape = input_shape   # input_shape= / input_dim= given to this layer
        self.where = where
        self._make = make
        self._layer: Layer | None = None
        self.trainable = True    # trainable=False, or layer.trainable = False: frozen weights

    def describe(self) -> str:
        return f"{self.class_name}(...)"

    def set_attr(self, interp, name, value, at):
        if name == "trainable" and isinstance(value, bool):
            self.trainable = value

    def layer(self) -> Layer:
        if self._layer is None:
            self._layer = self._make(self.args)
        return self._layer

    def get_attr(self, interp, name, at):
        if name == "name":
            return self.name
        if name in self.args.values:
            return self.args.values[name]
        return Unknown(f"{self.name}.{name}", at)

    def call(self, interp, args, kwargs, at):
        inputs = args[0] if args else kwargs.get("inputs")
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not tensors or not all(self.env.keras_traced(t) for t in tensors):
            sample = next((t for t in tensors if isinstance(t, SymTensor) and t.trace is None), None)
            return sample if sample is not None else Unknown(f"the output of {self.name}", at)
        traces = {id(t.trace) for t in tensors}
        if len(traces) > 1:
            raise SpecError(f"{self.name}: its inputs come from different models", at)
        return apply_layer(tensors[0].trace, self, tensors)


def apply_layer(trace: Trace, layer: KerasLayer, tensors: list[SymTensor]) -> SymTensor:
    """One call of a Keras layer; inside a nested model or custom layer its row is named
    'outer.inner', as Keras' expand_nested summary groups it."""
    return trace.apply(layer.layer(), tensors, layer.env.qualified(layer.name), "keras", module=layer,
                       trainable=layer.trainable)


class LayerClass(Foreign):
    """keras.layers.Conv2D and friends; `table` is None for a layer cnncalc does not know."""

    def __init__(self, env: Environment, name: str, table: tuple[Signature, Callable] | None,
                 base_name: str, hint: str | None = None):
        self.env = env
        self.name = name
        self.table = table
        self.base_name = base_name
        self.hint = hint

    def describe(self) -> str:
        return f"layers.{self.name}"

    def is_class(self) -> bool:
        return True

    def instance_check(self, interp, value):
        return isinstance(value, KerasLayer) and value.class_name == self.name

    def call(self, interp, args, kwargs, at):
        name = kwargs.get("name")
        if name is not None and not isinstance(name, str):
            raise SpecError(f"{self.name}: name must be a string, got {name!r}", at)
        name = name or self.env.keras_name(self.base_name)
        input_shape = _declared_input(kwargs, at)
        if self.table is None:
            def make(a: Args, cls=self.name, hint=self.hint) -> Layer:
                raise SpecError(f"{cls} is not a layer cnncalc knows", a.at,
                                hint=hint or "see the README's list of layer kinds")
            bound = Args(self.name, dict(kwargs), at)
        else:
            signature, make = self.table
            bound = bind(signature, self.name, args, kwargs, at)
        layer = KerasLayer(self.env, self.name, bound, make, name, input_shape, at)
        if kwargs.get("trainable") is False:
            layer.trainable = False
        return layer


def _declared_input(kwargs: dict, at) -> tuple | None:
    """input_shape=(28, 28, 1), batch_input_shape=(None, 28, 28, 1) or input_dim=784."""
    if "input_shape" in kwargs:
        return _shape(kwargs["input_shape"], "input_shape", at)
    if "batch_input_shape" in kwargs:
        return _batch_shape(kwargs["batch_input_shape"], "batch_input_shape", at)
    if "input_dim" in kwargs and "output_dim" not in kwargs:  # Embedding's input_dim is its vocabulary
        return _shape((kwargs["input_dim"],), "input_dim", at)
    if "input_length" in kwargs:
        return _shape((kwargs["input_length"],), "input_length", at)
    return None


def _shape(value: Any, what: str, at) -> tuple | Unknown:
    """A declared input shape; an Unknown stays unknown (an error only if --input does not
    replace it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, Unknown):
        return value
    if not isinstance(value, (tuple, list)) or not all(
            v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value):
        raise SpecError(f"{what} must be a tuple of sizes, got {value!r}", at)
    return tuple(value)


def _batch_shape(value: Any, what: str, at) -> tuple | Unknown:
    """(None, 28, 28, 1) → (28, 28, 1)."""
    shape = _shape(value, what, at)
    if isinstance(shape, Unknown):
        return shape
    if not shape:
        raise SpecError(f"{what} must start with the batch size, got ()", at)
    return shape[1:]


class InputLayer(Foreign):
    """InputLayer(input_shape=…) inside a Sequential list: it only states the input shape."""

    def __init__(self, shape: tuple, name: str, where=None):
        self.shape = shape
        self.name = name
        self.where = where

    @staticmethod
    def factory(env: Environment) -> Function:
        def make(interp, args, kwargs, at):
            shape = kwargs.get("shape", kwargs.get("input_shape", args[0] if args else None))
            for key in ("batch_shape", "batch_input_shape"):
                if shape is None and key in kwargs:
                    shape = _batch_shape(kwargs[key], key, at)
            name = kwargs.get("name") or env.keras_name("input_layer")
            return InputLayer(_shape(shape, "InputLayer shape", at), name, at)
        return Function("InputLayer", make)


def keras_input(env: Environment, args: list, kwargs: dict, at) -> SymTensor:
    """keras.Input(shape=(28, 28, 1)): the start of a functional model."""
    bound = bind(Signature(("shape", "batch_size", "dtype", "sparse", "batch_shape", "name", "tensor",
                            "optional"), 0, frozenset({"ragged"})), "keras.Input", args, kwargs, at)
    shape = bound.values.get("shape")
    if shape is None and bound.values.get("batch_shape") is not None:
        shape = _batch_shape(bound.values["batch_shape"], "batch_shape", at)
    shape = _shape(shape, "keras.Input shape", at)
    name = bound.values.get("name") or env.keras_name("input_layer")
    if isinstance(shape, Unknown):
        if env.input_override is None:
            raise unknown_error(shape, "keras.Input(shape=...)", at)
        shape = env.input_override
    elif any(d is None for d in shape):
        if env.input_override is None:
            raise SpecError(f"keras.Input(shape={shape}): sizes given as None are known only when "
                            "data arrives", at, hint="pass --input with the sizes, e.g. --input 224x224x3")
        shape = env.input_override
    if env.keras_trace is None:
        env.keras_trace = Trace("hwc", "keras", env.tensor_methods)
    return env.keras_trace.input(shape, name, "keras", at)


class KerasSequential(Foreign):
    """keras.Sequential([...]) or Sequential() with .add(...)."""

    def __init__(self, env: Environment, name: str, where: Where | None):
        self.env = env
        self.name = name
        self.where = where
        self.layers: list[Any] = []
        self.input_shape: tuple | None = None
        self.input_name = "input"
        self.input_where: Where | None = None

    def describe(self) -> str:
        return f"the Sequential model {self.name}"

    def add(self, layer: Any, at) -> None:
        if isinstance(layer, InputLayer):
            self.input_shape, self.input_name, self.input_where = layer.shape, layer.name, layer.where
            return
        if isinstance(layer, SymTensor) and layer.trace is not None and not self.layers:
            self.input_shape = layer.shape  # keras.Input(...) as the first entry
            return
        if isinstance(layer, Unknown):
            missing = layer.reason.removesuffix(" is not defined") if layer.reason.endswith(" is not defined") else None
            raise SpecError(f"{self.name}: a layer is {layer.reason}" if missing is None else
                            f"{self.name}: '{missing}' is not defined", layer.where or at,
                            hint=(did_you_mean(missing, self.env.keras_layer_names) or "is it imported?")
                            if missing else None)
        if not (isinstance(layer, (KerasLayer, KerasSequential, KerasFunctional)) or is_keras_model(layer)):
            raise SpecError(f"{self.name}: {_what(layer)} is not a Keras layer", at)
        if not self.layers and self.input_shape is None:
            if isinstance(layer, KerasLayer) and layer.input_shape:
                self.input_shape = layer.input_shape
            elif isinstance(layer, KerasSequential) and layer.input_shape is not None:
                self.input_shape = layer.input_shape  # a nested Sequential that states its input
        self.layers.append(layer)

    def get_attr(self, interp, name, at):
        env = self.env
        if name == "add":
            def add(interp, args, kwargs, at):
                bound = bind(Signature(("layer", "rebuild"), 1), f"{self.name}.add", args, kwargs, at)
                self.add(bound.values["layer"], at)
            return Function("add", add)
        if name == "pop":
            return Function("pop", lambda interp, args, kwargs, at: self.layers.pop() if self.layers else None)
        if name == "build":
            def build(interp, args, kwargs, at):
                shape = args[0] if args else kwargs.get("input_shape")
                self.input_shape = _batch_shape(shape, "build(input_shape)", at)
            return Function("build", build)
        if name == "layers":
            return list(self.layers)
        if name == "name":
            return self.name
        if name in MODEL_METHODS:
            return _marks_model(env, self, name)
        return Unknown(f"{self.name}.{name}", at)

    def call(self, interp, args, kwargs, at):
        tensor = args[0] if args else kwargs.get("inputs")
        if not self.env.keras_traced(tensor):
            if isinstance(tensor, SymTensor) and tensor.trace is None:
                self.env.signal("called on a sample tensor", self, at, tensor.shape)
            return Unknown(f"the output of {self.name}", at)
        self.env.nested.add(id(self))
        declared = self.input_shape
        if isinstance(declared, tuple) and None not in declared and declared != tensor.shape \
                and tensor.node is not None and tensor.trace.uses[tensor.node].node.layer.type != "input":
            raise SpecError(f"{self.name} was built for inputs of shape {_text(declared)} but "
                            f"receives {_text(tensor.shape)}", at)
        with self.env.scoped("" if self is self.env.root else self.name):
            for layer in self.layers:
                tensor = interp.call(layer, [tensor], {}, at)
        return tensor


class KerasFunctional(Foreign):
    """keras.Model(inputs, outputs): the nodes between them were recorded as the code ran."""

    def __init__(self, env: Environment, inputs: list[SymTensor], outputs: list[SymTensor], name: str,
                 where: Where | None):
        self.env = env
        self.inputs = inputs
        self.outputs = outputs
        self.name = name
        self.where = where

    def describe(self) -> str:
        return f"the model {self.name}"

    def get_attr(self, interp, name, at):
        if name in MODEL_METHODS:
            return _marks_model(self.env, self, name)
        if name == "name":
            return self.name
        return Unknown(f"{self.name}.{name}", at)

    def call(self, interp, args, kwargs, at):
        tensor = args[0] if args else kwargs.get("inputs")
        tensors = list(tensor) if isinstance(tensor, (list, tuple)) else [tensor]
        if not all(self.env.keras_traced(t) for t in tensors):
            return Unknown(f"the output of {self.name}", at)
        self.env.nested.add(id(self))
        with self.env.scoped(self.name):
            outputs = replay(self.env.keras_trace, self.inputs, self.outputs, tensors, at,
                             self.env.qualified)
        return outputs[0] if len(outputs) == 1 else outputs


def replay(source: Trace, inputs: list[SymTensor], outputs: list[SymTensor], new_inputs: list[SymTensor],
           at, rename=lambda name: name) -> list[SymTensor]:
    """Apply a recorded model's nodes again, to new inputs (a model used as a layer)."""
    if len(inputs) != len(new_inputs):
        raise SpecError(f"the model takes {len(inputs)} inputs, got {len(new_inputs)}", at)
    graph_nodes = {t.node: n for t, n in zip(inputs, new_inputs)}
    needed = sorted(_ancestors(source, [t.node for t in outputs]))
    for index in needed:
        if index in graph_nodes:
            continue
        node = source.uses[index].node
        module = source.modules[index]
        tensors = [graph_nodes[i] for i in node.inputs]
        trace = new_inputs[0].trace
        graph_nodes[index] = trace.apply(node.layer, tensors, rename(node.name), "keras", module=module,
                                         functional=node.functional)
    return [graph_nodes[t.node] for t in outputs]


def _ancestors(trace: Trace, starts: list[int]) -> set[int]:
    seen, stack = set(), list(starts)
    while stack:
        index = stack.pop()
        if index not in seen:
            seen.add(index)
            stack += trace.uses[index].node.inputs
    return seen


class SequentialClass(Foreign):
    def __init__(self, env: Environment):
        self.env = env

    def describe(self) -> str:
        return "keras.Sequential"

    def is_class(self) -> bool:
        return True

    def instance_check(self, interp, value):
        return isinstance(value, KerasSequential)

    def call(self, interp, args, kwargs, at):
        name = kwargs.get("name") or self.env.keras_name("sequential")
        model = KerasSequential(self.env, name, at)
        items = args[0] if args else kwargs.get("layers")
        if isinstance(items, Unknown):
            raise SpecError("Sequential(...): its list of layers is known only when the code runs", at)
        if items is not None and not isinstance(items, (list, tuple)):
            raise SpecError(f"Sequential takes a list of layers, not {_what(items)}", at)
        for layer in items or []:
            model.add(layer, at)
        self.env.built.append((model, at))
        return model


class ModelClass(Foreign):
    """keras.Model / keras.layers.Layer: called with inputs and outputs it makes a functional
    model; subclassed, its instances run their `call()` when traced."""

    def __init__(self, env: Environment, kind: str):
        self.env = env
        self.kind = kind  # "Model" or "Layer"

    def describe(self) -> str:
        return f"keras.{self.kind}"

    def is_class(self) -> bool:
        return True

    def instance_check(self, interp, value):
        return is_keras_model(value) or (self.kind == "Layer" and isinstance(value, KerasLayer))

    def call(self, interp, args, kwargs, at):
        inputs = kwargs.get("inputs", args[0] if args else None)
        outputs = kwargs.get("outputs", args[1] if len(args) > 1 else None)
        as_list = lambda v: list(v.values()) if isinstance(v, dict) else list(v) if isinstance(v, (list, tuple)) else [v]
        inputs, outputs = as_list(inputs), as_list(outputs)
        if not all(self.env.keras_traced(t) for t in inputs + outputs):
            bad = next(t for t in inputs + outputs if not self.env.keras_traced(t))
            if isinstance(bad, Unknown):
                return bad
            raise SpecError(f"keras.Model(inputs, outputs): {_what(bad)} is not a tensor of the "
                            "functional API", at)
        name = kwargs.get("name") or self.env.keras_name("functional")
        model = KerasFunctional(self.env, inputs, outputs, name, at)
        self.env.built.append((model, at))
        return model

    def init_instance(self, interp, instance, args, kwargs, at):
        if "keras_name" not in instance.extra:
            name = kwargs.get("name")
            if name is not None and not isinstance(name, str):
                raise SpecError(f"{instance.cls.name}: name must be a string, got {name!r}", at)
            instance.extra["keras_name"] = name or self.env.keras_name(snake_case(instance.cls.name))
            if self.kind == "Model":
                self.env.built.append((instance, at))

    def instance_attr(self, interp, instance, name, at):
        if name in MODEL_METHODS:
            return _marks_model(self.env, instance, name)
        if name == "build":
            def build(interp, args, kwargs, at):
                shape = args[0] if args else kwargs.get("input_shape")
                instance.extra["input_shape"] = _batch_shape(shape, "build(input_shape)", at)
            return Function("build", build)
        if name == "name":
            return instance.extra.get("keras_name")
        if name in ("trainable", "built"):
            return True
        if name == "layers":
            return [v for v in instance.attrs.values() if isinstance(v, KerasLayer)]
        if name in ("add_weight", "add_loss", "add_metric"):
            return Function(name, lambda interp, args, kwargs, at: Unknown(f"self.{name}(...)", at))
        return MISSING

    def instance_call(self, interp, instance, args, kwargs, at):
        tensor = args[0] if args else kwargs.get("inputs")
        if not self.env.keras_traced(tensor):
            if isinstance(tensor, SymTensor) and tensor.trace is None and self.kind == "Model":
                self.env.signal("called on a sample tensor", instance, at, tensor.shape)
            return Unknown(f"the output of {instance.cls.name}", at)
        call = instance.cls.lookup("call")
        if call is MISSING:
            raise SpecError(f"class {instance.cls.name} has no call(); cnncalc follows it to see how "
                            "the layers connect", instance.cls.where)
        kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        root = instance is self.env.root
        if not root:
            self.env.nested.add(id(instance))
        with self.env.scoped("" if root else instance.extra.get("keras_name", "")):
            return interp.call(BoundMethod(call, instance), [tensor, *args[1:]], kwargs, at)


def is_keras_model(value: Any) -> bool:
    if isinstance(value, (KerasSequential, KerasFunctional)):
        return True
    return (isinstance(value, Instance) and isinstance(value.cls.foreign_base(), ModelClass)
            and value.cls.foreign_base().kind == "Model")


def _marks_model(env: Environment, model: Any, method: str) -> Function:
    def run(interp, args, kwargs, at):
        env.signal(f"{method}()", model, at)
        return Unknown(f"the result of {method}()", at)
    return Function(method, run)


class KerasTensorMethods:
    """x.shape, x + y… on Keras symbolic tensors."""

    def __init__(self, env: Environment):
        self.env = env

    def get_attr(self, interp, tensor, name, at):
        if name == "shape":
            return (None if tensor.trace is not None else tensor.batch, *tensor.shape)
        if name == "ndim":
            return len(tensor.shape) + 1
        return Unknown(f"x.{name}", at)

    def binary(self, interp, tensor, op, other, right, at):
        merge = {"+": "add", "-": "subtract", "*": "multiply"}.get(op)
        if isinstance(other, SymTensor) and self.env.keras_traced(other) and self.env.keras_traced(tensor):
            if merge is None:
                raise SpecError(f"'{op}' between two tensors is not a layer cnncalc follows", at)
            left, right_tensor = (other, tensor) if right else (tensor, other)
            return tensor.trace.apply(K.Merge(op=merge, where=at), [left, right_tensor],
                                      tensor.trace.unique(self.env.qualified(merge)), "keras", functional=True)
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self.scalar(tensor, op, other, right, at)
        return Unknown(f"a tensor {op} {type(other).__name__}", at)

    def scalar(self, tensor, op, number, number_first, at):
        """`x * 0.5`, `1 - x`: a row of its own, so that a built model computes it too."""
        kind = SCALAR_OPS.get((op, number_first))
        if kind is None or not self.env.keras_traced(tensor):
            return tensor if kind is not None else Unknown(f"a tensor {op} a number", at)
        return tensor.trace.apply(K.Elementwise(op=kind, operand=float(number), where=at), [tensor],
                                  tensor.trace.unique(self.env.qualified(kind)), "keras", functional=True)

    def unary(self, interp, tensor, op, at):
        return self.scalar(tensor, "*", -1, False, at) if op == "-" else tensor

    def get_item(self, interp, tensor, key, at):
        return Unknown("a slice of a tensor", at)


def _text(shape: tuple) -> str:
    return "×".join(str(d) for d in shape)


def _what(value: Any) -> str:
    if isinstance(value, Foreign):
        return value.describe()
    if isinstance(value, Instance):
        return f"a {value.cls.name}"
    return type(value).__name__
