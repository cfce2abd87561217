"""PyTorch's names, as symbolic objects: `torch`, `torch.nn`, `torch.nn.functional`, tensor
methods and sample tensors. The tables map each layer class and functional op, with its
arguments spelt as PyTorch spells them, onto a layer kind of minigrad.layers.

Shapes are channels-first (C×H×W, or C×L for 1-D) and the rules are PyTorch's ('same' only at
stride 1, ceil_mode pools, model.parameters() counts without running statistics).
"""

from __future__ import annotations

from typing import Any, Callable

from minigrad import layers as K
from minigrad.errors import SpecError, did_you_mean
from minigrad.readers.arguments import Args, Signature, bind, unknown_error
from minigrad.readers.environment import Environment, Function, LayerMembers, Namespace, lazy
from minigrad.readers.interp.values import Foreign, Unknown
from minigrad.readers.torch_modules import ModuleClass, TorchLayer, is_module
from minigrad.readers.torch_tensors import TorchTensorMethods, merge, tensor_binary
from minigrad.readers.trace import SymTensor

_DEVICE = frozenset({"device", "dtype"})
_INPLACE = frozenset({"inplace"})


def _padding(a: Args, rank: int, key: str = "padding"):
    value = a.get(key, 0)
    if isinstance(value, str):
        if value not in ("same", "valid"):
            raise a.error(f"{key} must be 'same', 'valid' or a number, got {value!r}")
        return value
    return a.ints(key, rank, 0, least=0)


def _conv(rank: int) -> Callable[[Args], K.Layer]:
    def make(a: Args) -> K.Layer:
        mode = a.text("padding_mode", "zeros")
        if mode not in ("zeros", "reflect", "replicate", "circular"):
            raise a.error(f"padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {mode!r}",
                          hint=did_you_mean(mode, ("zeros", "reflect", "replicate", "circular")))
        return K.Conv(in_channels=a.integer("in_channels"), filters=a.integer("out_channels"),
                      kernel=a.ints("kernel_size", rank), stride=a.ints("stride", rank, 1),
                      padding=_padding(a, rank), dilation=a.ints("dilation", rank, 1),
                      groups=a.integer("groups", 1), bias=a.flag("bias", True), padding_mode=mode,
                      where=a.at)
    return make


def _conv_transpose(rank: int) -> Callable[[Args], K.Layer]:
    def make(a: Args) -> K.Layer:
        return K.ConvTranspose(in_channels=a.integer("in_channels"), filters=a.integer("out_channels"),
                               kernel=a.ints("kernel_size", rank), stride=a.ints("stride", rank, 1),
                               padding=a.ints("padding", rank, 0, least=0),
                               output_padding=a.ints("output_padding", rank, 0, least=0),
                               dilation=a.ints("dilation", rank, 1), groups=a.integer("groups", 1),
                               bias=a.flag("bias", True), where=a.at)
    return make


def _pool(mode: str, rank: int) -> Callable[[Args], K.Layer]:
    def make(a: Args) -> K.Layer:
        if a.ints("dilation", rank, 1) not in (None, (1,) * rank):
            raise a.error("dilated pooling is not supported")
        if "return_indices" in a and a.get("return_indices"):
            raise a.error("return_indices=True returns a tuple, which cnncalc does not follow")
        if a.get("count_include_pad", True) is not True or a.get("divisor_override") is not None:
            raise a.error("count_include_pad=False and divisor_override change what the pool "
                          "computes; cnncalc supports PyTorch's defaults")
        return K.Pool(mode=mode, kernel=a.ints("kernel_size", rank),
                      stride=a.ints("stride", rank, None), padding=a.ints("padding", rank, 0, least=0),
                      ceil=a.flag("ceil_mode", False), where=a.at)
    return make


def _adaptive(mode: str, rank: int) -> Callable[[Args], K.Layer]:
    def make(a: Args) -> K.Layer:
        value = a.get("output_size")
        items = (value,) * rank if not isinstance(value, (tuple, list)) else tuple(value)
        if len(items) != rank or not all(v is None or (isinstance(v, int) and v > 0) for v in items):
            raise a.error(f"output_size must be a positive integer or {rank} of them (None "
                          f"keeps a size), got {value!r}")
        return K.AdaptivePool(mode=mode, output=items, where=a.at)
    return make


def _activation(fn: str, alpha_key: str | None = None, axis_key: str | None = None):
    def make(a: Args) -> K.Layer:
        extra = {}
        if alpha_key:
            extra["alpha"] = a.number(alpha_key, _DEFAULT_ALPHA[fn])
        if axis_key and a.get(axis_key) is not None:
            extra["axis"] = a.integer(axis_key, least=-99)
        settings = _SETTINGS.get(fn, lambda a: ())(a)
        return K.Activation(fn=fn, where=a.at, settings=settings, **extra)
    return make


_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


def _gelu_settings(a: Args) -> tuple:
    approximate = a.text("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise a.error(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return (("approximate", approximate),) if approximate != "none" else ()


def _softplus_settings(a: Args) -> tuple:
    beta, threshold = a.number("beta", 1.0), a.number("threshold", 20.0)
    if beta <= 0:
        raise a.error(f"beta must be positive, got {beta}")
    return tuple((key, float(value)) for key, value, default in
                 (("beta", beta, 1.0), ("threshold", threshold, 20.0)) if value != default)


# Settings that change an activation's values (not its shape), kept for the built module.
_SETTINGS = {"gelu": _gelu_settings, "softplus": _softplus_settings}


def _pad(mode: str, rank: int) -> Callable[[Args], K.Layer]:
    def make(a: Args) -> K.Layer:
        value = a.get("padding")
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,) * (2 * rank)
        return K.Pad(padding=_torch_pad_pairs(a, value, rank), mode=mode, where=a.at)
    return make


def _torch_pad_pairs(a: Args, value: Any, rank: int) -> tuple[tuple[int, int], ...]:
    """PyTorch lists padding last axis first: (left, right, top, bottom) → ((top, bottom), (left, right))."""
    if not isinstance(value, (tuple, list)) or len(value) % 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise a.error(f"padding must be a number or pairs of numbers, got {value!r}")
    pairs = [tuple(value[i:i + 2]) for i in range(0, len(value), 2)][::-1]
    if len(pairs) > rank:
        raise a.error(f"padding gives {len(pairs)} axes but the layer pads {rank}")
    return tuple([(0, 0)] * (rank - len(pairs)) + pairs)


def _flatten_module(a: Args) -> K.Layer:
    start, end = a.integer("start_dim", 1, least=-99), a.integer("end_dim", -1, least=-99)
    if start == 0:
        raise a.error("start_dim=0 flattens the batch axis too; use start_dim=1")
    if end != -1:
        raise a.error("only end_dim=-1 is supported")
    return K.Flatten(start_dim=start - 1 if start > 0 else start, where=a.at)


def _unflatten(a: Args) -> K.Layer:
    """nn.Unflatten(1, (32, 7, 7)): the features of each sample become a map again."""
    dim, size = a.integer("dim", least=-99), a.get("unflattened_size")
    if dim != 1 and dim != -1:
        raise a.error(f"only dim=1 (the features after the batch axis) is supported, got {dim}")
    if not isinstance(size, (tuple, list)) or not all(isinstance(d, int) and d > 0 for d in size):
        raise a.error(f"unflattened_size must be a tuple of sizes, got {size!r}")
    return K.Reshape(target=tuple(size), where=a.at)


def _upsample(a: Args) -> K.Layer:
    size, scale = a.get("size"), a.get("scale_factor")
    if (size is None) == (scale is None):
        raise a.error("give either size or scale_factor")
    return K.Upsample(size=_tuple_or_none(size), scale=_tuple_or_none(scale),
                      mode=a.text("mode", "nearest"),
                      align_corners=a.get("align_corners") is not None and a.flag("align_corners", False),
                      where=a.at)


def _tuple_or_none(value):
    if value is None or isinstance(value, (tuple, list)):
        return None if value is None else tuple(value)
    return (value,)


def _norm(cls, rank_name: str):
    def make(a: Args) -> K.Layer:
        if cls is K.BatchNorm:
            affine = a.flag("affine", True)
            return K.BatchNorm(num_features=a.integer("num_features"), scale=affine, center=affine,
                               track_running_stats=a.flag("track_running_stats", True),
                               eps=a.number("eps", 1e-5), momentum=a.get("momentum", 0.1), where=a.at)
        return K.InstanceNorm(num_features=a.integer("num_features"), affine=a.flag("affine", False),
                              track_running_stats=a.flag("track_running_stats", False), where=a.at)
    return make


def _layer_norm(a: Args) -> K.Layer:
    shape = a.get("normalized_shape")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return K.LayerNorm(normalized_shape=shape, elementwise_affine=a.flag("elementwise_affine", True),
                       bias=a.flag("bias", True), eps=a.number("eps", 1e-5), where=a.at)


_CONV = Signature(("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                   "groups", "bias", "padding_mode"), 3, _DEVICE)
_CONV_T = Signature(("in_channels", "out_channels", "kernel_size", "stride", "padding",
                     "output_padding", "groups", "bias", "dilation", "padding_mode"), 3, _DEVICE)
_MAX_POOL = Signature(("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"), 1)
_AVG_POOL = Signature(("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                       "divisor_override"), 1)
_NORM = Signature(("num_features", "eps", "momentum", "affine", "track_running_stats"), 1, _DEVICE)
_NONE = Signature(("inplace",))
_DROPOUT = Signature(("p", "inplace"))

LAYERS: dict[str, tuple[Signature, Callable[[Args], K.Layer]]] = {
    "Conv1d": (_CONV, _conv(1)), "Conv2d": (_CONV, _conv(2)),
    "ConvTranspose1d": (_CONV_T, _conv_transpose(1)), "ConvTranspose2d": (_CONV_T, _conv_transpose(2)),
    "MaxPool1d": (_MAX_POOL, _pool("max", 1)), "MaxPool2d": (_MAX_POOL, _pool("max", 2)),
    "AvgPool1d": (_AVG_POOL, _pool("avg", 1)), "AvgPool2d": (_AVG_POOL, _pool("avg", 2)),
    "AdaptiveAvgPool1d": (Signature(("output_size",), 1), _adaptive("avg", 1)),
    "AdaptiveAvgPool2d": (Signature(("output_size",), 1), _adaptive("avg", 2)),
    "AdaptiveMaxPool1d": (Signature(("output_size", "return_indices"), 1), _adaptive("max", 1)),
    "AdaptiveMaxPool2d": (Signature(("output_size", "return_indices"), 1), _adaptive("max", 2)),
    "Linear": (Signature(("in_features", "out_features", "bias"), 2, _DEVICE),
               lambda a: K.Dense(in_features=a.integer("in_features"), units=a.integer("out_features"),
                                 bias=a.flag("bias", True), where=a.at)),
    "Flatten": (Signature(("start_dim", "end_dim")), _flatten_module),
    "Dropout": (_DROPOUT, lambda a: K.Dropout(rate=a.rate("p", 0.5), where=a.at)),
    "Dropout1d": (_DROPOUT, lambda a: K.Dropout(rate=a.rate("p", 0.5), variant="dropout1d", where=a.at)),
    "Dropout2d": (_DROPOUT, lambda a: K.Dropout(rate=a.rate("p", 0.5), variant="dropout2d", where=a.at)),
    "AlphaDropout": (_DROPOUT, lambda a: K.Dropout(rate=a.rate("p", 0.5), where=a.at)),
    "BatchNorm1d": (_NORM, _norm(K.BatchNorm, "1d")), "BatchNorm2d": (_NORM, _norm(K.BatchNorm, "2d")),
    "InstanceNorm1d": (_NORM, _norm(K.InstanceNorm, "1d")),
    "InstanceNorm2d": (_NORM, _norm(K.InstanceNorm, "2d")),
    "LayerNorm": (Signature(("normalized_shape", "eps", "elementwise_affine", "bias"), 1, _DEVICE),
                  _layer_norm),
    "GroupNorm": (Signature(("num_groups", "num_channels", "eps", "affine"), 2, _DEVICE),
                  lambda a: K.GroupNorm(groups=a.integer("num_groups"), channels=a.integer("num_channels"),
                                        affine=a.flag("affine", True), eps=a.number("eps", 1e-5),
                                        where=a.at)),
    "ReLU": (_NONE, _activation("relu")), "ReLU6": (_NONE, _activation("relu6")),
    "LeakyReLU": (Signature(("negative_slope", "inplace")), _activation("leaky_relu", "negative_slope")),
    "ELU": (Signature(("alpha", "inplace")), _activation("elu", "alpha")),
    "SELU": (_NONE, _activation("selu")),
    "GELU": (Signature(("approximate",)), _activation("gelu")),
    "SiLU": (_NONE, _activation("silu")), "Hardswish": (_NONE, _activation("hardswish")),
    "Hardsigmoid": (_NONE, _activation("hardsigmoid")), "Sigmoid": (_NONE, _activation("sigmoid")),
    "Tanh": (_NONE, _activation("tanh")), "Softplus": (Signature(("beta", "threshold")), _activation("softplus")),
    "Softmax": (Signature(("dim",)), _activation("softmax", axis_key="dim")),
    "LogSoftmax": (Signature(("dim",)), _activation("log_softmax", axis_key="dim")),
    "PReLU": (Signature(("num_parameters", "init"), 0, _DEVICE),
              lambda a: K.PReLU(num_parameters=a.integer("num_parameters", 1), where=a.at)),
    "Identity": (Signature((), 0, frozenset()), lambda a: K.Identity(where=a.at)),
    "Unflatten": (Signature(("dim", "unflattened_size"), 2), _unflatten),
    "Mish": (_NONE, _activation("mish")), "Softsign": (Signature(()), _activation("softsign")),
    "Upsample": (Signature(("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor")),
                 _upsample),
    "UpsamplingNearest2d": (Signature(("size", "scale_factor")), _upsample),
    "UpsamplingBilinear2d": (Signature(("size", "scale_factor")), _upsample),
    "ZeroPad1d": (Signature(("padding",), 1), _pad("zeros", 1)),
    "ZeroPad2d": (Signature(("padding",), 1), _pad("zeros", 2)),
    "ConstantPad1d": (Signature(("padding", "value"), 2), _pad("constant", 1)),
    "ConstantPad2d": (Signature(("padding", "value"), 2), _pad("constant", 2)),
    "ReflectionPad1d": (Signature(("padding",), 1), _pad("reflect", 1)),
    "ReflectionPad2d": (Signature(("padding",), 1), _pad("reflect", 2)),
    "ReplicationPad1d": (Signature(("padding",), 1), _pad("replicate", 1)),
    "ReplicationPad2d": (Signature(("padding",), 1), _pad("replicate", 2)),
    "PixelShuffle": (Signature(("upscale_factor",), 1),
                     lambda a: K.PixelShuffle(factor=a.integer("upscale_factor"), where=a.at)),
    "Embedding": (Signature(("num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type",
                             "scale_grad_by_freq", "sparse", "_weight", "_freeze"), 2, _DEVICE),
                  lambda a: K.Embedding(num_embeddings=a.integer("num_embeddings"),
                                        embedding_dim=a.integer("embedding_dim"), where=a.at)),
}


class LayerClass(Foreign):
    """nn.Conv2d and friends: calling one binds its arguments and makes a TorchLayer. A name
    outside the table still makes a layer, which is an error only if the model uses it."""

    def __init__(self, env: Environment, name: str):
        self.env = env
        self.name = name

    def describe(self) -> str:
        return f"nn.{self.name}"

    def is_class(self) -> bool:
        return True

    def instance_check(self, interp, value):
        return isinstance(value, TorchLayer) and value.class_name == self.name

    def call(self, interp, args, kwargs, at):
        if self.name in LAYERS:
            signature, make = LAYERS[self.name]
            bound = bind(signature, f"nn.{self.name}", args, kwargs, at)
            mode = bound.values.get("padding_mode", "zeros")
            if mode != "zeros" and isinstance(mode, str):
                self.env.note(f"line {at.line if at else '?'}: nn.{self.name}(padding_mode='{mode}') pads "
                              f"with {mode}ed pixels instead of zeros: shapes and counts are as shown, "
                              "but minigrad cannot build it for cnncalc train")
        else:
            bound = Args(f"nn.{self.name}", dict(kwargs), at)
            hint = did_you_mean(self.name, LAYERS)

            def make(a: Args, name=self.name, hint=hint) -> K.Layer:
                raise SpecError(f"nn.{name} is not a layer cnncalc knows", a.at,
                                hint=hint or "see the README's list of layer kinds")
        layer = TorchLayer(self.env, self.name, bound, make, at)
        layer.cls = self
        return layer


# ---------------------------------------------------------------------------------------------
# Functional ops: F.relu(x), torch.cat([a, b], 1), F.max_pool2d(x, 2)…
# ---------------------------------------------------------------------------------------------

def _input_sig(*names: str, required: int = 1, ignored=frozenset()) -> Signature:
    return Signature(("input", *names), required, frozenset(ignored))


def _flatten_fn(a: Args) -> K.Layer:
    start, end = a.integer("start_dim", 0, least=-99), a.integer("end_dim", -1, least=-99)
    if start == 0:
        raise a.error("without start_dim this flattens the batch axis too; write "
                      "torch.flatten(x, 1) or x.flatten(1)")
    if end != -1:
        raise a.error("only end_dim=-1 is supported")
    return K.Flatten(start_dim=start - 1 if start > 0 else start, where=a.at)


def _interpolate(a: Args) -> K.Layer:
    return _upsample(Args(a.what, {"size": a.get("size"), "scale_factor": a.get("scale_factor"),
                                   "mode": a.get("mode", "nearest"),
                                   "align_corners": a.get("align_corners")}, a.at))


def _functional_pad(a: Args) -> K.Layer:
    value = a.get("pad")
    if not isinstance(value, (tuple, list)):
        raise a.error(f"pad must be a tuple such as (1, 1, 2, 2), got {value!r}")
    mode = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate"}.get(a.text("mode", "constant"))
    if mode is None:
        raise a.error(f"mode must be 'constant', 'reflect' or 'replicate', got {a.get('mode')!r}")
    if mode == "zeros" and a.get("value", None) not in (None, 0, 0.0):
        mode = "constant"
    return K.Pad(padding=_torch_pad_pairs(a, value, len(value) // 2), mode=mode, where=a.at)


def _reduce(op: str):
    def make(a: Args) -> K.Layer:
        dims = a.get("dim")
        if dims is None:
            raise a.error(f"{op} over every axis mixes the samples of a batch; give dim")
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        return _Reduce(op, dims, a.flag("keepdim", False), a)
    return make


def _Reduce(op: str, dims: tuple, keepdim: bool, a: Args) -> K.Layer:
    if any(d == 0 for d in dims):
        raise a.error("reducing over dim 0 mixes the samples of the batch")
    # negative dims count from the end, which the per-sample shape shares
    return K.Reduce(op=op, axes=tuple(d - 1 if d > 0 else d for d in dims), keepdims=keepdim, where=a.at)


_POOL_FN = {"max": _input_sig("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
                              required=2),
            "avg": _input_sig("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                              "divisor_override", required=2)}
_ACT = _input_sig(ignored={"inplace"})
_SOFTMAX = _input_sig("dim", "_stacklevel", "dtype")

FUNCTIONS: dict[str, tuple[Signature, Callable[[Args], K.Layer]]] = {
    "relu": (_ACT, _activation("relu")), "relu6": (_ACT, _activation("relu6")),
    "leaky_relu": (_input_sig("negative_slope", ignored={"inplace"}), _activation("leaky_relu", "negative_slope")),
    "elu": (_input_sig("alpha", ignored={"inplace"}), _activation("elu", "alpha")),
    "selu": (_ACT, _activation("selu")), "gelu": (_input_sig("approximate"), _activation("gelu")),
    "silu": (_ACT, _activation("silu")), "hardswish": (_ACT, _activation("hardswish")),
    "hardsigmoid": (_ACT, _activation("hardsigmoid")),
    "sigmoid": (_ACT, _activation("sigmoid")), "tanh": (_ACT, _activation("tanh")),
    "softplus": (_input_sig("beta", "threshold"), _activation("softplus")),
    "softmax": (_SOFTMAX, _activation("softmax", axis_key="dim")),
    "log_softmax": (_SOFTMAX, _activation("log_softmax", axis_key="dim")),
    "max_pool1d": (_POOL_FN["max"], _pool("max", 1)), "max_pool2d": (_POOL_FN["max"], _pool("max", 2)),
    "avg_pool1d": (_POOL_FN["avg"], _pool("avg", 1)), "avg_pool2d": (_POOL_FN["avg"], _pool("avg", 2)),
    "adaptive_avg_pool1d": (_input_sig("output_size", required=2), _adaptive("avg", 1)),
    "adaptive_avg_pool2d": (_input_sig("output_size", required=2), _adaptive("avg", 2)),
    "adaptive_max_pool1d": (_input_sig("output_size", "return_indices", required=2), _adaptive("max", 1)),
    "adaptive_max_pool2d": (_input_sig("output_size", "return_indices", required=2), _adaptive("max", 2)),
    "dropout": (_input_sig("p", "training", "inplace"), lambda a: K.Dropout(rate=a.rate("p", 0.5), where=a.at)),
    "dropout2d": (_input_sig("p", "training", "inplace"),
                  lambda a: K.Dropout(rate=a.rate("p", 0.5), variant="dropout2d", where=a.at)),
    "flatten": (_input_sig("start_dim", "end_dim"), _flatten_fn),
    "interpolate": (_input_sig("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                               "antialias"), _interpolate),
    "pad": (_input_sig("pad", "mode", "value", required=2), _functional_pad),
    "pixel_shuffle": (_input_sig("upscale_factor", required=2),
                      lambda a: K.PixelShuffle(factor=a.integer("upscale_factor"), where=a.at)),
    "mean": (_input_sig("dim", "keepdim", ignored={"dtype"}), _reduce("mean")),
    "sum": (_input_sig("dim", "keepdim", ignored={"dtype"}), _reduce("sum")),
    "amax": (_input_sig("dim", "keepdim"), _reduce("max")),
}
_TORCH_FUNCTIONS = ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "flatten", "mean", "sum",
                    "amax", "dropout")


def functional(env: Environment, name: str, prefix: str) -> Function:
    signature, make = FUNCTIONS[name]

    def run(interp, args, kwargs, at):
        bound = bind(signature, f"{prefix}{name}", args, kwargs, at)
        tensor = bound.values["input"]
        if not env.traced(tensor):
            return env.untraced(tensor, f"{prefix}{name}", at)
        layer = make(bound)
        return env.trace.apply(layer, [tensor], env.functional_name(name), "torch", functional=True)
    return Function(f"{prefix}{name}", run)


def _cat(env: Environment):
    def run(interp, args, kwargs, at):
        bound = bind(Signature(("tensors", "dim"), 1, frozenset({"out"})), "torch.cat", args, kwargs, at)
        tensors = interp.iterate(bound.values["tensors"], at)
        if isinstance(tensors, Unknown):
            return tensors
        return merge(env, "torch.cat", "concat", tensors, bound.values.get("dim", 0), at)
    return Function("torch.cat", run)


def _binary_fn(env: Environment, name: str, op: str):
    def run(interp, args, kwargs, at):
        bound = bind(Signature(("input", "other", "alpha"), 2, frozenset({"out"})), f"torch.{name}",
                     args, kwargs, at)
        return tensor_binary(env, bound.values["input"], op, bound.values["other"], at)
    return Function(f"torch.{name}", run)


# ---------------------------------------------------------------------------------------------
# Sample tensors, summary functions, datasets and the namespaces themselves.
# ---------------------------------------------------------------------------------------------

def _as_method(name: str) -> Function:
    def run(interp, args, kwargs, at):
        if not args:
            raise SpecError(f"torch.{name} needs a tensor", at)
        method = interp.get_attr(args[0], name, at)
        return interp.call(method, list(args[1:]), kwargs, at)
    return Function(f"torch.{name}", run)


def _sample(env: Environment, name: str):
    def make(interp, args, kwargs, at):
        dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        if name == "randint":  # randint(low, high, size) or randint(high, size)
            size = kwargs.get("size", args[-1] if len(args) in (2, 3) else None)
            dims = list(size) if isinstance(size, (tuple, list)) else []
        if not dims or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
            return Unknown(f"torch.{name}(...)", at)
        batch, *shape = dims
        return SymTensor("torch", tuple(shape), batch=batch, methods=env.tensor_methods["torch"])
    return Function(f"torch.{name}", make)


def _summary(env: Environment, library: str, with_batch: bool) -> Function:
    def run(interp, args, kwargs, at):
        model = args[0] if args else kwargs.get("model")
        size = args[1] if len(args) > 1 else kwargs.get("input_size", kwargs.get("input_data"))
        shape = None
        if isinstance(size, SymTensor):
            shape = size.shape
        elif isinstance(size, (tuple, list)) and size and isinstance(size[0], (tuple, list)):
            size = size[0]  # several inputs: the first one
        if isinstance(size, (tuple, list)) and all(isinstance(d, int) and d > 0 for d in size):
            shape = tuple(size[1:] if with_batch else size)
        env.signal(f"{library}.summary(...)", model, at, shape)
        return Unknown(f"the result of {library}.summary(...)", at)
    return Function(f"{library}.summary", run)


DATASET_SHAPES = {"MNIST": (1, 28, 28), "FashionMNIST": (1, 28, 28), "KMNIST": (1, 28, 28),
                  "EMNIST": (1, 28, 28), "QMNIST": (1, 28, 28), "CIFAR10": (3, 32, 32),
                  "CIFAR100": (3, 32, 32), "SVHN": (3, 32, 32), "STL10": (3, 96, 96)}


def _dataset(name: str):
    def make(env: Environment, at):
        env.datasets.append(name)
        return Unknown(f"torchvision.datasets.{name}", at)
    return lazy(make)


def torch_modules(env: Environment) -> dict[str, Any]:
    """The importable torch names: 'torch', 'torch.nn', … → Namespace objects."""
    env.frameworks.add("torch")
    env.tensor_methods["torch"] = TorchTensorMethods(env, lambda name: functional(env, name, "x."),
                                                     set(FUNCTIONS) - {"pad", "interpolate", "pixel_shuffle"})
    module_classes = {kind: ModuleClass(env, kind) for kind in ("Module", "Sequential", "ModuleList",
                                                                "ModuleDict")}

    def nn_members() -> dict[str, Any]:
        members: dict[str, Any] = {name: LayerClass(env, name) for name in LAYERS}
        members.update(module_classes)
        members["functional"] = F
        members["init"] = Namespace(env, "torch.nn.init", {})
        members["module"] = lazy(lambda env, at: _typo(env, at, module_classes["Module"]))
        return LayerMembers(members, lambda name: LayerClass(env, name))

    def functional_members() -> dict[str, Any]:
        return {name: functional(env, name, "F.") for name in FUNCTIONS}

    F = Namespace(env, "torch.nn.functional", functional_members)
    nn = Namespace(env, "torch.nn", nn_members)

    def torch_members() -> dict[str, Any]:
        members: dict[str, Any] = {"nn": nn, "optim": Namespace(env, "torch.optim", {}),
                                   "utils": Namespace(env, "torch.utils", {}),
                                   "cuda": Namespace(env, "torch.cuda", {}),
                                   "cat": _cat(env), "concat": _cat(env),
                                   "add": _binary_fn(env, "add", "+"), "mul": _binary_fn(env, "mul", "*"),
                                   "sub": _binary_fn(env, "sub", "-")}
        # torch.reshape(x, shape), torch.transpose(x, 1, 2)…: the tensor methods called as functions
        members.update({name: _as_method(name) for name in ("reshape", "permute", "transpose",
                                                              "squeeze", "unsqueeze")})
        members.update({name: functional(env, name, "torch.") for name in _TORCH_FUNCTIONS})
        members.update({name: _sample(env, name) for name in ("randn", "rand", "zeros", "ones", "empty", "randint")})
        return members

    torch = Namespace(env, "torch", torch_members)
    datasets = Namespace(env, "torchvision.datasets", {name: _dataset(name) for name in DATASET_SHAPES})
    vision = Namespace(env, "torchvision", {"datasets": datasets})
    return {"torch": torch, "torch.nn": nn, "torch.nn.functional": F,
            "torch.optim": torch.get_attr(None, "optim", None), "torchvision": vision,
            "torchvision.datasets": datasets,
            "torchsummary": Namespace(env, "torchsummary", {"summary": _summary(env, "torchsummary", False)}),
            "torchinfo": Namespace(env, "torchinfo", {"summary": _summary(env, "torchinfo", True)})}


def _typo(env: Environment, at, module_class: ModuleClass) -> ModuleClass:
    env.note(f"line {at.line if at else '?'}: nn.module is spelt nn.Module in PyTorch (capital M); "
             "read as nn.Module" if at else "nn.module is spelt nn.Module in PyTorch; read as nn.Module")
    return module_class


__all__ = ["DATASET_SHAPES", "FUNCTIONS", "LAYERS", "functional", "tensor_binary", "torch_modules"]
