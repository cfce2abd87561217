"""Pasted Keras code: a Sequential model, given as a list or built with model.add().

    model = tf.keras.Sequential([
        tf.keras.layers.InputLayer(input_shape=(28, 28, 1)),
        tf.keras.layers.Conv2D(32, (3, 3), activation='relu', padding='same'),
        tf.keras.layers.MaxPooling2D((2, 2)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(10, activation='softmax'),
    ])

    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    ...

The code is read with `ast`, never run. Module prefixes (tf.keras.layers., keras.layers.,
layers., ...) are dropped. Besides the model, only imports and model.summary() may appear.
The input shape comes from Input / InputLayer, or from input_shape=, batch_input_shape= or
input_dim= on the first layer. Shapes are H x W x C with TensorFlow's 'same' padding.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from ..errors import SpecError, Where, did_you_mean
from ..layers import (
    ACTIVATIONS,
    Activation,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalPool,
    Layer,
    Network,
    Pool,
)
from .pycode import Args, Code, Signature, describe, is_docstring, is_import, last_name

# Keyword arguments every Keras layer takes (the base Layer's). input_shape and the like set the
# network input when given on the first layer; Input and InputLayer take shape= too.
_BASE = ("name", "input_shape", "batch_input_shape", "input_dim", "batch_size", "dtype",
         "trainable")
_INPUT_KEYS = ("input_shape", "batch_input_shape", "input_dim", "shape", "batch_shape")
_BASE_FIXED = {"trainable": (True,)}  # frozen weights would change the trainable count
_CHANNELS_LAST = {"data_format": ("channels_last", None), **_BASE_FIXED}
_WEIGHT_OPTIONS = ("kernel_initializer", "bias_initializer", "kernel_regularizer",
                   "bias_regularizer", "activity_regularizer", "kernel_constraint",
                   "bias_constraint")
# activation=tf.nn.relu names a function instead of a string; these names are understood.
_ACTIVATION_REFS = {
    **{f"{module}.{fn}": fn for module in ("tf.keras.activations", "keras.activations",
                                           "activations") for fn in ACTIVATIONS},
    **{f"tf.nn.{fn}": fn for fn in ("relu", "sigmoid", "tanh", "softmax", "log_softmax")},
}
_ACTIVATION = {"activation": _ACTIVATION_REFS}


def _conv(a: Args) -> Layer:
    return Conv(filters=a.positive("filters"), kernel=a.pair("kernel_size"),
                stride=a.pair("strides", (1, 1)), padding=_padding(a),
                dilation=a.pair("dilation_rate", (1, 1)), bias=a.flag("use_bias", True),
                activation=_activation(a))


def _pool(mode: str):
    def build(a: Args) -> Layer:
        return Pool(mode=mode, kernel=a.pair("pool_size", (2, 2)),
                    stride=a.pair("strides", None, none_ok=True), padding=_padding(a))
    return build


def _dense(a: Args) -> Layer:
    return Dense(units=a.positive("units"), bias=a.flag("use_bias", True),
                 activation=_activation(a))


def _global_pool(a: Args) -> Layer:
    return GlobalPool(mode="avg", keepdims=a.flag("keepdims", False))


def _activation_layer(a: Args) -> Layer:
    return Activation(fn=_activation(a) or "linear")  # Keras reads None as 'linear'


_POOL = Signature(("pool_size", "strides", "padding", "data_format"), keywords=_BASE,
                  fixed=_CHANNELS_LAST)
_GLOBAL_POOL = Signature(("data_format", "keepdims"), keywords=_BASE, fixed=_CHANNELS_LAST)
# Input and InputLayer have no layer: builders return None and the caller reads the shape.
_INPUT = Signature(("shape", "batch_size"),
                   keywords=("input_shape", "batch_input_shape", "batch_shape", "dtype", "name"))

LAYERS = {
    "Conv2D": (Signature(("filters", "kernel_size", "strides", "padding", "data_format",
                          "dilation_rate", "groups", "activation", "use_bias") + _WEIGHT_OPTIONS,
                         required=2, keywords=_BASE,
                         fixed={"groups": (1,), **_CHANNELS_LAST}, refs=_ACTIVATION), _conv),
    "MaxPooling2D": (_POOL, _pool("max")),
    "MaxPool2D": (_POOL, _pool("max")),
    "AveragePooling2D": (_POOL, _pool("avg")),
    "AvgPool2D": (_POOL, _pool("avg")),
    "GlobalAveragePooling2D": (_GLOBAL_POOL, _global_pool),
    "GlobalAvgPool2D": (_GLOBAL_POOL, _global_pool),
    "Flatten": (Signature(("data_format",), keywords=_BASE, fixed=_CHANNELS_LAST),
                lambda a: Flatten()),
    "Dense": (Signature(("units", "activation", "use_bias") + _WEIGHT_OPTIONS, required=1,
                        keywords=_BASE, fixed=_BASE_FIXED, refs=_ACTIVATION), _dense),
    "Dropout": (Signature(("rate", "noise_shape", "seed"), required=1, keywords=_BASE,
                          fixed=_BASE_FIXED), lambda a: Dropout(rate=a.rate("rate"))),
    "BatchNormalization": (
        Signature(("axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                   "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                   "beta_regularizer", "gamma_regularizer", "beta_constraint",
                   "gamma_constraint"), keywords=_BASE + ("synchronized",),
                  # the channel axis only; without center/scale there is no beta/gamma to count
                  fixed={"axis": (-1, 3), "center": (True,), "scale": (True,), **_BASE_FIXED}),
        lambda a: BatchNorm()),
    "Activation": (Signature(("activation",), required=1, keywords=_BASE, fixed=_BASE_FIXED,
                             refs=_ACTIVATION), _activation_layer),
    "InputLayer": (_INPUT, lambda a: None),
    "Input": (_INPUT, lambda a: None),
}
_SEQUENTIAL = Signature(("layers",), keywords=("name", "trainable"), fixed={"trainable": (True,)},
                        raw=("layers",))
_ADD = Signature(("layer",), required=1, raw=("layer",))


def parse(text: str) -> Network:
    """Parse pasted Keras Sequential code into a Network (layout hwc, Keras rules)."""
    code = Code(text)
    reader = _Reader(code)
    code.read_statements(reader.statement)
    return reader.network()


class _Reader:
    """Collects the model's layers and input shape, statement by statement."""

    def __init__(self, code: Code):
        self.code = code
        self.model: ast.Call | None = None  # the Sequential(...) call, once seen
        self.variable: str | None = None    # the name it is assigned to, for model.add()
        self.layers: list[Layer] = []
        self.input_shape: tuple[int, ...] | None = None
        self.input_where: Where | None = None

    def statement(self, node: ast.stmt) -> None:
        if is_import(node) or is_docstring(node):
            return  # imports are never executed: they only say where the names come from
        call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        if not isinstance(call, ast.Call):
            raise self.code.not_model(node)
        if last_name(call.func) == "Sequential":
            if isinstance(node, ast.Assign) and not (len(node.targets) == 1
                                                     and isinstance(node.targets[0], ast.Name)):
                raise self.code.not_model(node)
            self.sequential(call, node.targets[0].id if isinstance(node, ast.Assign) else None)
        elif isinstance(node, ast.Expr) and self.is_model_method(call, "add"):
            self.layer(self.code.bind(call, _ADD, "model.add").value("layer"))
        elif not (isinstance(node, ast.Expr) and self.is_model_method(call, "summary")):
            raise self.code.not_model(node)

    def is_model_method(self, call: ast.Call, method: str) -> bool:
        func = call.func
        return (self.variable is not None and isinstance(func, ast.Attribute)
                and func.attr == method and isinstance(func.value, ast.Name)
                and func.value.id == self.variable)

    def sequential(self, call: ast.Call, variable: str | None) -> None:
        if self.model is not None:
            raise SpecError("a second Sequential model; paste one model at a time",
                            self.code.where(call))
        self.model, self.variable = call, variable
        layers = self.code.bind(call, _SEQUENTIAL, "Sequential").value("layers")
        if layers is None or isinstance(layers, ast.Constant) and layers.value is None:
            return
        if not isinstance(layers, (ast.List, ast.Tuple)):
            raise SpecError(f"Sequential takes a list of layers, not {describe(layers)}",
                            self.code.where(layers))
        for node in layers.elts:
            self.layer(node)

    def layer(self, node: ast.AST) -> None:
        if not isinstance(node, ast.Call):
            raise SpecError(f"expected a layer such as Conv2D(...), not {describe(node)}",
                            self.code.where(node))
        kind = last_name(node.func)
        if kind not in LAYERS:
            raise SpecError(f"unknown Keras layer '{kind or describe(node.func)}'",
                            self.code.where(node.func), did_you_mean(kind, LAYERS))
        signature, build = LAYERS[kind]
        args = self.code.bind(node, signature, kind)
        self.take_input(args, node)
        layer = build(args)
        if layer is not None:
            self.layers.append(replace(layer, name=args.text("name"), where=self.code.where(node)))

    def take_input(self, args: Args, node: ast.Call) -> None:
        """Set the network input from shape=, input_shape=, batch_input_shape= or input_dim=."""
        keys = [key for key in _INPUT_KEYS if key in args]
        is_input = args.what in ("Input", "InputLayer")
        if not keys:
            if is_input:
                raise SpecError(f"{args.what} needs a shape, e.g. {args.what}(shape=(28, 28, 1))",
                                self.code.where(node))
            return
        if len(keys) > 1:
            raise args.error(keys[1], f"the input shape is given twice ({keys[0]} and {keys[1]})")
        if self.input_shape is not None or self.layers:
            raise args.error(keys[0], "the input shape must come once, on the first layer")
        key = keys[0]
        value = args.value(key)
        if key == "input_dim" or isinstance(value, int) and not isinstance(value, bool):
            value = (value,)  # input_shape=(784) is the number 784, not a tuple: accept it
        if key.startswith("batch_"):
            if not isinstance(value, tuple) or len(value) < 2:
                raise args.error(key, f"{key} must include the batch axis, e.g. (None, 28, 28, 1)")
            value = value[1:]
        if not isinstance(value, tuple) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value):
            raise args.error(key, f"the input shape must be positive whole numbers such as "
                                  f"(28, 28, 1), got {args.value(key)!r}")
        self.input_shape, self.input_where = value, self.code.where(args.node(key))

    def network(self) -> Network:
        if self.model is None:
            raise SpecError("no Sequential model found; paste code like "
                            "'model = Sequential([Conv2D(32, 3, input_shape=(28, 28, 1)), ...])'")
        if not self.layers and self.input_shape is None:
            raise SpecError("empty model: no layers found", self.code.where(self.model))
        return Network(self.input_shape, tuple(self.layers), "hwc", "keras", self.input_where)


def _padding(a: Args) -> str:
    value = a.value("padding", "valid")
    if isinstance(value, str) and value.lower() in ("valid", "same"):
        return value.lower()
    raise a.error("padding", f"padding must be 'valid' or 'same', got {value!r}",
                  did_you_mean(value, ("valid", "same")) if isinstance(value, str) else None)


def _activation(a: Args) -> str | None:
    value = a.value("activation")
    if value is None or value in ACTIVATIONS:
        return value
    if not isinstance(value, str):
        raise a.error("activation", f"activation must be a name such as 'relu', got {value!r}")
    raise a.error("activation", f"unsupported activation '{value}'; cnncalc knows "
                                f"{', '.join(ACTIVATIONS)}", did_you_mean(value, ACTIVATIONS))
