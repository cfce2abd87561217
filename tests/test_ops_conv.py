"""Grouped, depthwise, 1-D and transposed convolutions, and their modules.

- gradients: hypothesis against central finite differences (float64, random upstream gradient,
  random shapes, strides, paddings, dilations, groups, output_padding);
- forward: against a direct convolution sum and a direct transposed scatter, written as loops;
- PyTorch: against torch 2.13's outputs and gradients in engine_goldens/conv.npz (made by
  engine_goldens/make_conv.py; torch itself is not needed here);
- modules: parameter counts and output shapes equal what .layer() reports through
  minigrad.layers, and padding modes equal F.pad followed by an unpadded convolution.
The finite-difference and golden helpers here are also used by test_ops_resample.py.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
from finite_differences import numeric_grads
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.engine.conv as conv
import minigrad.engine.functional as F
import minigrad.engine.nn as nn
from minigrad import Tensor, layers

EPS = 1e-6
seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------------
# Helpers: finite differences, goldens, the column budget
# ---------------------------------------------------------------------------------------------

def check_grads(fn, *arrays, seed=0):
    """backward() of fn with a random upstream gradient equals finite differences for every
    input, and leaves the inputs alone. Returns the output."""
    originals = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a.copy(), requires_grad=True, dtype=np.float64) for a in originals]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    for tensor, original in zip(tensors, originals):
        np.testing.assert_array_equal(tensor.data, original, err_msg="an input was modified")
    for i, (tensor, expected) in enumerate(zip(tensors, numeric_grads(fn, originals, upstream))):
        assert tensor.grad is not None and tensor.grad.shape == expected.shape
        np.testing.assert_allclose(tensor.grad, expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"gradient of input {i} differs from finite differences")
    return out


GOLDENS = np.load(Path(__file__).parent / "engine_goldens" / "conv.npz", allow_pickle=False)
GOLDEN_CASES = sorted({key.split("/")[0] for key in GOLDENS.files})


def golden_cases(*ops: str) -> list[str]:
    return [name for name in GOLDEN_CASES
            if json.loads(str(GOLDENS[f"{name}/config"]))["op"] in ops]


def check_golden(name: str) -> None:
    """minigrad's op of the recorded name and arguments reproduces torch's output and
    gradients to 1e-10."""
    config = json.loads(str(GOLDENS[f"{name}/config"]))
    keys = [key for key in ("x", "weight", "bias") if f"{name}/{key}" in GOLDENS.files]
    tensors = [Tensor(GOLDENS[f"{name}/{key}"], requires_grad=True) for key in keys]
    out = getattr(F, config["op"])(*tensors, **config["kwargs"])
    np.testing.assert_allclose(out.data, GOLDENS[f"{name}/out"], rtol=0, atol=1e-10)
    out.backward(GOLDENS[f"{name}/upstream"])
    for key, tensor in zip(keys, tensors):
        np.testing.assert_allclose(tensor.grad, GOLDENS[f"{name}/grad_{key}"], rtol=0, atol=1e-10,
                                   err_msg=f"{name}: gradient of {key}")


@contextlib.contextmanager
def column_budget(budget_bytes: int):
    """Build the columns a few images at a time (the path large batches take)."""
    saved = conv.CACHE_COLUMN_BYTES, conv.COLUMN_BUDGET_BYTES
    conv.CACHE_COLUMN_BYTES = conv.COLUMN_BUDGET_BYTES = budget_bytes
    try:
        yield
    finally:
        conv.CACHE_COLUMN_BYTES, conv.COLUMN_BUDGET_BYTES = saved


# ---------------------------------------------------------------------------------------------
# Oracles: the definitions, as plain loops
# ---------------------------------------------------------------------------------------------

def conv2d_loops(x, w, b, stride, pads, dilation, groups):
    """out[n, f, y, x] = b[f] + Σ_{c in f's group, p, q} xpad[n, c, y·S + p·D, x·S + q·D]
    · w[f, c, p, q]."""
    n, _, _, _ = x.shape
    f, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    oh = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(n):
        for o in range(f):
            first = (o // (f // groups)) * cg  # the first input channel of o's group
            for y in range(oh):
                for z in range(ow):
                    total = 0.0 if b is None else b[o]
                    for c in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                total += (xp[i, first + c, y * stride[0] + p * dilation[0],
                                             z * stride[1] + q * dilation[1]] * w[o, c, p, q])
                    out[i, o, y, z] = total
    return out


def conv_transpose2d_loops(x, w, b, stride, padding, output_padding, dilation, groups):
    """Scatter: every x[n, c, y, z] adds x[n, c, y, z]·w[c, f, p, q] to the output pixel
    (y·S + p·D − P, z·S + q·D − P) of channel f of c's group."""
    n, c, h, wd = x.shape
    _, fg, kh, kw = w.shape
    oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    ow = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    out = np.zeros((n, fg * groups, oh, ow))
    for i in range(n):
        for ci in range(c):
            group = ci // (c // groups)
            for y in range(h):
                for z in range(wd):
                    for fo in range(fg):
                        for p in range(kh):
                            for q in range(kw):
                                row = y * stride[0] + p * dilation[0] - padding[0]
                                col = z * stride[1] + q * dilation[1] - padding[1]
                                if 0 <= row < oh and 0 <= col < ow:
                                    out[i, group * fg + fo, row, col] += (
                                        x[i, ci, y, z] * w[ci, fo, p, q])
    if b is not None:
        out += b[None, :, None, None]
    return out


def test_oracles_by_hand():
    """The loops themselves on cases small enough to work out on paper."""
    x = np.arange(8.0).reshape(1, 2, 2, 2)       # channel 0: 0 1 / 2 3, channel 1: 4 5 / 6 7
    w = np.ones((2, 1, 1, 1))                    # depthwise 1×1: copies each channel
    np.testing.assert_array_equal(conv2d_loops(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 2), x)
    w = np.array([[[[1.0, 10.0]]]])              # one 1×2 kernel
    one = np.array([[[[1.0, 2.0]]]])
    np.testing.assert_array_equal(conv2d_loops(one, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
                                  [[[[21.0]]]])
    # transposed, stride 2: each input pixel stamps the kernel two columns apart
    np.testing.assert_array_equal(
        conv_transpose2d_loops(one, w, None, (1, 2), (0, 0), (0, 0), (1, 1), 1),
        [[[[1.0, 10.0, 2.0, 20.0]]]])


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

small = st.integers(1, 2)


@st.composite
def conv2d_cases(draw, max_extra=4):
    groups = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(small), draw(small))
    padding = draw(st.one_of(
        st.tuples(st.integers(0, 2), st.integers(0, 2)),
        st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                  st.tuples(st.integers(0, 2), st.integers(0, 2))),
        st.just("same") if stride == (1, 1) else st.just("valid")))
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]  # the dilated kernel's extent
    shape = (draw(small), groups * draw(small)) + tuple(draw(st.integers(s, s + max_extra))
                                                        for s in span)
    filters = groups * draw(small)
    return dict(x=shape, weight=(filters, shape[1] // groups) + kernel,
                bias=(filters,) if draw(st.booleans()) else None,
                kwargs=dict(stride=stride, padding=padding, dilation=dilation, groups=groups))


@st.composite
def conv_transpose2d_cases(draw):
    groups = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(small), draw(small))
    # output_padding below the stride or below the dilation, as PyTorch requires
    extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    # the padding may remove at most what leaves one output pixel
    full = [(n - 1) * s + d * (k - 1) + e + 1 for n, s, d, k, e in
            zip(size, stride, dilation, kernel, extra)]
    padding = tuple(draw(st.integers(0, min(2, (f - 1) // 2))) for f in full)
    x = (draw(small), groups * draw(small)) + size
    filters = groups * draw(small)
    return dict(x=x, weight=(x[1], filters // groups) + kernel,
                bias=(filters,) if draw(st.booleans()) else None,
                kwargs=dict(stride=stride, padding=padding, output_padding=extra,
                            dilation=dilation, groups=groups))


def draw_arrays(case, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(case[key]) for key in ("x", "weight", "bias")
            if case[key] is not None]


def explicit_pads(case):
    """conv2d's padding argument as ((top, bottom), (left, right)), 'same' worked out."""
    padding, (kh, kw) = case["kwargs"]["padding"], case["weight"][2:]
    (dh, dw) = case["kwargs"]["dilation"]
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":  # PyTorch: the odd pixel after
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for d, k in ((dh, kh), (dw, kw)))
    if isinstance(padding[0], tuple):
        return padding
    return (padding[0], padding[0]), (padding[1], padding[1])


# ---------------------------------------------------------------------------------------------
# conv2d with groups, conv1d
# ---------------------------------------------------------------------------------------------

@given(case=conv2d_cases(), seed=seeds, budget=st.sampled_from([None, 1]))
def test_conv2d_groups_gradients(case, seed, budget):
    arrays = draw_arrays(case, seed)
    with column_budget(budget) if budget else contextlib.nullcontext():
        check_grads(lambda *t: F.conv2d(*t, **case["kwargs"]), *arrays, seed=seed)


@given(case=conv2d_cases(max_extra=6), seed=seeds, budget=st.sampled_from([None, 1]))
def test_conv2d_groups_matches_direct_sum(case, seed, budget):
    arrays = draw_arrays(case, seed)
    x, w, b = arrays if len(arrays) == 3 else arrays + [None]
    kw = case["kwargs"]
    with column_budget(budget) if budget else contextlib.nullcontext():
        tensors = [Tensor(a, requires_grad=True) for a in arrays]
        out = F.conv2d(*tensors, **kw)
        # groups=1 keeps the plain Conv2d path (and its speed)
        # groups = C (depthwise) the direct path without columns
        expected_op = ("Conv2d" if kw["groups"] == 1 else
                       "DepthwiseConv2d" if kw["groups"] == x.shape[1] else "GroupedConv2d")
        assert out.op.name == expected_op
        out.backward(np.ones(out.shape))
    expected = conv2d_loops(x, w, b, kw["stride"], explicit_pads(case), kw["dilation"],
                            kw["groups"])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    # the gradient of Σ out with respect to b is the number of output pixels per image·N
    if b is not None:
        np.testing.assert_allclose(tensors[2].grad, np.full(b.shape, out.size / b.size))


@st.composite
def depthwise_cases(draw):
    """groups = C with a depth multiplier m of 1-3, strides up to 3, dilation up to 2 and
    asymmetric padding drawn often (conv2d_cases reaches depthwise only when C = groups)."""
    case = draw(conv2d_cases(max_extra=5))
    channels, multiplier = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    padding = draw(st.one_of(st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                                       st.tuples(st.integers(0, 2), st.integers(0, 2))),
                             st.just(case["kwargs"]["padding"])))
    filters = channels * multiplier
    return dict(x=(case["x"][0], channels) + case["x"][2:],
                weight=(filters, 1) + case["weight"][2:],
                bias=(filters,) if case["bias"] is not None else None,
                kwargs=dict(case["kwargs"], groups=channels, padding=padding))


@given(case=depthwise_cases(), seed=seeds)
def test_depthwise_gradients(case, seed):
    check_grads(lambda *t: F.conv2d(*t, **case["kwargs"]), *draw_arrays(case, seed), seed=seed)


@given(case=depthwise_cases(), seed=seeds, graph=st.booleans())
def test_depthwise_matches_direct_sum(case, seed, graph):
    # graph: with one, the per-offset route that backward pairs with; without one (inference),
    # im2col and a product per channel.
    arrays = draw_arrays(case, seed)
    x, w, b = arrays if len(arrays) == 3 else arrays + [None]
    kw = case["kwargs"]
    tensors = [Tensor(a, requires_grad=graph) for a in arrays]
    out = F.conv2d(*tensors, **kw)
    if graph:
        assert out.op.name == ("Conv2d" if kw["groups"] == 1 else "DepthwiseConv2d")
    expected = conv2d_loops(x, w, b, kw["stride"], explicit_pads(case), kw["dilation"],
                            kw["groups"])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_depthwise_float32_layout_and_stride2_dilation2():
    """A fixed case with every option at once, in float32 with a channel-first input (as a
    conv's output is laid out): output, dx and dw against the grouped column path."""
    rng = np.random.default_rng(3)
    x = np.ascontiguousarray(rng.standard_normal((3, 2, 9, 8), dtype=np.float32)).transpose(
        1, 0, 2, 3)
    w = rng.standard_normal((6, 1, 3, 2), dtype=np.float32)
    b = rng.standard_normal(6, dtype=np.float32)
    kw = dict(stride=2, padding=((1, 2), (0, 1)), dilation=2, groups=3)
    results = []
    for op in (conv.DepthwiseConv2d, conv.GroupedConv2d):
        tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
        out = op.apply(*tensors, **kw)
        out.backward(np.linspace(-1, 1, out.size, dtype=np.float32).reshape(out.shape))
        results.append([out.data] + [t.grad for t in tensors])
    assert results[0][0].dtype == np.float32
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


@given(n=st.integers(1, 3), c=st.integers(2, 4), m=st.integers(1, 2), f=st.integers(1, 4),
       hw=st.tuples(st.integers(1, 5), st.integers(1, 5)), bias=st.booleans(), seed=seeds)
def test_a_pointwise_conv_after_a_depthwise_one_works_on_rows_of_pixels(n, c, m, f, hw, bias,
                                                                        seed):
    # A depthwise conv leaves its maps (H, W, N, C) in memory; a 1×1 conv then multiplies
    # those rows of pixels as they lie (Conv2d._pointwise_by_pixels), forward and backward.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + hw)
    depthwise, pointwise = rng.standard_normal((c * m, 1, 3, 3)), rng.standard_normal((f, c * m, 1, 1))
    b = rng.standard_normal(f) if bias else None
    # with a graph (the route of training; without one, small maps go by columns)
    maps = F.conv2d(Tensor(x, requires_grad=True), Tensor(depthwise), padding=1, groups=c)
    assert maps.data.transpose(2, 3, 0, 1).flags.c_contiguous  # the layout the route needs
    same = ((1, 1), (1, 1))
    expected = conv2d_loops(conv2d_loops(x, depthwise, None, (1, 1), same, (1, 1), c), pointwise,
                            b, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    out = F.conv2d(maps, Tensor(pointwise), None if b is None else Tensor(b))
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    arrays = [x, depthwise, pointwise] + ([b] if bias else [])
    check_grads(lambda x, d, p, *b: F.conv2d(F.conv2d(x, d, padding=1, groups=c), p, *b),
                *arrays, seed=seed)


def test_depthwise_conv_keeps_channels_apart():
    """groups = C: output channel f sees only input channel f // m."""
    x = np.zeros((1, 3, 4, 4))
    x[0, 1] = 1.0  # only channel 1 is non-zero
    w = np.ones((6, 1, 3, 3))  # multiplier 2
    out = F.conv2d(Tensor(x), Tensor(w), padding=1, groups=3).data
    assert np.all(out[0, [0, 1, 4, 5]] == 0) and np.all(out[0, [2, 3]] > 0)


@st.composite
def conv1d_cases(draw):
    case = draw(conv2d_cases())
    kwargs = case["kwargs"]
    padding = kwargs["padding"]
    return dict(x=case["x"][:2] + case["x"][3:], weight=case["weight"][:2] + case["weight"][3:],
                bias=case["bias"],
                kwargs=dict(stride=kwargs["stride"][1], dilation=kwargs["dilation"][1],
                            groups=kwargs["groups"],
                            padding=padding if isinstance(padding, str) else
                            (padding[1][0] if isinstance(padding[1], tuple) else padding[1])))


@given(case=conv1d_cases(), seed=seeds)
def test_conv1d_gradients_and_direct_sum(case, seed):
    arrays = draw_arrays(case, seed)
    kw = case["kwargs"]
    out = check_grads(lambda *t: F.conv1d(*t, **kw), *arrays, seed=seed)
    x, w, b = arrays if len(arrays) == 3 else arrays + [None]
    k = w.shape[2]
    total = 0 if kw["padding"] == "valid" else kw["dilation"] * (k - 1)
    pads = ((0, 0), (total // 2, total - total // 2) if kw["padding"] == "same" else
            (0, 0) if kw["padding"] == "valid" else (kw["padding"], kw["padding"]))
    expected = conv2d_loops(x[:, :, None], w[:, :, None], b, (1, kw["stride"]), pads,
                            (1, kw["dilation"]), kw["groups"])[:, :, 0]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Transposed convolutions
# ---------------------------------------------------------------------------------------------

@given(case=conv_transpose2d_cases(), seed=seeds, budget=st.sampled_from([None, 1]))
def test_conv_transpose2d_gradients(case, seed, budget):
    with column_budget(budget) if budget else contextlib.nullcontext():
        check_grads(lambda *t: F.conv_transpose2d(*t, **case["kwargs"]),
                    *draw_arrays(case, seed), seed=seed)


@given(case=conv_transpose2d_cases(), seed=seeds, budget=st.sampled_from([None, 1]))
def test_conv_transpose2d_matches_direct_scatter(case, seed, budget):
    arrays = draw_arrays(case, seed)
    x, w, b = arrays if len(arrays) == 3 else arrays + [None]
    kw = case["kwargs"]
    with column_budget(budget) if budget else contextlib.nullcontext():
        out = F.conv_transpose2d(*[Tensor(a) for a in arrays], **kw)
    expected = conv_transpose2d_loops(x, w, b, kw["stride"], kw["padding"], kw["output_padding"],
                                      kw["dilation"], kw["groups"])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@given(case=conv_transpose2d_cases(), seed=seeds)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(case, seed):
    """⟨conv_transpose2d(x), y⟩ = ⟨x, conv2d(y)⟩ with the same weight, read by conv2d as
    (C, F/groups, KH, KW), and no bias. conv2d(y) has an extra row or column where
    output_padding reaches a whole stride; no x pixel meets it."""
    rng = np.random.default_rng(seed)
    kw = case["kwargs"]
    x, w = rng.standard_normal(case["x"]), rng.standard_normal(case["weight"])
    out = F.conv_transpose2d(Tensor(x), Tensor(w), **kw).data
    y = rng.standard_normal(out.shape)
    back = F.conv2d(Tensor(y), Tensor(w), stride=kw["stride"], padding=kw["padding"],
                    dilation=kw["dilation"], groups=kw["groups"]).data
    np.testing.assert_allclose(np.sum(out * y), np.sum(x * back[:, :, :x.shape[2], :x.shape[3]]),
                               rtol=1e-10)


@given(case=conv_transpose2d_cases(), seed=seeds)
def test_conv_transpose1d_gradients_and_direct_scatter(case, seed):
    kwargs = {key: (value[1] if isinstance(value, tuple) else value)
              for key, value in case["kwargs"].items()}
    case = dict(x=case["x"][:2] + case["x"][3:], weight=case["weight"][:2] + case["weight"][3:],
                bias=case["bias"], kwargs=kwargs)
    arrays = draw_arrays(case, seed)
    out = check_grads(lambda *t: F.conv_transpose1d(*t, **kwargs), *arrays, seed=seed)
    x, w, b = arrays if len(arrays) == 3 else arrays + [None]
    expected = conv_transpose2d_loops(x[:, :, None], w[:, :, None], b, (1, kwargs["stride"]),
                                      (0, kwargs["padding"]), (0, kwargs["output_padding"]),
                                      (1, kwargs["dilation"]), kwargs["groups"])[:, :, 0]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Errors, named by op and shapes as PyTorch words them
# ---------------------------------------------------------------------------------------------

def test_output_padding_must_be_below_the_stride_or_the_dilation():
    x, w = Tensor(np.zeros((1, 1, 3, 3))), Tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="conv_transpose2d: output padding must be smaller than "
                                         "either stride or dilation"):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="conv_transpose1d: output padding"):
        F.conv_transpose1d(Tensor(np.zeros((1, 1, 3))), Tensor(np.zeros((1, 1, 3))),
                           output_padding=1)
    # below the dilation though not below the stride: allowed, as in PyTorch
    assert F.conv_transpose2d(x, w, stride=1, dilation=2, output_padding=1).shape == (1, 1, 8, 8)


@pytest.mark.parametrize("call, words", [
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 2, 3, 3)), groups=3),
     ["conv2d", "groups=3", "(1, 4, 5, 5)", "(6, 2, 3, 3)"]),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 1, 3, 3)), groups=2),
     ["conv2d", "(1, 4, 5, 5)", "(6, 1, 3, 3)", "expects 2"]),
    (lambda: F.conv1d(np.zeros((1, 4, 5, 5)), np.zeros((6, 4, 3))), ["conv1d", "(N, C, L)"]),
    (lambda: F.conv1d(np.zeros((1, 2, 2)), np.zeros((1, 2, 3))), ["conv1d"]),
    (lambda: F.conv_transpose2d(np.zeros((1, 3, 4, 4)), np.zeros((2, 2, 3, 3))),
     ["conv_transpose2d", "(1, 3, 4, 4)", "(2, 2, 3, 3)"]),
    (lambda: F.conv_transpose2d(np.zeros((1, 2, 1, 1)), np.zeros((2, 1, 1, 1)), padding=1),
     ["conv_transpose2d", "too small"]),
    (lambda: F.conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((2, 1, 3, 3)),
                                bias=np.zeros(3), groups=2),
     ["conv_transpose2d", "bias", "(2,)"]),
])
def test_shape_errors_name_the_op_and_the_shapes(call, words):
    with pytest.raises(ValueError) as error:
        call()
    for word in words:
        assert word in str(error.value)


# ---------------------------------------------------------------------------------------------
# PyTorch goldens
# ---------------------------------------------------------------------------------------------

CONV_OPS = ("conv2d", "conv1d", "conv_transpose2d", "conv_transpose1d")


def test_goldens_cover_every_conv_op():
    ops = {json.loads(str(GOLDENS[f"{name}/config"]))["op"] for name in golden_cases(*CONV_OPS)}
    assert ops == set(CONV_OPS) and len(golden_cases(*CONV_OPS)) >= 15


@pytest.mark.parametrize("name", golden_cases(*CONV_OPS))
def test_matches_pytorch(name):
    check_golden(name)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

def rows_of(model, input_shape):
    """minigrad.layers' rows for the model's .layer()s, as summary() computes them."""
    network = layers.Network(input_shape, tuple(m.layer() for m in model), "chw", "torch")
    return layers.analyze(network).layers


@pytest.mark.parametrize("model, input_shape", [
    (lambda: nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, groups=2),
                           nn.Conv2d(6, 12, (3, 2), stride=2, groups=6, bias=False),
                           nn.Conv2d(12, 4, 1, padding_mode="reflect", padding="same"),
                           nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                              groups=2),
                           nn.ConvTranspose2d(6, 3, (2, 3), dilation=2, bias=False)),
     (4, 9, 8)),
    (lambda: nn.Sequential(nn.Conv1d(3, 6, 3, stride=2, groups=3, padding=1),
                           nn.Conv1d(6, 4, 2, dilation=3, bias=False, padding_mode="replicate",
                                     padding=2),
                           nn.ConvTranspose1d(4, 2, 4, stride=3, padding=1, output_padding=2)),
     (3, 17)),
])
def test_module_parameters_and_shapes_equal_their_layer_kinds(model, input_shape):
    model = model()
    x = Tensor(np.random.default_rng(0).standard_normal((2,) + input_shape).astype(np.float32))
    for module, row in zip(model, rows_of(model, input_shape)):
        x = module(x)
        assert sum(p.size for p in module.parameters()) == row.params, module
        assert x.shape[1:] == row.output_shape, module
    model.summary(input_shape=input_shape, console=_quiet_console())


def _quiet_console():
    from io import StringIO

    from rich.console import Console
    return Console(file=StringIO(), width=100)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv_padding_modes_pad_then_convolve(mode, padding):
    mg.manual_seed(0)
    module = nn.Conv2d(2, 4, 3, padding=padding, groups=2, padding_mode=mode)
    x = Tensor(np.random.default_rng(1).standard_normal((1, 2, 5, 6)).astype(np.float32))
    ph, pw = (1, 1) if padding == "same" else (padding, padding) if isinstance(padding, int) \
        else padding
    expected = F.conv2d(F.pad(x, (pw, pw, ph, ph), mode=mode), module.weight, module.bias,
                        groups=2)
    np.testing.assert_array_equal(module(x).data, expected.data)
    # the edge pixels are not zeros: the result differs from zero padding
    zeros = F.conv2d(x, module.weight, module.bias, padding=padding, groups=2)
    assert not np.allclose(module(x).data, zeros.data)
    conv1 = nn.Conv1d(2, 2, 3, padding=1, padding_mode=mode)
    x1 = Tensor(np.arange(10, dtype=np.float32).reshape(1, 2, 5))
    np.testing.assert_array_equal(
        conv1(x1).data, F.conv1d(F.pad(x1, (1, 1), mode=mode), conv1.weight, conv1.bias).data)


def test_init_fans_count_one_group_of_input_channels():
    mg.manual_seed(2)
    bound = np.sqrt(6 / (8 // 4 * 9))  # he: fan_in = in_channels/groups·K
    for module in (nn.Conv2d(8, 16, 3, groups=4, init="he"),
                   nn.ConvTranspose2d(8, 16, 3, groups=4, init="he")):
        w = module.weight.data
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert nn.ConvTranspose2d(8, 16, 3, groups=4).weight.shape == (8, 4, 3, 3)
    assert nn.ConvTranspose1d(6, 4, 5, groups=2).weight.shape == (6, 2, 5)
    assert nn.Conv1d(6, 4, 5, groups=2).weight.shape == (4, 3, 5)


def test_module_reprs_read_like_pytorch():
    assert repr(nn.Conv2d(4, 8, 3, groups=4, bias=False, padding_mode="reflect", padding=1)) == (
        "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=4, bias=False, "
        "padding_mode='reflect')")
    assert repr(nn.Conv1d(2, 3, 5, stride=2)) == "Conv1d(2, 3, kernel_size=(5,), stride=(2,))"
    assert repr(nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)) == (
        "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))")
    assert repr(nn.ConvTranspose1d(4, 2, 3, dilation=2)) == (
        "ConvTranspose1d(4, 2, kernel_size=(3,), stride=(1,), dilation=(2,))")


def test_module_arguments_are_checked():
    with pytest.raises(ValueError, match="groups=3"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(4, 6, 3, padding_mode="circle")
    with pytest.raises(ValueError, match="groups=4"):
        nn.ConvTranspose2d(6, 4, 3, groups=4)
