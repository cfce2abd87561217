"""Property tests for minigrad.layers.shapes: every number is checked against an oracle written here.

The oracles never call the code under test. Output sizes come from sliding a window along the
padded input one position at a time; 'same' padding from TensorFlow's documented rule; receptive
fields from propagating the *set* of coordinates a unit depends on back through the layers;
parameters and MACs from the textbook formulas. If the code and an oracle disagree, one of them is
wrong, and the example hypothesis prints says which input shows it.

Budget: the "default" hypothesis profile (tests/conftest.py) keeps this file fast;
`HYPOTHESIS_PROFILE=thorough pytest tests/test_shapes_properties.py` runs many more examples.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest
from hypothesis import event, given, note, reject
from hypothesis import strategies as st

from minigrad.errors import SpecError
from minigrad.layers import (
    ACTIVATIONS,
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalPool,
    Network,
    Pool,
    analyze,
)
from minigrad.layers.shapes import Summary, output_size, same_padding, solve_padding
from minigrad.readers import dsl, parse_spec

# =============================================================================================
# One-axis oracles
# =============================================================================================

def window_starts(n: int, kernel: int, stride: int, before: int, after: int, dilation: int = 1,
                  ceil: bool = False) -> list[int] | None:
    """Input coordinates where each window starts, found by sliding one window at a time.

    Pixels of the input are 0..n-1; the padded input runs from -before to n-1+after.
    Floor mode: a window counts while it lies wholly inside the padded input.
    Ceil mode (PyTorch pools): keep placing windows until one has reached the right edge of the
    padded input (so the last may run past it), but drop any window that would start in the
    right padding (start > n-1). None when not even one window fits in the padded input.
    """
    span = dilation * (kernel - 1) + 1
    first, last = -before, n - 1 + after
    if last - first + 1 < span:
        return None
    starts: list[int] = []
    start = first
    while True:
        if not ceil:
            if start + span - 1 > last:
                break
        else:
            if starts and starts[-1] + span - 1 >= last:
                break   # the previous window already reached the right edge
            if start > n - 1:
                break   # would start in the right padding: PyTorch drops it
        starts.append(start)
        start += stride
    return starts


def count_windows(n, kernel, stride, before, after, dilation=1, ceil=False) -> int | None:
    starts = window_starts(n, kernel, stride, before, after, dilation, ceil)
    return None if starts is None else len(starts)


def tf_same_padding(n: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """'SAME' padding exactly as TensorFlow's documentation states it (pad_top = total // 2)."""
    span = dilation * (kernel - 1) + 1
    if n % stride == 0:
        total = max(span - stride, 0)
    else:
        total = max(span - n % stride, 0)
    return total // 2, total - total // 2


def positions_every(n: int, stride: int) -> int:
    """How many of 0, S, 2S, ... are below n: the size 'same' padding must produce."""
    return len(range(0, n, stride))


# =============================================================================================
# (a) output_size, same_padding, solve_padding
# =============================================================================================

sizes = st.integers(1, 60)
kernels = st.integers(1, 7)
stride_values = st.integers(1, 5)
dilations = st.integers(1, 4)


@given(n=sizes, k=kernels, s=stride_values, d=dilations, before=st.integers(0, 6),
       after=st.integers(0, 6), symmetric=st.booleans())
def test_output_size_floor_counts_windows(n, k, s, d, before, after, symmetric):
    if symmetric:
        after = before
    expected = count_windows(n, k, s, before, after, d)
    padding = before if symmetric else (before, after)
    if expected is None:
        with pytest.raises(ValueError):
            output_size(n, k, s, padding, d)
    else:
        assert output_size(n, k, s, padding, d) == expected
        assert output_size(n, k, s, padding, d, ceil_mode=False) == expected


@given(n=sizes, k=kernels, s=stride_values, d=dilations, data=st.data())
def test_output_size_ceil_mode_counts_windows(n, k, s, d, data):
    # PyTorch pools accept padding of at most half the kernel; stay in that domain.
    before = data.draw(st.integers(0, k // 2), label="before")
    after = data.draw(st.one_of(st.just(before), st.integers(0, k // 2)), label="after")
    expected = count_windows(n, k, s, before, after, d, ceil=True)
    padding = before if before == after else (before, after)
    if expected is None:
        with pytest.raises(ValueError):
            output_size(n, k, s, padding, d, ceil_mode=True)
    else:
        got = output_size(n, k, s, padding, d, ceil_mode=True)
        event(f"ceil adds a window: {got > count_windows(n, k, s, before, after, d)}")
        assert got == expected


@given(n=st.integers(1, 100), k=st.integers(1, 9), s=st.integers(1, 6), d=dilations)
def test_same_padding_is_tensorflows_and_the_smallest_that_works(n, k, s, d):
    before, after = same_padding(n, k, s, d)
    assert (before, after) == tf_same_padding(n, k, s, d)
    assert after - before in (0, 1), "the odd pixel goes after"
    want = positions_every(n, s)
    assert count_windows(n, k, s, before, after, d) == want
    for total in range(before + after):   # any less padding gives fewer windows
        got = count_windows(n, k, s, total // 2, total - total // 2, d)
        assert got is None or got < want


@given(n=st.integers(1, 50), k=st.integers(1, 7), s=st.integers(1, 4), d=st.integers(1, 3),
       out=st.integers(1, 40))
def test_solve_padding_by_trying_every_padding(n, k, s, d, out):
    span = d * (k - 1) + 1
    limit = (out + 2) * s + span + 2   # beyond this total padding the output only grows

    def windows(total):
        return count_windows(n, k, s, total // 2, total - total // 2, d)

    totals = [t for t in range(limit) if windows(t) == out]
    assert totals == list(range(totals[0], totals[-1] + 1)) if totals else True  # contiguous
    solution = solve_padding(n, k, s, out, d)
    assert solution.total_range == ((totals[0], totals[-1]) if totals else None)
    symmetric = tuple(p for p in range(limit) if windows(2 * p) == out)
    assert solution.symmetric == symmetric
    keras = tf_same_padding(n, k, s, d) if out == positions_every(n, s) else None
    assert solution.keras_same == keras
    if symmetric:
        assert solution.nearest == ()
    else:
        reach: dict[int, int] = {}
        for p in range(limit):
            o = windows(2 * p)
            if o is not None:
                reach.setdefault(o, p)
        below = [o for o in reach if o < out]
        above = [o for o in reach if o > out]
        nearest = tuple((o, reach[o]) for o in ([max(below)] if below else [])
                        + ([min(above)] if above else []))
        assert solution.nearest == nearest


# =============================================================================================
# Random sequential networks and their oracle
# =============================================================================================

small_strides = st.tuples(st.sampled_from([1, 1, 1, 2, 3]), st.sampled_from([1, 1, 1, 2, 3]))
pairs_1_5 = st.tuples(st.integers(1, 5), st.integers(1, 5))
dilation_pairs = st.tuples(st.sampled_from([1, 1, 2, 3]), st.sampled_from([1, 1, 2, 3]))


@st.composite
def conv_layers(draw, rules="keras"):
    stride = draw(small_strides)
    if rules == "keras" and stride != (1, 1):
        dilation = (1, 1)            # Keras refuses strides > 1 with dilation_rate > 1
    else:
        dilation = draw(dilation_pairs)
    padding = draw(st.one_of(st.sampled_from(["valid", "same"]),
                             st.tuples(st.integers(0, 3), st.integers(0, 3))))
    if rules == "torch" and padding == "same" and stride != (1, 1):
        padding = "valid"            # PyTorch refuses strided 'same'
    return Conv(filters=draw(st.integers(1, 8)), kernel=draw(pairs_1_5), stride=stride,
                padding=padding, dilation=dilation, bias=draw(st.booleans()),
                activation=draw(st.sampled_from([None, None, "relu", "tanh"])))


@st.composite
def pool_layers(draw, rules="keras"):
    kernel = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    choices = [st.just("valid"), st.tuples(st.integers(0, kernel[0] // 2),
                                           st.integers(0, kernel[1] // 2))]
    if rules == "keras":
        choices.append(st.just("same"))
    return Pool(mode=draw(st.sampled_from(["max", "avg"])), kernel=kernel, stride=stride,
                padding=draw(st.one_of(*choices)), ceil=draw(st.booleans()))


@st.composite
def middle_layers(draw, rules="keras", exotic=True):
    kinds = ["conv", "conv", "conv", "pool", "pool", "activation", "dropout", "batchnorm"]
    if exotic:
        kinds += ["adaptive", "dense_on_map"]
    kind = draw(st.sampled_from(kinds))
    if kind == "conv":
        return draw(conv_layers(rules))
    if kind == "pool":
        return draw(pool_layers(rules))
    if kind == "activation":
        return Activation(fn=draw(st.sampled_from(ACTIVATIONS)))
    if kind == "dropout":
        return Dropout(rate=draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75])))
    if kind == "batchnorm":
        return BatchNorm()
    if kind == "adaptive":
        return AdaptivePool(mode=draw(st.sampled_from(["avg", "max"])),
                            output=draw(st.tuples(st.integers(1, 5), st.integers(1, 5))))
    return Dense(units=draw(st.integers(1, 6)), bias=draw(st.booleans()))


@st.composite
def endings(draw, exotic=True):
    kind = draw(st.sampled_from(["none", "flatten", "flatten_dense", "flatten_dense",
                                 "gap_dense"] if exotic else
                                ["none", "flatten", "flatten_dense", "flatten_dense"]))
    layers: list = []
    if kind == "none":
        return layers
    if kind == "gap_dense":
        keepdims = draw(st.booleans())
        layers.append(GlobalPool(mode=draw(st.sampled_from(["avg", "max"])), keepdims=keepdims))
        if keepdims:
            layers.append(Flatten())
    else:
        layers.append(Flatten())
        if kind == "flatten":
            return layers
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            layers.append(draw(st.sampled_from([Dropout(rate=0.5), BatchNorm(),
                                                Activation(fn="relu")])))
        layers.append(Dense(units=draw(st.integers(1, 12)), bias=draw(st.booleans()),
                            activation=draw(st.sampled_from([None, "relu", "softmax"]))))
    return layers


@st.composite
def networks(draw, layout=None, rules=None, exotic=True, max_side=40):
    """A random sequential network on a spatial input; some do not fit (kernel too big)."""
    layout = layout or draw(st.sampled_from(["hwc", "chw"]))
    rules = rules or draw(st.sampled_from(["keras", "torch"]))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    c = draw(st.integers(1, 4))
    layers = draw(st.lists(middle_layers(rules, exotic), min_size=1, max_size=6))
    layers += draw(endings(exotic))
    shape = (h, w, c) if layout == "hwc" else (c, h, w)
    return Network(shape, tuple(layers), layout, rules)


@dataclass
class Expect:
    """What the oracle says one layer produces."""

    shape: tuple[int, ...]
    params: int = 0
    trainable: int = 0
    macs: int = 0
    ops: tuple = ()              # per axis (H, W): how a unit maps back to the layer before
    buffers: int = 0
    uneven: bool = False         # PyTorch's adaptive windows here are not one sliding window


class DoesNotFit(Exception):
    pass


def oracle(network: Network) -> list[Expect]:
    """Expected rows (input first) by direct counting; raises DoesNotFit where a window is larger
    than its padded input. Adaptive pools keep PyTorch's windows as they are (start floor(i·N/O),
    end ceil((i+1)·N/O)); `uneven` marks a row whose windows are not one sliding window."""
    hwc = network.layout == "hwc"

    def show(c, h, w):
        return (h, w, c) if hwc else (c, h, w)

    if hwc:
        h, w, c = network.input_shape
    else:
        c, h, w = network.input_shape
    spatial = True               # a C×H×W map (else a flat vector of n features)
    n = 0
    grid = (h, w)                # along each axis: the units a flat vector's features stand for
    rows = [Expect(show(c, h, w), ops=(("same",), ("same",)))]
    for layer in network.layers:
        ops: tuple = (("same",), ("same",))
        if isinstance(layer, AdaptivePool):
            assert spatial, "the generator only puts windows on maps"
            oh, ow = layer.output
            if (oh, ow) == (1, 1):     # the same as a global pool
                ops = (("all", h), ("all", w))
            else:
                ops = tuple(("windows", [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)])
                            for n, o in ((h, oh), (w, ow)))
            h, w = oh, ow
            grid = (h, w)
            uneven = any(op[0] == "windows" and not one_sliding_window(op[1]) for op in ops)
            rows.append(Expect(show(c, h, w), ops=ops, uneven=uneven))
            continue
        if isinstance(layer, (Conv, Pool)):
            assert spatial, "the generator only puts windows on maps"
            if isinstance(layer, Conv):
                kernel, stride, padding = layer.kernel, layer.stride, layer.padding
                dilation, ceil = layer.dilation, False
            else:
                kernel, stride, padding = layer.kernel, layer.stride, layer.padding
                dilation, ceil = (1, 1), layer.ceil
            stride = stride or kernel
            outs, ops_list = [], []
            for axis, size in enumerate((h, w)):
                k, s, d = kernel[axis], stride[axis], dilation[axis]
                if padding == "same":
                    before, after = tf_same_padding(size, k, s, d)
                elif padding == "valid":
                    before = after = 0
                else:
                    before = after = padding[axis]
                count = count_windows(size, k, s, before, after, d, ceil)
                if count is None:
                    raise DoesNotFit
                outs.append(count)
                ops_list.append(("window", k, s, d, before))
            ops = tuple(ops_list)
            params = macs = 0
            if isinstance(layer, Conv):
                weights = kernel[0] * kernel[1] * c * layer.filters
                params = weights + (layer.filters if layer.bias else 0)
                macs = weights * outs[0] * outs[1]
                c = layer.filters
            h, w = outs
            grid = (h, w)
            rows.append(Expect(show(c, h, w), params, params, macs, ops))
        elif isinstance(layer, GlobalPool):
            ops = (("all", h), ("all", w))
            if layer.keepdims:
                h = w = 1
                grid = (1, 1)
                rows.append(Expect(show(c, 1, 1), ops=ops))
            else:
                spatial, n, grid = False, c, (1, 1)
                rows.append(Expect((c,), ops=ops))
        elif isinstance(layer, Flatten):
            if spatial:
                spatial, n, grid = False, c * h * w, (h, w)
            rows.append(Expect((n,), ops=ops))
        elif isinstance(layer, Dense):
            if not spatial:
                params = n * layer.units + (layer.units if layer.bias else 0)
                macs = n * layer.units
                ops = (("all", grid[0]), ("all", grid[1]))
                n = layer.units
                rows.append(Expect((n,), params, params, macs, ops))
            elif hwc:                  # acts on C at every pixel: a 1x1 convolution
                params = c * layer.units + (layer.units if layer.bias else 0)
                macs = c * layer.units * h * w
                c = layer.units
                rows.append(Expect(show(c, h, w), params, params, macs, ops))
            else:                      # acts on W for every (channel, row): mixes all columns
                params = w * layer.units + (layer.units if layer.bias else 0)
                macs = w * layer.units * c * h
                ops = (("same",), ("all", w))
                w = layer.units
                grid = (h, w)
                rows.append(Expect(show(c, h, w), params, params, macs, ops))
        elif isinstance(layer, BatchNorm):
            # γ, β trainable; running mean and variance: Keras counts them as non-trainable
            # parameters, PyTorch keeps them as buffers
            channels = c if spatial else n
            if network.rules == "keras":
                rows.append(Expect(rows[-1].shape, 4 * channels, 2 * channels, 0, ops))
            else:
                rows.append(Expect(rows[-1].shape, 2 * channels, 2 * channels, 0, ops,
                                   buffers=2 * channels))
        else:                          # activation, dropout
            rows.append(Expect(rows[-1].shape, ops=ops))
    return rows


def field_of(rows: list[Expect], index: int, axis: int, unit: int) -> tuple[set[int], bool]:
    """The input coordinates unit `unit` of row `index` depends on along `axis`, and whether a
    layer on the way mixed the whole axis. Padding coordinates are kept and followed back with
    the same index formula as real units, as the receptive-field recurrence counts them."""
    units = {unit}
    mixed = False
    for row in reversed(rows[1:index + 1]):
        op = row.ops[axis]
        if op[0] == "window":
            _, k, s, d, before = op
            units = {i * s - before + t * d for i in units for t in range(k)}
        elif op[0] == "windows":   # units outside the axis (padding, unit 1 of a 1-unit axis)
            windows = op[1]          # continue the first or last step, as a sliding window would
            step = windows[1][0] - windows[0][0] if len(windows) > 1 else windows[0][1]

            def window(i):
                if 0 <= i < len(windows):
                    return range(*windows[i])
                start, end = windows[0] if i < 0 else windows[-1]
                shift = i * step if i < 0 else (i - len(windows) + 1) * step
                return range(start + shift, end + shift)
            units = {j for i in units for j in window(i)}
        elif op[0] == "all":
            units = set(range(op[1]))
            mixed = True
    return units, mixed


def one_sliding_window(windows: list[tuple[int, int]]) -> bool:
    """Whether windows [start, end) all have one size and step evenly."""
    sizes = {end - start for start, end in windows}
    steps = {b[0] - a[0] for a, b in zip(windows, windows[1:])}
    return len(sizes) == 1 and len(steps) <= 1 and 0 not in steps


def analyze_or_none(network):
    try:
        return analyze(network)
    except SpecError:
        return None


# =============================================================================================
# (b) + (c): every row of a random network against the oracle
# =============================================================================================

@given(networks())
def test_random_network_rows_match_oracle(network):
    note(repr(network))
    try:
        expected = oracle(network)
    except DoesNotFit:
        event("does not fit")
        with pytest.raises(SpecError, match="larger than"):
            analyze(network)
        return
    event("fits")
    summary = analyze(network)
    assert len(summary.rows) == len(expected)
    for index, (row, want) in enumerate(zip(summary.rows, expected)):
        where = f"row {index} ({row.type})"
        assert row.index == index
        assert row.output_shape == want.shape, where
        assert (row.params, row.trainable_params, row.macs, row.buffers) == \
            (want.params, want.trainable, want.macs, want.buffers), where
        if any(e.uneven for e in expected[:index + 1]):
            event("uneven adaptive windows")
            assert row.rf_unknown and "uneven" in row.rf_unknown, where
            assert row.receptive_field is None and row.jump is None, where
            continue
        assert row.rf_unknown is None, where
        rf, jump, center = [], [], []
        for axis in (0, 1):
            unit0, mixed = field_of(expected, index, axis, 0)
            unit1, _ = field_of(expected, index, axis, 1)
            rf.append(max(unit0) - min(unit0) + 1)
            center.append((max(unit0) + min(unit0)) / 2)
            jump.append(None if mixed else min(unit1) - min(unit0))
        assert row.receptive_field == tuple(rf), where
        assert row.jump == tuple(jump), where
        assert row.rf_center == tuple(center), where
    assert summary.total_params == sum(e.params for e in expected)
    assert summary.trainable_params == sum(e.trainable for e in expected)
    assert summary.total_macs == sum(e.macs for e in expected)
    assert summary.total_flops == 2 * summary.total_macs
    assert summary.param_bytes == 4 * summary.total_params
    assert summary.activation_bytes == 4 * sum(math.prod(e.shape) for e in expected[1:])


any_conv = st.builds(
    Conv, filters=st.integers(1, 8), kernel=pairs_1_5, stride=small_strides,
    padding=st.one_of(st.sampled_from(["valid", "same"]),
                      st.tuples(st.integers(0, 3), st.integers(0, 3))),
    dilation=dilation_pairs, bias=st.booleans())


@given(h=st.integers(1, 40), w=st.integers(1, 40), c=st.integers(1, 8), conv=any_conv,
       layout=st.sampled_from(["hwc", "chw"]), rules=st.sampled_from(["keras", "torch"]))
def test_single_conv_shape_params_macs(h, w, c, conv, layout, rules):
    """The classic one-layer exercise, spelled out: kh·kw·cin·cout (+cout) and one MAC per
    weight per output position; and the combinations each framework refuses."""
    network = Network((h, w, c) if layout == "hwc" else (c, h, w), (conv,), layout, rules)
    strided = conv.stride != (1, 1)
    if rules == "keras" and strided and conv.dilation != (1, 1):
        with pytest.raises(SpecError, match="dilation"):   # Keras: strides > 1 with dilation
            analyze(network)
        return
    if rules == "torch" and strided and conv.padding == "same":
        with pytest.raises(SpecError, match="same"):       # PyTorch: no strided 'same'
            analyze(network)
        return
    pads = []
    for axis, size in enumerate((h, w)):
        k, s, d = conv.kernel[axis], conv.stride[axis], conv.dilation[axis]
        if conv.padding == "same":
            pads.append(tf_same_padding(size, k, s, d))
        elif conv.padding == "valid":
            pads.append((0, 0))
        else:
            pads.append((conv.padding[axis],) * 2)
    oh = count_windows(h, conv.kernel[0], conv.stride[0], *pads[0], conv.dilation[0])
    ow = count_windows(w, conv.kernel[1], conv.stride[1], *pads[1], conv.dilation[1])
    if oh is None or ow is None:
        with pytest.raises(SpecError, match="larger than"):
            analyze(network)
        return
    row = analyze(network).rows[1]
    kh, kw = conv.kernel
    want = (oh, ow, conv.filters) if layout == "hwc" else (conv.filters, oh, ow)
    assert row.output_shape == want
    assert row.params == kh * kw * c * conv.filters + (conv.filters if conv.bias else 0)
    assert row.trainable_params == row.params
    assert row.macs == kh * kw * c * conv.filters * oh * ow


@given(h=st.integers(1, 20), w=st.integers(1, 20), kernel=pairs_1_5,
       padding=st.tuples(st.integers(0, 3), st.integers(0, 3)), ceil=st.booleans(),
       mode=st.sampled_from(["max", "avg"]))
def test_pool_padding_at_most_half_the_kernel(h, w, kernel, padding, ceil, mode):
    """PyTorch's rule for pools: pad <= kernel_size / 2 (no window wholly in the padding)."""
    network = Network((h, w, 2), (Pool(mode=mode, kernel=kernel, padding=padding, ceil=ceil),))
    if any(2 * p > k for p, k in zip(padding, kernel)):
        with pytest.raises(SpecError, match="half"):
            analyze(network)
        return
    outs = [count_windows(n, k, k, p, p, 1, ceil) for n, k, p in zip((h, w), kernel, padding)]
    if None in outs:
        with pytest.raises(SpecError, match="larger than"):
            analyze(network)
        return
    row = analyze(network).rows[1]
    assert row.output_shape == (*outs, 2)
    assert row.params == row.macs == 0


@given(n=st.integers(1, 3000), units=st.integers(1, 3000), bias=st.booleans())
def test_dense_params_and_macs(n, units, bias):
    summary = analyze(Network((n,), (Dense(units=units, bias=bias),)))
    row = summary.rows[1]
    assert row.output_shape == (units,)
    assert row.params == n * units + (units if bias else 0)
    assert row.macs == n * units
    assert row.receptive_field is None and row.jump is None and row.rf_center is None


@given(c=st.integers(1, 512), h=st.integers(1, 20), w=st.integers(1, 20))
def test_batchnorm_four_per_channel_two_trainable(c, h, w):
    summary = analyze(Network((h, w, c), (BatchNorm(),)))
    row = summary.rows[1]
    assert (row.params, row.trainable_params, row.non_trainable_params) == (4 * c, 2 * c, 2 * c)
    assert summary.non_trainable_params == 2 * c


# =============================================================================================
# (d) JSON and layout round trips
# =============================================================================================

@given(networks())
def test_summary_json_round_trip(network):
    summary = analyze_or_none(network)
    if summary is None:
        reject()
    data = json.loads(json.dumps(summary.to_dict()))
    assert Summary.from_dict(data) == summary
    assert data["total_params"] == sum(layer["params"] for layer in data["layers"])
    assert data["total_macs"] == sum(layer["macs"] for layer in data["layers"])
    assert data["input_shape"] == list(network.input_shape)


@given(networks())
def test_layout_round_trip_and_permutation(network):
    summary = analyze_or_none(network)
    if summary is None:
        reject()
    other = "chw" if summary.layout == "hwc" else "hwc"
    moved = summary.in_layout(other)
    assert moved.layout == other
    assert moved.in_layout(summary.layout) == summary
    assert summary.in_layout(summary.layout) == summary
    for before, after in zip(summary.rows, moved.rows):
        if len(before.output_shape) == 3:
            a, b, c = before.output_shape
            assert after.output_shape == ((c, a, b) if other == "chw" else (b, c, a))
        else:
            assert after.output_shape == before.output_shape
        assert (after.params, after.macs, after.receptive_field, after.jump, after.rf_center) == \
               (before.params, before.macs, before.receptive_field, before.jump, before.rf_center)


# =============================================================================================
# The layer language writes exactly the network it describes
# =============================================================================================

def dsl_pair(pair) -> str:
    return f"{pair[0]}" if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def dsl_text(network: Network) -> str:
    h, w, c = network.input_shape
    lines = [f"input {h}x{w}x{c}"]
    for layer in network.layers:
        if isinstance(layer, Conv):
            words = [f"conv {layer.filters} {layer.kernel[0]}x{layer.kernel[1]}"]
            if layer.stride != (1, 1):
                words.append(f"stride={dsl_pair(layer.stride)}")
            if isinstance(layer.padding, tuple):
                words.append(f"padding={dsl_pair(layer.padding)}")
            elif layer.padding == "same":
                words.append("padding=same")
            if layer.dilation != (1, 1):
                words.append(f"dilation={dsl_pair(layer.dilation)}")
            if not layer.bias:
                words.append("bias=false")
            if layer.activation:
                words.append(layer.activation)
        elif isinstance(layer, Pool):
            words = [f"{layer.mode}pool {dsl_pair(layer.kernel)}"]
            if layer.stride is not None:
                words.append(f"stride={dsl_pair(layer.stride)}")
            if isinstance(layer.padding, tuple):
                words.append(f"padding={dsl_pair(layer.padding)}")
            elif layer.padding == "same":
                words.append("padding=same")
            if layer.ceil:
                words.append("ceil")
        elif isinstance(layer, Dense):
            words = [f"dense {layer.units}"]
            if not layer.bias:
                words.append("bias=false")
            if layer.activation:
                words.append(layer.activation)
        elif isinstance(layer, Dropout):
            words = [f"dropout {layer.rate!r}"]
        elif isinstance(layer, Activation):
            words = [layer.fn]
        else:
            words = [{Flatten: "flatten", BatchNorm: "batchnorm",
                      GlobalPool: "globalavgpool"}[type(layer)]]
        lines.append(" ".join(words))
    return "\n".join(lines)


@st.composite
def dsl_networks(draw):
    network = draw(networks(layout="hwc", rules="keras", exotic=False))
    if draw(st.booleans()):
        return network
    # or end with the layer language's globalavgpool (as in Keras: H and W dropped)
    layers = [layer for layer in network.layers if not isinstance(layer, (Flatten, Dense))]
    layers += [GlobalPool(), Dense(units=draw(st.integers(1, 9)))]
    return Network(network.input_shape, tuple(layers), "hwc", "keras")


@given(dsl_networks())
def test_layer_language_round_trip(network):
    text = dsl_text(network)
    note(text)
    assert dsl.parse(text) == network


# =============================================================================================
# (e) The same network written as layer language, Keras code and PyTorch code
# =============================================================================================




@dataclass(frozen=True)
class P:
    """One layer of a portable network, with the input size PyTorch code has to declare."""

    kind: str                    # conv, pool, act, dropout, batchnorm, flatten, dense
    args: dict
    cin: int = 0                 # channels (map) or features (flat) arriving at the layer


@st.composite
def portable_networks(draw, pair: str):
    """(H, W, C) and layers that the formats being compared can all express.

    pair: 'all3' (the common subset), 'keras' (layer language vs Keras: adds strided 'same',
    inline activations, 'same' pools) or 'pytorch' (layer language vs PyTorch: adds explicit
    padding, padded and ceil-mode pools). Shapes are tracked here, with the window-counting
    oracle, so PyTorch code can declare in_channels / in_features; a window that would not fit
    is left out, so every network is valid.
    """
    h, w, c = draw(st.integers(3, 32)), draw(st.integers(3, 32)), draw(st.integers(1, 3))
    shape = (h, w, c)
    layers: list[P] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "conv", "conv", "pool", "act", "dropout",
                                     "batchnorm"]))
        if kind in ("act", "dropout", "batchnorm"):
            layers.append(_simple(draw, kind, c))
            continue
        if kind == "conv":
            kernel, stride = draw(pairs_1_5), draw(small_strides)
            # Keras refuses dilation with stride > 1 (and so does the layer language)
            dilation = draw(dilation_pairs) if stride == (1, 1) else (1, 1)
            padding = draw(st.sampled_from(["valid", "same", "explicit"] if pair == "pytorch"
                                           else ["valid", "same"]))
            if padding == "explicit":
                padding = draw(st.tuples(st.integers(0, 3), st.integers(0, 3)))
            if padding == "same" and stride != (1, 1) and pair != "keras":
                padding = "valid"    # PyTorch refuses strided 'same'
            activation = draw(st.sampled_from([None, "relu", "tanh"])) if pair == "keras" else None
            args = {"filters": draw(st.integers(1, 8)), "kernel": kernel, "stride": stride,
                        "padding": padding, "dilation": dilation, "bias": draw(st.booleans()),
                        "activation": activation}
            ceil = False
        else:
            kernel = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
            stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
            padding, ceil, dilation = "valid", False, (1, 1)
            if pair == "keras":
                padding = draw(st.sampled_from(["valid", "same"]))
            elif pair == "pytorch":
                padding = draw(st.tuples(st.integers(0, kernel[0] // 2),
                                         st.integers(0, kernel[1] // 2)))
                ceil = draw(st.booleans())
            args = {"mode": draw(st.sampled_from(["max", "avg"])), "kernel": kernel,
                    "stride": stride, "padding": padding, "ceil": ceil}
        outs = []
        for axis, size in enumerate((h, w)):
            s = (stride or kernel)[axis]
            if padding == "same":
                pads = tf_same_padding(size, kernel[axis], s, dilation[axis])
            elif padding == "valid":
                pads = (0, 0)
            else:
                pads = (padding[axis],) * 2
            outs.append(count_windows(size, kernel[axis], s, *pads, dilation[axis], ceil))
        if None in outs:
            continue                 # does not fit: leave it out
        layers.append(P(kind, args, c))
        h, w = outs
        if kind == "conv":
            c = args["filters"]
    if not layers:                   # every window was left out; PyTorch has no empty Sequential
        layers.append(P("act", {"fn": "relu"}, c))
    if draw(st.booleans()):          # always flatten before dense: dense on a map differs by layout
        layers.append(P("flatten", {}, c))
        n = c * h * w
        for _ in range(draw(st.integers(1, 3))):
            extra = draw(st.sampled_from([None, "act", "dropout", "batchnorm"]))
            if extra:
                layers.append(_simple(draw, extra, n))
            units = draw(st.integers(1, 12))
            activation = (draw(st.sampled_from([None, "relu", "softmax"])) if pair == "keras"
                          else None)
            layers.append(P("dense", {"units": units, "bias": draw(st.booleans()),
                                          "activation": activation}, n))
            n = units
    return shape, layers


def _simple(draw, kind, size) -> P:
    if kind == "act":
        return P("act", {"fn": draw(st.sampled_from(["relu", "sigmoid", "tanh"]))}, size)
    if kind == "dropout":
        return P("dropout", {"rate": draw(st.sampled_from([0.1, 0.25, 0.5]))}, size)
    return P("batchnorm", {}, size)


def render_dsl(shape, layers) -> str:
    h, w, c = shape
    lines = [f"input {h}x{w}x{c}"]
    for p in layers:
        a = p.args
        if p.kind == "conv":
            words = [f"conv {a['filters']} {a['kernel'][0]}x{a['kernel'][1]}"]
            if a["stride"] != (1, 1):
                words.append(f"stride={dsl_pair(a['stride'])}")
            if a["padding"] == "same":
                words.append("padding=same")
            elif isinstance(a["padding"], tuple):
                words.append(f"padding={dsl_pair(a['padding'])}")
            if a["dilation"] != (1, 1):
                words.append(f"dilation={dsl_pair(a['dilation'])}")
            if not a["bias"]:
                words.append("bias=false")
            if a["activation"]:
                words.append(a["activation"])
        elif p.kind == "pool":
            words = [f"{a['mode']}pool {dsl_pair(a['kernel'])}"]
            if a["stride"] is not None:
                words.append(f"stride={dsl_pair(a['stride'])}")
            if a["padding"] == "same":
                words.append("padding=same")
            elif isinstance(a["padding"], tuple):
                words.append(f"padding={dsl_pair(a['padding'])}")
            if a["ceil"]:
                words.append("ceil")
        elif p.kind == "dense":
            words = [f"dense {a['units']}"]
            if not a["bias"]:
                words.append("bias=false")
            if a["activation"]:
                words.append(a["activation"])
        elif p.kind == "act":
            words = [a["fn"]]
        elif p.kind == "dropout":
            words = [f"dropout {a['rate']}"]
        else:
            words = [p.kind]
        lines.append(" ".join(words))
    return "\n".join(lines)


def _tuple_or_int(pair, as_int: bool) -> str:
    return f"{pair[0]}" if as_int and pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def render_keras(shape, layers, prefix: str, short: bool) -> str:
    h, w, c = shape
    items = [f"{prefix}Input(shape=({h}, {w}, {c}))"]
    for p in layers:
        a = p.args
        if p.kind == "conv":
            parts = [f"{a['filters']}", _tuple_or_int(a["kernel"], short)]
            if a["stride"] != (1, 1):
                parts.append(f"strides={_tuple_or_int(a['stride'], short)}")
            if a["padding"] == "same":
                parts.append("padding='same'")
            elif short:
                parts.append("padding='valid'")
            if a["dilation"] != (1, 1):
                parts.append(f"dilation_rate={_tuple_or_int(a['dilation'], short)}")
            if not a["bias"]:
                parts.append("use_bias=False")
            if a["activation"]:
                parts.append(f"activation='{a['activation']}'")
            items.append(f"{prefix}Conv2D({', '.join(parts)})")
        elif p.kind == "pool":
            name = "MaxPooling2D" if a["mode"] == "max" else "AveragePooling2D"
            parts = [f"pool_size={_tuple_or_int(a['kernel'], short)}"]
            if a["stride"] is not None:
                parts.append(f"strides={_tuple_or_int(a['stride'], short)}")
            if a["padding"] == "same":
                parts.append("padding='same'")
            items.append(f"{prefix}{name}({', '.join(parts)})")
        elif p.kind == "dense":
            parts = [f"{a['units']}"]
            if not a["bias"]:
                parts.append("use_bias=False")
            if a["activation"]:
                parts.append(f"activation='{a['activation']}'")
            items.append(f"{prefix}Dense({', '.join(parts)})")
        elif p.kind == "act":
            items.append(f"{prefix}Activation('{a['fn']}')")
        elif p.kind == "dropout":
            items.append(f"{prefix}Dropout({a['rate']})")
        elif p.kind == "batchnorm":
            items.append(f"{prefix}BatchNormalization()")
        else:
            items.append(f"{prefix}Flatten()")
    head = "model = keras.Sequential([" if prefix else "model = Sequential(["
    return head + "\n" + "".join(f"    {item},\n" for item in items) + "])\n"


def render_pytorch(layers, short: bool) -> str:
    items = []
    flat = False
    for p in layers:
        a = p.args
        if p.kind == "conv":
            parts = [f"{p.cin}", f"{a['filters']}", _tuple_or_int(a["kernel"], short)]
            if a["stride"] != (1, 1):
                parts.append(f"stride={_tuple_or_int(a['stride'], short)}")
            if a["padding"] == "same":
                parts.append("padding='same'")
            elif isinstance(a["padding"], tuple):
                parts.append(f"padding={_tuple_or_int(a['padding'], short)}")
            if a["dilation"] != (1, 1):
                parts.append(f"dilation={_tuple_or_int(a['dilation'], short)}")
            if not a["bias"]:
                parts.append("bias=False")
            items.append(f"nn.Conv2d({', '.join(parts)})")
        elif p.kind == "pool":
            name = "MaxPool2d" if a["mode"] == "max" else "AvgPool2d"
            parts = [_tuple_or_int(a["kernel"], short)]
            if a["stride"] is not None:
                parts.append(f"stride={_tuple_or_int(a['stride'], short)}")
            if isinstance(a["padding"], tuple) and a["padding"] != (0, 0):
                parts.append(f"padding={_tuple_or_int(a['padding'], short)}")
            if a["ceil"]:
                parts.append("ceil_mode=True")
            items.append(f"nn.{name}({', '.join(parts)})")
        elif p.kind == "dense":
            parts = [f"{p.cin}", f"{a['units']}"] + ([] if a["bias"] else ["bias=False"])
            items.append(f"nn.Linear({', '.join(parts)})")
        elif p.kind == "act":
            names = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}
            items.append(f"nn.{names[a['fn']]}()")
        elif p.kind == "dropout":
            items.append(f"nn.Dropout(p={a['rate']})" if short else f"nn.Dropout({a['rate']})")
        elif p.kind == "batchnorm":
            items.append(f"nn.BatchNorm{'1' if flat else '2'}d({p.cin})")
        else:
            flat = True
            items.append("nn.Flatten()")
    return "model = nn.Sequential(\n" + "".join(f"    {item},\n" for item in items) + ")\n"


COMPARED = ("index", "type", "output_shape", "params", "trainable_params", "macs",
            "receptive_field", "jump", "rf_center", "notes")
# Not compared: name and description (each format names layers its own way) and explain (the
# flatten line lists the axes in the format's own order, 7 · 7 · 64 against 64 · 7 · 7).


def comparable(summary):
    """The compared fields of every row. Batch norm's running mean and variance are counted
    where each framework counts them (Keras: 2C non-trainable parameters; PyTorch: buffers, with
    so its params are compared as (trainable, running stats)."""
    rows = []
    for row in summary.in_layout("hwc").rows:
        values = [getattr(row, f) for f in COMPARED]
        if row.type == "batchnorm":
            stats = row.non_trainable_params if summary.rules == "keras" else row.buffers
            values[COMPARED.index("params")] = (row.trainable_params, stats)
        rows.append(tuple(values))
    return rows


def _dsl_summary(shape, layers):
    text = render_dsl(shape, layers)
    note(text)
    summary = analyze(parse_spec(text, "dsl").network)
    assert summary.input_shape == shape
    return summary


@given(data=st.data())
def test_three_formats_agree(data):
    shape, layers = data.draw(portable_networks("all3"))
    h, w, c = shape
    reference = comparable(_dsl_summary(shape, layers))
    keras_text = render_keras(shape, layers, data.draw(st.sampled_from(["", "layers."])),
                              data.draw(st.booleans()))
    note(keras_text)
    assert comparable(analyze(parse_spec(keras_text, "keras").network)) == reference
    torch_text = render_pytorch(layers, data.draw(st.booleans()))
    note(torch_text)
    torch = analyze(parse_spec(torch_text, "pytorch", input_shape=(c, h, w)).network)
    assert torch.layout == "chw"
    assert comparable(torch) == reference


@given(data=st.data())
def test_layer_language_and_keras_agree(data):
    shape, layers = data.draw(portable_networks("keras"))
    reference = comparable(_dsl_summary(shape, layers))
    keras_text = render_keras(shape, layers, data.draw(st.sampled_from(["", "layers."])),
                              data.draw(st.booleans()))
    note(keras_text)
    assert comparable(analyze(parse_spec(keras_text, "keras").network)) == reference


@given(data=st.data())
def test_layer_language_and_pytorch_agree(data):
    shape, layers = data.draw(portable_networks("pytorch"))
    h, w, c = shape
    reference = comparable(_dsl_summary(shape, layers))
    torch_text = render_pytorch(layers, data.draw(st.booleans()))
    note(torch_text)
    torch = analyze(parse_spec(torch_text, "pytorch", input_shape=(c, h, w)).network)
    assert comparable(torch) == reference
