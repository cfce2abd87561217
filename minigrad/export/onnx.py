"""ONNX export: the built minigrad model as an ONNX graph (opset 17) with its weights as
initializers, computing exactly what minigrad computes.

    proto, warnings = model_proto(exportable)   # an onnx.ModelProto; needs the onnx package
    export(exportable)                          # Export: how to run the file in onnxruntime

Each minigrad module class has one translation (`_Translator.TRANSLATIONS`), read from the
module's settings, never re-derived from a framework's rules: the builder already chose the
padding sides, ceil_mode, eps and so on. Data is channels first (NCHW) with a symbolic batch
axis "N". Every node carries its layer's row name (node name and doc_string), so Netron shows
which layer it computes; weights keep their layer's dotted name ("layer1.0.conv1.weight").

Shapes are tracked per sample (batch 1) while translating: from the module's arithmetic for
convolutions and dense layers, by running the module on zeros for the cheap parameter-free ones,
so reshapes, slices and crops get static sizes.

Where opset 17 has no operator of minigrad's meaning the translation is an exact
decomposition: GELU with Erf, SiLU and Mish from Sigmoid/Tanh/Softplus, GroupNorm as an
InstanceNormalization over the groups, Softplus with PyTorch's threshold, PyTorch's uneven
adaptive windows as MatMuls with minigrad's window matrices (average) or Gathers of each
window's cells (maximum), ceil_mode as explicit pads, nearest upsampling as a Gather of
minigrad's source pixels when ONNX's floor(i / scale) would pick others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from minigrad import Tensor, no_grad
from minigrad.engine import nn
from minigrad.engine.activation import SELU_ALPHA, SELU_SCALE
from minigrad.engine.pool import AdaptiveAvgPool2d, adaptive_windows
from minigrad.engine.resample import _nearest_sources
from minigrad.engine.windows import padding_sides
from minigrad.errors import SpecError
from minigrad.export import Export, Exportable, Part
from minigrad.layers import shapes
from minigrad.layers.base import shape_text

__all__ = ["model_proto", "export", "OPSET"]

OPSET = 17
BATCH = "N"  # the symbolic batch axis of every input and output
INT64_MIN = -2 ** 63
ONNX_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise SpecError("ONNX export needs the onnx package: pip install 'cnncalc[export]'") \
            from None
    return onnx


@dataclass(frozen=True)
class Value:
    """A tensor of the graph: its name and its shape for a batch of 1."""

    name: str
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)


class _Graph:
    """The graph being built: nodes, initializers, unique names, and the part being translated
    (whose name every node carries)."""

    def __init__(self, onnx, opset: int):
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.nodes, self.initializers = [], []
        self.taken: set[str] = set()
        self.params: dict[int, str] = {}        # id of a weight -> its initializer's name
        self.constants: dict[tuple, str] = {}   # a constant's bytes -> its initializer's name
        self.part: Part | None = None
        self.prefix = ""                        # the weights' name: the layer's dotted name

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def doc(self, note: str = "") -> str:
        part = self.part
        text = f"{part.name}: {part.layer.row_type()}, output {shape_text(part.shape)}"
        return text + (f". {note}" if note else "")

    def node(self, op: str, inputs: list[str], out: str | None = None, note: str = "",
             **attributes) -> str:
        """Add a node of the current part; its output's name (`out`, or a fresh one)."""
        name = self.fresh(f"{self.part.name}/{op}")
        out = out or self.fresh(f"{name}:0")
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=name,
                                                doc_string=self.doc(note), **attributes))
        return out

    def _initializer(self, array: np.ndarray, name: str) -> str:
        name = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def param(self, weight, what: str) -> str:
        """A weight or buffer of a module as a float32 initializer, once however often it is
        used (a shared layer's weights are one initializer)."""
        if id(weight) not in self.params:
            data = np.asarray(getattr(weight, "data", weight), dtype=np.float32)
            self.params[id(weight)] = self._initializer(data, f"{self.prefix}.{what}")
        return self.params[id(weight)]

    def const(self, values, dtype=np.float32, what: str = "const") -> str:
        """A constant (float32 by default, int64 for shapes and axes), shared when repeated."""
        array = np.asarray(values, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self.constants:
            self.constants[key] = self._initializer(array, f"{self.part.name}/{what}")
        return self.constants[key]

    def ints(self, values, what: str = "axes") -> str:
        return self.const(list(values), np.int64, what)


def _sample_axis(axis: int, rank: int) -> int:
    """A per-sample axis (minigrad's: 0 is the first after the batch) as a tensor axis."""
    return axis % (rank - 1) + 1


def _to_last(rank: int) -> list[int]:
    return [0, *range(2, rank), 1]


def _to_first(rank: int) -> list[int]:
    return [0, rank - 1, *range(1, rank - 1)]


class _Translator:
    """One translation per minigrad module class: (module, input Values) -> output Value."""

    def __init__(self, graph: _Graph, flatten_order: str):
        self.g, self.flatten_order = graph, flatten_order

    # -- dispatch and shapes ----------------------------------------------------------------

    def module(self, m, xs: list[Value]) -> Value:
        for cls in type(m).__mro__:
            if cls in self.TRANSLATIONS:
                return self.TRANSLATIONS[cls](self, m, xs)
        raise SpecError(f"{self.g.part.name}: ONNX export cannot translate minigrad's "
                        f"{type(m).__name__}")

    @staticmethod
    def evaluate(m, xs: list[Value]) -> tuple[int, ...]:
        """The output shape of a parameter-free module, by running it on zeros of batch 1."""
        with no_grad():
            out = m(*[Tensor(np.zeros(x.shape, np.float32)) for x in xs])
        return tuple(out.shape)

    def same(self, op: str, x: Value, **attributes) -> Value:
        """A node that keeps its input's shape."""
        return Value(self.g.node(op, [x.name], **attributes), x.shape)

    def binary(self, op: str, a: Value | str, b: Value | str, shape=None) -> Value:
        """A two-input node (either may be a constant's name); its shape is a's unless given."""
        names = [v.name if isinstance(v, Value) else v for v in (a, b)]
        return Value(self.g.node(op, names), shape or a.shape)

    def transpose(self, x: Value, perm: list[int], note: str = "") -> Value:
        shape = tuple(x.shape[p] for p in perm)
        return Value(self.g.node("Transpose", [x.name], perm=perm, note=note), shape)

    def reshape(self, x: Value, shape: tuple[int, ...]) -> Value:
        if shape == x.shape:
            return x
        target = self.g.ints([0, *shape[1:]], "shape")  # 0: the batch, whatever it is
        return Value(self.g.node("Reshape", [x.name, target]), shape)

    def weight_and_bias(self, m) -> list[str]:
        """A convolution's weight, and its bias if it has one."""
        bias = [self.g.param(m.bias, "bias")] if m.bias is not None else []
        return [self.g.param(m.weight, "weight")] + bias

    # -- convolutions -------------------------------------------------------------------------

    def conv(self, m, xs):
        (x,) = xs
        spatial = x.shape[2:]
        sides = self.conv_sides(m, spatial)
        if m.padding_mode != "zeros":  # reflect / replicate: minigrad pads first, then convolves
            x = self.pad(x, sides, m.padding_mode)
            spatial, sides = x.shape[2:], [(0, 0)] * len(spatial)
        inputs = [x.name] + self.weight_and_bias(m)
        out = [shapes.output_size(n, k, s, side, d) for n, k, s, side, d in
               zip(spatial, m.kernel_size, m.stride, sides, m.dilation)]
        name = self.g.node("Conv", inputs, kernel_shape=list(m.kernel_size),
                           strides=list(m.stride), dilations=list(m.dilation), group=m.groups,
                           pads=[b for b, _ in sides] + [a for _, a in sides])
        return Value(name, (1, m.out_channels, *out))

    @staticmethod
    def conv_sides(m, spatial) -> list[tuple[int, int]]:
        """(before, after) per spatial axis of a Conv1d or Conv2d's padding."""
        padding = m.padding
        if padding == "valid":
            return [(0, 0)] * len(spatial)
        if padding == "same":  # stride 1 only: d·(k − 1) split with the odd pixel after
            return [shapes.same_padding(n, k, 1, d)
                    for n, k, d in zip(spatial, m.kernel_size, m.dilation)]
        if len(spatial) == 1:
            return [(padding[0], padding[0])]
        return list(padding_sides("Conv2d", padding))

    def conv_transpose(self, m, xs):
        (x,) = xs
        inputs = [x.name] + self.weight_and_bias(m)
        out = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, k, s, p, d, op in
               zip(x.shape[2:], m.kernel_size, m.stride, m.padding, m.dilation, m.output_padding)]
        name = self.g.node("ConvTranspose", inputs, kernel_shape=list(m.kernel_size),
                           strides=list(m.stride), dilations=list(m.dilation), group=m.groups,
                           pads=list(m.padding) * 2, output_padding=list(m.output_padding))
        return Value(name, (1, m.out_channels, *out))

    # -- pools ----------------------------------------------------------------------------------

    def pool(self, m, xs):
        """Max and average pools. ONNX's ceil_mode is not PyTorch's at the edge, so it is not
        used: the overhang of a ceil_mode window becomes explicit pads after the input, which
        never count in an average (PyTorch's rule); where padding that counts
        (count_include_pad) meets such an overhang, the padding is real zeros from a Pad."""
        (x,) = xs
        spatial = x.shape[2:]
        if len(spatial) == 1:
            kernel, stride, sides = (m.kernel_size,), (m.stride,), [(m.padding, m.padding)]
        else:
            kernel, stride = m.kernel_size, m.stride
            sides = list(padding_sides(type(m).__name__, m.padding))
        out = [shapes.output_size(n, k, s, side, 1, m.ceil_mode)
               for n, k, s, side in zip(spatial, kernel, stride, sides)]
        # the array each window slides over: the pads, and after them the last window's overhang
        array_sides = [(b, max(a, (o - 1) * s + k - n - b))
                       for (b, a), o, s, k, n in zip(sides, out, stride, kernel, spatial)]
        is_max = isinstance(m, nn.MaxPool2d) or getattr(m, "mode", None) == "max"  # 1-D: mode
        attributes = {}
        if not is_max:
            counted = m.count_include_pad and any(b or a for b, a in sides)
            attributes["count_include_pad"] = int(counted)
            if counted and array_sides != sides:  # padding that counts, overhang that does not
                x = self.pad(x, sides, "constant")
                array_sides = [(ab - b, aa - a) for (ab, aa), (b, a) in zip(array_sides, sides)]
                attributes["count_include_pad"] = 0
        name = self.g.node("MaxPool" if is_max else "AveragePool", [x.name],
                           kernel_shape=list(kernel), strides=list(stride),
                           pads=[b for b, _ in array_sides] + [a for _, a in array_sides],
                           **attributes)
        return Value(name, (*x.shape[:2], *out))

    def global_pool(self, m, xs):
        (x,) = xs
        op = "GlobalAveragePool" if isinstance(m, nn.GlobalAvgPool2d) else "GlobalMaxPool"
        out = Value(self.g.node(op, [x.name]), (*x.shape[:2], 1, 1))
        if m.keepdims:
            return out
        return Value(self.g.node("Squeeze", [out.name, self.g.ints([2, 3])]), x.shape[:2])

    def adaptive_pool(self, m, xs):
        """A plain pool when every output size divides its input; else minigrad's own
        computation of PyTorch's uneven windows: for a maximum, each axis' windows gathered and
        reduced; for an average, the window sums R·x·Kᵀ (0/1 window matrices) over the sizes."""
        (x,) = xs
        spatial = x.shape[2:]
        sizes = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,)
        out = tuple(n if o is None else o for n, o in zip(spatial, sizes))
        if all(n % o == 0 for n, o in zip(spatial, out)):
            kernel = [n // o for n, o in zip(spatial, out)]
            op = "AveragePool" if m.mode == "avg" else "MaxPool"
            return Value(self.g.node(op, [x.name], kernel_shape=kernel, strides=kernel),
                         (*x.shape[:2], *out))
        if m.mode == "max":  # each axis in turn: its windows gathered, the maximum of each
            value = x
            for axis, (n, o) in enumerate(zip(spatial, out), start=2):
                start, end = adaptive_windows(n, o)
                # window i's cells, its last one repeated up to the widest (a repeat never
                # changes a maximum), as minigrad's adaptive max pool takes them
                widest = np.arange((end - start).max())
                cells = np.minimum(start[:, None] + widest, end[:, None] - 1)
                gathered = Value(self.g.node("Gather", [value.name, self.g.ints(cells, "cells")],
                                             axis=axis),
                                 value.shape[:axis] + cells.shape + value.shape[axis + 1:])
                value = Value(self.reduce_node("ReduceMax", gathered, [axis + 1], False),
                              value.shape[:axis] + (o,) + value.shape[axis + 1:])
            return value
        membership = [AdaptiveAvgPool2d._membership(n, o, np.float32)
                      for n, o in zip(spatial, out)]
        value = x
        if len(out) == 2:
            value = self.binary("MatMul", self.g.const(membership[0], what="rows"), value,
                                (*x.shape[:2], out[0], spatial[1]))
        value = self.binary("MatMul", value, self.g.const(membership[-1].T, what="columns"),
                            (*x.shape[:2], *out))
        counts = np.ones(1, np.float32)
        for matrix in membership:
            counts = np.multiply.outer(counts, matrix.sum(axis=1))
        return self.binary("Div", value, self.g.const(counts.reshape(out), what="window_sizes"))

    # -- dense, embedding ---------------------------------------------------------------------

    def linear(self, m, xs):
        (x,) = xs
        weight = self.g.param(m.weight, "weight")
        bias = self.g.param(m.bias, "bias") if m.bias is not None else None
        if isinstance(m, nn.ChannelLinear):  # on every position's channel vector
            x = self.transpose(x, _to_last(x.rank))
        shape = (*x.shape[:-1], m.out_features)
        if x.rank == 2:
            inputs = [x.name, weight] + ([bias] if bias else [])
            out = Value(self.g.node("Gemm", inputs, transB=1), shape)
        else:  # on the last axis of a map: the weight transposed at run time keeps its name
            weight_t = self.g.node("Transpose", [weight], perm=[1, 0])
            out = Value(self.g.node("MatMul", [x.name, weight_t]), shape)
            if bias:
                out = self.binary("Add", out, bias)
        return self.transpose(out, _to_first(out.rank)) if isinstance(m, nn.ChannelLinear) else out

    def embedding(self, m, xs):
        (x,) = xs
        name = self.g.node("Gather", [self.g.param(m.weight, "weight"), x.name], axis=0)
        return Value(name, (*x.shape, m.embedding_dim))

    # -- normalisation ----------------------------------------------------------------------------

    def batch_norm(self, m, xs):
        (x,) = xs
        inputs = [x.name] + [self.g.param(getattr(m, what), what) for what in
                             ("weight", "bias", "running_mean", "running_var")]
        return Value(self.g.node("BatchNormalization", inputs, epsilon=m.eps), x.shape)

    def scale_and_bias(self, m, shape) -> list[str]:
        """γ and β of a norm, ones and zeros when it learns none."""
        weight = self.g.param(m.weight, "weight") if m.weight is not None \
            else self.g.const(np.ones(shape), what="ones")
        bias = self.g.param(m.bias, "bias") if m.bias is not None \
            else self.g.const(np.zeros(shape), what="zeros")
        return [weight, bias]

    def layer_norm(self, m, xs):
        (x,) = xs
        inputs = [x.name] + self.scale_and_bias(m, m.normalized_shape)
        return Value(self.g.node("LayerNormalization", inputs, axis=-len(m.normalized_shape),
                                 epsilon=m.eps), x.shape)

    def instance_norm(self, m, xs):
        (x,) = xs
        c = x.shape[1]
        scale, bias = self.scale_and_bias(m, (c,))
        if m.track_running_stats:  # in eval, minigrad uses the running statistics
            inputs = [x.name, scale, bias, self.g.param(m.running_mean, "running_mean"),
                      self.g.param(m.running_var, "running_var")]
            return Value(self.g.node("BatchNormalization", inputs, epsilon=m.eps), x.shape)
        name = self.g.node("InstanceNormalization", [x.name, scale, bias], epsilon=m.eps)
        return Value(name, x.shape)

    def group_norm(self, m, xs):
        """GroupNormalization is opset 18 (and per group, not per channel, until 21): each
        sample's groups standardised as the channels of an InstanceNormalization, then γ, β."""
        (x,) = xs
        groups, c = m.num_groups, x.shape[1]
        grouped = self.reshape(x, (1, groups, math.prod(x.shape[1:]) // groups))
        ones, zeros = self.g.const(np.ones(groups), what="ones"), \
            self.g.const(np.zeros(groups), what="zeros")
        standard = Value(self.g.node("InstanceNormalization", [grouped.name, ones, zeros],
                                     epsilon=m.eps), grouped.shape)
        out = self.reshape(standard, x.shape)
        if m.weight is None:
            return out
        per_channel = (c,) + (1,) * (x.rank - 2)
        scale = self.g.node("Reshape", [self.g.param(m.weight, "weight"),
                                        self.g.ints(per_channel, "shape")])
        bias = self.g.node("Reshape", [self.g.param(m.bias, "bias"),
                                       self.g.ints(per_channel, "shape")])
        return self.binary("Add", self.binary("Mul", out, scale), bias)

    # -- activations ------------------------------------------------------------------------------

    def plain(op: str, **attributes):  # (class body only) the translation of a settingless one
        def translate(self, m, xs):
            return self.same(op, xs[0], **attributes)
        return translate

    def leaky_relu(self, m, xs):
        return self.same("LeakyRelu", xs[0], alpha=float(m.negative_slope))

    def elu(self, m, xs):
        return self.same("Elu", xs[0], alpha=float(m.alpha))

    def relu6(self, m, xs):
        x = xs[0]
        name = self.g.node("Clip", [x.name, self.g.const(0.0), self.g.const(6.0)])
        return Value(name, x.shape)

    def softmax(self, m, xs):
        op = "LogSoftmax" if isinstance(m, nn.LogSoftmax) else "Softmax"
        return self.same(op, xs[0], axis=m.axis)

    def silu(self, m, xs):
        return self.binary("Mul", xs[0], self.same("Sigmoid", xs[0]))

    def mish(self, m, xs):
        (x,) = xs
        return self.binary("Mul", x, self.same("Tanh", self.same("Softplus", x)))

    def gelu(self, m, xs):
        """Gelu is opset 20: x·(1 + erf(x/√2))/2, or the tanh approximation as written."""
        (x,) = xs
        if m.approximate == "tanh":
            cube = self.binary("Mul", self.binary("Mul", x, x), x)
            inner = self.binary("Add", x, self.binary("Mul", cube, self.g.const(0.044715)))
            u = self.binary("Mul", inner, self.g.const(math.sqrt(2 / math.pi)))
            curve = self.same("Tanh", u)
        else:
            curve = self.same("Erf", self.binary("Div", x, self.g.const(math.sqrt(2))))
        half_x = self.binary("Mul", x, self.g.const(0.5))
        return self.binary("Mul", half_x, self.binary("Add", curve, self.g.const(1.0)))

    def softplus(self, m, xs):
        """log(1 + e^(β·x))/β, and x itself where β·x exceeds the threshold (PyTorch's)."""
        (x,) = xs
        scaled = x if m.beta == 1 else self.binary("Mul", x, self.g.const(m.beta))
        curve = self.same("Softplus", scaled)
        if m.beta != 1:
            curve = self.binary("Div", curve, self.g.const(m.beta))
        linear = self.binary("Greater", scaled, self.g.const(m.threshold))
        return Value(self.g.node("Where", [linear.name, x.name, curve.name]), x.shape)

    def prelu(self, m, xs):
        (x,) = xs
        if isinstance(m, nn.ValuePReLU):  # one slope per value, already per-sample shaped
            slope = self.g.param(m.alpha, "alpha")
        else:  # 1 or C slopes along axis 1
            slope = self.g.param(m.weight, "weight")
            if m.num_parameters > 1 and x.rank > 2:
                slope = self.g.node("Reshape", [slope, self.g.ints(
                    (m.num_parameters,) + (1,) * (x.rank - 2), "shape")])
        return Value(self.g.node("PRelu", [x.name, slope]), x.shape)

    def identity(self, m, xs):  # Dropout is the identity in inference, Identity always
        return xs[0]

    # -- reshapes, merges, arithmetic -------------------------------------------------------------

    def flatten(self, m, xs):
        (x,) = xs
        if m.start_dim != 1:
            return self.reshape(x, self.evaluate(m, xs))
        note = ""
        if self.flatten_order == "hwc" and x.rank >= 3:
            note = "the source flattens channels last (H, W, C), as this Transpose does"
            x = self.transpose(x, _to_last(x.rank), note)
        return Value(self.g.node("Flatten", [x.name], axis=1, note=note),
                     (1, math.prod(x.shape[1:])))

    def reshape_module(self, m, xs):
        return self.reshape(xs[0], self.evaluate(m, xs))

    def permute(self, m, xs):
        x = xs[0]
        return self.transpose(x, [0] + [_sample_axis(d, x.rank) for d in m.dims])

    def squeeze(self, m, xs):
        (x,) = xs
        shape = self.evaluate(m, xs)
        if shape == x.shape:
            return x
        axes = [i for i in range(1, x.rank) if x.shape[i] == 1] if m.axis is None \
            else [_sample_axis(m.axis, x.rank)]
        return Value(self.g.node("Squeeze", [x.name, self.g.ints(axes)]), shape)

    def unsqueeze(self, m, xs):
        (x,) = xs
        shape = self.evaluate(m, xs)
        axis = _sample_axis(m.axis, x.rank + 1)
        return Value(self.g.node("Unsqueeze", [x.name, self.g.ints([axis])]), shape)

    def reduce(self, m, xs):
        (x,) = xs
        op = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax",
              "min": "ReduceMin"}[m.op]
        axes = sorted(_sample_axis(a, x.rank) for a in m.axes)
        return Value(self.reduce_node(op, x, axes, m.keepdims), self.evaluate(m, xs))

    def reduce_node(self, op: str, x: Value, axes: list[int], keepdims: bool) -> str:
        if op == "ReduceSum" or self.g.opset >= 18:  # the axes became an input
            return self.g.node(op, [x.name, self.g.ints(axes)], keepdims=int(keepdims))
        return self.g.node(op, [x.name], axes=axes, keepdims=int(keepdims))

    def slice_module(self, m, xs):
        """Python indexing: the ranges as one Slice, then an int's axis dropped and None's
        added by a Reshape to minigrad's shape."""
        (x,) = xs
        starts, ends, axes, steps = [], [], [], []
        sliced = list(x.shape)
        axis = 1
        for entry in m.index:
            if entry is None:
                continue
            n = x.shape[axis]
            if isinstance(entry, tuple):
                start, stop, step = slice(*entry).indices(n)
            elif isinstance(entry, int):
                start, stop, step = entry % n, entry % n + 1, 1
            else:
                raise SpecError(f"{self.g.part.name}: ONNX export cannot translate the index "
                                f"{entry!r}")
            sliced[axis] = len(range(start, stop, step))
            if step < 0 and stop < 0:  # down to the first value: ONNX's end is INT64_MIN
                stop = INT64_MIN
            starts, ends, axes, steps = (starts + [start], ends + [stop], axes + [axis],
                                         steps + [step])
            axis += 1
        name = self.g.node("Slice", [x.name, self.g.ints(starts, "starts"),
                                     self.g.ints(ends, "ends"), self.g.ints(axes),
                                     self.g.ints(steps, "steps")])
        return self.reshape(Value(name, tuple(sliced)), self.evaluate(m, xs))

    def merge(self, m, xs):
        if m.op == "concat":
            axis = _sample_axis(m.axis, xs[0].rank)
            shape = list(xs[0].shape)
            shape[axis] = sum(x.shape[axis] for x in xs)
            return Value(self.g.node("Concat", [x.name for x in xs], axis=axis), tuple(shape))
        op = {"add": "Add", "average": "Add", "subtract": "Sub", "multiply": "Mul",
              "maximum": "Max", "minimum": "Min"}[m.op]
        out = xs[0]
        for x in xs[1:]:  # in order, pairwise, as minigrad adds
            out = self.binary(op, out, x, tuple(np.broadcast_shapes(out.shape, x.shape)))
        if m.op == "average":
            out = self.binary("Div", out, self.g.const(float(len(xs))))
        return out

    def arithmetic(self, m, xs):
        (x,) = xs
        v = self.g.const(float(m.operand))
        op = {"add": "Add", "sub": "Sub", "rsub": "Sub", "mul": "Mul", "div": "Div",
              "rdiv": "Div", "pow": "Pow", "rpow": "Pow"}[m.op]
        inputs = [v, x.name] if m.op.startswith("r") else [x.name, v]
        return Value(self.g.node(op, inputs), x.shape)

    # -- padding, resampling ----------------------------------------------------------------------

    def pad(self, x: Value, sides, mode: str, value: float = 0.0) -> Value:
        """Pad the last len(sides) axes by the positive sides, then crop the negative ones, in
        minigrad's order (a reflection is of the uncropped input)."""
        lead = x.rank - len(sides)
        if any(b > 0 or a > 0 for b, a in sides):
            before = [0] * lead + [max(b, 0) for b, _ in sides]
            after = [0] * lead + [max(a, 0) for _, a in sides]
            inputs = [x.name, self.g.ints(before + after, "pads")]
            if mode == "constant":
                inputs.append(self.g.const(value, what="pad_value"))
            shape = tuple(n + b + a for n, b, a in zip(x.shape, before, after))
            x = Value(self.g.node("Pad", inputs, mode=ONNX_PAD_MODES[mode]), shape)
        if any(b < 0 or a < 0 for b, a in sides):
            axes = [lead + i for i, (b, a) in enumerate(sides) if b < 0 or a < 0]
            starts = [max(-sides[i - lead][0], 0) for i in axes]
            ends = [x.shape[i] - max(-sides[i - lead][1], 0) for i in axes]
            shape = list(x.shape)
            for i, start, end in zip(axes, starts, ends):
                shape[i] = end - start
            x = Value(self.g.node("Slice", [x.name, self.g.ints(starts, "starts"),
                                            self.g.ints(ends, "ends"), self.g.ints(axes)]),
                      tuple(shape))
        return x

    def pad_sides(self, m, xs):
        return self.pad(xs[0], m.sides, m.mode, m.value)

    def zero_pad(self, m, xs):  # nn.ZeroPad2d and its kin: PyTorch's pad tuple, last axis first
        sides = [(m.padding[2 * i], m.padding[2 * i + 1]) for i in reversed(range(m.axes))]
        return self.pad(xs[0], sides, m.mode, m.value)

    def pixel_shuffle(self, m, xs):
        (x,) = xs
        r = m.upscale_factor
        n, c, h, w = x.shape
        return Value(self.g.node("DepthToSpace", [x.name], blocksize=r, mode="CRD"),
                     (n, c // (r * r), h * r, w * r))

    def upsample(self, m, xs):
        (x,) = xs
        shape = self.evaluate(m, xs)
        spatial, out = x.shape[2:], shape[2:]
        if m.mode == "nearest":
            scales = m.scale_factor if isinstance(m.scale_factor, (tuple, list)) \
                else (m.scale_factor,) * len(spatial)
            sources = [_nearest_sources(n, o, s, np.dtype(np.float32), len(spatial) == 2
                                        and sum(out) <= 128)
                       for n, o, s in zip(spatial, out, scales)]
            # ONNX's rule, floor(i / scale), picks minigrad's pixels for a whole scale
            whole = [o // n for n, o in zip(spatial, out)]
            if all(o == n * k and np.array_equal(src, np.arange(o) // k)
                   for n, o, k, src in zip(spatial, out, whole, sources)):
                return self.resize(x, shape, "nearest", coordinate_transformation_mode="asymmetric",
                                   nearest_mode="floor")
            value = x
            for axis, src in enumerate(sources, start=2):
                gathered = value.shape[:axis] + (len(src),) + value.shape[axis + 1:]
                value = Value(self.g.node("Gather", [value.name, self.g.ints(src, "sources")],
                                          axis=axis, note="minigrad's nearest source pixels"),
                              gathered)
            return value
        mode = "align_corners" if m.align_corners else "pytorch_half_pixel"
        return self.resize(x, shape, "linear", scales=m.scale_factor,
                           coordinate_transformation_mode=mode)

    def resize(self, x: Value, shape, mode: str, scales=None, **attributes) -> Value:
        """A Resize to `shape`: by the scale minigrad was given (its ratio is 1/scale), else by
        the sizes."""
        if scales is not None:
            per_axis = list(scales) if isinstance(scales, (tuple, list)) \
                else [scales] * (x.rank - 2)
            inputs = [x.name, "", self.g.const([1, 1] + per_axis, what="scales")]
        else:  # the sizes: the batch and channels as they come (the batch is symbolic), then ours
            leading = self.g.node("Shape", [x.name], start=0, end=2)
            sizes = self.g.node("Concat", [leading, self.g.ints(shape[2:], "sizes")], axis=0)
            inputs = [x.name, "", "", sizes]
        return Value(self.g.node("Resize", inputs, mode=mode, **attributes), shape)

    def sequential(self, m, xs):
        for inner in m:
            xs = [self.module(inner, xs)]
        return xs[0]

    def channels_last(self, m, xs):
        """Keras' last-axis layer on channels-first maps: channels moved last, the layer, and a
        map result moved back (flat tensors pass as they are)."""
        moved = [self.transpose(x, _to_last(x.rank)) if x.rank >= 3 else x for x in xs]
        out = self.module(m.inner, moved)
        return self.transpose(out, _to_first(out.rank)) if out.rank >= 3 else out

    TRANSLATIONS = {
        nn.Conv2d: conv, nn.Conv1d: conv, nn.ConvTranspose2d: conv_transpose,
        nn.ConvTranspose1d: conv_transpose,
        nn.MaxPool2d: pool, nn.AvgPool2d: pool, nn.MaxPool1d: pool,
        nn.GlobalAvgPool2d: global_pool, nn.GlobalMaxPool2d: global_pool,
        nn.AdaptiveAvgPool2d: adaptive_pool, nn.AdaptiveAvgPool1d: adaptive_pool,
        nn.Linear: linear, nn.Embedding: embedding,
        nn.BatchNorm2d: batch_norm, nn.LayerNorm: layer_norm, nn.GroupNorm: group_norm,
        nn.InstanceNorm2d: instance_norm,
        nn.ReLU: plain("Relu"), nn.Sigmoid: plain("Sigmoid"), nn.Tanh: plain("Tanh"),
        nn.SELU: plain("Selu", alpha=SELU_ALPHA, gamma=SELU_SCALE),
        nn.Hardswish: plain("HardSwish"),
        nn.Hardsigmoid: plain("HardSigmoid", alpha=1 / 6, beta=0.5),
        nn.Softsign: plain("Softsign"), nn.LeakyReLU: leaky_relu, nn.ELU: elu,
        nn.ReLU6: relu6, nn.Softmax: softmax, nn.SiLU: silu, nn.Mish: mish, nn.GELU: gelu,
        nn.Softplus: softplus, nn.PReLU: prelu, nn.ValuePReLU: prelu,
        nn.Dropout: identity, nn.Identity: identity,
        nn.Flatten: flatten, nn.Reshape: reshape_module, nn.Permute: permute,
        nn.Squeeze: squeeze, nn.Unsqueeze: unsqueeze, nn.Reduce: reduce, nn.Slice: slice_module,
        nn.Merge: merge, nn.Arithmetic: arithmetic, nn.PadSides: pad_sides,
        nn.ZeroPad1d: zero_pad, nn.ConstantPad1d: zero_pad, nn.ReflectionPad1d: zero_pad,
        nn.ReplicationPad1d: zero_pad, nn.PixelShuffle: pixel_shuffle, nn.Upsample: upsample,
        nn.ChannelsLast: channels_last, nn.Sequential: sequential,
    }
    del plain


def _takes_token_ids(exportable: Exportable, index: int) -> bool:
    """Whether input `index` feeds an embedding (integer ids) rather than float32 values."""
    for part in exportable.parts:
        if index in part.inputs and part.modules:
            first = part.modules[0]
            first = first.inner if isinstance(first, nn.ChannelsLast) else first
            if isinstance(first, nn.Embedding):
                return True
    return False


def _used_inputs(exportable: Exportable) -> list[int]:
    """The inputs the outputs depend on (a layer graph may hold others: a decoder's own Input
    beside the autoencoder that reuses its layers), in the model's order."""
    used = {i for part in exportable.parts for i in part.inputs} | set(exportable.outputs)
    return [i for i in exportable.inputs if i in used]


def _owns_weights(module) -> bool:
    return bool((module.inner if isinstance(module, nn.ChannelsLast) else module).state_dict())


def _rename(nodes, old: str, new: str) -> None:
    for node in nodes:
        for names in (node.input, node.output):
            for i, name in enumerate(names):
                if name == old:
                    names[i] = new


def _translate_part(translator: _Translator, part: Part, flowing: list[Value]) -> Value:
    """The value of one node: its modules applied in order."""
    owners = [m for m in part.modules if _owns_weights(m)]
    for module in part.modules:
        # the weights' names as the built model has them: "conv1.weight", and "sep.0.weight",
        # "sep.1.weight" for a layer of several weighted modules
        translator.g.prefix = part.name + (f".{owners.index(module)}" if len(owners) > 1
                                           and module in owners else "")
        flowing = [translator.module(module, flowing)]
    value = flowing[0]
    if value.shape[1:] != tuple(part.shape_chw):  # a translation's shape arithmetic is wrong
        raise SpecError(f"{part.name}: the ONNX graph makes {shape_text(value.shape[1:])} where "
                        f"the analysis has {shape_text(part.shape_chw)}")
    return value


def _input_names(exportable: Exportable, inputs: list[int]) -> list[str]:
    """"input" for a model of one input, else each input's layer name."""
    return [exportable.part(i).name for i in inputs] if len(inputs) > 1 else ["input"]


def _output_names(exportable: Exportable) -> list[str]:
    count = len(exportable.outputs)
    return [f"output_{k}" for k in range(count)] if count > 1 else ["output"]


def _name_outputs(graph: _Graph, exportable: Exportable, values: dict[int, Value]) -> None:
    """Give each output value its graph output's name, the first after the final activation
    the source applies (if any)."""
    produced = {out for node in graph.nodes for out in node.output}
    renamed: dict[str, str] = {}  # a value the node making it now names as a graph output
    for k, (index, name) in enumerate(zip(exportable.outputs, _output_names(exportable))):
        graph.part, value = exportable.part(index), values[index]
        final = exportable.final_activation if k == 0 else None
        if final:
            op = {"softmax": "Softmax", "log_softmax": "LogSoftmax"}[final]
            graph.node(op, [value.name], out=name, axis=1,
                       note=f"the source's final {final}, which minigrad leaves to the loss")
        elif value.name in produced and value.name not in renamed:
            # the node making it makes the output itself: no Identity (onnxruntime 1.32's Pad
            # fusion loses a tensor that an Identity to a graph output also reads)
            _rename(graph.nodes, value.name, name)
            renamed[value.name] = name
        else:  # an input, or a value that is already an output
            graph.node("Identity", [renamed.get(value.name, value.name)], out=name)


def model_proto(exportable: Exportable, opset: int = OPSET):
    """(the model as an onnx.ModelProto, the warnings): what minigrad computes, as an ONNX graph
    of `opset` (17 or later) with the weights as float32 initializers.

    There are no warnings: every translation is exact up to float32 rounding, and a module
    that has none is a SpecError naming its layer. The list is the exporters' shared interface.
    """
    onnx = _onnx()
    if opset < OPSET:
        raise SpecError(f"ONNX export writes opset {OPSET} or later (LayerNormalization), not "
                        f"{opset}")
    helper, proto = onnx.helper, onnx.TensorProto
    graph = _Graph(onnx, opset)
    inputs = _used_inputs(exportable)
    input_names = _input_names(exportable, inputs)
    graph.taken.update(input_names + _output_names(exportable))

    values: dict[int, Value] = {}
    graph_inputs = []
    for index, name in zip(inputs, input_names):
        part = exportable.part(index)
        ids = _takes_token_ids(exportable, index)
        graph_inputs.append(helper.make_tensor_value_info(
            name, proto.INT64 if ids else proto.FLOAT, [BATCH, *part.shape_chw],
            f"{part.name}: {'token ids' if ids else 'channels first'}"))
        values[index] = Value(name, (1, *part.shape_chw))
    translator = _Translator(graph, exportable.flatten_order)
    for part in exportable.parts:
        if part.inputs:
            graph.part = part
            values[part.index] = _translate_part(translator, part,
                                                 [values[i] for i in part.inputs])
    _name_outputs(graph, exportable, values)

    graph_outputs = [helper.make_tensor_value_info(name, proto.FLOAT,
                                                   [BATCH, *exportable.part(index).shape_chw])
                     for index, name in zip(exportable.outputs, _output_names(exportable))]
    model = helper.make_model(
        helper.make_graph(graph.nodes, exportable.name, graph_inputs, graph_outputs,
                          graph.initializers,
                          doc_string=f"{exportable.name}, exported by cnncalc from minigrad"),
        opset_imports=[helper.make_opsetid("", opset)], producer_name="cnncalc")
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    return model, []


def export(exportable: Exportable) -> Export:
    """How to run the ONNX file in onnxruntime, with the translation's warnings (the CLI writes
    model_proto(...)[0] to the file, and prints usage() itself, so as to translate once)."""
    _, warnings = model_proto(exportable)
    return Export(usage(exportable), warnings, None)


def usage(exportable: Exportable, path: str = "model.onnx") -> str:
    """Three lines of Python that open the file in onnxruntime and run it."""
    inputs = _used_inputs(exportable)
    feeds = ", ".join(f'"{name}": x{k}'
                      for k, name in enumerate(_input_names(exportable, inputs)))
    described = ", ".join(
        f"x{k} {'int64 token ids' if _takes_token_ids(exportable, i) else 'float32'} "
        f"(N, {', '.join(map(str, exportable.part(i).shape_chw))})" for k, i in enumerate(inputs))
    return ("import onnxruntime  # pip install onnxruntime\n"
            f'session = onnxruntime.InferenceSession("{path}", '
            'providers=["CPUExecutionProvider"])\n'
            f"outputs = session.run(None, {{{feeds}}})  # numpy, channels first: {described}\n")
