"""Turn a `minigrad.layers.Network` (anything `cnncalc shapes` reads: the layer language, pasted
Keras or PyTorch code, a preset) into a trainable `nn.Sequential`.

The network is first analysed by `minigrad.layers.analyze`, which refuses layers that do not fit
and gives every layer's input shape; each layer then becomes one or two modules. The data is
always N×C×H×W, whatever layout the network was written in:

- Keras/layer-language 'same' padding becomes explicit (before, after) padding from
  `shapes.same_padding`, so stride 2 and even kernels put the odd pixel after, as TensorFlow does.
  'same' average pools divide by the number of real values (TensorFlow's rule).
- Keras' Dense on an H×W×C map acts on the channels: `nn.ChannelLinear`.
- Flatten takes the values in C, H, W order, whereas Keras flattens H, W, C. The sizes agree and a
  model trained here from scratch does not care, but Keras weights would not load one to one.
- A final softmax or log_softmax is not built: the loss (cross_entropy on logits) applies it.
  The model's `output_activation` says which one was left out.
- Batch normalisation uses PyTorch's eps 1e-5 and momentum 0.1 for every network (Keras'
  defaults are 1e-3 and 0.99, i.e. 0.01 in PyTorch's terms); a network records neither.
"""

from __future__ import annotations

import math

from minigrad import layers

from minigrad.engine import nn

from minigrad.layers import shapes
from minigrad.errors import SpecError

ACTIVATION_MODULES = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                      # axis 1 is the channel axis of N×C×H×W maps and the class axis of (N, K)
                      "softmax": lambda: nn.Softmax(axis=1),
                      "log_softmax": lambda: nn.LogSoftmax(axis=1)}
FOLDED = ("softmax", "log_softmax")
INITS = ("auto",) + nn.INITS

# What minigrad allocates for one model, checked on the layer arithmetic before any array is made
# (`cnncalc shapes` analyses far bigger ones): VGG16's 138 million parameters fit; a dense layer
# of 10^11 units (285 TiB) or a 100000x100000 input (40 GB per image) is refused by name.
MAX_BUILD_PARAMS = 200_000_000          # 800 MB of float32
MAX_BUILD_VALUES = 100_000_000          # input and activations of one sample: 400 MB of float32


def check_buildable(summary: shapes.Summary) -> None:
    """A SpecError when the model is too big for minigrad to allocate (see MAX_BUILD_*)."""
    if summary.total_params > MAX_BUILD_PARAMS:
        raise SpecError(f"the model has {summary.total_params:,} parameters, more than the "
                        f"{MAX_BUILD_PARAMS:,} minigrad builds (800 MB of float32); "
                        "cnncalc shapes still analyses it")
    values = sum(math.prod(row.output_shape) for row in summary.rows)
    if values > MAX_BUILD_VALUES:
        raise SpecError(f"one sample flows through {values:,} values (input and every layer's "
                        f"output), more than the {MAX_BUILD_VALUES:,} minigrad allocates (400 MB "
                        "of float32); use a smaller input")


def build_model(network: layers.Network, init: str = "auto") -> nn.Sequential:
    """An nn.Sequential computing `network` on N×C×H×W (or N×features) batches.

    init: "he" or "glorot" for every conv and dense layer, or "auto": "he" for one whose
    activation (inline, or an activation layer right after it) is relu, "glorot" otherwise.
    Raises SpecError, naming the layer, for a network that cannot be built.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    summary = layers.analyze(network)
    check_buildable(summary)
    chain = network.layers
    last = _activation(chain[-1]) if chain else None
    folded = last if last in FOLDED else None
    modules: list[nn.Module] = []
    for index, layer in enumerate(chain):
        # rows[index] is what arrives at this layer (rows[0] is the input)
        in_shape = shapes.convert_shape(summary.rows[index].output_shape, network.layout, "chw")
        builder = _BUILDERS.get(type(layer))
        if builder is None:
            raise SpecError(f"{summary.rows[index + 1].name}: cannot build a "
                            f"{type(layer).__name__} layer", layer.where)
        activation = _activation(layer)
        if activation is not None and activation not in ACTIVATION_MODULES:
            raise SpecError(f"{summary.rows[index + 1].name}: cannot build the activation "
                            f"{activation!r}", layer.where)
        following = chain[index + 1] if index + 1 < len(chain) else None
        after = activation or (_activation(following)
                               if isinstance(following, layers.Activation) else None)
        unsupported = builder is not None and _UNSUPPORTED.get(type(layer), lambda _: None)(layer)
        if unsupported:
            raise SpecError(f"{summary.rows[index + 1].name}: cannot build {unsupported}",
                            layer.where)
        modules += builder(layer, in_shape, network,
                           init if init != "auto" else "he" if after == "relu" else "glorot")
        if activation and not (index == len(chain) - 1 and folded):
            modules.append(ACTIVATION_MODULES[activation]())
    model = nn.Sequential(*modules)
    model.network = network
    model.output_activation = folded
    for dotted, parameter in model.named_parameters():
        parameter.name = dotted  # shown by minigrad.print_graph
    return model


def _activation(layer) -> str | None:
    """The function an activation layer applies, or a conv's or dense's inline activation
    (None for none, and for 'linear' and 'identity')."""
    fn = layer.fn if isinstance(layer, layers.Activation) else getattr(layer, "activation", None)
    return None if fn in ("linear", "identity") else fn


def _same(in_shape, kernel, stride, dilation=(1, 1)):
    """TensorFlow's 'same' padding, ((top, bottom), (left, right)), for a C×H×W input."""
    _, h, w = in_shape
    return (shapes.same_padding(h, kernel[0], stride[0], dilation[0]),
            shapes.same_padding(w, kernel[1], stride[1], dilation[1]))


def _padding(layer, in_shape, stride, dilation=(1, 1)):
    if layer.padding == "same":
        return _same(in_shape, layer.kernel, stride, dilation)
    return 0 if layer.padding == "valid" else layer.padding


def _conv(layer: layers.Conv, in_shape, network, init):
    return [nn.Conv2d(in_shape[0], layer.filters, layer.kernel, layer.stride,
                      _padding(layer, in_shape, layer.stride, layer.dilation), layer.dilation,
                      bias=layer.bias, init=init)]


def _pool(layer: layers.Pool, in_shape, network, init):
    stride = layer.stride or layer.kernel
    padding = _padding(layer, in_shape, stride)
    if layer.mode == "max":
        return [nn.MaxPool2d(layer.kernel, stride, padding, ceil_mode=layer.ceil)]
    # TensorFlow's 'same' average pooling ignores the padding; PyTorch counts its zeros.
    keras_same = layer.padding == "same" and network.rules == "keras"
    return [nn.AvgPool2d(layer.kernel, stride, padding, ceil_mode=layer.ceil,
                         count_include_pad=not keras_same)]


def _adaptive_pool(layer: layers.AdaptivePool, in_shape, network, init):
    _, h, w = in_shape
    output = tuple(n if o is None else o for n, o in zip((h, w), layer.output))
    if output == (1, 1):
        return [nn.GlobalAvgPool2d(keepdims=True)]
    if h % output[0] or w % output[1]:
        raise SpecError(f"cannot build an adaptive pool from {h}×{w} to {output[0]}×{output[1]}: "
                        "only sizes that divide evenly are built (plain windows)", layer.where)
    kernel = (h // output[0], w // output[1])
    return [nn.AvgPool2d(kernel, kernel)]


def _dense(layer: layers.Dense, in_shape, network, init):
    if len(in_shape) == 3 and network.layout == "hwc":  # Keras: the last axis is the channels
        return [nn.ChannelLinear(in_shape[0], layer.units, layer.bias, init)]
    # a flat input, or PyTorch's Linear on the last axis (W) of a C×H×W map
    return [nn.Linear(in_shape[-1], layer.units, layer.bias, init)]


_BUILDERS = {
    layers.Conv: _conv,
    layers.Pool: _pool,
    layers.AdaptivePool: _adaptive_pool,
    layers.GlobalPool: lambda layer, *_: [nn.GlobalAvgPool2d(layer.keepdims)],
    layers.Flatten: lambda layer, *_: [nn.Flatten()],
    layers.Dense: _dense,
    layers.Dropout: lambda layer, *_: [nn.Dropout(layer.rate)],
    # C×H×W maps and flat vectors both have their channels (features) first
    layers.BatchNorm: lambda layer, in_shape, *_: [nn.BatchNorm2d(in_shape[0])],
    layers.Activation: lambda *_: [],  # build_model adds every layer's activation module
}

# What the engine's modules cannot compute, per kind: a phrase for the error, or None.
_UNSUPPORTED = {
    layers.Conv: lambda c: ("a 1-D convolution" if len(c.kernel) != 2 else
                            f"a grouped convolution (groups={c.groups})" if c.groups != 1
                            else f"a convolution with padding_mode='{c.padding_mode}'"
                            if c.padding_mode != "zeros" else None),
    layers.Pool: lambda p: "1-D pooling" if len(p.kernel) != 2 else None,
    layers.AdaptivePool: lambda p: ("adaptive max pooling" if p.mode != "avg" else
                                    "1-D pooling" if len(p.output) != 2 else None),
    layers.GlobalPool: lambda p: "global max pooling" if p.mode != "avg" else None,
    layers.Flatten: lambda f: f"a flatten from axis {f.start_dim}" if f.start_dim else None,
    layers.Dropout: lambda d: f"{d.variant}" if d.variant != "dropout" else None,
    layers.BatchNorm: lambda b: ("a batch norm without γ or β or running statistics"
                                 if not (b.scale and b.center and b.track_running_stats)
                                 or b.axis is not None else None),
}
