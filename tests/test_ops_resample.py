"""Upsampling (nearest, linear, bilinear), padding and pixel shuffle, and their modules.

- gradients: hypothesis against central finite differences (float64, random upstream gradient,
  random shapes, sizes, scales, pads and factors), for every mode;
- forward: against the index formulas and the padding rules written as loops over pixels;
- PyTorch: against torch 2.13's outputs and gradients in engine_goldens/conv.npz;
- modules: output shapes equal what .layer() reports through minigrad.layers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_ops_conv import _quiet_console, check_grads, check_golden, golden_cases, rows_of

import minigrad.engine.functional as F
import minigrad.engine.nn as nn
from minigrad import Tensor

seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------------
# Oracles, one output pixel at a time
# ---------------------------------------------------------------------------------------------

def nearest_source(i, n_in, n_out, scale, small_output):
    """PyTorch's CPU rule for output index i: floor(i · ratio), ratio = 1/scale or in/out.
    The 2-D kernel for OH + OW <= 128 works in float32 and copies (out = in) or halves
    (out = 2·in) directly; the general kernel rounds i · ratio (in double) to float32."""
    if small_output:
        if n_out == n_in:
            return i
        if n_out == 2 * n_in:
            return i // 2
        ratio = np.float32(1 / scale) if scale else np.float32(n_in) / np.float32(n_out)
        return min(math.floor(np.float32(i) * ratio), n_in - 1)
    ratio = 1 / scale if scale else n_in / n_out
    return min(math.floor(np.float32(i * ratio)), n_in - 1)


def linear_source(i, n_in, n_out, scale, align_corners):
    """(i0, i1, λ) of output i: src = i·(in − 1)/(out − 1) with align_corners, else
    (i + 0.5)·ratio − 0.5 clamped at 0; i0 = floor(src), i1 = min(i0 + 1, in − 1)."""
    if n_out == n_in:
        return i, i, 0.0
    if align_corners:
        src = i * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        src = max((i + 0.5) * (1 / scale if scale else n_in / n_out) - 0.5, 0.0)
    i0 = min(math.floor(src), n_in - 1)
    return i0, min(i0 + 1, n_in - 1), min(max(src - i0, 0.0), 1.0)


def interpolate_loops(x, out_sizes, scales, mode, align_corners):
    """x: (N, C, *S) with one or two spatial axes; a 1-D map is treated as height 1."""
    one_d = x.ndim == 3
    if one_d:
        x, out_sizes, scales = x[:, :, None], (1,) + tuple(out_sizes), (None,) + tuple(scales)
    n, c, h, w = x.shape
    oh, ow = out_sizes
    out = np.zeros((n, c, oh, ow))
    small = not one_d and oh + ow <= 128
    for i in range(oh):
        for j in range(ow):
            if mode == "nearest":
                out[:, :, i, j] = x[:, :, nearest_source(i, h, oh, scales[0], small),
                                    nearest_source(j, w, ow, scales[1], small)]
                continue
            r0, r1, lr = linear_source(i, h, oh, scales[0], align_corners)
            c0, c1, lc = linear_source(j, w, ow, scales[1], align_corners)
            out[:, :, i, j] = ((1 - lr) * ((1 - lc) * x[:, :, r0, c0] + lc * x[:, :, r0, c1])
                               + lr * ((1 - lc) * x[:, :, r1, c0] + lc * x[:, :, r1, c1]))
    return out[:, :, 0] if one_d else out


def pad_source(o, before, n, mode):
    """The input index output index o copies, or None for a constant pixel."""
    src = o - before
    if mode == "constant":
        return src if 0 <= src < n else None
    if mode == "replicate":
        return min(max(src, 0), n - 1)
    while not 0 <= src < n:  # reflect: mirror about the edge pixels
        src = -src if src < 0 else 2 * (n - 1) - src
    return src


def pad_loops(x, pad, mode, value):
    """pad lists the LAST axis first: (left, right, top, bottom, ...)."""
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]
    first = x.ndim - len(pairs)
    out_shape = x.shape[:first] + tuple(n + b + a for n, (b, a) in zip(x.shape[first:], pairs))
    out = np.full(out_shape, value, dtype=float)
    for index in np.ndindex(out_shape):
        sources = [pad_source(o, b, n, mode)
                   for o, n, (b, _) in zip(index[first:], x.shape[first:], pairs)]
        if None not in sources:
            out[index] = x[index[:first] + tuple(sources)]
    return out


def pixel_shuffle_loops(x, r):
    n, c, h, w = x.shape
    out = np.zeros((n, c // (r * r), h * r, w * r))
    for k in range(c // (r * r)):
        for y in range(h * r):
            for z in range(w * r):
                out[:, k, y, z] = x[:, k * r * r + (y % r) * r + z % r, y // r, z // r]
    return out


def test_oracles_by_hand():
    x = np.arange(3.0).reshape(1, 1, 3)
    # 3 -> 5 nearest: floor(i · 3/5) = 0 0 1 1 2
    np.testing.assert_array_equal(interpolate_loops(x, (5,), (None,), "nearest", False),
                                  [[[0, 0, 1, 1, 2]]])
    # 3 -> 5 linear, align_corners: the half-way points appear
    np.testing.assert_allclose(interpolate_loops(x, (5,), (None,), "linear", True),
                               [[[0, 0.5, 1, 1.5, 2]]])
    # 3 -> 6 linear without: src = (i + 0.5)/2 − 0.5 = 0 (clamped), 0.25, 0.75, 1.25, 1.75, 2
    np.testing.assert_allclose(interpolate_loops(x, (6,), (2.0,), "linear", False),
                               [[[0, 0.25, 0.75, 1.25, 1.75, 2]]])
    row = np.arange(4.0).reshape(1, 4)
    np.testing.assert_array_equal(pad_loops(row, (2, 1), "reflect", 0), [[2, 1, 0, 1, 2, 3, 2]])
    np.testing.assert_array_equal(pad_loops(row, (2, -1), "replicate", 0), [[0, 0, 0, 1, 2]])
    np.testing.assert_array_equal(pad_loops(row, (-1, 1), "constant", 9), [[1, 2, 3, 9]])
    x = np.arange(4.0).reshape(1, 4, 1, 1)  # four channels become one 2×2 block
    np.testing.assert_array_equal(pixel_shuffle_loops(x, 2), [[[[0, 1], [2, 3]]]])


# ---------------------------------------------------------------------------------------------
# Interpolation
# ---------------------------------------------------------------------------------------------

@st.composite
def interpolate_cases(draw, max_size=5, max_out=11):
    two_d = draw(st.booleans())
    rank = 2 if two_d else 1
    mode = draw(st.sampled_from(["nearest", "bilinear" if two_d else "linear"]))
    in_sizes = tuple(draw(st.integers(1, max_size)) for _ in range(rank))
    if draw(st.booleans()):
        out_sizes = tuple(draw(st.integers(1, max_out)) for _ in range(rank))
        size, scale_factor, scales = out_sizes, None, (None,) * rank
    else:
        scales = tuple(draw(st.one_of(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]),
                                      st.floats(0.3, 3.5))) for _ in range(rank))
        out_sizes = tuple(math.floor(n * s) for n, s in zip(in_sizes, scales))
        if min(out_sizes) < 1:  # scale up instead: floor(n · s) must be positive
            scales = tuple(max(s, 1.0) for s in scales)
            out_sizes = tuple(math.floor(n * s) for n, s in zip(in_sizes, scales))
        size, scale_factor = None, scales
    align = draw(st.booleans()) if mode != "nearest" else None
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + in_sizes
    return dict(shape=shape, out_sizes=out_sizes, scales=scales,
                kwargs=dict(size=size, scale_factor=scale_factor, mode=mode, align_corners=align))


@given(case=interpolate_cases(), seed=seeds)
def test_interpolate_gradients(case, seed):
    x = np.random.default_rng(seed).standard_normal(case["shape"])
    out = check_grads(lambda t: F.interpolate(t, **case["kwargs"]), x, seed=seed)
    assert out.shape[2:] == case["out_sizes"]


@given(case=interpolate_cases(max_size=9, max_out=90), seed=seeds)
def test_interpolate_matches_index_formulas(case, seed):
    x = np.random.default_rng(seed).standard_normal(case["shape"])
    out = F.interpolate(Tensor(x), **case["kwargs"])
    kw = case["kwargs"]
    expected = interpolate_loops(x, case["out_sizes"], case["scales"], kw["mode"],
                                 bool(kw["align_corners"]))
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_nearest_index_rules_of_both_kernels():
    """PyTorch's two CPU rules give different sources in these cases; each size takes its
    kernel's (the small 2-D kernel copies when the size stays, the general one does not)."""
    x = np.arange(12.0).reshape(1, 1, 1, 12)
    kept = F.interpolate(Tensor(x), scale_factor=(1.0, 1.01)).data      # 1 + 12 <= 128
    np.testing.assert_array_equal(kept, x)
    line = F.interpolate(Tensor(x[:, :, 0]), scale_factor=1.01).data    # 1-D: general rule
    np.testing.assert_array_equal(line[0, 0, :3], [0, 0, 1])
    # 30 -> 58 with a size: 29 · 30/58 is 15 exactly in double, a hair under in float32
    y = np.arange(30.0).reshape(1, 1, 1, 30)
    assert F.interpolate(Tensor(y), size=(1, 58)).data[0, 0, 0, 29] == 14      # small kernel
    assert F.interpolate(Tensor(y), size=(80, 58)).data[0, 0, 0, 29] == 15     # general kernel
    # 2 -> 98: 49 · 2/98 is 0.9999999999999999 in double, which float32 rounds to 1
    pair = F.interpolate(Tensor(np.array([[[0.0, 1.0]]])), size=98).data
    assert pair[0, 0, 49] == 1 and pair[0, 0, 48] == 0


def test_nearest_gradient_is_the_adjoint_of_its_forward_where_pytorch_differs():
    """4 -> 82 in 1-D: PyTorch's backward uses the float32 rule, its forward the general one;
    here both use the forward's, so the gradient is the true one."""
    check_grads(lambda t: F.interpolate(t, size=82), np.random.default_rng(0).standard_normal(
        (1, 1, 4)), seed=1)


@pytest.mark.parametrize("call, words", [
    (lambda: F.interpolate(np.zeros((1, 1, 4, 4)), scale_factor=2, mode="linear"),
     ["4D input", "'linear'", "3D"]),
    (lambda: F.interpolate(np.zeros((1, 1, 4)), scale_factor=2, mode="bilinear"), ["4D"]),
    (lambda: F.interpolate(np.zeros((1, 1, 4)), scale_factor=2, mode="bicubic"), ["mode"]),
    (lambda: F.interpolate(np.zeros((1, 1, 4)), scale_factor=2, align_corners=True),
     ["align_corners"]),
    (lambda: F.interpolate(np.zeros((1, 1, 4)), size=3, scale_factor=2), ["size"]),
    (lambda: F.interpolate(np.zeros((1, 1, 4)), scale_factor=0.2), ["greater than 0"]),
    (lambda: F.interpolate(np.zeros((1, 1, 4, 4)), size=(2, 3, 4)), ["size", "2 spatial"]),
    (lambda: F.pad(np.zeros((1, 1, 4)), (1, 2, 3)), ["pad", "even"]),
    (lambda: F.pad(np.zeros((1, 1, 4)), (4, 0), mode="reflect"), ["reflect", "smaller", "4"]),
    (lambda: F.pad(np.zeros((1, 1, 4, 4)), (1, 1), mode="replicate"),
     ["replicate", "1 axis", "(1, 1, 4, 4)"]),
    (lambda: F.pad(np.zeros((1, 1, 4)), (1, 1), mode="reflect", value=2), ["value"]),
    (lambda: F.pad(np.zeros((1, 1, 4)), (-3, -2)), ["crops more", "(1, 1, 4)"]),
    (lambda: F.pad(np.zeros((1, 1, 4)), (1, 1), mode="circular"), ["mode"]),
    (lambda: F.pixel_shuffle(np.zeros((1, 6, 2, 2)), 2), ["pixel_shuffle", "(1, 6, 2, 2)"]),
    (lambda: F.pixel_unshuffle(np.zeros((1, 1, 3, 4)), 2), ["pixel_unshuffle", "(1, 1, 3, 4)"]),
])
def test_errors_name_the_op_and_the_shapes(call, words):
    with pytest.raises(ValueError) as error:
        call()
    for word in words:
        assert word in str(error.value)


# ---------------------------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------------------------

@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(["constant", "reflect", "replicate"]))
    axes = draw(st.integers(1, 2 if mode != "constant" else 3))
    ndim = axes + draw(st.integers(1, 2)) if mode != "constant" else max(axes, draw(
        st.integers(1, 4)))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    pad = []
    for n in reversed(shape[ndim - axes:]):  # the last axis first, as PyTorch lists them
        top = n - 1 if mode == "reflect" else 3
        before = draw(st.integers(-(n - 1) // 2, top))
        after = draw(st.integers(-(n - 1) // 2, top))
        pad += [before, after]
    value = draw(st.floats(-2, 2)) if mode == "constant" else 0.0
    return dict(shape=shape, pad=tuple(pad), mode=mode, value=value)


@given(case=pad_cases(), seed=seeds)
def test_pad_gradients(case, seed):
    x = np.random.default_rng(seed).standard_normal(case["shape"])
    check_grads(lambda t: F.pad(t, case["pad"], case["mode"], case["value"]), x, seed=seed)


@given(case=pad_cases(), seed=seeds)
def test_pad_matches_the_padding_rules(case, seed):
    x = np.random.default_rng(seed).standard_normal(case["shape"])
    out = F.pad(Tensor(x), case["pad"], case["mode"], case["value"])
    np.testing.assert_array_equal(out.data, pad_loops(x, case["pad"], case["mode"],
                                                      case["value"]))


def test_replicated_edges_collect_every_copy_of_their_gradient():
    x = Tensor(np.zeros((1, 1, 3)), requires_grad=True)
    F.pad(x, (2, 1), mode="replicate").backward(np.ones((1, 1, 6)))
    np.testing.assert_array_equal(x.grad, [[[3, 1, 2]]])


# ---------------------------------------------------------------------------------------------
# Pixel shuffle
# ---------------------------------------------------------------------------------------------

@given(r=st.integers(1, 3), channels=st.integers(1, 2), h=st.integers(1, 3), w=st.integers(1, 3),
       seed=seeds)
def test_pixel_shuffle_gradients_and_definition(r, channels, h, w, seed):
    x = np.random.default_rng(seed).standard_normal((2, channels * r * r, h, w))
    out = check_grads(lambda t: F.pixel_shuffle(t, r), x, seed=seed)
    np.testing.assert_array_equal(out.data, pixel_shuffle_loops(x, r))
    back = check_grads(lambda t: F.pixel_unshuffle(t, r), out.data, seed=seed)
    np.testing.assert_array_equal(back.data, x)


def test_pixel_shuffle_takes_leading_axes():
    x = np.arange(2 * 3 * 8 * 2 * 2.0).reshape(2, 3, 8, 2, 2)
    out = F.pixel_shuffle(Tensor(x), 2).data
    assert out.shape == (2, 3, 2, 4, 4)
    np.testing.assert_array_equal(out[1, 2], pixel_shuffle_loops(x[1, 2][None], 2)[0])


# ---------------------------------------------------------------------------------------------
# PyTorch goldens
# ---------------------------------------------------------------------------------------------

RESAMPLE_OPS = ("interpolate", "pad", "pixel_shuffle", "pixel_unshuffle")


def test_goldens_cover_every_mode():
    assert len(golden_cases(*RESAMPLE_OPS)) >= 15
    names = " ".join(golden_cases(*RESAMPLE_OPS))
    for word in ("nearest2d", "nearest1d", "bilinear", "linear", "pad_constant", "pad_reflect",
                 "pad_replicate", "pixel_shuffle", "pixel_unshuffle", "crop", "large_output"):
        assert word in names


@pytest.mark.parametrize("name", golden_cases(*RESAMPLE_OPS))
def test_matches_pytorch(name):
    check_golden(name)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model, input_shape", [
    (lambda: nn.Sequential(nn.ZeroPad2d((1, 0, 2, 1)), nn.ReflectionPad2d(1),
                           nn.ReplicationPad2d((0, 1, 1, 0)), nn.ConstantPad2d((2, -1, 0, 1), 0.5),
                           nn.Conv2d(3, 12, 3), nn.PixelShuffle(2),
                           nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                           nn.Upsample(size=(10, 12)), nn.Upsample(scale_factor=(1.5, 0.5))),
     (3, 5, 6)),
    (lambda: nn.Sequential(nn.ZeroPad1d(2), nn.ConstantPad1d((1, -1), 2.0),
                           nn.ReflectionPad1d((2, 1)), nn.ReplicationPad1d(1),
                           nn.Upsample(scale_factor=1.5, mode="linear"), nn.Upsample(size=7)),
     (2, 8)),
])
def test_module_shapes_equal_their_layer_kinds(model, input_shape):
    model = model()
    x = Tensor(np.random.default_rng(0).standard_normal((2,) + input_shape).astype(np.float32))
    for module, row in zip(model, rows_of(model, input_shape)):
        x = module(x)
        assert x.shape[1:] == row.output_shape, module
        assert row.params == sum(p.size for p in module.parameters()), module
    model.summary(input_shape=input_shape, console=_quiet_console())


def test_pad_modules_pad_like_the_functional_op():
    x = Tensor(np.arange(12.0).reshape(1, 1, 3, 4))
    pairs = [(nn.ZeroPad2d(1), dict(pad=(1, 1, 1, 1))),
             (nn.ConstantPad2d((1, 0, 2, 1), -1.0), dict(pad=(1, 0, 2, 1), value=-1.0)),
             (nn.ReflectionPad2d((2, 1, 1, 2)), dict(pad=(2, 1, 1, 2), mode="reflect")),
             (nn.ReplicationPad2d(2), dict(pad=(2, 2, 2, 2), mode="replicate"))]
    for module, kwargs in pairs:
        np.testing.assert_array_equal(module(x).data, F.pad(x, **kwargs).data)
    with pytest.raises(ValueError, match="ReflectionPad1d"):
        nn.ReflectionPad1d((1, 2, 3, 4))


def test_module_reprs_read_like_pytorch():
    assert repr(nn.ZeroPad2d((1, 0, 2, 1))) == "ZeroPad2d((1, 0, 2, 1))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    assert repr(nn.ReflectionPad2d(1)) == "ReflectionPad2d((1, 1, 1, 1))"
    assert repr(nn.Upsample(scale_factor=2.0, mode="bilinear")) == (
        "Upsample(scale_factor=2.0, mode='bilinear')")
    assert repr(nn.PixelShuffle(3)) == "PixelShuffle(upscale_factor=3)"
