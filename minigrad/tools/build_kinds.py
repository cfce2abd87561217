"""How each minigrad.layers kind becomes minigrad modules: one builder per kind, used by
`build_model` for chains and graphs alike.

Data is channels-first inside minigrad (N×C×H×W, N×C×L, N×features), whatever layout the model
was written in. A builder gets the layer, the channels-first shape of what reaches it, and the
model's layout and rules, and returns the modules to apply in order (usually one).

- 'same' padding (Keras, the layer language) becomes explicit (before, after) padding from
  minigrad.layers.window.pads_of, so stride 2 and even kernels put the odd pixel after, as
  TensorFlow does; 'same' average pools divide by the real values only (TensorFlow's rule).
- In a Keras model, a layer that works on the last axis (Dense on a map, Reshape, Permute,
  concatenate, Slice, LayerNorm, …) runs inside nn.ChannelsLast, which moves the channels last
  and back, so it computes what Keras computes. Flatten is the exception: it takes the values in
  C, H, W order (Keras: H, W, C); the sizes agree, and a model trained here does not care.
- Batch normalisation takes the eps and momentum the code gives, else its framework's defaults
  (PyTorch's 1e-5 and 0.1; Keras' 1e-3 and 0.99, i.e. 0.01 in PyTorch's terms).
"""

from __future__ import annotations

from dataclasses import dataclass

from minigrad import layers
from minigrad.engine import nn
from minigrad.errors import SpecError
from minigrad.layers import shapes
from minigrad.layers.window import pads_of

ACTIVATION_MODULES = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    # axis 1 is the channel axis of N×C×H×W maps and the class axis of (N, K)
    "softmax": lambda: nn.Softmax(axis=1), "log_softmax": lambda: nn.LogSoftmax(axis=1),
    "relu6": lambda: nn.ReLU6(), "elu": lambda: nn.ELU(), "selu": lambda: nn.SELU(),
    "gelu": nn.GELU, "silu": lambda: nn.SiLU(), "swish": lambda: nn.SiLU(),
    "hardswish": lambda: nn.Hardswish(), "hardsigmoid": lambda: nn.Hardsigmoid(),
    "softplus": nn.Softplus, "softsign": lambda: nn.Softsign(), "mish": lambda: nn.Mish(),
    "leaky_relu": lambda: nn.LeakyReLU(),
}
# Layer and group norm's eps where the code gives none (the layer language is Keras')
NORM_EPS_DEFAULT = {"torch": 1e-5, "keras": 1e-3}
# LeakyReLU's default slope: PyTorch's 0.01, Keras' 0.3 (keras.layers.LeakyReLU)
LEAKY_DEFAULT = {"torch": 0.01, "keras": 0.3}
# BatchNorm's (eps, momentum) where the code gives none (the layer language is Keras'): momentum
# in PyTorch's sense, the weight of each batch's statistic (Keras' 0.99 is 0.01)
BATCH_NORM_DEFAULTS = {"torch": (1e-5, 0.1), "keras": (1e-3, 0.01)}


@dataclass(frozen=True)
class Where:
    """What a builder needs to know beyond the layer: the model's layout ("hwc" for Keras and the
    layer language, "chw" for PyTorch), its counting rules, and the initial-weight scheme."""

    layout: str
    rules: str
    init: str


def activation_of(layer) -> str | None:
    """The function an activation layer applies, or a layer's inline activation (None for none,
    'linear' and 'identity')."""
    fn = layer.fn if isinstance(layer, layers.Activation) else getattr(layer, "activation", None)
    return None if fn in ("linear", "identity") else fn


def activation_module(fn: str, where: Where, alpha: float | None = None,
                      settings: tuple[tuple[str, object], ...] = ()) -> nn.Module:
    if fn == "leaky_relu":
        return nn.LeakyReLU(LEAKY_DEFAULT[where.rules] if alpha is None else alpha)
    if fn == "elu" and alpha is not None:
        return nn.ELU(alpha)
    return ACTIVATION_MODULES[fn](**dict(settings))


def modules_for(layer, in_shapes: list[tuple[int, ...]], where: Where, name: str) -> list[nn.Module]:
    """The modules computing `layer` on inputs of channels-first shapes `in_shapes`; a SpecError
    naming the row when minigrad cannot compute it."""
    builder = BUILDERS.get(type(layer))
    if builder is None:
        raise SpecError(f"{name}: minigrad cannot build a {type(layer).__name__} layer", layer.where)
    modules = builder(layer, in_shapes, where)
    if isinstance(modules, str):
        raise SpecError(f"{name}: minigrad cannot build {modules}", layer.where)
    fn = activation_of(layer) if not isinstance(layer, layers.Activation) else None
    if fn is not None:
        if fn not in ACTIVATION_MODULES:
            raise SpecError(f"{name}: minigrad cannot build the activation {fn!r}", layer.where)
        modules.append(activation_module(fn, where))
    return modules


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _explicit_pads(layer, spatial, kernel, stride, dilation) -> list[tuple[int, int]]:
    """(before, after) per spatial axis for 'valid', 'same' (TensorFlow's) or given paddings."""
    return [pads_of(layer.padding, n, k, s, d, i)
            for i, (n, k, s, d) in enumerate(zip(spatial, kernel, stride, dilation))]


def _window_padding(pads: list[tuple[int, int]]):
    """The padding argument of the 2-D ops: (PH, PW) when symmetric, else ((t, b), (l, r))."""
    if all(b == a for b, a in pads):
        return tuple(b for b, _ in pads)
    return tuple(pads)


def _last_axis(module: nn.Module, where: Where) -> nn.Module:
    """A module of the last axis: as it is in PyTorch's layout, inside ChannelsLast in Keras'."""
    return nn.ChannelsLast(module) if where.layout == "hwc" else module


def _per_channel_axis(axis: int | None, rank: int, where: Where) -> int | None:
    """Keras' per-sample axis (-1: the channels) as a channels-first per-sample axis."""
    if axis is None or where.layout != "hwc" or rank < 2:
        return axis
    axis %= rank
    return 0 if axis == rank - 1 else axis + 1


# ---------------------------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------------------------

def _conv(layer: layers.Conv, in_shapes, where: Where):
    (c, *spatial), rank = in_shapes[0], len(layer.kernel)
    if rank not in (1, 2):
        return f"a {rank}-D convolution"
    pads = _explicit_pads(layer, spatial, layer.kernel, layer.stride, layer.dilation)
    init = where.init
    if rank == 2:
        conv = nn.Conv2d(c, layer.filters, layer.kernel, layer.stride, _window_padding(pads),
                         layer.dilation, groups=layer.groups, bias=layer.bias, init=init,
                         padding_mode=layer.padding_mode)
        return [conv]
    (before, after), = pads
    if before == after:
        return [nn.Conv1d(c, layer.filters, layer.kernel[0], layer.stride[0], before,
                          layer.dilation[0], groups=layer.groups, bias=layer.bias, init=init,
                          padding_mode=layer.padding_mode)]
    return [nn.PadSides(((before, after),), "constant"),
            nn.Conv1d(c, layer.filters, layer.kernel[0], layer.stride[0], 0, layer.dilation[0],
                      groups=layer.groups, bias=layer.bias, init=init)]


def _depthwise(layer: layers.DepthwiseConv, in_shapes, where: Where):
    """Keras' DepthwiseConv: a grouped conv with one group per input channel."""
    (c, *spatial) = in_shapes[0]
    kernel = _ints(layer.kernel, len(spatial))
    stride, dilation = _ints(layer.stride or 1, len(spatial)), _ints(layer.dilation or 1, len(spatial))
    conv = layers.Conv(filters=c * layer.depth_multiplier, kernel=kernel, stride=stride,
                       padding=layer.padding, dilation=dilation, groups=c, bias=layer.bias)
    return _conv(conv, in_shapes, where)


def _separable(layer: layers.SeparableConv, in_shapes, where: Where):
    """Keras' SeparableConv: depthwise (no bias) then a 1×1 conv to `filters`."""
    (c, *spatial) = in_shapes[0]
    rank = len(spatial)
    depthwise = _depthwise(layers.DepthwiseConv(
        kernel=layer.kernel, stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
        depth_multiplier=layer.depth_multiplier, bias=False), in_shapes, where)
    if isinstance(depthwise, str):
        return depthwise
    pointwise = layers.Conv(filters=layer.filters, kernel=(1,) * rank, stride=(1,) * rank,
                            padding="valid", dilation=(1,) * rank, bias=layer.bias)
    return depthwise + _conv(pointwise, [(c * layer.depth_multiplier, *spatial)], where)


def _conv_transpose(layer: layers.ConvTranspose, in_shapes, where: Where):
    (c, *spatial) = in_shapes[0]
    rank = len(spatial)
    if rank not in (1, 2):
        return f"a {rank}-D transposed convolution"
    kernel = _ints(layer.kernel, rank)
    stride, dilation = _ints(layer.stride or 1, rank), _ints(layer.dilation or 1, rank)
    output_padding = _ints(layer.output_padding or 0, rank)
    crop = None
    if isinstance(layer.padding, str):
        # Keras: the full transposed conv, then 'same' crops what conv 'same' would have padded
        if layer.output_padding is not None:
            return "a Keras transposed convolution with output_padding"
        padding = (0,) * rank
        if layer.padding == "same":
            crop = [pads_of("same", n * s, k, s, d, 0)
                    for n, k, s, d in zip(spatial, kernel, stride, dilation)]
    else:
        padding = _ints(layer.padding, rank)
    transposed = (nn.ConvTranspose2d if rank == 2 else nn.ConvTranspose1d)(
        c, layer.filters, kernel if rank == 2 else kernel[0], stride if rank == 2 else stride[0],
        padding if rank == 2 else padding[0], output_padding if rank == 2 else output_padding[0],
        groups=layer.groups, bias=layer.bias, dilation=dilation if rank == 2 else dilation[0],
        init=where.init)
    modules = [transposed]
    if crop and any(b or a for b, a in crop):
        modules.append(nn.PadSides(tuple((-b, -a) for b, a in crop), "constant"))
    return modules


def _ints(value, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


# ---------------------------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------------------------

def _pool(layer: layers.Pool, in_shapes, where: Where):
    (_, *spatial), rank = in_shapes[0], len(layer.kernel)
    stride = layer.stride or layer.kernel
    pads = _explicit_pads(layer, spatial, layer.kernel, stride, (1,) * rank)
    padding = _window_padding(pads)
    if rank == 1:
        if not isinstance(padding[0], int):
            return "a 1-D pool with different padding before and after"
        pool = nn.MaxPool1d if layer.mode == "max" else nn.AvgPool1d
        options = {} if layer.mode == "max" else {"count_include_pad": layer.padding != "same"}
        return [pool(layer.kernel[0], stride[0], padding[0], ceil_mode=layer.ceil, **options)]
    if layer.mode == "max":
        return [nn.MaxPool2d(layer.kernel, stride, padding, ceil_mode=layer.ceil)]
    # TensorFlow's 'same' average pooling ignores the padding; PyTorch counts its zeros.
    keras_same = layer.padding == "same" and where.rules == "keras"
    return [nn.AvgPool2d(layer.kernel, stride, padding, ceil_mode=layer.ceil,
                         count_include_pad=not keras_same)]


def _adaptive_pool(layer: layers.AdaptivePool, in_shapes, where: Where):
    (_, *spatial) = in_shapes[0]
    output = tuple(n if o is None else o for n, o in zip(spatial, layer.output))
    if len(output) == 2:
        if output == (1, 1) and layer.mode == "avg":
            return [nn.GlobalAvgPool2d(keepdims=True)]
        return [(nn.AdaptiveAvgPool2d if layer.mode == "avg" else nn.AdaptiveMaxPool2d)(output)]
    return [(nn.AdaptiveAvgPool1d if layer.mode == "avg" else nn.AdaptiveMaxPool1d)(output[0])]


def _global_pool(layer: layers.GlobalPool, in_shapes, where: Where):
    rank = len(in_shapes[0]) - 1
    if rank == 2:
        return [nn.GlobalAvgPool2d(layer.keepdims) if layer.mode == "avg"
                else nn.GlobalMaxPool2d(layer.keepdims)]
    return [nn.Reduce("mean" if layer.mode == "avg" else "max", tuple(range(1, rank + 1)),
                      layer.keepdims)]


# ---------------------------------------------------------------------------------------------
# Dense, embedding, reshapes
# ---------------------------------------------------------------------------------------------

def _dense(layer: layers.Dense, in_shapes, where: Where):
    shape = in_shapes[0]
    if len(shape) == 3 and where.layout == "hwc":   # Keras: the last axis is the channels
        return [nn.ChannelLinear(shape[0], layer.units, layer.bias, where.init)]
    if len(shape) >= 2 and where.layout == "hwc":
        return [nn.ChannelsLast(nn.Linear(shape[0], layer.units, layer.bias, where.init))]
    # a flat input, or PyTorch's Linear on the last axis of a map
    return [nn.Linear(shape[-1], layer.units, layer.bias, where.init)]


def _embedding(layer: layers.Embedding, in_shapes, where: Where):
    # token ids (N, L) become (N, L, dim): channels last, as Keras has them; minigrad's maps are
    # channels-first, so a Keras model moves the features to axis 1
    embedding = nn.Embedding(layer.num_embeddings, layer.embedding_dim)
    return [nn.ChannelsLast(embedding)] if where.layout == "hwc" else [embedding]


def _flatten(layer: layers.Flatten, in_shapes, where: Where):
    if layer.start_dim:
        if where.layout == "hwc":
            return "a flatten from an inner axis of a channels-last model"
        return [nn.Flatten(layer.start_dim + 1)]
    return [nn.Flatten()]


def _reshaping(module_of):
    def build(layer, in_shapes, where: Where):
        return [_last_axis(module_of(layer), where)]
    return build


# ---------------------------------------------------------------------------------------------
# Normalisation, activations, merges, resampling
# ---------------------------------------------------------------------------------------------

def _batch_norm(layer: layers.BatchNorm, in_shapes, where: Where):
    if not (layer.scale and layer.center and layer.track_running_stats):
        return "a batch norm without γ or β or running statistics"
    rank = len(in_shapes[0])
    if _per_channel_axis(layer.axis, rank, where) not in (None, 0):
        return f"a batch norm over axis {layer.axis}"
    eps, momentum = BATCH_NORM_DEFAULTS[where.rules]
    eps = eps if layer.eps is None else layer.eps
    momentum = momentum if not isinstance(layer.momentum, (int, float)) else layer.momentum
    norm = nn.BatchNorm2d if rank == 3 else nn.BatchNorm1d
    return [norm(in_shapes[0][0], eps=eps, momentum=momentum)]


def _layer_norm(layer: layers.LayerNorm, in_shapes, where: Where):
    shape = in_shapes[0]
    if where.layout == "hwc":  # Keras normalises its axes, -1 (the channels) by default
        keras_shape = shape[1:] + shape[:1] if len(shape) >= 2 else shape
        axes = [a % len(keras_shape) for a in (layer.axes or (-1,))]
        if axes != list(range(min(axes), len(keras_shape))):
            return f"a layer norm over axes {layer.axes} (only trailing axes)"
        normalized = tuple(keras_shape[min(axes):])
        norm = nn.LayerNorm(normalized, eps=_norm_eps(layer, where),
                            elementwise_affine=layer.elementwise_affine, bias=layer.bias)
        return [nn.ChannelsLast(norm)]
    return [nn.LayerNorm(tuple(layer.normalized_shape), eps=_norm_eps(layer, where),
                         elementwise_affine=layer.elementwise_affine, bias=layer.bias)]


def _group_norm(layer: layers.GroupNorm, in_shapes, where: Where):
    return [nn.GroupNorm(layer.groups, in_shapes[0][0], eps=_norm_eps(layer, where),
                         affine=layer.affine)]


def _norm_eps(layer, where: Where) -> float:
    """The code's eps, else its framework's default (Keras' layer and group norms: 1e-3)."""
    return layer.eps if layer.eps is not None else NORM_EPS_DEFAULT[where.rules]


def _instance_norm(layer: layers.InstanceNorm, in_shapes, where: Where):
    rank = len(in_shapes[0]) - 1
    norm = nn.InstanceNorm2d if rank == 2 else nn.InstanceNorm1d
    return [norm(in_shapes[0][0], affine=layer.affine,
                 track_running_stats=layer.track_running_stats)]


def _activation(layer: layers.Activation, in_shapes, where: Where):
    fn = activation_of(layer)
    if fn is None:
        return []
    if fn not in ACTIVATION_MODULES:
        return f"the activation {fn!r}"
    return [activation_module(fn, where, layer.alpha, layer.settings)]


def _prelu(layer: layers.PReLU, in_shapes, where: Where):
    if layer.num_parameters is not None:  # PyTorch's: 1 or C slopes
        return [nn.PReLU(layer.num_parameters)]
    # Keras': one slope per value of its channels-last shape, 1 along the shared axes
    keras_shape = shapes.convert_shape(in_shapes[0], "chw", where.layout)
    rank = len(keras_shape)
    shared = {axis % rank for axis in layer.shared_axes}
    slopes = tuple(1 if i in shared else n for i, n in enumerate(keras_shape))
    return [nn.ValuePReLU(shapes.convert_shape(slopes, where.layout, "chw"))]


def _dropout(layer: layers.Dropout, in_shapes, where: Where):
    if layer.variant == "dropout":
        return [nn.Dropout(layer.rate)]
    # whole channels dropped: Keras' SpatialDropout1D/2D, PyTorch's Dropout1d/2d (which PyTorch
    # also applies to (N, C, L) maps as Dropout1d)
    rank = len(in_shapes[0]) - 1
    if layer.variant in ("dropout2d", "spatial_dropout") and rank == 2:
        return [nn.Dropout2d(layer.rate)]
    if layer.variant in ("dropout1d", "dropout2d", "spatial_dropout") and rank == 1:
        return [nn.Dropout1d(layer.rate)]
    return f"{layer.variant} on a {rank}-D map"


def _merge(layer: layers.Merge, in_shapes, where: Where):
    merge = nn.Merge(layer.op, layer.axis)
    return [_last_axis(merge, where)] if layer.op == "concat" else [merge]


def _upsample(layer: layers.Upsample, in_shapes, where: Where):
    mode = {"bilinear": "bilinear", "nearest": "nearest", "linear": "linear"}.get(layer.mode)
    if mode is None:
        return f"{layer.mode} upsampling"
    scale = layer.scale[0] if isinstance(layer.scale, tuple) and len(layer.scale) == 1 else layer.scale
    return [nn.Upsample(size=layer.size, scale_factor=scale, mode=mode,
                        align_corners=layer.align_corners if mode != "nearest" else None)]


def _pad(layer: layers.Pad, in_shapes, where: Where):
    sides = _sides(layer.padding, len(in_shapes[0]) - 1)
    mode = "constant" if layer.mode in ("zeros", "constant") else layer.mode
    if mode == "circular":
        return "circular padding"
    return [nn.PadSides(sides, mode, layer.value)]


def _crop(layer: layers.Crop, in_shapes, where: Where):
    sides = _sides(layer.cropping, len(in_shapes[0]) - 1)
    return [nn.PadSides(tuple((-b, -a) for b, a in sides), "constant")]


def _sides(value, rank: int) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial axis from p, (p per axis) or ((before, after) per axis); in
    1-D a plain (before, after) too, as Keras' ZeroPadding1D and Cropping1D take it."""
    if rank == 1 and isinstance(value, tuple) and len(value) == 2 and all(
            isinstance(v, int) for v in value):
        value = (value,)
    per_axis = value if isinstance(value, tuple) else (value,) * rank
    return tuple(p if isinstance(p, tuple) else (p, p) for p in per_axis)


def _center_crop(layer: layers.CenterCrop, in_shapes, where: Where):
    _, h, w = in_shapes[0]
    if layer.height > h or layer.width > w:
        return "a center crop larger than its input (Keras resizes then)"
    top, left = (h - layer.height) // 2, (w - layer.width) // 2
    return [nn.PadSides(((-top, -(h - layer.height - top)), (-left, -(w - layer.width - left))),
                        "constant")]


def _resizing(layer: layers.Resizing, in_shapes, where: Where):
    # Keras resizes with tf.image.resize (half-pixel centres, no antialiasing): PyTorch's
    # bilinear interpolation without align_corners
    if layer.interpolation != "bilinear":
        return f"a resize with {layer.interpolation!r} interpolation (bilinear only)"
    return [nn.Upsample(size=(layer.height, layer.width), mode="bilinear", align_corners=False)]


def _augment(layer: layers.Augment, in_shapes, where: Where):
    return (f"Keras' {layer.kind} (a random change of the training images that the layer graph "
            "does not record); leave it out and train with `cnncalc train --augment`")


BUILDERS = {
    layers.Conv: _conv,
    layers.DepthwiseConv: _depthwise,
    layers.SeparableConv: _separable,
    layers.ConvTranspose: _conv_transpose,
    layers.Pool: _pool,
    layers.AdaptivePool: _adaptive_pool,
    layers.GlobalPool: _global_pool,
    layers.Dense: _dense,
    layers.Embedding: _embedding,
    layers.Flatten: _flatten,
    layers.Reshape: _reshaping(lambda r: nn.Reshape(r.target)),
    layers.Permute: _reshaping(lambda p: nn.Permute(p.dims)),
    layers.Squeeze: _reshaping(lambda s: nn.Squeeze(s.axis)),
    layers.Unsqueeze: _reshaping(lambda u: nn.Unsqueeze(u.axis)),
    layers.Reduce: _reshaping(lambda r: nn.Reduce(r.op, r.axes, r.keepdims)),
    layers.Slice: _reshaping(lambda s: nn.Slice(s.index)),
    layers.BatchNorm: _batch_norm,
    layers.LayerNorm: _layer_norm,
    layers.GroupNorm: _group_norm,
    layers.InstanceNorm: _instance_norm,
    layers.Activation: _activation,
    layers.PReLU: _prelu,
    layers.Dropout: _dropout,
    layers.Identity: lambda *_: [],
    layers.Merge: _merge,
    layers.Upsample: _upsample,
    layers.Pad: _pad,
    layers.Crop: _crop,
    layers.CenterCrop: _center_crop,
    layers.PixelShuffle: lambda layer, *_: [nn.PixelShuffle(layer.factor)],
    layers.Resizing: _resizing,
    layers.Augment: _augment,
    layers.Rescaling: lambda layer, *_: [nn.Arithmetic("mul", layer.scale)]
    + ([nn.Arithmetic("add", layer.offset)] if layer.offset else []),
    layers.Elementwise: lambda layer, *_: [nn.Arithmetic(layer.op, layer.operand)],
}
