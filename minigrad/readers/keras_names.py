"""Keras' names, as symbolic objects: `keras`, `tf.keras`, `keras.layers`, `keras.Input`,
`Sequential`, `Model`, the functional merges and activations. The table maps each layer class,
with its arguments spelt as Keras spells them, onto a layer kind of minigrad.layers.

Shapes are channels-last (H×W×C, L×C for 1-D) and the rules are Keras' ('same' gives
ceil(H/S) with the odd padding pixel after; count_params() includes batch norm's moving
statistics as non-trainable). Layers are named as Keras 3 names them: the class name in
snake_case (`conv2d`, `max_pooling2d`, `re_lu`) with `_1`, `_2`… counted over the whole script.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from minigrad import layers as K
from minigrad.errors import SpecError, did_you_mean
from minigrad.readers.arguments import Args, Signature, bind
from minigrad.readers.environment import Environment, Function, LayerMembers, Namespace
from minigrad.readers.interp.values import Foreign, Unknown
from minigrad.readers.data_arrays import DataArray, expand_dims
from minigrad.readers.keras_models import (
    snake_case,
    InputLayer,
    KerasLayer,
    KerasTensorMethods,
    LayerClass,
    ModelClass,
    SequentialClass,
    keras_input,
)

# Options that never change shapes or counts.
_IGNORED = frozenset({
    "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
    "activity_regularizer", "kernel_constraint", "bias_constraint", "depthwise_initializer",
    "pointwise_initializer", "depthwise_regularizer", "pointwise_regularizer",
    "depthwise_constraint", "pointwise_constraint", "beta_initializer", "gamma_initializer",
    "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
    "gamma_regularizer", "beta_constraint", "gamma_constraint", "embeddings_initializer",
    "embeddings_regularizer", "embeddings_constraint", "alpha_initializer", "alpha_regularizer",
    "alpha_constraint", "name", "dtype", "trainable", "input_shape", "batch_input_shape",
    "input_dim", "input_length", "batch_size", "seed", "noise_shape", "epsilon", "momentum",
    "synchronized", "fill_mode", "interpolation", "fill_value", "value_range", "mask_zero",
    "lora_rank", "crop_to_aspect_ratio", "pad_to_aspect_ratio",
    "data_format_", "sparse", "autocast",
})

ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
               "linear": "linear", "elu": "elu", "selu": "selu", "gelu": "gelu", "swish": "silu",
               "silu": "silu", "relu6": "relu6", "leaky_relu": "leaky_relu",
               "hard_sigmoid": "hardsigmoid", "hard_swish": "hardswish", "hard_silu": "hardswish",
               "softplus": "softplus", "log_softmax": "log_softmax", "mish": "mish"}




class ActivationFunction(Foreign):
    """tf.nn.relu, keras.activations.softmax…: an `activation=` value, or called on a tensor."""

    def __init__(self, env: Environment, fn: str, written: str):
        self.env = env
        self.fn = fn
        self.written = written

    def describe(self) -> str:
        return self.written

    def call(self, interp, args, kwargs, at):
        tensor = args[0] if args else None
        if not self.env.keras_traced(tensor):
            return self.env.untraced(tensor, self.written, at)
        trace = tensor.trace
        return trace.apply(K.Activation(fn=self.fn, where=at), [tensor],
                           trace.unique(self.env.qualified(self.fn)), "keras", functional=True)


def _activation(a: Args, key: str = "activation") -> str | None:
    value = a.get(key)
    if value is None:
        return None
    if isinstance(value, ActivationFunction):
        return value.fn
    if isinstance(value, str):
        if value.lower() not in ACTIVATIONS:
            raise a.error(f"unknown activation {value!r}", hint=did_you_mean(value, ACTIVATIONS))
        return ACTIVATIONS[value.lower()]
    raise a.error(f"{key} must be a name such as 'relu', got {value!r}")


def _rank_ints(a: Args, key: str, rank: int, default=None, least: int = 1):
    return a.ints(key, rank, default, least)


def _padding(a: Args) -> str:
    value = a.text("padding", "valid").lower()
    if value not in ("valid", "same"):
        raise a.error(f"padding must be 'valid' or 'same', got {a.get('padding')!r}"
                      + (" ('causal' is not supported)" if value == "causal" else ""),
                      hint=did_you_mean(value, ("valid", "same")))
    return value


def _channels_last(a: Args) -> None:
    if a.get("data_format") not in (None, "channels_last"):
        raise a.error("data_format='channels_first' is not supported; cnncalc reads Keras models "
                      "channels-last, as Keras builds them by default")


def _conv(rank: int):
    def make(a: Args) -> K.Layer:
        _channels_last(a)
        return K.Conv(filters=a.integer("filters"), kernel=a.ints("kernel_size", rank),
                      stride=a.ints("strides", rank, 1), padding=_padding(a),
                      dilation=a.ints("dilation_rate", rank, 1), groups=a.integer("groups", 1),
                      bias=a.flag("use_bias", True), activation=_activation(a), where=a.at)
    return make


def _conv_transpose(rank: int):
    def make(a: Args) -> K.Layer:
        _channels_last(a)
        return K.ConvTranspose(filters=a.integer("filters"), kernel=a.ints("kernel_size", rank),
                               stride=a.ints("strides", rank, 1), padding=_padding(a),
                               output_padding=a.ints("output_padding", rank, None, least=0),
                               dilation=a.ints("dilation_rate", rank, 1),
                               bias=a.flag("use_bias", True), activation=_activation(a), where=a.at)
    return make


def _depthwise(rank: int):
    def make(a: Args) -> K.Layer:
        _channels_last(a)
        return K.DepthwiseConv(kernel=a.ints("kernel_size", rank), stride=a.ints("strides", rank, 1),
                               padding=_padding(a), dilation=a.ints("dilation_rate", rank, 1),
                               depth_multiplier=a.integer("depth_multiplier", 1),
                               bias=a.flag("use_bias", True), activation=_activation(a), where=a.at)
    return make


def _separable(rank: int):
    def make(a: Args) -> K.Layer:
        _channels_last(a)
        return K.SeparableConv(filters=a.integer("filters"), kernel=a.ints("kernel_size", rank),
                               stride=a.ints("strides", rank, 1), padding=_padding(a),
                               dilation=a.ints("dilation_rate", rank, 1),
                               depth_multiplier=a.integer("depth_multiplier", 1),
                               bias=a.flag("use_bias", True), activation=_activation(a), where=a.at)
    return make


def _pool(mode: str, rank: int):
    def make(a: Args) -> K.Layer:
        _channels_last(a)
        return K.Pool(mode=mode, kernel=a.ints("pool_size", rank, 2), stride=a.ints("strides", rank, None),
                      padding=_padding(a), where=a.at)
    return make


def _global(mode: str):
    def make(a: Args) -> K.Layer:
        _channels_last(a)
        return K.GlobalPool(mode=mode, keepdims=a.flag("keepdims", False), where=a.at)
    return make


def _pairs(a: Args, key: str, rank: int, default) -> tuple[tuple[int, int], ...]:
    """Keras padding/cropping: n, (a, b) per axis, or ((top, bottom), (left, right))."""
    value = a.get(key, default)
    if not isinstance(value, (int, tuple, list)) or isinstance(value, bool):
        raise a.error(f"{key} must be a number or pairs of numbers, got {value!r}")
    items = (value,) * rank if isinstance(value, int) else tuple(value)
    if rank == 1 and len(items) == 2 and all(isinstance(v, int) for v in items):
        return (tuple(items),)
    if len(items) != rank:
        raise a.error(f"{key} must give {rank} axes, got {value!r}")
    if not all(isinstance(v, (int, tuple, list)) for v in items):
        raise a.error(f"{key} must be non-negative integers, got {value!r}")
    pairs = tuple((v, v) if isinstance(v, int) else tuple(v) for v in items)
    if not all(len(p) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in p)
               for p in pairs):
        raise a.error(f"{key} must be non-negative integers, got {value!r}")
    return pairs


def _relu(a: Args) -> K.Layer:
    max_value, slope = a.get("max_value"), a.number("negative_slope", 0.0)
    if max_value == 6 and not slope:
        return K.Activation(fn="relu6", where=a.at)
    if max_value is not None:
        raise a.error("only max_value=6 (ReLU6) is supported")
    return K.Activation(fn="leaky_relu", alpha=slope, where=a.at) if slope else K.Activation(fn="relu", where=a.at)


def _leaky(a: Args) -> K.Layer:
    slope = a.number("negative_slope", None)
    alpha = a.number("alpha", None)
    return K.Activation(fn="leaky_relu", alpha=slope if slope is not None else alpha if alpha is not None
                        else 0.3, where=a.at)


def _reshape(a: Args) -> K.Layer:
    target = a.get("target_shape")
    if not isinstance(target, (tuple, list)):
        raise a.error(f"target_shape must be a tuple, got {target!r}")
    return K.Reshape(target=tuple(target), where=a.at)


def _permute(a: Args) -> K.Layer:
    dims = a.get("dims")
    if not isinstance(dims, (tuple, list)) or not all(isinstance(d, int) for d in dims):
        raise a.error(f"dims must be a tuple of axes, got {dims!r}")
    dims = tuple(dims)
    if sorted(dims) != list(range(1, len(dims) + 1)):
        raise a.error(f"dims must be a permutation of 1…{len(dims)}, got {dims!r}")
    return K.Permute(dims=tuple(d - 1 for d in dims), where=a.at)


def _merge(op: str):
    if op == "concat":
        return lambda a: K.Merge(op=op, axis=_axes(a)[0], where=a.at)
    return lambda a: K.Merge(op=op, where=a.at)


_CONV = Signature(("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                   "groups", "activation", "use_bias"), 2, _IGNORED)
_CONV_T = Signature(("filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
                     "dilation_rate", "activation", "use_bias"), 2, _IGNORED)
_DEPTHWISE = Signature(("kernel_size", "strides", "padding", "depth_multiplier", "data_format",
                        "dilation_rate", "activation", "use_bias"), 1, _IGNORED)
_SEPARABLE = Signature(("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                        "depth_multiplier", "activation", "use_bias"), 2, _IGNORED)
_POOL = Signature(("pool_size", "strides", "padding", "data_format"), 0, _IGNORED)
_GLOBAL = Signature(("data_format", "keepdims"), 0, _IGNORED)
_NOTHING = Signature((), 0, _IGNORED)
_MERGE = Signature((), 0, _IGNORED)

LAYERS: dict[str, tuple[Signature, Callable[[Args], K.Layer]]] = {
    "Conv1D": (_CONV, _conv(1)), "Conv2D": (_CONV, _conv(2)),
    "Conv1DTranspose": (_CONV_T, _conv_transpose(1)), "Conv2DTranspose": (_CONV_T, _conv_transpose(2)),
    "DepthwiseConv1D": (_DEPTHWISE, _depthwise(1)), "DepthwiseConv2D": (_DEPTHWISE, _depthwise(2)),
    "SeparableConv1D": (_SEPARABLE, _separable(1)), "SeparableConv2D": (_SEPARABLE, _separable(2)),
    "MaxPooling1D": (_POOL, _pool("max", 1)), "MaxPooling2D": (_POOL, _pool("max", 2)),
    "AveragePooling1D": (_POOL, _pool("avg", 1)), "AveragePooling2D": (_POOL, _pool("avg", 2)),
    "GlobalAveragePooling1D": (_GLOBAL, _global("avg")), "GlobalAveragePooling2D": (_GLOBAL, _global("avg")),
    "GlobalMaxPooling1D": (_GLOBAL, _global("max")), "GlobalMaxPooling2D": (_GLOBAL, _global("max")),
    "Dense": (Signature(("units", "activation", "use_bias"), 1, _IGNORED),
              lambda a: K.Dense(units=a.integer("units"), bias=a.flag("use_bias", True),
                                activation=_activation(a), where=a.at)),
    "Flatten": (Signature(("data_format",), 0, _IGNORED), lambda a: K.Flatten(where=a.at)),
    "Reshape": (Signature(("target_shape",), 1, _IGNORED), _reshape),
    "Permute": (Signature(("dims",), 1, _IGNORED), _permute),
    "Dropout": (Signature(("rate", "noise_shape", "seed"), 1, _IGNORED - {"noise_shape", "seed"}),
                lambda a: K.Dropout(rate=a.rate("rate", 0.5), where=a.at)),
    "SpatialDropout1D": (Signature(("rate",), 1, _IGNORED),
                         lambda a: K.Dropout(rate=a.rate("rate", 0.5), variant="spatial_dropout", where=a.at)),
    "SpatialDropout2D": (Signature(("rate", "data_format"), 1, _IGNORED),
                         lambda a: K.Dropout(rate=a.rate("rate", 0.5), variant="spatial_dropout", where=a.at)),
    "GaussianNoise": (Signature(("stddev",), 1, _IGNORED), lambda a: K.Identity(where=a.at)),
    "GaussianDropout": (Signature(("rate",), 1, _IGNORED), lambda a: K.Dropout(rate=a.rate("rate", 0.5), where=a.at)),
    "AlphaDropout": (Signature(("rate",), 1, _IGNORED), lambda a: K.Dropout(rate=a.rate("rate", 0.5), where=a.at)),
    "BatchNormalization": (Signature(("axis", "momentum", "epsilon", "center", "scale"), 0, _IGNORED),
                           lambda a: K.BatchNorm(scale=a.flag("scale", True), center=a.flag("center", True),
                                                 axis=_norm_axis(a), eps=a.number("epsilon", 1e-3),
                                                 momentum=1 - a.number("momentum", 0.99), where=a.at)),
    "LayerNormalization": (Signature(("axis", "epsilon", "center", "scale", "rms_scaling"), 0, _IGNORED),
                           lambda a: K.LayerNorm(axes=_axes(a), bias=a.flag("center", True),
                                                 elementwise_affine=a.flag("scale", True) or a.flag("center", True),
                                                 eps=a.number("epsilon", 1e-3), where=a.at)),
    "GroupNormalization": (Signature(("groups", "axis", "epsilon", "center", "scale"), 0, _IGNORED),
                           lambda a: K.GroupNorm(groups=a.integer("groups", 32), affine=a.flag("scale", True),
                                                 eps=a.number("epsilon", 1e-3), where=a.at)),
    "Activation": (Signature(("activation",), 1, _IGNORED),
                   lambda a: K.Activation(fn=_activation(a) or "linear", where=a.at)),
    "ReLU": (Signature(("max_value", "negative_slope", "threshold"), 0, _IGNORED), _relu),
    "LeakyReLU": (Signature(("negative_slope", "alpha"), 0, _IGNORED), _leaky),
    "ELU": (Signature(("alpha",), 0, _IGNORED),
            lambda a: K.Activation(fn="elu", alpha=a.number("alpha", 1.0), where=a.at)),
    "PReLU": (Signature(("alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"), 0,
                        _IGNORED - {"alpha_initializer", "alpha_regularizer", "alpha_constraint"}),
              lambda a: K.PReLU(num_parameters=None, shared_axes=_shared_axes(a), where=a.at)),
    "Softmax": (Signature(("axis",), 0, _IGNORED),
                lambda a: K.Activation(fn="softmax", axis=a.integer("axis", -1, least=-99), where=a.at)),
    "UpSampling1D": (Signature(("size",), 0, _IGNORED),
                     lambda a: K.Upsample(scale=a.ints("size", 1, 2), size=None, where=a.at)),
    "UpSampling2D": (Signature(("size", "data_format", "interpolation"), 0, _IGNORED),
                     lambda a: K.Upsample(scale=a.ints("size", 2, 2), size=None,
                                          mode=a.text("interpolation", "nearest"), where=a.at)),
    "ZeroPadding1D": (Signature(("padding",), 0, _IGNORED),
                      lambda a: K.Pad(padding=_pairs(a, "padding", 1, 1), mode="zeros", where=a.at)),
    "ZeroPadding2D": (Signature(("padding", "data_format"), 0, _IGNORED),
                      lambda a: K.Pad(padding=_pairs(a, "padding", 2, 1), mode="zeros", where=a.at)),
    "Cropping1D": (Signature(("cropping",), 0, _IGNORED),
                   lambda a: K.Crop(cropping=_pairs(a, "cropping", 1, (1, 1)), where=a.at)),
    "Cropping2D": (Signature(("cropping", "data_format"), 0, _IGNORED),
                   lambda a: K.Crop(cropping=_pairs(a, "cropping", 2, 0), where=a.at)),
    "Embedding": (Signature(("input_dim", "output_dim"), 2, _IGNORED),
                  lambda a: K.Embedding(num_embeddings=a.integer("input_dim"),
                                        embedding_dim=a.integer("output_dim"), where=a.at)),
    "Identity": (_NOTHING, lambda a: K.Identity(where=a.at)),
    "Add": (_MERGE, _merge("add")), "Subtract": (_MERGE, _merge("subtract")),
    "Multiply": (_MERGE, _merge("multiply")), "Average": (_MERGE, _merge("average")),
    "Maximum": (_MERGE, _merge("maximum")), "Minimum": (_MERGE, _merge("minimum")),
    "Concatenate": (Signature(("axis",), 0, _IGNORED), _merge("concat")),
    "Rescaling": (Signature(("scale", "offset"), 1, _IGNORED),
                  lambda a: K.Rescaling(scale=a.number("scale"), offset=a.number("offset", 0.0), where=a.at)),
    "Normalization": (Signature(("axis", "mean", "variance", "invert"), 0, _IGNORED),
                      lambda a: K.Normalization(axis=a.get("axis", -1), where=a.at,
                                                constants=a.get("mean") is not None)),
    "RandomCrop": (Signature(("height", "width"), 2, _IGNORED),
                   lambda a: K.RandomCrop(height=a.integer("height"), width=a.integer("width"), where=a.at)),
    "Resizing": (Signature(("height", "width"), 2, _IGNORED),
                 lambda a: K.Resizing(height=a.integer("height"), width=a.integer("width"), where=a.at)),
    "CenterCrop": (Signature(("height", "width"), 2, _IGNORED),
                   lambda a: K.CenterCrop(height=a.integer("height"), width=a.integer("width"), where=a.at)),
    **{name: (Signature(("factor", "height_factor", "width_factor", "mode"), 0, _IGNORED | {"factor", "mode"}),
              lambda a, name=name: K.Augment(name=None, kind=name, where=a.at))
       for name in ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                    "RandomContrast", "RandomBrightness")},
}
ALIASES = {"MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D", "AvgPool1D": "AveragePooling1D",
           "AvgPool2D": "AveragePooling2D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
           "GlobalMaxPool2D": "GlobalMaxPooling2D", "Convolution2D": "Conv2D", "Convolution1D": "Conv1D",
           "SeparableConvolution2D": "SeparableConv2D", "Conv2DTranspose": "Conv2DTranspose"}


def _axes(a: Args, key: str = "axis", default=-1) -> tuple[int, ...]:
    """Keras axes count the batch as axis 0; per sample, positive axes are one less."""
    axis = a.get(key, default)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v != 0 for v in axes):
        raise a.error(f"{key} must name axes other than the batch axis 0, got {axis!r}")
    return tuple(v - 1 if v > 0 else v for v in axes)


def _norm_axis(a: Args) -> int | None:
    """BatchNormalization's axis, per sample (None: the channels, Keras' default -1)."""
    axes = _axes(a)
    if len(axes) != 1:
        raise a.error(f"normalizing over several axes ({a.get('axis')!r}) is not supported")
    return None if axes[0] == -1 else axes[0]


def _shared_axes(a: Args) -> tuple[int, ...]:
    return () if a.get("shared_axes") is None else _axes(a, "shared_axes")


# ---------------------------------------------------------------------------------------------
# TensorFlow and keras.ops functions on symbolic tensors: tf.concat, tf.reshape, ops.mean…
# Their axes count the batch as axis 0, as Keras layers' do.
# ---------------------------------------------------------------------------------------------

def _tensor_op(env: Environment, written: str, sig: Signature, make: Callable[[Args, list], K.Layer],
               many: bool = False) -> Function:
    """A function of one tensor (or, with `many`, a list of tensors) that becomes one node."""
    def run(interp, args, kwargs, at):
        bound = bind(sig, written, args, kwargs, at)
        first = bound.values[sig.names[0]]
        tensors = list(first) if many and isinstance(first, (list, tuple)) else [first]
        if not tensors or not all(env.keras_traced(t) for t in tensors):
            sample = next((t for t in tensors if isinstance(t, DataArray)), None)
            if sample is not None and written.endswith("expand_dims"):
                return expand_dims.call(interp, args, kwargs, at)
            unknown = next((t for t in tensors if isinstance(t, Unknown)), None)
            return unknown or Unknown(f"the result of {written}(...)", at)
        trace = tensors[0].trace
        short = written.rsplit(".", 1)[-1]
        return trace.apply(make(bound, tensors), tensors, trace.unique(env.qualified(short)), "keras",
                           functional=True)
    return Function(written, run)


def _per_sample(a: Args, key: str, default=None):
    value = a.get(key, default)
    if value is None:
        return None
    values = (value,) if isinstance(value, int) else tuple(value)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v != 0 for v in values):
        raise a.error(f"{key} must name axes other than the batch axis 0, got {value!r}")
    return tuple(v - 1 if v > 0 else v for v in values)


def _tf_reshape(a: Args, tensors) -> K.Layer:
    shape = a.get("shape")
    if not isinstance(shape, (tuple, list)) or not shape:
        raise a.error(f"shape must be a tuple that starts with the batch size, got {shape!r}")
    return K.Reshape(target=tuple(-1 if d is None else d for d in shape[1:]), where=a.at)


def tensor_ops(env: Environment, prefix: str) -> dict[str, Function]:
    """tf.* (prefix 'tf') or keras.ops.* (prefix 'ops') functions on tensors."""
    def op(name, sig, make, many=False):
        return _tensor_op(env, f"{prefix}.{name}", sig, make, many)

    def merge(kind):
        return lambda a, t: K.Merge(op=kind, where=a.at)
    concat_axis = "axis"
    table = {
        "concat" if prefix == "tf" else "concatenate": op(
            "concat" if prefix == "tf" else "concatenate", Signature(("values", concat_axis), 1, frozenset({"name"})),
            lambda a, t: K.Merge(op="concat", axis=_per_sample(a, concat_axis, -1)[0], where=a.at), many=True),
        "add": op("add", Signature(("x", "y"), 2, frozenset({"name"})), merge("add")),
        "subtract": op("subtract", Signature(("x", "y"), 2, frozenset({"name"})), merge("subtract")),
        "multiply": op("multiply", Signature(("x", "y"), 2, frozenset({"name"})), merge("multiply")),
        "reshape": op("reshape", Signature(("tensor" if prefix == "tf" else "x", "shape"), 2, frozenset({"name"})),
                      _tf_reshape),
        "squeeze": op("squeeze", Signature(("input" if prefix == "tf" else "x", "axis"), 1, frozenset({"name"})),
                      lambda a, t: K.Squeeze(axis=(_per_sample(a, "axis") or (None,))[0], where=a.at)),
        "expand_dims": op("expand_dims", Signature(("input" if prefix == "tf" else "x", "axis"), 2,
                                                  frozenset({"name"})),
                          lambda a, t: K.Unsqueeze(axis=_per_sample(a, "axis")[0], where=a.at)),
        "transpose": op("transpose", Signature(("a" if prefix == "tf" else "x", "perm" if prefix == "tf" else "axes"), 2,
                                              frozenset({"name", "conjugate"})),
                        lambda a, t: _transpose(a, "perm" if prefix == "tf" else "axes")),
    }
    for name, tf_name in (("mean", "reduce_mean"), ("sum", "reduce_sum"), ("max", "reduce_max")):
        written = tf_name if prefix == "tf" else name
        table[written] = op(written, Signature(("input_tensor" if prefix == "tf" else "x", "axis", "keepdims"), 1,
                                               frozenset({"name"})),
                            lambda a, t, name=name: _reduce(a, name))
    for name, fn in ACTIVATIONS.items():
        if prefix == "ops" or name in ("sigmoid", "tanh"):
            table.setdefault(name, ActivationFunction(env, fn, f"{prefix}.{name}"))
    return table


def _transpose(a: Args, key: str) -> K.Layer:
    perm = a.get(key)
    if not isinstance(perm, (tuple, list)) or not perm or perm[0] != 0:
        raise a.error(f"{key} must keep the batch axis first, got {perm!r}")
    return K.Permute(dims=tuple(d - 1 for d in perm[1:]), where=a.at)


def _reduce(a: Args, op: str) -> K.Layer:
    axes = _per_sample(a, "axis")
    if axes is None:
        raise a.error("reducing over every axis mixes the samples of a batch; give axis")
    return K.Reduce(op=op, axes=axes, keepdims=a.flag("keepdims", False), where=a.at)


# ---------------------------------------------------------------------------------------------
# The namespaces: keras, keras.layers, keras.models, tf, tf.keras…
# ---------------------------------------------------------------------------------------------

_FUNCTIONAL_MERGES = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply", "average": "Average",
                      "maximum": "Maximum", "minimum": "Minimum", "concatenate": "Concatenate"}


def _functional_merge(env: Environment, layer_classes: dict, name: str) -> Function:
    """layers.add([a, b]) is Add()([a, b]), named 'add' as Keras names it."""
    def run(interp, args, kwargs, at):
        inputs = args[0] if args else kwargs.pop("inputs", None)
        kwargs = {k: v for k, v in kwargs.items() if k != "inputs"}
        layer = layer_classes[_FUNCTIONAL_MERGES[name]].call(interp, list(args[1:]), kwargs, at)
        return layer.call(interp, [inputs], {}, at)
    return Function(f"layers.{name}", run)


KERAS_DATASETS = {"mnist": (28, 28), "fashion_mnist": (28, 28), "cifar10": (32, 32, 3),
                  "cifar100": (32, 32, 3)}
KERAS_DATASET_SIZES = {"mnist": (60000, 10000), "fashion_mnist": (60000, 10000),
                       "cifar10": (50000, 10000), "cifar100": (50000, 10000)}


def keras_modules(env: Environment) -> dict[str, Any]:
    """The importable Keras names, for `keras…`, `tensorflow.keras…` and `tf.keras…`."""
    env.frameworks.add("keras")
    env.tensor_methods["keras"] = KerasTensorMethods(env)
    env.keras_layer_names = tuple(LAYERS)
    layer_classes: dict[str, Any] = {name: LayerClass(env, name, LAYERS[name], snake_case(name))
                                     for name in LAYERS}
    for alias, name in ALIASES.items():
        layer_classes[alias] = layer_classes[name]
    model_class = ModelClass(env, "Model")
    sequential = SequentialClass(env)
    input_function = Function("keras.Input", lambda interp, args, kwargs, at:
                              keras_input(env, args, kwargs, at))
    activations = {name: ActivationFunction(env, fn, f"activations.{name}") for name, fn in ACTIVATIONS.items()}

    def layer_members() -> dict[str, Any]:
        members: dict[str, Any] = dict(layer_classes)
        members.update({"Input": input_function, "InputLayer": InputLayer.factory(env),
                        "Layer": ModelClass(env, "Layer")})
        members.update({name: _functional_merge(env, layer_classes, name) for name in _FUNCTIONAL_MERGES})
        members["experimental"] = experimental
        return LayerMembers(members, lambda name: LayerClass(env, name, None, snake_case(name),
                                                                hint=did_you_mean(name, LAYERS)))

    layers = Namespace(env, "keras.layers", layer_members)
    # TF 2.x's old home of the preprocessing layers: layers.experimental.preprocessing.Rescaling
    preprocessing = Namespace(env, "keras.layers.experimental.preprocessing", layer_members)
    experimental = Namespace(env, "keras.layers.experimental", {"preprocessing": preprocessing})
    models = Namespace(env, "keras.models", {"Sequential": sequential, "Model": model_class})
    activation_module = Namespace(env, "keras.activations", activations)
    datasets = Namespace(env, "keras.datasets", lambda: {
        name: _KerasDataset(env, name) for name in KERAS_DATASETS})
    keras = Namespace(env, "keras", lambda: {
        "layers": layers, "models": models, "Sequential": sequential, "Model": model_class,
        "Input": input_function, "activations": activation_module, "datasets": datasets,
        "backend": Namespace(env, "keras.backend", {"image_data_format": Function(
            "image_data_format", lambda *a: "channels_last")}),
        "optimizers": Namespace(env, "keras.optimizers", {}),
        "losses": Namespace(env, "keras.losses", {}), "callbacks": Namespace(env, "keras.callbacks", {}),
        "utils": Namespace(env, "keras.utils", {}),
        "ops": Namespace(env, "keras.ops", lambda: tensor_ops(env, "ops"))})
    nn = Namespace(env, "tf.nn", {name: ActivationFunction(env, fn, f"tf.nn.{name}")
                                  for name, fn in ACTIVATIONS.items()})
    tf = Namespace(env, "tensorflow", lambda: {"keras": keras, "nn": nn, **tensor_ops(env, "tf")})
    modules = {"keras": keras, "keras.layers": layers, "keras.models": models,
               "keras.layers.experimental": experimental,
               "keras.layers.experimental.preprocessing": preprocessing,
               "keras.activations": activation_module, "keras.datasets": datasets,
               "keras.backend": keras.get_attr(None, "backend", None), "tensorflow": tf,
               "keras.ops": keras.get_attr(None, "ops", None)}
    for name in list(modules):
        if name.startswith("keras"):
            modules[f"tensorflow.{name}"] = modules[name]
            modules[f"tensorflow.python.{name}"] = modules[name]
    return modules


class _KerasDataset(Foreign):
    """keras.datasets.mnist: load_data() gives arrays whose values are unknown but whose shapes
    are the dataset's, so `input_shape=x_train.shape[1:]` reads as it runs."""

    def __init__(self, env: Environment, name: str):
        self.env = env
        self.name = name

    def get_attr(self, interp, name, at):
        self.env.datasets.append(f"keras:{self.name}")
        if name != "load_data":
            return Unknown(f"keras.datasets.{self.name}.{name}", at)
        image = KERAS_DATASETS[self.name]
        train, test = KERAS_DATASET_SIZES[self.name]
        labels = (1,) if len(image) == 3 else ()   # CIFAR's labels come as N×1

        def load(interp, args, kwargs, at):
            return ((DataArray((train, *image)), DataArray((train, *labels))),
                    (DataArray((test, *image)), DataArray((test, *labels))))
        return Function(f"{self.name}.load_data", load)


__all__ = ["ACTIVATIONS", "KERAS_DATASETS", "LAYERS", "KerasLayer", "keras_modules", "snake_case"]
