"""Forward values of minigrad's ops against direct loop implementations written here, hand-worked
examples, dtype rules, the Tensor API, and the errors raised for bad input."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from column_budget import BUDGETS, column_budget
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.engine.functional as F
from minigrad import Tensor
from minigrad.engine import windows
from minigrad.layers import shapes

seeds = st.integers(0, 2**32 - 1)


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


ints_or_pairs = lambda lo, hi: st.one_of(st.integers(lo, hi),
                                         st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


# ---------------------------------------------------------------------------------------------
# Loop oracles
# ---------------------------------------------------------------------------------------------

def conv2d_loops(x, w, b, stride, pads, dilation):
    """Direct cross-correlation: explicit loops over n, f, oh, ow, c, kh, kw (zero padding)."""
    n_, c_, h_, w_ = x.shape
    f_, _, kh_, kw_ = w.shape
    (pt, pb), (pl, pr) = pads
    sh, sw = stride
    dh, dw = dilation
    oh_ = (h_ + pt + pb - dh * (kh_ - 1) - 1) // sh + 1
    ow_ = (w_ + pl + pr - dw * (kw_ - 1) - 1) // sw + 1
    out = np.zeros((n_, f_, oh_, ow_))
    for n in range(n_):
        for f in range(f_):
            for oh in range(oh_):
                for ow in range(ow_):
                    acc = 0.0 if b is None else float(b[f])
                    for c in range(c_):
                        for kh in range(kh_):
                            for kw in range(kw_):
                                ih = oh * sh - pt + kh * dh
                                iw = ow * sw - pl + kw * dw
                                if 0 <= ih < h_ and 0 <= iw < w_:
                                    acc += float(x[n, c, ih, iw]) * float(w[f, c, kh, kw])
                    out[n, f, oh, ow] = acc
    return out


def pool2d_loops(x, kernel, stride, padding, mode):
    """Max pooling with -inf padding, or average pooling dividing by KH*KW (zeros counted)."""
    n_, c_, h_, w_ = x.shape
    kh_, kw_ = kernel
    sh, sw = stride
    ph, pw = padding
    oh_ = (h_ + 2 * ph - kh_) // sh + 1
    ow_ = (w_ + 2 * pw - kw_) // sw + 1
    out = np.zeros((n_, c_, oh_, ow_))
    for n in range(n_):
        for c in range(c_):
            for oh in range(oh_):
                for ow in range(ow_):
                    best, total = -math.inf, 0.0
                    for kh in range(kh_):
                        for kw in range(kw_):
                            ih, iw = oh * sh - ph + kh, ow * sw - pw + kw
                            inside = 0 <= ih < h_ and 0 <= iw < w_
                            v = float(x[n, c, ih, iw]) if inside else None
                            best = max(best, v if inside else -math.inf)
                            total += v if inside else 0.0
                    out[n, c, oh, ow] = best if mode == "max" else total / (kh_ * kw_)
    return out


def test_loop_oracles_on_a_hand_example():
    """The oracles themselves, on numbers worked by hand."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    # every 2x2 window: top-left minus bottom-right = -5
    np.testing.assert_array_equal(conv2d_loops(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1)),
                                  np.full((1, 1, 3, 3), -5.0))
    # dilation 2: x[i, j] - x[i+2, j+2] = -10
    np.testing.assert_array_equal(conv2d_loops(x, w, np.array([1.0]), (1, 1), ((0, 0), (0, 0)),
                                               (2, 2)), np.full((1, 1, 2, 2), -9.0))
    np.testing.assert_array_equal(pool2d_loops(x, (2, 2), (2, 2), (0, 0), "max")[0, 0],
                                  [[5.0, 7.0], [13.0, 15.0]])
    np.testing.assert_array_equal(pool2d_loops(x, (2, 2), (2, 2), (1, 1), "avg")[0, 0],
                                  [[0 / 4, (1 + 2) / 4, 3 / 4],
                                   [(4 + 8) / 4, (5 + 6 + 9 + 10) / 4, (7 + 11) / 4],
                                   [12 / 4, (13 + 14) / 4, 15 / 4]])


# ---------------------------------------------------------------------------------------------
# Convolution and pooling against the oracles
# ---------------------------------------------------------------------------------------------

@st.composite
def conv_configs(draw):
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dilation = draw(ints_or_pairs(1, 3))
    kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    stride = draw(st.sampled_from([1, (1, 1)])) if kind == "same" else draw(ints_or_pairs(1, 3))
    padding = {"int": lambda: draw(st.integers(0, 3)),
               "pair": lambda: draw(st.tuples(st.integers(0, 3), st.integers(0, 3))),
               "same": lambda: "same", "valid": lambda: "valid"}[kind]()
    dh, dw = _as_pair(dilation)
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        ph, pw = _as_pair(padding)
        pads = ((ph, ph), (pw, pw))
    assume(h + sum(pads[0]) >= dh * (kh - 1) + 1 and w + sum(pads[1]) >= dw * (kw - 1) + 1)
    return {"x_shape": (n, c, h, w), "w_shape": (f, c, kh, kw), "bias": draw(st.booleans()),
                "stride": stride, "padding": padding, "dilation": dilation, "pads": pads}


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("graph", [False, True])
@given(cfg=conv_configs(), seed=seeds)
def test_conv2d_matches_loops(cfg, seed, budget, graph):
    """Without a graph, and with one (the columns then kept for backward, or built again)."""
    with column_budget(budget):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(cfg["x_shape"])
        w = rng.standard_normal(cfg["w_shape"])
        b = rng.standard_normal(cfg["w_shape"][:1]) if cfg["bias"] else None
        args = tuple(Tensor(a, requires_grad=graph) for a in (x, w, b) if a is not None)
        out = F.conv2d(*args, stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"])
        expected = conv2d_loops(x, w, b, _as_pair(cfg["stride"]), cfg["pads"], _as_pair(cfg["dilation"]))
        assert out.shape == expected.shape
        assert out.dtype == np.float64
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
        # output size agrees with the layer-math module, axis by axis
        h, w_ = cfg["x_shape"][2:]
        (sh, sw), (dh, dw) = _as_pair(cfg["stride"]), _as_pair(cfg["dilation"])
        assert out.shape[2] == shapes.output_size(h, cfg["w_shape"][2], sh, cfg["pads"][0], dh)
        assert out.shape[3] == shapes.output_size(w_, cfg["w_shape"][3], sw, cfg["pads"][1], dw)
        if cfg["pads"][0][0] == cfg["pads"][0][1]:
            assert out.shape[2] == shapes.output_size(h, cfg["w_shape"][2], sh, cfg["pads"][0][0], dh)
        if cfg["padding"] == "same":
            assert out.shape[2:] == (h, w_)


@st.composite
def pool_configs(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kernel = draw(ints_or_pairs(1, 5))
    kh, kw = _as_pair(kernel)
    stride = draw(st.one_of(st.none(), ints_or_pairs(1, 3)))
    if draw(st.booleans()):
        padding = draw(st.integers(0, min(kh, kw) // 2))
    else:
        padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    ph, pw = _as_pair(padding)
    assume(h + 2 * ph >= kh and w + 2 * pw >= kw)
    return {"x_shape": (n, c, h, w), "kernel": kernel, "stride": stride, "padding": padding}


@given(cfg=pool_configs(), mode=st.sampled_from(["max", "avg"]), seed=seeds,
       ties=st.booleans())
def test_pools_match_loops(cfg, mode, seed, ties):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=cfg["x_shape"]).astype(np.float64) if ties else \
        rng.standard_normal(cfg["x_shape"])
    if ties:
        x -= 5.0  # all negative: a zero-padded max pool would be caught
    fn = F.max_pool2d if mode == "max" else F.avg_pool2d
    out = fn(Tensor(x), cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"])
    kernel = _as_pair(cfg["kernel"])
    stride = kernel if cfg["stride"] is None else _as_pair(cfg["stride"])
    expected = pool2d_loops(x, kernel, stride, _as_pair(cfg["padding"]), mode)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    ph, pw = _as_pair(cfg["padding"])
    assert out.shape[2] == shapes.output_size(cfg["x_shape"][2], kernel[0], stride[0], ph)
    assert out.shape[3] == shapes.output_size(cfg["x_shape"][3], kernel[1], stride[1], pw)


def test_max_pool_pads_with_minus_infinity_and_avg_pool_counts_padding():
    x = Tensor(np.full((1, 1, 2, 2), -3.0))
    np.testing.assert_array_equal(F.max_pool2d(x, 2, stride=1, padding=1).data,
                                  np.full((1, 1, 3, 3), -3.0))
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, stride=1, padding=1).data[0, 0],
                                  [[-0.75, -1.5, -0.75], [-1.5, -3.0, -1.5], [-0.75, -1.5, -0.75]])


# ---------------------------------------------------------------------------------------------
# Max tie-breaking: the whole gradient goes to the FIRST maximum in row-major window order
# ---------------------------------------------------------------------------------------------

def _pool_grad(x, upstream, **kw):
    t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    out = F.max_pool2d(t, **kw)
    out.backward(np.array(upstream, dtype=np.float64))
    return out.data, t.grad


def test_max_pool_tie_goes_to_first_maximum_in_row_major_order():
    # anti-diagonal tie: row-major first is (0, 1); column-major would pick (1, 0)
    out, grad = _pool_grad([[[[0.0, 5.0], [5.0, 0.0]]]], [[[[7.0]]]], kernel_size=2)
    assert out[0, 0, 0, 0] == 5.0
    np.testing.assert_array_equal(grad[0, 0], [[0.0, 7.0], [0.0, 0.0]])
    # tie in the second row only
    _, grad = _pool_grad([[[[1.0, 2.0], [5.0, 5.0]]]], [[[[3.0]]]], kernel_size=2)
    np.testing.assert_array_equal(grad[0, 0], [[0.0, 0.0], [3.0, 0.0]])
    # all four equal
    _, grad = _pool_grad([[[[4.0, 4.0], [4.0, 4.0]]]], [[[[2.0]]]], kernel_size=2)
    np.testing.assert_array_equal(grad[0, 0], [[2.0, 0.0], [0.0, 0.0]])


def test_max_pool_ties_with_overlapping_windows():
    # a constant 3x3 image, 2x2 windows at stride 1: each window's first element is its top-left
    _, grad = _pool_grad(np.ones((1, 1, 3, 3)), [[[[1.0, 10.0], [100.0, 1000.0]]]],
                         kernel_size=2, stride=1)
    np.testing.assert_array_equal(grad[0, 0], [[1.0, 10.0, 0.0], [100.0, 1000.0, 0.0],
                                               [0.0, 0.0, 0.0]])
    # never more gradient than was sent: the total is conserved
    assert grad.sum() == 1111.0


def test_max_pool_tie_with_padding():
    # kernel 3, stride 2, padding 1 on a 3x3 constant image: windows start at -1 and 1
    _, grad = _pool_grad(np.full((1, 1, 3, 3), 2.0), np.ones((1, 1, 2, 2)),
                         kernel_size=3, stride=2, padding=1)
    # windows' first real elements: (0,0), (0,1), (1,0), (1,1)
    np.testing.assert_array_equal(grad[0, 0], [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def max_pool2d_backward_loops(x, upstream, kernel, stride, padding):
    """PyTorch's rule by loops: each window's gradient goes to its first real maximum, scanning
    the window row by row."""
    n_, c_, h_, w_ = x.shape
    (kh_, kw_), (sh, sw), (ph, pw) = kernel, stride, padding
    dx = np.zeros_like(x)
    for n in range(n_):
        for c in range(c_):
            for oh in range(upstream.shape[2]):
                for ow in range(upstream.shape[3]):
                    best, where = -math.inf, None
                    for kh in range(kh_):
                        for kw in range(kw_):
                            ih, iw = oh * sh - ph + kh, ow * sw - pw + kw
                            if 0 <= ih < h_ and 0 <= iw < w_ and (where is None or x[n, c, ih, iw] > best):
                                best, where = x[n, c, ih, iw], (ih, iw)
                    dx[n, c, where[0], where[1]] += upstream[n, c, oh, ow]
    return dx


@contextlib.contextmanager
def cache_blocks(block_bytes):
    """Max pooling and col2im work through the batch in blocks of windows.CACHE_BLOCK_BYTES;
    tests run the default (one block at these sizes) and 1 byte (one image per block)."""
    saved = windows.CACHE_BLOCK_BYTES
    windows.CACHE_BLOCK_BYTES = saved if block_bytes is None else block_bytes
    try:
        yield
    finally:
        windows.CACHE_BLOCK_BYTES = saved


@given(cfg=pool_configs(), seed=seeds, block_bytes=st.sampled_from([None, 1]))
def test_max_pool_backward_with_many_ties_matches_loops(cfg, seed, block_bytes):
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, size=cfg["x_shape"]).astype(np.float64)  # values -1, 0, 1: many ties
    t = Tensor(x, requires_grad=True)
    with cache_blocks(block_bytes):
        out = F.max_pool2d(t, cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"])
        upstream = rng.integers(1, 10, size=out.shape).astype(np.float64)
        out.backward(upstream)
    kernel = _as_pair(cfg["kernel"])
    stride = kernel if cfg["stride"] is None else _as_pair(cfg["stride"])
    expected = max_pool2d_backward_loops(x, upstream, kernel, stride, _as_pair(cfg["padding"]))
    np.testing.assert_array_equal(t.grad, expected)
    assert t.grad.sum() == upstream.sum()  # each window's gradient is sent exactly once


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data(),
       keepdims=st.booleans(), seed=seeds)
def test_max_reduction_backward_with_ties_matches_loops(shape, data, keepdims, seed):
    nd = len(shape)
    axes = data.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=shape).astype(np.float64)
    t = Tensor(x, requires_grad=True)
    out = t.max(axis=tuple(axes), keepdims=keepdims)
    upstream = rng.integers(1, 10, size=out.shape).astype(np.float64)
    out.backward(upstream)
    # loops: for each kept index, scan the reduced positions in row-major order
    kept = [i for i in range(nd) if i not in axes]
    reduced = sorted(axes)
    up = upstream.reshape([shape[i] for i in kept])
    expected = np.zeros_like(x)
    for k_idx in np.ndindex(*[shape[i] for i in kept]):
        best, where = None, None
        for r_idx in np.ndindex(*[shape[i] for i in reduced]):
            full = [0] * nd
            for i, v in zip(kept, k_idx):
                full[i] = v
            for i, v in zip(reduced, r_idx):
                full[i] = v
            if best is None or x[tuple(full)] > best:
                best, where = x[tuple(full)], tuple(full)
        expected[where] += up[k_idx]
    np.testing.assert_array_equal(t.grad, expected)


def test_max_pool_never_sends_gradient_into_padding():
    """A window whose real entries are all -inf (e.g. a masked input) ties with the -inf padding.
    PyTorch only ever picks real positions (its argmax starts at the first in-bounds element), so
    every window's gradient lands on a real input element: the total is conserved."""
    x = np.full((1, 1, 2, 2), -np.inf)
    out, grad = _pool_grad(x, np.ones((1, 1, 3, 3)), kernel_size=2, stride=1, padding=1)
    assert np.all(out == -np.inf)
    # window (oh, ow) covers rows oh-1..oh, cols ow-1..ow; its first real element is
    # (max(oh-1, 0), max(ow-1, 0))
    np.testing.assert_array_equal(grad[0, 0], [[4.0, 2.0], [2.0, 1.0]])


def test_max_reduction_tie_goes_to_first_maximum():
    t = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), requires_grad=True)
    t.max().backward()
    np.testing.assert_array_equal(t.grad, [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    t.grad = None
    t.max(axis=1).backward(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(t.grad, [[0.0, 5.0, 0.0], [6.0, 0.0, 0.0]])
    t.grad = None
    t.max(axis=0, keepdims=True).backward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(t.grad, [[0.0, 2.0, 3.0], [1.0, 0.0, 0.0]])


# ---------------------------------------------------------------------------------------------
# Softmax and losses on hand-computed examples
# ---------------------------------------------------------------------------------------------

def test_cross_entropy_hand_computed():
    logits = Tensor(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([2, 1]))
    # row 0: -log(e³/(e+e²+e³)) = log(1 + e⁻¹ + e⁻²); row 1: log 3
    row0 = math.log(1 + math.exp(-1) + math.exp(-2))
    assert row0 == pytest.approx(0.4076059644443804, rel=1e-15)
    assert loss.item() == pytest.approx((row0 + math.log(3)) / 2, rel=1e-13)
    assert loss.item() == pytest.approx(0.7531091265562554, rel=1e-13)
    loss.backward()
    # softmax([1, 2, 3]) = [0.09003057, 0.24472847, 0.66524096] (the textbook figure)
    expected = np.array([[0.09003057, 0.24472847, 0.66524096 - 1], [1 / 3, 1 / 3 - 1, 1 / 3]]) / 2
    np.testing.assert_allclose(logits.grad, expected, atol=5e-9)


def test_cross_entropy_uniform_logits_is_log_k():
    for k in (2, 10, 1000):
        loss = F.cross_entropy(Tensor(np.zeros((3, k))), np.array([0, k - 1, k // 2]))
        assert loss.item() == pytest.approx(math.log(k), rel=1e-12)


def test_softmax_and_log_softmax_hand_computed():
    x = Tensor(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(F.softmax(x).data[0], [0.09003057, 0.24472847, 0.66524096], atol=5e-9)
    np.testing.assert_allclose(F.softmax(x).data[1], [0.5, 0.5, 0.0], atol=1e-300)
    np.testing.assert_allclose(F.log_softmax(x).data[1], [-math.log(2), -math.log(2), -2000 - math.log(2)],
                               rtol=1e-12)
    col = F.softmax(Tensor(np.array([[0.0], [math.log(3.0)]])), axis=0).data
    np.testing.assert_allclose(col, [[0.25], [0.75]], rtol=1e-12)


def test_mse_loss_hand_computed():
    loss = F.mse_loss(Tensor(np.array([1.0, 2.0, 4.0])), Tensor(np.array([1.0, 0.0, 1.0])))
    assert loss.item() == pytest.approx((0 + 4 + 9) / 3)


# ---------------------------------------------------------------------------------------------
# dtype rules
# ---------------------------------------------------------------------------------------------

def _float_inputs(dtype):
    rng = np.random.default_rng(0)
    return {
        "x4": rng.standard_normal((2, 2, 5, 5)).astype(dtype),
        "w4": rng.standard_normal((3, 2, 3, 3)).astype(dtype),
        "b": rng.standard_normal(3).astype(dtype),
        "m": rng.standard_normal((3, 4)).astype(dtype),
        "v": rng.standard_normal(4).astype(dtype),
        "pos": rng.uniform(0.5, 2, (3, 4)).astype(dtype),
        "lw": rng.standard_normal((2, 4)).astype(dtype),
        "lb": rng.standard_normal(2).astype(dtype),
        "lw3": rng.standard_normal((2, 3)).astype(dtype),
    }


OPS = {
    "conv2d": (["x4", "w4", "b"], lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1)),
    "conv2d_same_dilated": (["x4", "w4"], lambda x, w: F.conv2d(x, w, padding="same", dilation=2)),
    "max_pool2d": (["x4"], lambda x: F.max_pool2d(x, 2, stride=1, padding=1)),
    "avg_pool2d": (["x4"], lambda x: F.avg_pool2d(x, 3, stride=2, padding=1)),
    "linear": (["m", "lw", "lb"], F.linear),
    "linear_plain": (["m", "lw"], lambda x, w: F.linear(x, w)),
    "relu": (["m"], F.relu),
    "sigmoid": (["m"], F.sigmoid),
    "tanh": (["m"], F.tanh),
    "exp": (["m"], lambda x: x.exp()),
    "log": (["pos"], lambda x: x.log()),
    "softmax": (["m"], lambda x: F.softmax(x, axis=0)),
    "log_softmax": (["m"], lambda x: F.log_softmax(x)),
    "cross_entropy": (["m"], lambda x: F.cross_entropy(x, np.array([0, 3, 1]))),
    "mse_loss": (["m", "pos"], F.mse_loss),
    "dropout": (["m"], lambda x: F.dropout(x, 0.5)),
    "flatten": (["x4"], F.flatten),
    "sum": (["m"], lambda x: x.sum(axis=0)),
    "mean": (["m"], lambda x: x.mean(axis=(0, 1), keepdims=True)),
    "mean_all": (["m"], lambda x: x.mean()),
    "max": (["m"], lambda x: x.max(axis=1)),
    "reshape": (["m"], lambda x: x.reshape(2, 6)),
    "transpose": (["m"], lambda x: x.T),
    "neg": (["m"], lambda x: -x),
    "add": (["m", "v"], lambda a, b: a + b),
    "sub": (["m", "v"], lambda a, b: a - b),
    "mul": (["m", "v"], lambda a, b: a * b),
    "div": (["m", "pos"], lambda a, b: a / b),
    "pow": (["pos", "v"], lambda a, b: a ** b),
    "matmul": (["m", "v"], lambda a, b: a @ b),
    "matmul_2d": (["m", "lw"], lambda a, b: a @ b.T),
    "times_python_float": (["m"], lambda x: x * 0.1),
    "python_float_times": (["m"], lambda x: 0.1 * x),
    "python_float_ops": (["pos"], lambda x: (1.5 - x) / 3.0 + 2.5 * x ** 2.0 - 0.5 ** x + 1e-8),
    "python_int_ops": (["pos"], lambda x: (2 - x) / 3 + x ** 2 + 2 ** x),
    "mixed_chain": (["x4", "w4", "b", "lw3"],
                    lambda x, w, b, lw: F.linear(F.flatten(F.max_pool2d(
                        F.conv2d(x, w, b, padding=1).relu() * 0.5, 5)), lw)),
}


def _check_graph_dtypes(t: Tensor, dtype):
    """Every op in t's graph: its output and each gradient its backward returns have `dtype`."""
    stack, seen = [t], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or node.op is None:
            continue
        seen.add(id(node))
        assert node.dtype == dtype, f"{node.op.name} produced {node.dtype}"
        grads = node.op.backward(np.ones(node.shape, dtype=dtype))
        grads = grads if isinstance(grads, tuple) else (grads,)
        for parent, g in zip(node.op.inputs, grads):
            if g is not None:
                assert np.asarray(g).dtype == dtype, f"{node.op.name}.backward gave {np.asarray(g).dtype}"
            stack.append(parent)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPS))
def test_dtype_is_preserved(name, dtype):
    names, fn = OPS[name]
    values = _float_inputs(dtype)
    tensors = [Tensor(values[k], requires_grad=True) for k in names]
    mg.manual_seed(0)
    out = fn(*tensors)
    assert out.dtype == dtype, f"{name}: {out.dtype}"
    _check_graph_dtypes(out, dtype)
    out.backward(np.ones(out.shape, dtype=dtype))
    for t in tensors:
        assert t.grad is not None and t.grad.dtype == dtype


@given(cfg=conv_configs(), seed=seeds)
def test_float32_conv_values_and_grads_agree_with_float64(cfg, seed):
    """The float32 path computes the same numbers (to float32 precision) as the float64 oracle."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(cfg["x_shape"])
    w = rng.standard_normal(cfg["w_shape"])
    expected = conv2d_loops(x, w, None, _as_pair(cfg["stride"]), cfg["pads"],
                            _as_pair(cfg["dilation"]))
    kw = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"]}
    grads = {}
    for dtype in (np.float32, np.float64):
        tx = Tensor(x.astype(dtype), requires_grad=True)
        tw = Tensor(w.astype(dtype), requires_grad=True)
        out = F.conv2d(tx, tw, **kw)
        assert out.dtype == dtype
        scale = np.abs(expected).max() + 1
        np.testing.assert_allclose(out.data, expected, atol=1e-5 * scale if dtype == np.float32 else 1e-12 * scale)
        out.backward(np.ones(out.shape, dtype=dtype))
        assert tx.grad.dtype == dtype and tw.grad.dtype == dtype
        grads[dtype] = (tx.grad, tw.grad)
    for g32, g64 in zip(grads[np.float32], grads[np.float64]):
        np.testing.assert_allclose(g32, g64, atol=1e-4 * (np.abs(g64).max() + 1))


def test_tensor_of_python_values_is_float32_and_mixes_without_upcast():
    t = Tensor([[1, 2], [3, 4]])
    assert t.dtype == np.float32
    assert Tensor(2.5).dtype == np.float32
    assert Tensor(3).dtype == np.float32
    assert (t * 0.1).dtype == np.float32
    assert (t + 1).dtype == np.float32
    assert (t / 3).dtype == np.float32
    assert (t @ [[1.0], [2.0]]).dtype == np.float32


# ---------------------------------------------------------------------------------------------
# Tensor API
# ---------------------------------------------------------------------------------------------

def test_tensor_api():
    data = np.arange(6.0).reshape(2, 3)
    t = Tensor(data, requires_grad=True)
    assert t.shape == (2, 3) and isinstance(t.shape, tuple)
    assert t.dtype == np.float64
    assert t.ndim == 2 and t.size == 6 and len(t) == 2
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), data)
    s = t.sum()
    assert isinstance(s.item(), float) and s.item() == 15.0
    assert t.is_leaf and t.op is None and not s.is_leaf and s.op is not None
    assert "Tensor" in repr(t) and "Tensor" in repr(Tensor(np.zeros((5, 5))))
    assert Tensor(t).shape == (2, 3)
    assert Tensor(data, dtype=np.float32).dtype == np.float32


def test_detach_cuts_the_graph():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.op is None and d.is_leaf
    np.testing.assert_array_equal(d.data, [2.0, 4.0, 6.0])
    assert (d * 3).op is None  # nothing recorded from a detached tensor alone
    z = x * x.detach()         # the detached factor is a constant
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_comparisons_return_plain_boolean_arrays():
    t = Tensor(np.array([1.0, 2.0, 3.0]))
    u = Tensor(np.array([3.0, 2.0, 1.0]))
    for result, expected in [(t < 2, [True, False, False]), (t <= 2, [True, True, False]),
                             (t > u, [False, False, True]), (t >= u, [False, True, True]),
                             (t == u, [False, True, False]), (t != 2.0, [True, False, True])]:
        assert type(result) is np.ndarray and result.dtype == np.bool_
        np.testing.assert_array_equal(result, expected)
    assert hash(t) != hash(u)  # tensors stay hashable (dict keys, sets)


def test_integer_arrays_stay_integer_and_cannot_require_grad():
    labels = Tensor(np.array([0, 2, 1]))
    assert np.issubdtype(labels.dtype, np.integer)
    assert Tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    with pytest.raises(ValueError):
        Tensor(np.array([1, 2, 3]), requires_grad=True)
    with pytest.raises(ValueError):
        Tensor(np.array([True, False]), requires_grad=True)
    assert Tensor(np.array([1, 2]), requires_grad=True, dtype=np.float64).requires_grad


# ---------------------------------------------------------------------------------------------
# Bad input: clear ValueErrors naming the op and both shapes
# ---------------------------------------------------------------------------------------------

def _raises(fn, *fragments):
    with pytest.raises(ValueError) as info:
        fn()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_conv2d_wrong_channel_count():
    x, w = Tensor(np.zeros((1, 3, 5, 5))), Tensor(np.zeros((2, 4, 3, 3)))
    _raises(lambda: F.conv2d(x, w), "conv2d", "(1, 3, 5, 5)", "(2, 4, 3, 3)")


def test_conv2d_bad_bias_and_bad_ranks():
    x, w = Tensor(np.zeros((1, 3, 5, 5))), Tensor(np.zeros((2, 3, 3, 3)))
    _raises(lambda: F.conv2d(x, w, Tensor(np.zeros(3))), "conv2d", "(3,)")
    _raises(lambda: F.conv2d(Tensor(np.zeros((3, 5, 5))), w), "conv2d", "(3, 5, 5)")
    _raises(lambda: F.conv2d(x, Tensor(np.zeros((2, 3, 3)))), "conv2d", "(2, 3, 3)")


def test_conv2d_kernel_larger_than_padded_input():
    x = Tensor(np.zeros((1, 1, 3, 3)))
    _raises(lambda: F.conv2d(x, Tensor(np.zeros((1, 1, 5, 5)))), "conv2d")
    _raises(lambda: F.conv2d(x, Tensor(np.zeros((1, 1, 3, 3))), dilation=2), "conv2d")
    F.conv2d(x, Tensor(np.zeros((1, 1, 5, 5))), padding=1)  # 3 + 2 = 5 fits: no error


def test_conv2d_bad_padding():
    x, w = Tensor(np.zeros((1, 1, 5, 5))), Tensor(np.zeros((1, 1, 3, 3)))
    _raises(lambda: F.conv2d(x, w, padding="same", stride=2), "same")
    _raises(lambda: F.conv2d(x, w, padding="full"), "conv2d")
    _raises(lambda: F.conv2d(x, w, padding=-1), "conv2d")


def test_remembered_geometry_answers_like_the_first_time():
    # The window geometry of a call is remembered (windows.remembered): bad arguments must
    # still fail on every call, a list (which cannot be remembered) must work like its tuple,
    # and other arguments for the same map must get their own geometry.
    x, w = Tensor(np.zeros((1, 1, 6, 6))), Tensor(np.zeros((1, 1, 3, 3)))
    for _ in range(2):
        _raises(lambda: F.conv2d(x, w, padding=-1), "conv2d")
        _raises(lambda: F.max_pool2d(x, 3, padding=2), "max_pool2d", "half of kernel size")
    assert F.conv2d(x, w, padding=[1, 1]).shape == F.conv2d(x, w, padding=(1, 1)).shape \
        == (1, 1, 6, 6)
    assert F.conv2d(x, w, stride=2).shape == (1, 1, 2, 2)
    _raises(lambda: F.conv2d(x, w, stride=(1.5, 1.5)), "stride")
    assert F.max_pool2d(x, [2, 3]).shape == F.max_pool2d(x, (2, 3)).shape == (1, 1, 3, 2)
    assert F.max_pool2d(x, 2, stride=1).shape == (1, 1, 5, 5)


def test_linear_in_features_mismatch():
    _raises(lambda: F.linear(Tensor(np.zeros((2, 5))), Tensor(np.zeros((3, 4)))),
            "linear", "(2, 5)", "(3, 4)")
    _raises(lambda: F.linear(Tensor(np.zeros((2, 4))), Tensor(np.zeros((3, 4))),
                             Tensor(np.zeros(4))), "linear", "(4,)")


@pytest.mark.parametrize("op,fn", [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                                   ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b),
                                   ("pow", lambda a, b: a ** b)])
def test_non_broadcastable_elementwise(op, fn):
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    _raises(lambda: fn(a, b), op, "(2, 3)", "(4,)")
    _raises(lambda: fn(a, np.ones((3, 2))), op, "(2, 3)", "(3, 2)")


def test_matmul_mismatch():
    _raises(lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5))), "matmul", "(2, 3)", "(4, 5)")
    _raises(lambda: Tensor(np.ones(3)) @ Tensor(np.ones(4)), "matmul", "(3,)", "(4,)")
    _raises(lambda: Tensor(np.ones((2, 3))) @ Tensor(np.array(2.0)), "matmul")


def test_cross_entropy_bad_labels():
    logits = Tensor(np.zeros((2, 3)))
    _raises(lambda: F.cross_entropy(logits, np.array([0, 3])), "cross_entropy")
    _raises(lambda: F.cross_entropy(logits, np.array([-1, 0])), "cross_entropy")
    _raises(lambda: F.cross_entropy(logits, np.array([0, 1, 2])), "cross_entropy", "(3,)")
    _raises(lambda: F.cross_entropy(logits, np.array([0.0, 1.0])), "cross_entropy")
    _raises(lambda: F.cross_entropy(Tensor(np.zeros(3)), np.array([0])), "cross_entropy", "(3,)")


def test_mse_loss_shape_mismatch():
    _raises(lambda: F.mse_loss(Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 2)))),
            "mse_loss", "(2, 3)", "(3, 2)")
    _raises(lambda: F.mse_loss(Tensor(np.zeros((2, 1))), Tensor(np.zeros((2,)))),
            "mse_loss", "(2, 1)", "(2,)")


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pool_padding_more_than_half_kernel(pool):
    x = Tensor(np.zeros((1, 1, 6, 6)))
    name = pool.__name__
    _raises(lambda: pool(x, 2, padding=2), name)
    _raises(lambda: pool(x, 3, padding=2), name)
    _raises(lambda: pool(x, (4, 2), padding=(1, 2)), name)
    _raises(lambda: pool(x, 7), name)                      # window larger than the input
    _raises(lambda: pool(Tensor(np.zeros((6, 6))), 2), name)
    assert pool(x, 2, padding=1).shape == (1, 1, 4, 4)     # exactly half is allowed
    assert pool(x, (4, 2), padding=(2, 1)).shape == (1, 1, 2, 4)


def test_dropout_bad_p():
    for p in (-0.1, 1.0, 1.5):
        _raises(lambda p=p: F.dropout(Tensor(np.ones(3)), p), "dropout")


def test_reshape_bad_size():
    _raises(lambda: Tensor(np.ones((2, 3))).reshape(4, 2), "reshape", "(2, 3)")
