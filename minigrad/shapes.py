"""Layer arithmetic for 2-D convolutional networks: the one place where output sizes, padding,
parameter counts, receptive fields and costs are computed.

`cnncalc shapes`, the engine's layers and `model.summary()` all read their numbers from here.
Everything is plain Python integers (no numpy), so a 100000x100000 input is exact.

Conventions
- A network is an input shape plus a sequence of layers, in one of two layouts: "hwc"
  (Keras and the layer language: H x W x C) or "chw" (PyTorch: C x H x W). Shapes never
  include the batch axis.
- Two rule sets: "keras" (padding 'same' gives ceil(H/S), odd padding pixel at the bottom/right)
  and "torch" (padding 'same' only at stride 1; pools may use ceil_mode).
- Receptive fields use input pixel coordinates with pixel centres at 0, 1, 2, ...; padding pixels
  have coordinates outside 0..H-1 and count towards the field's size, as in the usual recurrence
  r_out = r_in + (K_eff - 1) * j_in, j_out = j_in * S.
- MACs count multiply-accumulates of conv and dense layers per sample, bias excluded;
  FLOPs = 2 * MACs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from typing import Literal, Union

from .errors import SpecError, Where

Layout = Literal["hwc", "chw"]
Rules = Literal["keras", "torch"]
Pair = tuple[int, int]
Padding = Union[str, Pair]  # "valid", "same", or explicit (rows, cols) added on each side

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "linear")
LAYER_TYPES = ("input", "conv", "maxpool", "avgpool", "globalavgpool", "flatten", "dense",
               "dropout", "batchnorm", "activation")
BYTES_PER_FLOAT32 = 4


# ---------------------------------------------------------------------------------------------
# Layer descriptions: what a model says, before any arithmetic.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Layer:
    """Fields every layer has: an optional name and where it was written in the source."""

    name: str | None = None
    where: Where | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class Conv(Layer):
    filters: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = "valid"
    dilation: Pair = (1, 1)
    bias: bool = True
    activation: str | None = None
    in_channels: int | None = None  # declared by PyTorch code; checked against what arrives


@dataclass(frozen=True, kw_only=True)
class Pool(Layer):
    mode: Literal["max", "avg"]
    kernel: Pair
    stride: Pair | None = None  # None: the pool size, as in Keras and PyTorch
    padding: Padding = "valid"
    ceil: bool = False


@dataclass(frozen=True, kw_only=True)
class AdaptiveAvgPool(Layer):
    """PyTorch's AdaptiveAvgPool2d: exact only when the input divides evenly into the output."""

    output: Pair


@dataclass(frozen=True, kw_only=True)
class GlobalAvgPool(Layer):
    keepdims: bool = False  # Keras drops H and W; PyTorch's AdaptiveAvgPool2d(1) keeps them as 1x1


@dataclass(frozen=True, kw_only=True)
class Flatten(Layer):
    expect_features: int | None = None  # x.view(-1, 400) states the size it expects


@dataclass(frozen=True, kw_only=True)
class Dense(Layer):
    units: int
    bias: bool = True
    activation: str | None = None
    in_features: int | None = None  # declared by PyTorch code; checked against what arrives


@dataclass(frozen=True, kw_only=True)
class Dropout(Layer):
    rate: float


@dataclass(frozen=True, kw_only=True)
class BatchNorm(Layer):
    num_features: int | None = None  # declared by PyTorch code; checked against what arrives


@dataclass(frozen=True, kw_only=True)
class Activation(Layer):
    fn: str


@dataclass(frozen=True)
class Network:
    """An input shape (in `layout`, without the batch axis) and layers applied in order."""

    input_shape: tuple[int, ...] | None
    layers: tuple[Layer, ...]
    layout: Layout = "hwc"
    rules: Rules = "keras"
    input_where: Where | None = field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------------------------------------
# Results: one row per layer.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """What one layer produces. Shapes are in the summary's layout; spatial pairs are (H, W).

    `jump` entries are None once a layer has mixed the whole extent of an axis (dense after
    flatten, global pooling): every unit then sees all of it.
    """

    index: int
    name: str
    type: str
    description: str
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int
    receptive_field: Pair | None
    jump: tuple[int | None, int | None] | None
    rf_center: tuple[float, float] | None
    notes: tuple[str, ...] = ()
    explain: tuple[str, ...] = ()

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params

    def to_dict(self) -> dict:
        return {
            "index": self.index, "name": self.name, "type": self.type,
            "description": self.description, "output_shape": list(self.output_shape),
            "params": self.params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "receptive_field": _list_or_none(self.receptive_field), "jump": _list_or_none(self.jump),
            "rf_center": _list_or_none(self.rf_center), "macs": self.macs,
            "notes": list(self.notes), "explain": list(self.explain),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Row:
        values = {f.name: data[f.name] for f in fields(cls)}
        for key in ("output_shape", "receptive_field", "jump", "rf_center", "notes", "explain"):
            if values[key] is not None:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True)
class Summary:
    """All rows of a network, input first, with totals."""

    layout: Layout
    rows: tuple[Row, ...]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.rows[0].output_shape

    @property
    def layers(self) -> tuple[Row, ...]:
        """The rows after the input row."""
        return self.rows[1:]

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def param_bytes(self) -> int:
        """Parameter memory in float32."""
        return BYTES_PER_FLOAT32 * self.total_params

    @property
    def activation_bytes(self) -> int:
        """Forward activation memory per sample in float32: every layer's output, input excluded."""
        return BYTES_PER_FLOAT32 * sum(math.prod(r.output_shape) for r in self.layers)

    def in_layout(self, layout: Layout) -> Summary:
        """The same summary with 3-D shapes shown in another layout."""
        if layout == self.layout:
            return self
        rows = tuple(replace(r, output_shape=convert_shape(r.output_shape, self.layout, layout))
                     for r in self.rows)
        return Summary(layout, rows)

    def to_dict(self) -> dict:
        return {
            "input_shape": list(self.input_shape), "layout": self.layout,
            "layers": [r.to_dict() for r in self.rows],
            "total_params": self.total_params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "total_macs": self.total_macs, "total_flops": self.total_flops,
            "param_bytes": self.param_bytes, "activation_bytes": self.activation_bytes,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        return cls(data["layout"], tuple(Row.from_dict(r) for r in data["layers"]))


def convert_shape(shape: tuple[int, ...], source: Layout, target: Layout) -> tuple[int, ...]:
    """Reorder a 3-D shape between H x W x C and C x H x W; other ranks are unchanged."""
    if len(shape) != 3 or source == target:
        return tuple(shape)
    if source == "hwc":
        h, w, c = shape
        return (c, h, w)
    c, h, w = shape
    return (h, w, c)


def _list_or_none(pair):
    return None if pair is None else list(pair)


# ---------------------------------------------------------------------------------------------
# One spatial axis: output size of a sliding window, and the receptive-field recurrence.
# ---------------------------------------------------------------------------------------------

def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: D*(K-1) + 1."""
    return dilation * (kernel - 1) + 1


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> Pair:
    """Keras/TensorFlow 'same' padding as (before, after); the odd pixel goes after.

    Output ceil(H/S); total padding max((ceil(H/S) - 1)*S + D*(K-1) + 1 - H, 0).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def output_size(size: int, kernel: int, stride: int = 1, padding: int | Pair = 0,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Number of window positions along one axis: floor((H + 2P - D(K-1) - 1) / S) + 1.

    `padding` is P on both sides or (before, after). With ceil_mode (PyTorch pools) the division
    rounds up, but a last window that would start in the trailing padding is dropped (PyTorch's
    rule; with pool padding at most half the kernel, at most one window is ever dropped).
    Raises ValueError when the window does not fit in the padded input.
    """
    before, after = (padding, padding) if isinstance(padding, int) else padding
    span = size + before + after - effective_kernel(kernel, dilation)
    if span < 0:
        raise ValueError(f"window {effective_kernel(kernel, dilation)} is larger than the padded "
                         f"input {size + before + after}")
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out


@dataclass(frozen=True)
class _Axis:
    """How units along one spatial axis map back to input pixels.

    size: units along this axis; rf: receptive-field size in input pixels; jump: input pixels
    between neighbouring units (None once the axis is fully mixed); center: centre of the first
    unit's field in input pixel coordinates.
    """

    size: int
    rf: int
    jump: int | None
    center: Fraction

    def slide(self, out: int, eff_kernel: int, stride: int, pad_before: int) -> _Axis:
        if self.jump is None:  # already sees the whole input along this axis
            return replace(self, size=out)
        return _Axis(out, self.rf + (eff_kernel - 1) * self.jump, self.jump * stride,
                     self.center + (Fraction(eff_kernel - 1, 2) - pad_before) * self.jump)

    def collapse(self, size: int = 1) -> _Axis:
        """Every unit now depends on all `self.size` units: the field covers the whole extent."""
        if self.jump is None:
            return replace(self, size=size)
        return _Axis(size, self.rf + (self.size - 1) * self.jump, None,
                     self.center + Fraction(self.size - 1, 2) * self.jump)


def _number(x) -> str:
    """An exact number as a learner would write it: 3, 2.5, 1,605,760."""
    if isinstance(x, Fraction):
        return f"{x.numerator}" if x.denominator == 1 else f"{float(x):g}"
    return f"{x:,}" if isinstance(x, int) else f"{x}"


def _center_value(center: Fraction) -> float | int:
    return int(center) if center.denominator == 1 else float(center)


# ---------------------------------------------------------------------------------------------
# Analysis: walk the layers, keeping the shape and the two spatial axes' receptive fields.
# ---------------------------------------------------------------------------------------------

@dataclass
class _State:
    shape: tuple[int, ...]
    axes: tuple[_Axis, _Axis] | None  # (H, W); None when the input was never spatial
    flattened_from: tuple[int, ...] | None = None  # the map a flatten just turned into a vector


def analyze(network: Network) -> Summary:
    """Compute every layer's row. Raises SpecError naming the layer when they do not fit."""
    if network.input_shape is None:
        raise SpecError("missing input shape: start with an input line (e.g. 'input 28x28x1') "
                        "or pass --input", network.input_where)
    shape = tuple(network.input_shape)
    if len(shape) not in (1, 3) or any(not isinstance(d, int) or d <= 0 for d in shape):
        layout = "H x W x C" if network.layout == "hwc" else "C x H x W"
        raise SpecError(f"input shape must be positive integers, {layout} or a flat size; got "
                        f"{_shape_text(shape)}", network.input_where)
    analyzer = _Analyzer(network)
    state = _State(shape, analyzer.spatial_axes(shape))
    field0 = (1, 1) if state.axes else None
    rows = [Row(0, "input", "input", "input", shape, 0, 0, 0, field0,
                (1, 1) if state.axes else None, (0, 0) if state.axes else None)]
    names = _default_names(network.layers)
    for index, (layer, name) in enumerate(zip(network.layers, names), start=1):
        row, state = analyzer.step(index, name, layer, state)
        rows.append(row)
    return Summary(network.layout, tuple(rows))


_KERAS_NAMES = {Conv: "conv2d", Pool: None, AdaptiveAvgPool: "adaptive_avg_pool2d",
                GlobalAvgPool: "global_average_pooling2d", Flatten: "flatten", Dense: "dense",
                Dropout: "dropout", BatchNorm: "batch_normalization", Activation: "activation"}


def _default_names(layers) -> list[str]:
    """Keras-style names (conv2d, conv2d_1, max_pooling2d, ...) for layers that have none."""
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        if layer.name:
            names.append(layer.name)
            continue
        base = _KERAS_NAMES[type(layer)] or ("max_pooling2d" if layer.mode == "max"
                                             else "average_pooling2d")
        n = counts.get(base, 0)
        counts[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def _shape_text(shape) -> str:
    return "×".join(str(d) for d in shape) if shape else "()"


def _pair_text(pair: Pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


class _Analyzer:
    """Per-layer arithmetic for one network's layout and rules."""

    def __init__(self, network: Network):
        self.layout = network.layout
        self.rules = network.rules

    # -- layout helpers -------------------------------------------------------------------
    def chw(self, shape) -> tuple[int, int, int]:
        return convert_shape(shape, self.layout, "chw")

    def from_chw(self, c: int, h: int, w: int) -> tuple[int, int, int]:
        return convert_shape((c, h, w), "chw", self.layout)

    def spatial_axes(self, shape) -> tuple[_Axis, _Axis] | None:
        if len(shape) != 3:
            return None
        _, h, w = self.chw(shape)
        return _Axis(h, 1, 1, Fraction(0)), _Axis(w, 1, 1, Fraction(0))

    def need_map(self, layer: Layer, name: str, kind: str, shape) -> tuple[int, int, int]:
        if len(shape) != 3:
            want = "H×W×C" if self.layout == "hwc" else "C×H×W"
            raise SpecError(f"{name}: {kind} needs a {want} feature map but receives "
                            f"{_shape_text(shape)}", layer.where)
        return self.chw(shape)

    # -- one layer ------------------------------------------------------------------------
    def step(self, index: int, name: str, layer: Layer, state: _State) -> tuple[Row, _State]:
        handler = {Conv: self.conv, Pool: self.pool, AdaptiveAvgPool: self.adaptive_pool,
                   GlobalAvgPool: self.global_pool, Flatten: self.flatten, Dense: self.dense,
                   Dropout: self.dropout, BatchNorm: self.batchnorm,
                   Activation: self.activation}[type(layer)]
        result = handler(name, layer, state)
        axes = result["state"].axes
        params = result.get("params", 0)
        row = Row(
            index=index, name=name, type=result["type"],
            description=result.get("description", ""), output_shape=result["state"].shape,
            params=params, trainable_params=result.get("trainable", params),
            macs=result.get("macs", 0),
            receptive_field=(axes[0].rf, axes[1].rf) if axes else None,
            jump=(axes[0].jump, axes[1].jump) if axes else None,
            rf_center=(_center_value(axes[0].center), _center_value(axes[1].center)) if axes else None,
            notes=tuple(result.get("notes", ())), explain=tuple(result.get("explain", ())),
        )
        return row, result["state"]

    def windowed(self, layer: Layer, name: str, kind: str, shape, kernel: Pair, stride: Pair,
                 padding: Padding, dilation: Pair, ceil: bool, axes):
        """Output H, W, new axes, explanation lines and notes for a sliding window (conv or pool)."""
        _, h, w = self.need_map(layer, name, kind, shape)
        sizes, new_axes, explain, notes = [], [], [], []
        for axis_name, unit, n, k, s, d, ax, i in (("OH", "row", h, kernel[0], stride[0],
                                                    dilation[0], axes[0], 0),
                                                   ("OW", "column", w, kernel[1], stride[1],
                                                    dilation[1], axes[1], 1)):
            eff = effective_kernel(k, d)
            if padding == "same":
                before, after = same_padding(n, k, s, d)
            elif padding == "valid":
                before = after = 0
            else:
                before = after = padding[i]
            if n + before + after < eff:
                what = "kernel" if kind == "conv" else "pool window"
                raise SpecError(f"{name}: {what} {kernel[0]}×{kernel[1]}"
                                f"{f' (dilated to {eff})' if d > 1 else ''} is larger than its "
                                f"{'padded ' if before + after else ''}input "
                                f"{n + before + after} along {'H' if i == 0 else 'W'}", layer.where)
            out = output_size(n, k, s, (before, after), d, ceil)
            sizes.append(out)
            new_axes.append(ax.slide(out, eff, s, before))
            explain.append(self.size_formula(axis_name, n, k, s, d, padding, before, after, ceil, out))
            span = n + before + after - eff
            if not ceil and span % s:
                left_over = span % s
                notes.append((f"stride {s} does not divide {n} + {before + after} − {eff} = {span}: "
                              f"the last {f'{left_over} ' if left_over > 1 else ''}{{}} of the padded "
                              "input {} never covered", unit + "s" * (left_over > 1), left_over > 1))
        if len(notes) == 2 and notes[0][0] == notes[1][0]:
            notes = [notes[0][0].format(f"{notes[0][1]} and {notes[1][1]}", "are")]
        else:
            notes = [text.format(units, "are" if plural else "is") for text, units, plural in notes]
        if explain[0].split(" = ", 1)[1] == explain[1].split(" = ", 1)[1]:
            explain = ["OH = OW = " + explain[0].split(" = ", 1)[1]]
        rf_lines = self.rf_formulas(axes, new_axes, kernel, stride, dilation)
        return sizes, tuple(new_axes), explain + rf_lines, notes

    def size_formula(self, axis_name, n, k, s, d, padding, before, after, ceil, out) -> str:
        pad = f"2·{before}" if before == after else f"{before} + {after}"
        kernel = f"{k}" if d == 1 else f"{d}·({k} − 1) − 1"
        rounding = "ceil" if ceil else "floor"
        text = f"{axis_name} = {rounding}(({n} + {pad} − {kernel}) / {s}) + 1 = {out}"
        if padding == "same":
            text += f"   ('same': ceil({n}/{s}) = {out}, pad {before} + {after})"
        if ceil and (out - 1) * s >= n + before:
            text += " (last window would start in the padding, dropped)"
        return text

    def rf_formulas(self, axes, new_axes, kernel, stride, dilation) -> list[str]:
        """r_out = r_in + D·(K − 1)·j_in, j_out = j_in·S, per axis (one line when H and W agree)."""
        lines = []
        for label, old, new, k, s, d in (("_H", axes[0], new_axes[0], kernel[0], stride[0], dilation[0]),
                                          ("_W", axes[1], new_axes[1], kernel[1], stride[1], dilation[1])):
            if old.jump is None:
                lines.append(f"r{label} = {old.rf} (already the whole input)")
                continue
            grow = f"({k} − 1)" if d == 1 else f"{d}·({k} − 1)"
            lines.append(f"r{label} = {old.rf} + {grow}·{old.jump} = {new.rf},  "
                         f"j{label} = {old.jump}·{s} = {new.jump},  "
                         f"center{label} = {_number(new.center)}")
        if lines[0].replace("_H", "") == lines[1].replace("_W", ""):
            return [lines[0].replace("_H", "")]
        return lines

    def conv(self, name, layer: Conv, state: _State) -> dict:
        _check_positive(name, layer, filters=layer.filters, kernel=layer.kernel,
                        stride=layer.stride, dilation=layer.dilation)
        _check_padding(name, layer)
        _check_activation(name, layer, layer.activation)
        if self.rules == "torch" and layer.padding == "same" and layer.stride != (1, 1):
            raise SpecError(f"{name}: padding='same' is not supported for strided convolutions "
                            "(PyTorch refuses it too)", layer.where)
        if self.rules == "keras" and layer.stride != (1, 1) and layer.dilation != (1, 1):
            raise SpecError(f"{name}: Keras does not allow strides > 1 together with "
                            "dilation_rate > 1", layer.where)
        c, h, w = self.need_map(layer, name, "conv", state.shape)
        if layer.in_channels is not None and layer.in_channels != c:
            raise SpecError(f"{name}: expects {layer.in_channels} input channels but receives {c} "
                            f"(input {_shape_text(state.shape)})", layer.where)
        (oh, ow), axes, explain, notes = self.windowed(
            layer, name, "conv", state.shape, layer.kernel, layer.stride, layer.padding,
            layer.dilation, False, state.axes)
        kh, kw = layer.kernel
        weights = kh * kw * c * layer.filters
        params = weights + (layer.filters if layer.bias else 0)
        macs = weights * oh * ow
        explain += [
            f"params = {kh}·{kw}·{c}·{layer.filters}"
            + (f" + {layer.filters} = {_number(params)}" if layer.bias else f" = {_number(params)} (no bias)"),
            f"MACs = {kh}·{kw}·{c}·{layer.filters}·{oh}·{ow} = {_number(macs)}",
        ]
        parts = [f"{layer.filters} filters {kh}×{kw}"]
        parts += _window_words(layer.stride, layer.padding, layer.dilation)
        if not layer.bias:
            parts.append("no bias")
        if layer.activation and layer.activation != "linear":
            parts.append(layer.activation)
        return dict(type="conv", description=", ".join(parts), params=params, macs=macs,
                    explain=explain, notes=notes,
                    state=_State(self.from_chw(layer.filters, oh, ow), axes))

    def pool(self, name, layer: Pool, state: _State) -> dict:
        stride = layer.stride or layer.kernel
        _check_positive(name, layer, kernel=layer.kernel, stride=stride)
        _check_padding(name, layer)
        if isinstance(layer.padding, tuple):
            for p, k in zip(layer.padding, layer.kernel):
                if 2 * p > k:
                    raise SpecError(f"{name}: pad should be at most half of kernel size, but got "
                                    f"pad={p}, kernel_size={k} (PyTorch's rule: a window must not "
                                    "lie wholly in the padding)", layer.where)
        c, h, w = self.need_map(layer, name, f"{layer.mode}pool", state.shape)
        (oh, ow), axes, explain, notes = self.windowed(
            layer, name, f"{layer.mode}pool", state.shape, layer.kernel, stride, layer.padding,
            (1, 1), layer.ceil, state.axes)
        kh, kw = layer.kernel
        explain.append(f"params = 0 ({'maximum' if layer.mode == 'max' else 'mean'} of each "
                       f"{kh}×{kw} window, per channel)")
        parts = [f"{layer.mode} {kh}×{kw}"] + _window_words(stride, layer.padding, (1, 1))
        if layer.ceil:
            parts.append("ceil")
        return dict(type=f"{layer.mode}pool", description=", ".join(parts), explain=explain,
                    notes=notes, state=_State(self.from_chw(c, oh, ow), axes))

    def adaptive_pool(self, name, layer: AdaptiveAvgPool, state: _State) -> dict:
        c, h, w = self.need_map(layer, name, "adaptive avgpool", state.shape)
        _check_positive(name, layer, output=layer.output)
        if layer.output == (1, 1):
            return self.global_pool(name, GlobalAvgPool(name=layer.name, where=layer.where,
                                                        keepdims=True), state)
        oh, ow = layer.output
        if h % oh or w % ow:
            raise SpecError(f"{name}: AdaptiveAvgPool2d from {h}×{w} to {oh}×{ow} has windows of uneven "
                            "size; it is supported only when the output size divides the input "
                            "size", layer.where)
        as_pool = Pool(name=layer.name, where=layer.where, mode="avg", kernel=(h // oh, w // ow))
        result = self.pool(name, as_pool, state)
        result["description"] = f"adaptive to {oh}×{ow}: " + result["description"]
        return result

    def global_pool(self, name, layer: GlobalAvgPool, state: _State) -> dict:
        c, h, w = self.need_map(layer, name, "global average pooling", state.shape)
        shape = self.from_chw(c, 1, 1) if layer.keepdims else (c,)
        axes = (state.axes[0].collapse(), state.axes[1].collapse())
        return dict(type="globalavgpool", description="mean over H×W per channel",
                    explain=[f"{_shape_text(state.shape)} → {_shape_text(shape)}: each of the {c} "
                             f"channels averaged over {h}·{w} positions", "params = 0",
                             f"r = {_pair_text((axes[0].rf, axes[1].rf))} (the whole input)"],
                    state=_State(shape, axes))

    def flatten(self, name, layer: Flatten, state: _State) -> dict:
        size = math.prod(state.shape)
        if layer.expect_features is not None and layer.expect_features != size:
            raise SpecError(f"{name}: reshaping to {layer.expect_features} features per sample, "
                            f"but the tensor has {' · '.join(map(str, state.shape))} = {size:,}",
                            layer.where)
        explain = [f"{_number(size)} = {' · '.join(map(str, state.shape))}"]
        return dict(type="flatten", explain=explain,
                    state=_State((size,), state.axes,
                                 state.shape if len(state.shape) > 1 else state.flattened_from))

    def dense(self, name, layer: Dense, state: _State) -> dict:
        _check_positive(name, layer, units=layer.units)
        _check_activation(name, layer, layer.activation)
        n_in = state.shape[-1]
        if layer.in_features is not None and layer.in_features != n_in:
            origin = ""
            if state.flattened_from and len(state.shape) == 1:
                origin = f" (the flatten before it gives {' · '.join(map(str, state.flattened_from))} = {n_in:,})"
            raise SpecError(f"{name}: expects {layer.in_features:,} input features but receives "
                            f"{n_in:,}{origin}", layer.where,
                            hint=f"set in_features to {n_in}")
        positions = math.prod(state.shape[:-1])
        weights = n_in * layer.units
        params = weights + (layer.units if layer.bias else 0)
        macs = weights * positions
        notes, axes = [], state.axes
        if len(state.shape) == 1:
            if axes is not None:
                axes = (axes[0].collapse(), axes[1].collapse())
        else:
            notes.append(f"dense on a non-flat input {_shape_text(state.shape)} acts on the last "
                         "axis only; is a flatten missing?")
            if axes is not None and self.layout == "chw":  # the last axis is W: mix all columns
                axes = (axes[0], axes[1].collapse(layer.units))
        shape = state.shape[:-1] + (layer.units,)
        at = f"·{positions}" if positions > 1 else ""
        explain = [
            f"params = {_number(n_in)}·{_number(layer.units)}"
            + (f" + {_number(layer.units)} = {_number(params)}" if layer.bias
               else f" = {_number(params)} (no bias)"),
            f"MACs = {_number(n_in)}·{_number(layer.units)}{at} = {_number(macs)}",
        ]
        if axes is not None:
            explain.append(f"r = {_pair_text((axes[0].rf, axes[1].rf))} "
                           "(each unit sees every input it is connected to)")
        description = f"{layer.units} units"
        if not layer.bias:
            description += ", no bias"
        if layer.activation and layer.activation != "linear":
            description += f", {layer.activation}"
        return dict(type="dense", description=description, params=params, macs=macs,
                    notes=notes, explain=explain, state=_State(shape, axes))

    def dropout(self, name, layer: Dropout, state: _State) -> dict:
        if not 0 <= layer.rate < 1:
            raise SpecError(f"{name}: dropout rate must be in [0, 1), got {layer.rate}", layer.where)
        explain = [f"training: each unit zeroed with probability {layer.rate:g}, the rest scaled "
                   f"by 1/(1 − {layer.rate:g}); inference: unchanged"]
        return dict(type="dropout", description=f"rate {layer.rate:g}", explain=explain,
                    state=replace(state))

    def batchnorm(self, name, layer: BatchNorm, state: _State) -> dict:
        channels = self.chw(state.shape)[0] if len(state.shape) == 3 else state.shape[-1]
        if layer.num_features is not None and layer.num_features != channels:
            raise SpecError(f"{name}: expects {layer.num_features} channels but receives "
                            f"{channels} (input {_shape_text(state.shape)})", layer.where)
        explain = [f"params = 4·{channels} = {_number(4 * channels)}: γ, β trainable "
                   f"({_number(2 * channels)}); running mean, variance not ({_number(2 * channels)})"]
        return dict(type="batchnorm", params=4 * channels, trainable=2 * channels,
                    explain=explain, state=replace(state))

    def activation(self, name, layer: Activation, state: _State) -> dict:
        _check_activation(name, layer, layer.fn)
        return dict(type="activation", description=layer.fn, state=replace(state))


def _window_words(stride: Pair, padding: Padding, dilation: Pair) -> list[str]:
    words = []
    if stride != (1, 1):
        words.append(f"stride {_pair_text(stride)}")
    if padding == "same":
        words.append("same")
    elif isinstance(padding, tuple) and padding != (0, 0):
        words.append(f"pad {_pair_text(padding)}")
    if dilation != (1, 1):
        words.append(f"dilation {_pair_text(dilation)}")
    return words


def _check_positive(name: str, layer: Layer, **values) -> None:
    for key, value in values.items():
        for v in value if isinstance(value, tuple) else (value,):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise SpecError(f"{name}: {key} must be a positive integer, got {v!r}", layer.where)


def _check_padding(name: str, layer: Conv | Pool) -> None:
    padding = layer.padding
    if padding in ("same", "valid"):
        return
    if not (isinstance(padding, tuple) and len(padding) == 2
            and all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in padding)):
        raise SpecError(f"{name}: padding must be 'valid', 'same' or a non-negative integer, "
                        f"got {padding!r}", layer.where)


def _check_activation(name: str, layer: Layer, fn: str | None) -> None:
    if fn is not None and fn not in ACTIVATIONS:
        raise SpecError(f"{name}: unknown activation {fn!r}; known: {', '.join(ACTIVATIONS)}",
                        layer.where)


# ---------------------------------------------------------------------------------------------
# The padding solver: which padding gives a wanted output size?
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaddingSolution:
    """Paddings that make a window of `kernel` (dilated) at `stride` turn `size` into `output`.

    symmetric: every P (same on both sides) that works, smallest first; keras_same: the
    (before, after) split of TensorFlow's 'same' when it gives `output`; total_range: the range of
    total padding (before + after) that works, for asymmetric padding; nearest: the closest outputs
    symmetric padding can reach when none gives `output`.
    """

    size: int
    kernel: int
    stride: int
    dilation: int
    output: int
    symmetric: tuple[int, ...]
    total_range: Pair | None
    keras_same: Pair | None
    nearest: tuple[tuple[int, int], ...]  # (output, P) pairs


def solve_padding(size: int, kernel: int, stride: int, output: int, dilation: int = 1) -> PaddingSolution:
    """Solve floor((H + T - D(K-1) - 1) / S) + 1 = O for the total padding T, then P = T / 2."""
    for label, value in (("size", size), ("kernel", kernel), ("stride", stride),
                         ("output", output), ("dilation", dilation)):
        if value <= 0:
            raise ValueError(f"{label} must be a positive integer, got {value}")
    eff = effective_kernel(kernel, dilation)
    low = (output - 1) * stride + eff - size  # smallest total padding that reaches `output`
    high = low + stride - 1                    # beyond this the output grows by one
    total_range = (max(low, 0), high) if high >= 0 else None
    symmetric = ()
    if total_range:
        first = -(-total_range[0] // 2)
        symmetric = tuple(range(first, total_range[1] // 2 + 1))
    keras = same_padding(size, kernel, stride, dilation) if output == -(-size // stride) else None
    nearest: tuple[tuple[int, int], ...] = ()
    if not symmetric:
        reachable = {}
        for p in range(0, max(total_range[1] if total_range else 0, eff) + stride + 1):
            if size + 2 * p >= eff:
                reachable.setdefault(output_size(size, kernel, stride, p, dilation), p)
        below = [o for o in reachable if o < output]
        above = [o for o in reachable if o > output]
        nearest = tuple((o, reachable[o]) for o in ([max(below)] if below else [])
                        + ([min(above)] if above else []))
    return PaddingSolution(size, kernel, stride, dilation, output, symmetric, total_range,
                           keras, nearest)
