"""The ops and options the layers need beyond the basic engine: asymmetric padding, ceil_mode,
count_include_pad=False, global average pooling and batch normalisation.

Forward values are compared with loop implementations and hand-worked examples written here;
gradients with central finite differences (float64, random upstream gradient) computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.engine.functional as F
from minigrad import Tensor
from test_engine_forward import cache_blocks

seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------------
# Finite differences and loop oracles, written independently of minigrad
# ---------------------------------------------------------------------------------------------

def check_grads(fn, *arrays, seed=0, eps=1e-6, rtol=1e-5, atol=1e-6):
    """Backward of fn (random upstream gradient) == central differences, for every array."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)

    def objective() -> float:
        with mg.no_grad():
            return float(np.sum(fn(*[Tensor(a) for a in arrays]).data * upstream))

    for i, a in enumerate(arrays):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            original = a[idx]
            a[idx] = original + eps
            plus = objective()
            a[idx] = original - eps
            minus = objective()
            a[idx] = original
            numeric[idx] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(tensors[i].grad, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    return out


def pool_output_size(size, kernel, stride, before, after, ceil):
    """PyTorch's pooling_output_shape, extended to different padding before and after."""
    span = size + before + after - kernel
    out = (span + (stride - 1 if ceil else 0)) // stride + 1
    if ceil and (out - 1) * stride >= size + before:
        out -= 1
    return out


def pool_loops(x, kernel, stride, pads, mode, ceil=False, count_include_pad=True):
    """Pooling by loops over every output cell and window cell.

    max: the largest real value. avg: the sum of the real values divided by the cells counted:
    those inside the padded input (count_include_pad) or only the real ones.
    """
    n_, c_, h_, w_ = x.shape
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = kernel, stride, pads
    oh_ = pool_output_size(h_, kh, sh, top, bottom, ceil)
    ow_ = pool_output_size(w_, kw, sw, left, right, ceil)
    out = np.zeros((n_, c_, oh_, ow_))
    for n in range(n_):
        for c in range(c_):
            for oh in range(oh_):
                for ow in range(ow_):
                    best, total, counted = -math.inf, 0.0, 0
                    for i in range(kh):
                        for j in range(kw):
                            ih, iw = oh * sh - top + i, ow * sw - left + j
                            real = 0 <= ih < h_ and 0 <= iw < w_
                            padded = -top <= ih < h_ + bottom and -left <= iw < w_ + right
                            if real:
                                best = max(best, x[n, c, ih, iw])
                                total += x[n, c, ih, iw]
                            if real or (padded and count_include_pad):
                                counted += 1
                    out[n, c, oh, ow] = best if mode == "max" else total / counted
    return out


def test_pool_oracle_on_hand_examples():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    no_pad = ((0, 0), (0, 0))
    # ceil_mode: the last row and column of windows see only the fifth row / column
    np.testing.assert_array_equal(pool_loops(x, (2, 2), (2, 2), no_pad, "max", ceil=True)[0, 0],
                                  [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(pool_loops(x, (2, 2), (2, 2), no_pad, "avg", ceil=True)[0, 0],
                                  [[3, 5, 6.5], [13, 15, 16.5], [20.5, 22.5, 24]])
    # TensorFlow's 'same' average pool of a 3x3 input: pad one after, divide by real values
    x3 = np.arange(9.0).reshape(1, 1, 3, 3)
    same = ((0, 1), (0, 1))
    np.testing.assert_array_equal(
        pool_loops(x3, (2, 2), (2, 2), same, "avg", count_include_pad=False)[0, 0],
        [[2, 3.5], [6.5, 8]])
    np.testing.assert_array_equal(pool_loops(x3, (2, 2), (2, 2), same, "avg")[0, 0],
                                  [[2, 7 / 4], [13 / 4, 2]])


# ---------------------------------------------------------------------------------------------
# Pools: ceil_mode, asymmetric padding, count_include_pad
# ---------------------------------------------------------------------------------------------

@st.composite
def pool_configs(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = ((draw(st.integers(0, kh // 2)), draw(st.integers(0, kh // 2))),
            (draw(st.integers(0, kw // 2)), draw(st.integers(0, kw // 2))))
    assume(h + sum(pads[0]) >= kh and w + sum(pads[1]) >= kw)
    return {"x_shape": (n, c, h, w), "kernel": (kh, kw), "stride": stride, "pads": pads,
            "ceil": draw(st.booleans()), "count_include_pad": draw(st.booleans())}


def _padding_arg(pads, style):
    """The same padding written the ways the ops accept (when it is symmetric)."""
    ((top, bottom), (left, right)) = pads
    if style == "pair" and top == bottom and left == right:
        return (top, left)
    if style == "int" and top == bottom == left == right:
        return top
    return pads


@given(cfg=pool_configs(), mode=st.sampled_from(["max", "avg"]), seed=seeds,
       style=st.sampled_from(["nested", "pair", "int"]), graph=st.booleans(),
       block_bytes=st.sampled_from([None, 1]))
def test_pools_match_loops(cfg, mode, seed, style, graph, block_bytes):
    # graph: max pool keeps each window's argmax for backward only when a graph is recorded;
    # without one it takes a shorter route, so both are checked, in one block or image by image.
    x = np.random.default_rng(seed).standard_normal(cfg["x_shape"]) - 3  # negative: -inf shows
    padding = _padding_arg(cfg["pads"], style)
    if mode == "max":
        with cache_blocks(block_bytes):
            out = F.max_pool2d(Tensor(x, requires_grad=graph), cfg["kernel"], cfg["stride"],
                               padding, ceil_mode=cfg["ceil"])
    else:
        out = F.avg_pool2d(Tensor(x), cfg["kernel"], cfg["stride"], padding, ceil_mode=cfg["ceil"],
                           count_include_pad=cfg["count_include_pad"])
    expected = pool_loops(x, cfg["kernel"], cfg["stride"], cfg["pads"], mode, cfg["ceil"],
                          cfg["count_include_pad"])
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@given(cfg=pool_configs(), seed=seeds)
def test_max_pool_gradients_with_ceil_and_asymmetric_padding(cfg, seed):
    rng = np.random.default_rng(seed)
    size = math.prod(cfg["x_shape"])
    x = ((rng.permutation(size) - size / 2) * 0.05).reshape(cfg["x_shape"])  # no ties
    check_grads(lambda t: F.max_pool2d(t, cfg["kernel"], cfg["stride"], cfg["pads"],
                                       ceil_mode=cfg["ceil"]), x, seed=seed)


@given(cfg=pool_configs(), seed=seeds)
def test_avg_pool_gradients_with_ceil_padding_and_divisors(cfg, seed):
    x = np.random.default_rng(seed).uniform(-2, 2, cfg["x_shape"])
    check_grads(lambda t: F.avg_pool2d(t, cfg["kernel"], cfg["stride"], cfg["pads"],
                                       ceil_mode=cfg["ceil"],
                                       count_include_pad=cfg["count_include_pad"]), x, seed=seed)


def test_pools_keep_float32():
    x = Tensor(np.ones((1, 1, 5, 5), dtype=np.float32))
    assert F.avg_pool2d(x, 2, ceil_mode=True, padding=((0, 1), (1, 0)),
                        count_include_pad=False).dtype == np.float32
    assert F.max_pool2d(x, 2, ceil_mode=True).dtype == np.float32


def test_pool_padding_errors_name_the_op():
    x = Tensor(np.zeros((1, 1, 6, 6)))
    for pool, name in ((F.max_pool2d, "max_pool2d"), (F.avg_pool2d, "avg_pool2d")):
        with pytest.raises(ValueError, match=name):
            pool(x, 2, padding=((0, 2), (0, 0)))  # more than half the kernel after
        with pytest.raises(ValueError, match=name):
            pool(x, 2, padding=((0, -1), (0, 0)))


# ---------------------------------------------------------------------------------------------
# Convolution with asymmetric padding
# ---------------------------------------------------------------------------------------------

def conv_loops(x, w, pads, stride):
    (top, bottom), (left, right) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    f_, _, kh, kw = w.shape
    oh_ = (xp.shape[2] - kh) // stride[0] + 1
    ow_ = (xp.shape[3] - kw) // stride[1] + 1
    out = np.zeros((x.shape[0], f_, oh_, ow_))
    for oh in range(oh_):
        for ow in range(ow_):
            top, left = oh * stride[0], ow * stride[1]
            window = xp[:, :, top:top + kh, left:left + kw]
            out[:, :, oh, ow] = np.einsum("nchw,fchw->nf", window, w)
    return out


@st.composite
def asymmetric_conv_configs(draw):
    c, f = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pads = ((draw(st.integers(0, 3)), draw(st.integers(0, 3))),
            (draw(st.integers(0, 3)), draw(st.integers(0, 3))))
    assume(h + sum(pads[0]) >= kh and w + sum(pads[1]) >= kw)
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (2, c, h, w), (f, c, kh, kw), pads, stride


@given(cfg=asymmetric_conv_configs(), seed=seeds)
def test_conv2d_asymmetric_padding_forward_and_gradients(cfg, seed):
    x_shape, w_shape, pads, stride = cfg
    rng = np.random.default_rng(seed)
    x, w = rng.uniform(-2, 2, x_shape), rng.uniform(-2, 2, w_shape)
    b = rng.uniform(-1, 1, w_shape[0])
    out = check_grads(lambda *t: F.conv2d(*t, stride=stride, padding=pads), x, w, b, seed=seed)
    np.testing.assert_allclose(out.data, conv_loops(x, w, pads, stride) + b[:, None, None],
                               rtol=1e-10, atol=1e-12)


def test_conv2d_keras_same_at_stride_2_by_hand():
    """TensorFlow pads a 4x4 input for a 3x3 kernel at stride 2 by 0 before and 1 after."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = F.conv2d(Tensor(x), Tensor(np.ones((1, 1, 3, 3))), stride=2, padding=((0, 1), (0, 1)))
    x2 = x[0, 0]
    np.testing.assert_array_equal(out.data[0, 0], [[x2[0:3, 0:3].sum(), x2[0:3, 2:4].sum()],
                                                   [x2[2:4, 0:3].sum(), x2[2:4, 2:4].sum()]])


# ---------------------------------------------------------------------------------------------
# Global average pooling
# ---------------------------------------------------------------------------------------------

@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
       keepdims=st.booleans(), seed=seeds)
def test_global_avg_pool2d(shape, keepdims, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    out = check_grads(lambda t: F.global_avg_pool2d(t, keepdims), x, seed=seed)
    expected = np.array([[x[n, c].sum() / (shape[2] * shape[3]) for c in range(shape[1])]
                         for n in range(shape[0])])
    if keepdims:
        expected = expected[:, :, None, None]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="global_avg_pool2d"):
        F.global_avg_pool2d(Tensor(np.zeros((2, 3))))


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------

def batch_norm_by_hand(x, gamma, beta, eps):
    """Per channel, with the statistics written out: returns (y, mean, biased var, unbiased var)."""
    c = x.shape[1]
    values = np.moveaxis(x, 1, 0).reshape(c, -1)          # (C, m)
    m = values.shape[1]
    mean = values.sum(axis=1) / m
    biased = ((values - mean[:, None]) ** 2).sum(axis=1) / m
    unbiased = ((values - mean[:, None]) ** 2).sum(axis=1) / (m - 1)
    shape = (1, c) + (1,) * (x.ndim - 2)
    y = gamma.reshape(shape) * (x - mean.reshape(shape)) / np.sqrt(biased.reshape(shape) + eps) \
        + beta.reshape(shape)
    return y, mean, biased, unbiased


batch_norm_shapes = st.one_of(
    st.tuples(st.integers(2, 4), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)))


@given(shape=batch_norm_shapes, seed=seeds, momentum=st.sampled_from([0.1, 0.5, 1.0]))
def test_batch_norm_training_forward_and_running_statistics(shape, seed, momentum):
    c = shape[1]
    assume(math.prod(shape) // c > 1)
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, shape)
    gamma, beta = rng.uniform(0.5, 2, c), rng.uniform(-1, 1, c)
    old_mean, old_var = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    running_mean, running_var = old_mean.copy(), old_var.copy()
    out = F.batch_norm(Tensor(x), running_mean, running_var, Tensor(gamma), Tensor(beta),
                       training=True, momentum=momentum, eps=1e-5)
    y, mean, _, unbiased = batch_norm_by_hand(x, gamma, beta, 1e-5)
    np.testing.assert_allclose(out.data, y, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(running_mean, (1 - momentum) * old_mean + momentum * mean)
    np.testing.assert_allclose(running_var, (1 - momentum) * old_var + momentum * unbiased)


@given(shape=batch_norm_shapes, seed=seeds)
def test_batch_norm_eval_uses_running_statistics_and_leaves_them(shape, seed):
    c = shape[1]
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, shape)
    gamma, beta = rng.uniform(0.5, 2, c), rng.uniform(-1, 1, c)
    running_mean, running_var = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)
    before = running_mean.copy(), running_var.copy()
    out = F.batch_norm(Tensor(x), running_mean, running_var, Tensor(gamma), Tensor(beta),
                       training=False, eps=1e-3)
    per = (1, c) + (1,) * (len(shape) - 2)
    expected = (gamma.reshape(per) * (x - running_mean.reshape(per))
                / np.sqrt(running_var.reshape(per) + 1e-3) + beta.reshape(per))
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(running_mean, before[0])
    np.testing.assert_array_equal(running_var, before[1])


@given(shape=batch_norm_shapes, training=st.booleans(), seed=seeds)
def test_batch_norm_gradients(shape, training, seed):
    c = shape[1]
    assume(math.prod(shape) // c > 1)
    rng = np.random.default_rng(seed)
    x = rng.normal(1, 2, shape)
    gamma, beta = rng.uniform(0.5, 2, c), rng.uniform(-1, 1, c)
    running_mean, running_var = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)

    def fn(xt, g, b):  # fresh running statistics for every evaluation
        return F.batch_norm(xt, running_mean.copy(), running_var.copy(), g, b, training)

    check_grads(fn, x, gamma, beta, seed=seed, rtol=1e-4, atol=1e-6)


def test_batch_norm_errors():
    x = Tensor(np.zeros((1, 3)))
    ones, zeros = np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(x, zeros.copy(), ones.copy(), Tensor(ones), Tensor(zeros), training=True)
    with pytest.raises(ValueError, match="weight"):
        F.batch_norm(Tensor(np.zeros((2, 4))), np.zeros(4), np.ones(4), Tensor(ones),
                     Tensor(np.zeros(4)), training=True)


def test_batch_norm_keeps_float32_and_float32_statistics():
    x = Tensor(np.random.default_rng(0).normal(size=(4, 2, 3, 3)).astype(np.float32))
    running_mean, running_var = np.zeros(2, np.float32), np.ones(2, np.float32)
    out = F.batch_norm(x, running_mean, running_var, Tensor(np.ones(2, np.float32)),
                       Tensor(np.zeros(2, np.float32)), training=True)
    assert out.dtype == np.float32
    assert running_mean.dtype == running_var.dtype == np.float32
