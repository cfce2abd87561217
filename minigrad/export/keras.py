"""Keras 3 code for an Exportable: a keras.Sequential for a chain, the functional API for a
graph, channels last (Keras' default), with the weights of a trained model.

minigrad's modules are channels first; the code holds every tensor channels last: a value
minigrad holds as (C, *S) is (*S, C) in Keras, a flat (K,) is (K,). So a layer of the channel
axis (conv, pool, batch norm, Dense on features) maps directly, with its weights transposed;
modules inside nn.ChannelsLast were written for Keras' layout and map directly too; a module
of channels-first axes (a PyTorch reshape, permute, slice, Linear on the last axis) runs
between two Permutes that move the channels first and back (merged when they meet).
Explicit paddings become Keras' "same" only when they are TensorFlow's 'same' for that size.
Where Keras has no layer computing exactly what minigrad does (PyTorch's -inf, reflect and edge
padding, PixelShuffle, align_corners resizing, ceil_mode average windows), the code defines a
small layer class (keras_classes.py); a module Keras cannot express at all is a SpecError naming
the layer. The one warning: a frozen batch norm from PyTorch, which Keras runs in inference mode
in training.

    export = keras.export(for_trained(modelfile), "net_weights.npz")
    export.code      # a .py file: build_model(), load_weights(), and a __main__ that runs it
    export.weights   # {"<layer name>/<i>": array}, each layer's get_weights() order
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from minigrad import Tensor, no_grad
from minigrad.engine import nn
from minigrad.errors import SpecError
from minigrad.export import Export, Exportable, Part
from minigrad.export.keras_classes import (ALIGN_CORNERS_CLASS, COUNTED_POOL_CLASS, PAD_CLASS,
                                         PIXEL_SHUFFLE_CLASS)
from minigrad.layers.shapes import same_padding

__all__ = ["export"]

# Keras' activation name of each module without settings
ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.SELU: "selu",
               nn.SiLU: "silu", nn.Hardswish: "hard_swish", nn.Hardsigmoid: "hard_sigmoid",
               nn.Mish: "mish", nn.Softsign: "softsign"}
MERGES = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply", "average": "Average",
          "maximum": "Maximum", "minimum": "Minimum", "concat": "Concatenate"}
# modules one method translates for 1-D and 2-D: (method, its settings)
BY_RANK = {nn.Conv2d: ("conv", 2), nn.Conv1d: ("conv", 1),
           nn.ConvTranspose2d: ("conv_transpose", 2), nn.ConvTranspose1d: ("conv_transpose", 1),
           nn.MaxPool2d: ("pool", "Max", 2), nn.MaxPool1d: ("pool", "Max", 1),
           nn.AvgPool2d: ("pool", "Average", 2), nn.AvgPool1d: ("pool", "Average", 1)}
# modules whose output has their input's shape
KEEPS_SHAPE = (*ACTIVATIONS, nn.ReLU6, nn.GELU, nn.ELU, nn.LeakyReLU, nn.Softplus, nn.Softmax,
               nn.PReLU, nn.ValuePReLU, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d,
               nn.Dropout, nn.Arithmetic, nn.Identity)
PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}
# Arithmetic ops Keras' Rescaling (x·scale + offset) computes: (scale, offset) of the operand v
RESCALINGS = {"mul": lambda v: (v, 0.0), "add": lambda v: (1.0, v), "sub": lambda v: (1.0, -v),
              "rsub": lambda v: (-1.0, v)}
LAMBDAS = {"div": "x / {v}", "rdiv": "{v} / x", "pow": "x ** {v}", "rpow": "{v} ** x"}

@dataclass
class Line:
    """One Keras layer: its constructor call without the name, its output per sample (Keras'
    layout), its weights in get_weights() order, and what the comment says beyond the shape."""

    call: str
    shape: tuple[int, ...]
    suffix: str = ""
    weights: list[np.ndarray] = field(default_factory=list)
    note: str = ""
    permute: tuple[int, ...] | None = None  # a Permute's dims, for merging neighbours
    same_crop: tuple | None = None  # a transposed conv's crop that is Keras' padding="same"
    owner: Part | None = None  # the part whose name it takes
    warning: str = ""  # what Keras computes differently (also a comment above the line)


def export(exportable: Exportable, weights_file: str | None = None) -> Export:
    """Keras code computing what `exportable` computes (see the module doc); SpecError naming
    the layer for a module Keras cannot express."""
    return _Writer(exportable, weights_file or "model_weights.npz").write()


# ---------------------------------------------------------------------------------------------
# Shapes, names and numbers
# ---------------------------------------------------------------------------------------------

def channels_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape[1:]) + tuple(shape[:1]) if len(shape) >= 2 else tuple(shape)


def _to_channels_first(rank: int) -> tuple[int, ...]:
    """Permute dims moving the channels (Keras' last axis) first."""
    return (rank, *range(1, rank))


def _to_channels_last(rank: int) -> tuple[int, ...]:
    return (*range(2, rank + 1), 1)


def _dims(shape) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def _size(values) -> str:
    """A window argument: 3 for (3, 3), (3, 5) otherwise."""
    values = tuple(values)
    return str(values[0]) if len(set(values)) == 1 else str(values)


def _number(value: float) -> str:
    return repr(float(value)) if np.isfinite(value) else f'float("{value}")'


def _layer_name(name: str) -> str:
    """A Keras layer name: Keras takes no '/', PyTorch's backend no '.'."""
    return re.sub(r"\W", "_", name) or "layer"


def _identifier(name: str) -> str:
    """A Python variable for a row name, clear of keywords and builtins ("slice_")."""
    text = re.sub(r"\W", "_", name)
    text = text if text and not text[0].isdigit() else f"layer_{text}"
    return text + "_" if keyword.iskeyword(text) or hasattr(builtins, text) else text


def _module_shapes(exportable: Exportable) -> dict[int, list[tuple[int, ...]]]:
    """Each part's output after each of its modules (channels first, per sample). The last is
    the part's shape, and so are the ones before modules that keep the shape; a part with
    another module that changes it runs once, in eval mode, on zeros (token ids for an
    embedding), its modules left as they were."""
    shapes = {}
    for part in exportable.parts:
        if all(isinstance(m, KEEPS_SHAPE) for m in part.modules[1:]):
            shapes[part.index] = [part.shape_chw] * len(part.modules)
            continue
        modules = [getattr(m, "inner", m) for m in part.modules] + list(part.modules)
        training = [m.training for m in modules]
        dtype = np.int64 if _is_embedding(part.modules[0]) else np.float32
        xs = [Tensor(np.zeros((1, *exportable.part(i).shape_chw), dtype)) for i in part.inputs]
        shapes[part.index] = []
        try:
            for m in modules:
                m.training = False
            with no_grad():
                for module in part.modules:
                    xs = [module(*xs)]
                    shapes[part.index].append(tuple(xs[0].shape[1:]))
        finally:
            for m, mode in zip(modules, training):
                m.training = mode
    return shapes


def _is_embedding(module) -> bool:
    return isinstance(module, nn.Embedding) or (isinstance(module, nn.ChannelsLast)
                                                and isinstance(module.inner, nn.Embedding))


# ---------------------------------------------------------------------------------------------
# Modules as Keras layers
# ---------------------------------------------------------------------------------------------

class _Translator:
    """Lines for one part's modules, appended to `lines` (in a chain, the lines so far, which
    the part's first lines may merge with)."""

    def __init__(self, part: Part, exportable: Exportable, lines: list[Line]):
        self.part, self.exportable, self.lines = part, exportable, lines
        self.frozen = False  # the module translated holds weights that do not train

    def fail(self, what: str):
        raise SpecError(f"{self.part.name}: Keras has no layer computing {what}", None)

    def add(self, call: str, shape, suffix: str = "", weights=(), note: str = "",
            permute=None) -> None:
        """Append a line; two Permutes in a row become one, a Permute moving only axes of size 1
        a Reshape, a Reshape followed by a Reshape or Flatten goes, and so does a Reshape to
        the shape it has."""
        previous = self.lines[-1] if self.lines else None
        if permute is not None and previous and previous.permute is not None:
            self.lines.pop()
            permute = tuple(previous.permute[d - 1] for d in permute)
            note, previous = "; ".join(n for n in (previous.note, note) if n), None
            if permute == tuple(range(1, len(permute) + 1)):
                return
            call = f"layers.Permute({permute})"
        if permute is not None:
            moved = [d for i, d in enumerate(permute) if shape[i] != 1]
            if moved == sorted(moved):  # the values keep their order
                call, note, permute = f"layers.Reshape({tuple(shape)})", "", None
        if call.startswith("layers.Reshape(") and previous and previous.shape == tuple(shape):
            return  # nothing to reshape
        if (call.startswith(("layers.Reshape(", "layers.Flatten(")) and previous
                and previous.call.startswith("layers.Reshape(")):
            self.lines.pop()
            suffix = "" if "" in (previous.suffix, suffix) else suffix
        warning = ""
        if weights and self.frozen:
            call = call[:-1] + ("" if call.endswith("()") else ", ") + "trainable=False)"
            if call.startswith("layers.BatchNormalization(") and self.exportable.rules == "torch":
                warning = (f"{self.part.name}: Keras runs a frozen BatchNormalization in "
                           "inference mode while training too (PyTorch normalises each batch "
                           "with its own statistics)")
        stored = [np.asarray(w, np.float32) for w in weights] if self.exportable.trained else []
        self.lines.append(Line(call, tuple(shape), suffix, stored, note, permute,
                               owner=self.part, warning=warning))

    # -- the dispatch ---------------------------------------------------------------------------
    def module(self, m, in_shapes: list[tuple], out_chw: tuple, last_axis: bool = False) -> None:
        """in_shapes: Keras' shapes reaching m; out_chw: minigrad's output of m; last_axis: m
        runs inside ChannelsLast (its axes are Keras')."""
        out = channels_last(out_chw)
        parameters = getattr(m, "inner", m).parameters()
        self.frozen = bool(parameters) and not any(p.requires_grad for p in parameters)
        kind = type(m)
        if kind in ACTIVATIONS:
            return self.add(f'layers.Activation("{ACTIVATIONS[kind]}")', out, "act")
        if kind is nn.ChannelsLast:
            return self.module(m.inner, in_shapes, out_chw, last_axis=True)
        if kind in BY_RANK:
            method, *settings = BY_RANK[kind]
            return getattr(self, method)(m, in_shapes[0], out, *settings)
        method = getattr(self, "_" + kind.__name__.lower(), None)
        if method is None:
            self.fail(f"minigrad's {kind.__name__}")
        method(m, in_shapes, out, last_axis)

    def channels_first_op(self, in_shape, out, call: str, note: str, permute=None,
                          weights=()) -> None:
        """A module of channels-first axes: Permute the channels first, `call` (a Permute of
        dims `permute`, or another layer), and back."""
        if len(in_shape) >= 2:
            self.add(f"layers.Permute({_to_channels_first(len(in_shape))})",
                     (in_shape[-1], *in_shape[:-1]), "to_chw", note=note,
                     permute=_to_channels_first(len(in_shape)))
        chw = (out[-1], *out[:-1]) if len(out) >= 2 else out
        self.add(call, chw, weights=weights, permute=permute)
        if len(out) >= 2:
            self.add(f"layers.Permute({_to_channels_last(len(out))})", out, "to_hwc",
                     permute=_to_channels_last(len(out)))

    # -- convolutions ---------------------------------------------------------------------------
    def pad(self, shape, sides, mode: str = "constant", value: float = 0.0) -> tuple:
        """Lines padding (or, negative, cropping) the spatial axes of `shape`; the new shape."""
        sides = tuple(tuple(side) for side in sides)
        crop = tuple((max(-b, 0), max(-a, 0)) for b, a in sides)
        grow = tuple((max(b, 0), max(a, 0)) for b, a in sides)
        rank = len(sides)
        if any(b or a for b, a in crop):
            shape = tuple(n - b - a for n, (b, a) in zip(shape, crop)) + shape[rank:]
            arg = crop[0] if rank == 1 else crop
            self.add(f"layers.Cropping{rank}D({arg})", shape, "crop")
        if any(b or a for b, a in grow):
            shape = tuple(n + b + a for n, (b, a) in zip(shape, grow)) + shape[rank:]
            if mode == "constant" and value == 0 and rank in (1, 2):
                arg = grow[0] if rank == 1 else grow
                self.add(f"layers.ZeroPadding{rank}D({arg})", shape, "pad")
            else:
                if mode not in PAD_MODES:
                    self.fail(f"{mode} padding")
                extra = "" if mode == "constant" and value == 0 else (
                    f", value={_number(value)}" if mode == "constant"
                    else f', mode="{PAD_MODES[mode]}"')
                self.add(f"Pad({grow}{extra})", shape, "pad")
        return shape

    def window_padding(self, shape, kernel, stride, dilation, pads) -> str:
        """'valid' or 'same' for Keras' window layer after padding `pads` exactly."""
        spatial = shape[:len(kernel)]
        if all(b == 0 and a == 0 for b, a in pads):
            return "valid"
        if all(tuple(p) == same_padding(n, k, s, d)
               for p, n, k, s, d in zip(pads, spatial, kernel, stride, dilation)):
            return "same"
        self.pad(shape, pads)
        return "valid"

    def conv(self, m, shape, out, rank: int) -> None:
        pads = _conv_pads(m.padding, m.kernel_size, m.dilation, rank)
        if m.padding_mode != "zeros":
            shape, pads = self.pad(shape, pads, m.padding_mode), ((0, 0),) * rank
        stride, subsample = m.stride, None
        if max(m.stride) > 1 and max(m.dilation) > 1:  # Keras takes one or the other
            stride, subsample = (1,) * rank, m.stride
            shape, pads = self.pad(shape, pads), ((0, 0),) * rank
            out, final = tuple(n - d * (k - 1) for n, k, d
                               in zip(shape, m.kernel_size, m.dilation)) + out[rank:], out
        padding = self.window_padding(shape, m.kernel_size, stride, m.dilation, pads)
        options = _options(strides=(_size(stride), "1"), padding=(f'"{padding}"', '"valid"'),
                           dilation_rate=(_size(m.dilation), "1"),
                           use_bias=(str(m.bias is not None), "True"))
        weight = m.weight.data
        bias = [] if m.bias is None else [m.bias.data]
        if m.groups == m.in_channels and m.groups > 1:  # depthwise: one group per channel
            multiplier = m.out_channels // m.in_channels
            kernel = weight.reshape(m.in_channels, multiplier, *m.kernel_size)
            kernel = np.moveaxis(kernel, (0, 1), (-2, -1))
            multiplier_arg = f", depth_multiplier={multiplier}" if multiplier > 1 else ""
            self.add(f"layers.DepthwiseConv{rank}D({_size(m.kernel_size)}{multiplier_arg}"
                     f"{options})", out, weights=[kernel, *bias])
        else:
            groups = f", groups={m.groups}" if m.groups > 1 else ""
            kernel = np.moveaxis(weight, (0, 1), (-1, -2))  # (F, C, *K) -> (*K, C, F)
            self.add(f"layers.Conv{rank}D({m.out_channels}, {_size(m.kernel_size)}{options}"
                     f"{groups})", out, weights=[kernel, *bias])
        if subsample:
            self.add(f"layers.MaxPooling{rank}D(1, strides={_size(subsample)})", final, "stride",
                     note=f"every {_dims(subsample)}th position: the conv's stride")

    def conv_transpose(self, m, shape, out, rank: int) -> None:
        """PyTorch's padding p crops p before and p after the full transposed conv, and
        output_padding adds rows after: Keras' output_padding adds what goes beyond the full
        output, and Cropping the rest."""
        if m.groups > 1 or (max(m.stride) > 1 and max(m.dilation) > 1):
            self.fail("a grouped, or strided and dilated, transposed convolution")
        full = [(n - 1) * s + d * (k - 1) + 1 for n, k, s, d
                in zip(shape, m.kernel_size, m.stride, m.dilation)]
        beyond = [max(op - p, 0) for p, op in zip(m.padding, m.output_padding)]
        keras_default = [n * s + max(d * (k - 1) + 1 - s, 0) for n, k, s, d
                         in zip(shape, m.kernel_size, m.stride, m.dilation)]
        output_padding = ("None", "None") if keras_default == full and not any(beyond) else (
            _size(beyond), "None")
        options = _options(strides=(_size(m.stride), "1"), output_padding=output_padding,
                           dilation_rate=(_size(m.dilation), "1"),
                           use_bias=(str(m.bias is not None), "True"))
        full_shape = tuple(n + b for n, b in zip(full, beyond)) + (m.out_channels,)
        kernel = np.moveaxis(m.weight.data, (0, 1), (-1, -2))  # (C, F, *K) -> (*K, F, C)
        bias = [] if m.bias is None else [m.bias.data]
        self.add(f"layers.Conv{rank}DTranspose({m.out_channels}, {_size(m.kernel_size)}"
                 f"{options})", full_shape, weights=[kernel, *bias])
        if not any(m.padding) and not any(m.output_padding) and output_padding[0] == "None":
            self.lines[-1].same_crop = tuple(
                (-b, -a) for b, a in (same_padding(n * s, k, s, d) for n, k, s, d
                                      in zip(shape, m.kernel_size, m.stride, m.dilation)))
        self.pad(full_shape, [(-p, -(p - op + b)) for p, op, b
                              in zip(m.padding, m.output_padding, beyond)])

    # -- pools ----------------------------------------------------------------------------------
    def pool(self, m, shape, out, kind: str, rank: int) -> None:
        """PyTorch's windows start at i·stride - padding; windows reaching past the input
        (padding, ceil_mode) are padded with -inf (max) or left out of the mean (TensorFlow's
        'same'), or zeros counted in the mean (count_include_pad)."""
        kernel, stride = _tuple(m.kernel_size, rank), _tuple(m.stride, rank)
        pads = _conv_pads(m.padding, kernel, (1,) * rank, rank)
        if kind == "Average" and getattr(m, "count_include_pad", True) and any(
                b or a for b, a in pads):
            shape, pads = self.pad(shape, pads), ((0, 0),) * rank
        # the pads that make Keras' valid windows PyTorch's: before as given, after to the last
        spatial, wanted = shape[:rank], out[:rank]
        pads = tuple((b, max((o - 1) * s + k - n - b, 0))
                     for (b, _), n, k, s, o in zip(pads, spatial, kernel, stride, wanted))
        options = f", strides={_size(stride)}" if stride != kernel else ""
        padded = any(b or a for b, a in pads)
        if padded and all(tuple(p) == same_padding(n, k, s) for p, n, k, s
                          in zip(pads, spatial, kernel, stride)):
            options += ', padding="same"'
        elif padded and kind == "Max":
            self.pad(shape, pads, value=-np.inf)
        elif padded:
            return self.add(f"AveragePoolingOfValues({kernel}, {stride}, {pads})", out)
        self.add(f"layers.{kind}Pooling{rank}D({_size(kernel)}{options})", out)

    def _globalavgpool2d(self, m, in_shapes, out, last_axis):
        self.add(f"layers.GlobalAveragePooling2D({'keepdims=True' if m.keepdims else ''})", out)

    def _globalmaxpool2d(self, m, in_shapes, out, last_axis):
        self.add(f"layers.GlobalMaxPooling2D({'keepdims=True' if m.keepdims else ''})", out)

    def _adaptiveavgpool2d(self, m, in_shapes, out, last_axis):
        self.adaptive(in_shapes[0], out, "Average" if m.mode == "avg" else "Max")

    _adaptivemaxpool2d = _adaptiveavgpool1d = _adaptivemaxpool1d = _adaptiveavgpool2d

    def adaptive(self, shape, out, kind: str) -> None:
        """A plain pool when PyTorch's windows, [floor(i·n/o), ceil((i+1)·n/o)), are all of one
        size at a regular stride."""
        rank = len(shape) - 1
        spatial, wanted = shape[:rank], out[:rank]
        kernel, stride = [], []
        for n, o in zip(spatial, wanted):
            starts = [i * n // o for i in range(o)]
            sizes = {-(-(i + 1) * n // o) - start for i, start in enumerate(starts)}
            steps = {b - a for a, b in zip(starts, starts[1:])} or {1}
            if len(sizes) > 1 or len(steps) > 1:
                self.fail(f"an adaptive pool from {_dims(spatial)} to {_dims(wanted)} (windows "
                          "of different sizes or strides)")
            kernel.append(sizes.pop())
            stride.append(steps.pop())
        strides = f", strides={_size(stride)}" if stride != kernel else ""
        self.add(f"layers.{kind}Pooling{rank}D({_size(kernel)}{strides})", out,
                 note="PyTorch's adaptive pool: windows of one size")

    # -- dense, embedding, shapes ---------------------------------------------------------------
    def _linear(self, m, in_shapes, out, last_axis):
        bias = [] if m.bias is None else [m.bias.data]
        call = f"layers.Dense({m.out_features}{'' if m.bias is not None else ', use_bias=False'})"
        weights = [m.weight.data.T, *bias]
        if last_axis or len(in_shapes[0]) == 1:
            return self.add(call, out, weights=weights)
        self.channels_first_op(in_shapes[0], out, call, "PyTorch's Linear acts on the last "
                               "axis of C×H×W", weights=weights)

    def _channellinear(self, m, in_shapes, out, last_axis):
        self._linear(m, in_shapes, out, True)

    def _embedding(self, m, in_shapes, out, last_axis):
        self.add(f"layers.Embedding({m.num_embeddings}, {m.embedding_dim})",
                 (*in_shapes[0], m.embedding_dim), weights=[m.weight.data])
        if not last_axis:  # PyTorch's (L, D) is a map of L channels
            self.add("layers.Permute((2, 1))", out, "to_hwc", permute=(2, 1),
                     note="PyTorch's L×D: D values of L channels")

    def _flatten(self, m, in_shapes, out, last_axis):
        shape = in_shapes[0]
        if m.start_dim != 1:  # PyTorch's flatten of inner axes
            return self.shape_op("layers.Reshape({})", shape, out, last_axis)
        if len(shape) >= 2 and self.exportable.flatten_order == "chw":
            rank = len(shape)
            self.add(f"layers.Permute({_to_channels_first(rank)})",
                     (shape[-1], *shape[:-1]), "to_chw", permute=_to_channels_first(rank),
                     note="flatten in C, H, W order, as PyTorch and minigrad do")
        self.add("layers.Flatten()", out)

    def _reshape(self, m, in_shapes, out, last_axis):
        self.shape_op("layers.Reshape({})", in_shapes[0], out, last_axis)

    _squeeze = _unsqueeze = _reshape

    def shape_op(self, template: str, shape, out, last_axis) -> None:
        if tuple(shape) == tuple(out):
            return  # a squeeze of nothing, a reshape to the same shape
        if last_axis:
            return self.add(template.format(tuple(out)), out)
        chw = (out[-1], *out[:-1]) if len(out) >= 2 else out
        self.channels_first_op(shape, out, template.format(tuple(chw)),
                               "PyTorch's reshape of C×H×W")

    def _permute(self, m, in_shapes, out, last_axis):
        rank = len(in_shapes[0])
        dims = tuple(d % rank + 1 for d in m.dims)
        if last_axis:
            return self.add(f"layers.Permute({dims})", out, permute=dims)
        self.channels_first_op(in_shapes[0], out, f"layers.Permute({dims})",
                               "PyTorch's permute of C×H×W", permute=dims)

    def _reduce(self, m, in_shapes, out, last_axis):
        rank = len(in_shapes[0])
        axes = tuple(sorted(a % rank for a in m.axes))
        if (not last_axis and rank in (2, 3) and axes == tuple(range(1, rank))
                and m.op in ("mean", "max")):  # over every position: a global pool
            kind = "Average" if m.op == "mean" else "Max"
            keep = "keepdims=True" if m.keepdims else ""
            return self.add(f"layers.Global{kind}Pooling{rank - 1}D({keep})", out)
        call = (f"layers.Lambda(lambda x: keras.ops.{m.op}(x, axis={{}}"
                f"{', keepdims=True' if m.keepdims else ''}))")
        if last_axis:
            return self.add(call.format(tuple(a + 1 for a in axes)), out)
        self.channels_first_op(in_shapes[0], out, call.format(tuple(a + 1 for a in axes)),
                               f"the {m.op}'s axes count C first")

    def _slice(self, m, in_shapes, out, last_axis):
        entries = ", ".join(_slice_text(e) for e in m.index)
        call = f"layers.Lambda(lambda x: x[:, {entries}])"
        if last_axis:
            return self.add(call, out)
        self.channels_first_op(in_shapes[0], out, call, "PyTorch's indexing of C×H×W")

    # -- normalisation --------------------------------------------------------------------------
    def _batchnorm2d(self, m, in_shapes, out, last_axis):
        # Keras' momentum keeps that much of the running statistics: 1 - PyTorch's
        options = _options(momentum=(_number(1 - m.momentum), "0.99"),
                           epsilon=(_number(m.eps), "0.001"))
        self.add(f"layers.BatchNormalization({options[2:]})", out,
                 weights=[m.weight.data, m.bias.data, m.running_mean, m.running_var])

    _batchnorm1d = _batchnorm2d

    def _layernorm(self, m, in_shapes, out, last_axis):
        rank, count = len(in_shapes[0]), len(m.normalized_shape)
        chw_axes = list(range(rank - count, rank))   # minigrad's trailing axes
        axes = chw_axes if last_axis or rank == 1 else [rank - 1 if a == 0 else a - 1
                                                        for a in chw_axes]
        order = sorted(range(count), key=lambda i: axes[i])  # Keras keeps its axes in order
        keras_axes = [axes[i] + 1 for i in order]
        axis = -1 if keras_axes == [rank] else (keras_axes[0] if count == 1 else keras_axes)
        options = _options(center=(str(m.bias is not None), "True"),
                           scale=(str(m.weight is not None), "True"))
        arrays = [p.data.transpose(order) for p in (m.weight, m.bias) if p is not None]
        options = _options(epsilon=(_number(m.eps), "0.001")) + options
        axis_arg = "" if axis == -1 else f"axis={axis}"
        self.add(f"layers.LayerNormalization({axis_arg}{options if axis_arg else options[2:]})",
                 out, weights=arrays)

    def _groupnorm(self, m, in_shapes, out, last_axis):
        affine = "" if m.affine else ", center=False, scale=False"
        arrays = [m.weight.data, m.bias.data] if m.affine else []
        self.add(f"layers.GroupNormalization({m.num_groups}, epsilon={_number(m.eps)}{affine})",
                 out, weights=arrays)

    def _instancenorm2d(self, m, in_shapes, out, last_axis):
        if m.track_running_stats:
            self.fail("an instance norm with running statistics")
        affine = "" if m.affine else ", center=False, scale=False"
        arrays = [m.weight.data, m.bias.data] if m.affine else []
        self.add(f"layers.GroupNormalization({m.num_features}, epsilon={_number(m.eps)}"
                 f"{affine})", out, weights=arrays,
                 note="one group per channel: instance norm")

    _instancenorm1d = _instancenorm2d

    # -- activations, dropout, arithmetic -------------------------------------------------------
    def _relu6(self, m, in_shapes, out, last_axis):
        self.add("layers.ReLU(max_value=6.0)", out, "act")

    def _leakyrelu(self, m, in_shapes, out, last_axis):
        self.add(f"layers.LeakyReLU(negative_slope={_number(m.negative_slope)})", out, "act")

    def _elu(self, m, in_shapes, out, last_axis):
        self.add('layers.Activation("elu")' if m.alpha == 1 else
                 f"layers.ELU(alpha={_number(m.alpha)})", out, "act")

    def _gelu(self, m, in_shapes, out, last_axis):
        if m.approximate == "tanh":
            return self.add("layers.Lambda(lambda x: keras.activations.gelu(x, "
                            "approximate=True))", out, "act")
        self.add('layers.Activation("gelu")', out, "act")

    def _softplus(self, m, in_shapes, out, last_axis):
        if m.beta == 1 and m.threshold >= 20:  # above 20, log(1 + e^x) is x in float32
            return self.add('layers.Activation("softplus")', out, "act")
        self.add(f"layers.Lambda(lambda x: keras.ops.where(x * {m.beta} > {m.threshold}, x, "
                 f"keras.activations.softplus(x * {m.beta}) / {m.beta}))", out, "act",
                 note="PyTorch's Softplus: linear above the threshold")

    def _softmax(self, m, in_shapes, out, last_axis):
        axis = m.axis - 1 if m.axis > 0 else m.axis  # the module's axis counts the batch
        self.add(f"layers.Softmax(axis={self.keras_axis(axis, len(out))})", out, "act")

    def _logsoftmax(self, m, in_shapes, out, last_axis):
        if self.keras_axis(m.axis - 1 if m.axis > 0 else m.axis, len(out)) != -1:
            self.fail("a log-softmax over an axis other than the channels")
        self.add('layers.Activation("log_softmax")', out, "act")

    def keras_axis(self, axis: int, rank: int) -> int:
        """Keras' axis (batch counted, -1 for the channels) of minigrad's per-sample axis."""
        axis %= rank
        return -1 if axis == 0 or rank == 1 else axis

    def _prelu(self, m, in_shapes, out, last_axis):
        rank = len(out)
        shared = list(range(1, rank)) if m.num_parameters > 1 else list(range(1, rank + 1))
        shape = (1,) * (rank - 1) + (m.num_parameters,)
        self.add(f"layers.PReLU(shared_axes={shared or None})", out, "act",
                 weights=[m.weight.data.reshape(shape)])

    def _valueprelu(self, m, in_shapes, out, last_axis):
        alpha = m.alpha.data
        alpha = np.moveaxis(alpha, 0, -1) if alpha.ndim >= 2 else alpha
        shared = [i + 1 for i, n in enumerate(alpha.shape) if n == 1 and out[i] != 1]
        self.add(f"layers.PReLU(shared_axes={shared or None})", out, "act",
                 weights=[alpha])

    def _dropout(self, m, in_shapes, out, last_axis):
        self.add(f"layers.Dropout({m.p})", out)

    def _dropout2d(self, m, in_shapes, out, last_axis):
        self.add(f"layers.SpatialDropout2D({m.p})", out)

    def _dropout1d(self, m, in_shapes, out, last_axis):
        self.add(f"layers.SpatialDropout1D({m.p})", out)

    def _identity(self, m, in_shapes, out, last_axis):
        self.add("layers.Identity()", out)

    def _arithmetic(self, m, in_shapes, out, last_axis):
        if m.op in RESCALINGS:
            scale, offset = RESCALINGS[m.op](m.operand)
            scale = _number(scale)
            scaled = re.fullmatch(r"layers\.Rescaling\(([^,]+)\)", self.lines[-1].call) \
                if self.lines else None
            if scaled and offset and scale == "1.0":  # x·scale, then + offset: one Rescaling
                scale = self.lines.pop().call[len("layers.Rescaling("):-1]
            extra = f", offset={_number(offset)}" if offset else ""
            return self.add(f"layers.Rescaling({scale}{extra})", out)
        expression = LAMBDAS[m.op].format(v=_number(m.operand))
        self.add(f"layers.Lambda(lambda x: {expression})", out)

    # -- merges and resampling ------------------------------------------------------------------
    def _merge(self, m, in_shapes, out, last_axis):
        if m.op != "concat":
            return self.add(f"layers.{MERGES[m.op]}()", out)
        rank = len(in_shapes[0])
        axis = m.axis % rank + 1 if last_axis else self.keras_axis(m.axis, rank)
        self.add(f"layers.Concatenate(axis={-1 if axis == rank else axis})", out)

    def _padsides(self, m, in_shapes, out, last_axis):
        previous = self.lines[-1] if self.lines else None
        if previous and previous.same_crop == tuple(m.sides):  # Keras' transposed 'same'
            previous.call, previous.shape = previous.call[:-1] + ', padding="same")', out
            return
        self.pad(in_shapes[0], m.sides, m.mode, m.value)

    def _upsample(self, m, in_shapes, out, last_axis):
        shape = in_shapes[0]
        rank = len(shape) - 1
        spatial, wanted = shape[:rank], out[:rank]
        factors = [o // n if o % n == 0 else None for n, o in zip(spatial, wanted)]
        if None not in factors and (m.mode == "nearest" or rank == 2 and not m.align_corners):
            bilinear = ', interpolation="bilinear"' if m.mode == "bilinear" else ""
            return self.add(f"layers.UpSampling{rank}D({_size(factors)}{bilinear})", out)
        if m.mode == "nearest":
            self.fail(f"nearest resizing from {_dims(spatial)} to {_dims(wanted)} (PyTorch's "
                      "nearest picks other pixels than TensorFlow's)")
        if m.align_corners:
            return self.add(f"AlignCornersResize({tuple(wanted)})", out)
        scales = m.scale_factor if isinstance(m.scale_factor, (tuple, list)) else (
            [m.scale_factor] * rank)
        if m.scale_factor is not None and any(n * s != o for n, s, o
                                              in zip(spatial, scales, wanted)):
            self.fail(f"a resize by {m.scale_factor} to {_dims(wanted)} (PyTorch places the "
                      "samples by the factor, Keras by the sizes)")
        if rank == 2:  # half-pixel centres, no antialiasing: PyTorch's align_corners=False
            return self.add(f'layers.Resizing({wanted[0]}, {wanted[1]}, '
                            f'interpolation="bilinear")', out)
        # a 1-D signal resized as an image one pixel wide
        self.add(f"layers.Reshape(({spatial[0]}, 1, {shape[-1]}))", (spatial[0], 1, shape[-1]),
                 "as_image")
        self.add(f'layers.Resizing({wanted[0]}, 1, interpolation="bilinear")',
                 (wanted[0], 1, shape[-1]), note="linear along L")
        self.add(f"layers.Reshape({tuple(out)})", out, "as_signal")

    def _pixelshuffle(self, m, in_shapes, out, last_axis):
        self.add(f"PixelShuffle({m.upscale_factor})", out)


def _tuple(value, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def _conv_pads(padding, kernel, dilation, rank: int) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial axis of a module's padding argument."""
    if padding == "valid":
        return ((0, 0),) * rank
    if padding == "same":  # stride 1: PyTorch's, the odd pixel after
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(kernel, _tuple(dilation, rank)))
    padding = _tuple(padding, rank)
    return tuple(p if isinstance(p, tuple) else (p, p) for p in padding)


def _options(**given) -> str:
    """', name=value' for each option whose value is not its Keras default."""
    return "".join(f", {name}={value}" for name, (value, default) in given.items()
                   if value != default)


def _slice_text(entry) -> str:
    if entry is None:
        return "None"
    if isinstance(entry, int):
        return str(entry)
    start, stop, step = (("" if v is None else str(v)) for v in entry)
    return f"{start}:{stop}" + (f":{step}" if step else "")


# ---------------------------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------------------------

RESERVED = {"keras", "layers", "np", "Path", "Pad", "PixelShuffle", "AlignCornersResize",
            "AveragePoolingOfValues", "model", "inputs", "input",
            "build_model", "load_weights", "WEIGHTS"}
FOLDABLE = ("layers.Conv", "layers.DepthwiseConv", "layers.Dense")  # take activation="..."


class _Writer:
    def __init__(self, exportable: Exportable, weights_file: str):
        self.exportable, self.weights_file = exportable, weights_file
        self.module_shapes = _module_shapes(exportable)
        self.keras_shapes: dict[int, tuple[int, ...]] = {}
        self.variables: dict[int, str] = {}
        self.layer_names: set[str] = set()
        self.python_names: set[str] = set(RESERVED)
        self.weights: dict[str, np.ndarray] = {}
        self.warnings: list[str] = []
        self.shared = {p.shares for p in exportable.parts if _shares_weights(p)}
        self.layer_variables: dict[int, list[str]] = {}

    def unique(self, name: str, taken: set[str]) -> str:
        candidate, count = name, 1
        while candidate in taken:
            count += 1
            candidate = f"{name}_{count}"
        taken.add(candidate)
        return candidate

    def lines(self, part: Part, lines: list[Line] | None = None) -> list[Line]:
        """The part's lines appended to `lines` (a new list by default): the list."""
        translator = _Translator(part, self.exportable, [] if lines is None else lines)
        in_shapes = [self.keras_shapes[i] for i in part.inputs]
        for module, out_chw in zip(part.modules, self.module_shapes[part.index]):
            translator.module(module, in_shapes, out_chw)
            in_shapes = [channels_last(out_chw)]
        self.keras_shapes[part.index] = in_shapes[0]
        final = self.exportable.final_activation
        if final and part.index in self.exportable.outputs:
            translator.add("layers.Softmax()" if final == "softmax"
                           else 'layers.Activation("log_softmax")', in_shapes[0], final)
        lines = translator.lines
        own = [line for line in lines if line.owner is part]
        if (self.exportable.layout == "hwc" and len(own) == 2 and lines[-2:] == own
                and own[0].call.startswith(FOLDABLE)
                and own[1].call.startswith(('layers.Activation("', "layers.Softmax()"))):
            activation = own[1].call[len("layers.Activation("):-1] if "(\"" in own[1].call \
                else '"softmax"'
            lines[-2:] = [replace(own[0], call=own[0].call[:-1] + f", activation={activation})",
                                  shape=own[1].shape)]
        return lines

    def name_lines(self, lines: list[Line]) -> list[str]:
        """Each line's Keras name (its part's, unique), and its weights under that name."""
        counts = Counter(id(line.owner) for line in lines)
        names = []
        for line in lines:
            base = _layer_name(line.owner.name)
            wanted = base if counts[id(line.owner)] == 1 or not line.suffix \
                else f"{base}_{line.suffix}"
            name = self.unique(wanted, self.layer_names)
            names.append(name)
            for i, array in enumerate(line.weights):
                self.weights[f"{name}/{i}"] = array
        return names

    def comment(self, line: Line) -> str:
        return f"  # {_dims(line.shape)}" + (f": {line.note}" if line.note else "")

    def warn(self, line: Line, out: list[str], indent: str) -> None:
        """A line's warning: in Export.warnings, and a comment above the line."""
        if line.warning:
            self.warnings.append(line.warning)
            out.append(f"{indent}# warning: {line.warning}")

    def input_line(self, part: Part) -> tuple[str, str]:
        shape = channels_last(part.shape_chw)
        self.keras_shapes[part.index] = shape
        token = self.token_vocabulary(part.index)
        dtype = ', dtype="int32"' if token else ""
        name = self.unique(_layer_name(part.name), self.layer_names)
        return f'keras.Input(shape={tuple(shape)}{dtype}, name="{name}")', _dims(shape)

    def token_vocabulary(self, index: int) -> int | None:
        for p in self.exportable.parts:
            if index in p.inputs and p.modules and _is_embedding(p.modules[0]):
                first = p.modules[0]
                return getattr(first, "inner", first).num_embeddings
        return None

    # -- the model ------------------------------------------------------------------------------
    def sequential(self) -> list[str]:
        first, *rest = self.exportable.parts
        call, shape = self.input_line(first)
        out = ["    return keras.Sequential([", f"        {call},  # {shape}"]
        lines = []
        for part in rest:  # in a chain, neighbouring parts' permutes and reshapes merge
            self.lines(part, lines)
        for line, name in zip(lines, self.name_lines(lines)):
            self.warn(line, out, "        ")
            out.append(f"        {line.call[:-1]}{_name_arg(line.call, name)}),"
                       + self.comment(line))
        out.append(f'    ], name="{_layer_name(self.exportable.name)}")')
        return out

    def functional(self) -> list[str]:
        out = []
        for part in self.exportable.parts:
            single_input = not part.inputs and len(self.exportable.inputs) == 1
            variable = "inputs" if single_input else self.unique(_identifier(part.name),
                                                                  self.python_names)
            if not part.inputs:
                call, shape = self.input_line(part)
                out.append(f"    {variable} = {call}  # {shape}")
                self.variables[part.index] = variable
                continue
            sources = [self.variables[i] for i in part.inputs]
            source = sources[0] if len(sources) == 1 else f"[{', '.join(sources)}]"
            lines = self.lines(part)
            if not lines:
                self.variables[part.index] = source if len(sources) == 1 else sources[0]
                continue
            shares = part.shares if _shares_weights(part) else None
            if shares is not None:
                layer_variables = self.layer_variables[part.shares]
                if len(layer_variables) != len(lines):
                    raise SpecError(f"{part.name}: its shared layers translate differently "
                                    "from their first use", None)
                names = [None] * len(lines)
            else:
                names = self.name_lines(lines)
            for k, (line, name) in enumerate(zip(lines, names)):
                self.warn(line, out, "    ")
                if shares is not None:
                    layer = self.layer_variables[shares][k]
                elif part.index in self.shared:
                    layer = self.unique(f"{variable}_layer", self.python_names)
                    self.layer_variables.setdefault(part.index, []).append(layer)
                    out.append(f"    {layer} = {line.call[:-1]}{_name_arg(line.call, name)})")
                else:
                    layer = f"{line.call[:-1]}{_name_arg(line.call, name)})"
                out.append(f"    {variable} = {layer}({source}){self.comment(line)}")
                source = variable
            self.variables[part.index] = variable
        inputs = [self.variables[i] for i in self.exportable.inputs]
        outputs = [self.variables[i] for i in self.exportable.outputs]
        out.append(f"    return keras.Model(inputs={_listed(inputs)}, outputs={_listed(outputs)}, "
                   f'name="{_layer_name(self.exportable.name)}")')
        return out

    # -- the file -------------------------------------------------------------------------------
    def write(self) -> Export:
        exportable = self.exportable
        body = self.sequential() if exportable.is_chain() else self.functional()
        code = "\n".join(body)
        trained = exportable.trained
        header = [f'"""{exportable.name}, exported by cnncalc to Keras 3: channels last, so an '
                  'image is H×W×C.', "",
                  "Runs on any Keras backend (KERAS_BACKEND=jax, tensorflow or torch)."]
        if exportable.flatten_order == "chw" and "layers.Flatten(" in code:
            header.append("Flatten takes the values in C, H, W order, as PyTorch and minigrad do.")
        parts = ["\n".join(header) + '\n"""', "",
                 *(["from pathlib import Path", ""] if trained else []),
                 "import keras\nimport numpy as np\nfrom keras import layers", ""]
        if trained:
            parts.append(f'WEIGHTS = "{self.weights_file}"  # next to this file\n')
        if "Pad(" in code:
            parts.append(PAD_CLASS)
        if "PixelShuffle(" in code:
            parts.append(PIXEL_SHUFFLE_CLASS)
        if "AveragePoolingOfValues(" in code:
            parts.append(COUNTED_POOL_CLASS)
        if "AlignCornersResize(" in code:
            parts.append(ALIGN_CORNERS_CLASS)
        parts += ["", "def build_model() -> keras.Model:", code, ""]
        if trained:
            parts += ["", "def load_weights(model: keras.Model, path: Path) -> None:",
                      '    """Each layer\'s weights, saved as "<layer name>/<i>" in get_weights() '
                      'order."""',
                      "    weights = np.load(path, allow_pickle=False)",
                      "    for layer in model.layers:",
                      "        if layer.weights:",
                      "            layer.set_weights([weights[f\"{layer.name}/{i}\"]",
                      "                               for i in range(len(layer.weights))])", ""]
        parts += ["", 'if __name__ == "__main__":', "    model = build_model()"]
        parts.append("    load_weights(model, Path(__file__).with_name(WEIGHTS))" if trained
                     else "    model.summary()")
        parts.append("    rng = np.random.default_rng(0)")
        samples = []
        for index in exportable.inputs:
            shape = (2, *channels_last(exportable.part(index).shape_chw))
            vocabulary = self.token_vocabulary(index)
            samples.append(f"rng.integers(0, {vocabulary}, {shape})" if vocabulary else
                           f'rng.standard_normal({shape}).astype("float32")')
        parts.append(f"    x = {_listed(samples)}")
        if len(exportable.outputs) == 1:
            parts.append('    print("output shape:", model.predict(x, verbose=0).shape)')
        else:
            parts.append('    print("output shapes:", [y.shape for y in model.predict(x, '
                         'verbose=0)])')
        code = "\n".join(parts).replace("\n\n\n\n", "\n\n\n") + "\n"
        return Export(code, self.warnings, self.weights if trained else None)


def _shares_weights(part: Part) -> bool:
    """Whether the part reuses another's weights (a layer without weights is simply made
    again: its settings may depend on the input's size)."""
    return part.shares is not None and any(
        getattr(m, "inner", m).parameters() for m in part.modules)


def _name_arg(call: str, name: str) -> str:
    return f'{"" if call.endswith("()") else ", "}name="{name}"'


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"[{', '.join(items)}]"
