"""Gradients of every minigrad op against central finite differences (float64).

Every check draws a RANDOM upstream gradient (not only sum()), so every output element's
derivative is exercised. The finite differences (tests/finite_differences.py) are written
independently of minigrad.engine.gradcheck, which is itself tested at the end of the file.

Each check also verifies that forward + backward leave the input arrays (and the upstream
gradient) unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
from column_budget import BUDGETS, column_budget
from finite_differences import EPS, numeric_grads
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
import minigrad.engine.functional as F
from minigrad import Function, Tensor

ATOL = 1e-6
RTOL = 1e-5

seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------------
# Gradient checks against our own finite differences (tests/finite_differences.py)
# ---------------------------------------------------------------------------------------------

def check_grads(fn, *arrays, wrt=None, seed=0, atol=ATOL, rtol=RTOL, eps=EPS):
    """Backward of fn with a random upstream gradient == finite differences, for arrays in wrt.

    Also checks that forward + backward do not modify the inputs or the upstream gradient.
    Returns (tensors, output, upstream)."""
    arrays = [np.asarray(a) for a in arrays]
    wrt = list(range(len(arrays))) if wrt is None else list(wrt)
    originals = [a.copy() for a in arrays]
    tensors = [Tensor(a.copy(), requires_grad=i in wrt, dtype=a.dtype) for i, a in enumerate(arrays)]
    input_data = [t.data for t in tensors]
    out = fn(*tensors)
    assert out.requires_grad
    upstream = np.asarray(np.random.default_rng(seed).standard_normal(out.shape))
    upstream_copy = upstream.copy()
    out.backward(upstream)
    for t, data, original in zip(tensors, input_data, originals):
        assert t.data is data, "backward replaced an input's data array"
        np.testing.assert_array_equal(t.data, original, err_msg="forward/backward mutated an input")
    np.testing.assert_array_equal(upstream, upstream_copy, err_msg="backward mutated the upstream grad")
    numeric = numeric_grads(fn, originals, upstream, wrt, eps)
    for i, expected in zip(wrt, numeric):
        got = tensors[i].grad
        assert got is not None, f"input {i} got no gradient"
        assert got.shape == arrays[i].shape, (got.shape, arrays[i].shape)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i} differs from finite differences")
    return tensors, out, upstream


def rand(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def away_from_zero(rng, shape, low=0.5, high=2.0):
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def distinct(rng, shape, step=0.05):
    """Values that are pairwise at least `step` apart (so max / max-pool never tie within eps)."""
    size = int(np.prod(shape, dtype=np.int64))
    return ((rng.permutation(size) - size / 2) * step).reshape(shape)


def test_own_finite_difference_helper_detects_a_wrong_gradient():
    """The helper itself must be able to fail: a Function with a wrong backward is caught."""

    class Cube(Function):
        def forward(self, a):
            self.a = a
            return a ** 3

        def backward(self, grad):
            return grad * 2 * self.a ** 2  # should be 3 a²

    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(AssertionError):
        check_grads(lambda t: Cube.apply(t), x)


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------

def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


ints_or_pairs = lambda lo, hi: st.one_of(st.integers(lo, hi),
                                         st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


@st.composite
def conv_configs(draw, max_n=3, max_c=3, max_f=3, max_hw=9, max_k=4):
    n, c, f = draw(st.integers(1, max_n)), draw(st.integers(1, max_c)), draw(st.integers(1, max_f))
    h, w = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    kh, kw = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))
    dilation = draw(ints_or_pairs(1, 3))
    padding_kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    if padding_kind == "same":
        stride = draw(st.sampled_from([1, (1, 1)]))
    else:
        stride = draw(ints_or_pairs(1, 3))
    if padding_kind == "int":
        padding = draw(st.integers(0, 3))
    elif padding_kind == "pair":
        padding = draw(st.tuples(st.integers(0, 3), st.integers(0, 3)))
    else:
        padding = padding_kind
    (dh, dw), (sh, sw) = _as_pair(dilation), _as_pair(stride)
    # Padding and output size computed here, independently of minigrad.
    if padding == "same":  # PyTorch: total D(K-1), the odd pixel after
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = ((th // 2, th - th // 2), (tw // 2, tw - tw // 2))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        ph, pw = _as_pair(padding)
        pads = ((ph, ph), (pw, pw))
    span_h = h + sum(pads[0]) - dh * (kh - 1) - 1
    span_w = w + sum(pads[1]) - dw * (kw - 1) - 1
    assume(span_h >= 0 and span_w >= 0)
    out_hw = (span_h // sh + 1, span_w // sw + 1)
    bias = draw(st.booleans())
    return {"x_shape": (n, c, h, w), "w_shape": (f, c, kh, kw), "bias": bias, "stride": stride,
                "padding": padding, "dilation": dilation, "pads": pads, "out_hw": out_hw}


@pytest.mark.parametrize("budget", BUDGETS)
@given(cfg=conv_configs(), seed=seeds)
def test_conv2d_gradients(cfg, seed, budget):
    with column_budget(budget):
        rng = np.random.default_rng(seed)
        arrays = [rand(rng, cfg["x_shape"]), rand(rng, cfg["w_shape"])]
        if cfg["bias"]:
            arrays.append(rand(rng, cfg["w_shape"][:1]))

        def fn(*ts):
            return F.conv2d(*ts, stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"])

        _, out, _ = check_grads(fn, *arrays, seed=seed)
        n, _, h, w = cfg["x_shape"]
        assert out.shape == (n, cfg["w_shape"][0]) + cfg["out_hw"]
        if cfg["padding"] == "same":
            assert out.shape[2:] == (h, w)


@pytest.mark.parametrize("budget", BUDGETS)
@given(cfg=conv_configs(max_n=2, max_hw=6), seed=seeds, which=st.sampled_from([0, 1]))
def test_conv2d_gradient_of_one_input_only(cfg, seed, which, budget):
    """needs_grad lets conv skip dx (first layer) or dW (frozen weights): the other must stay right."""
    with column_budget(budget):
        rng = np.random.default_rng(seed)
        arrays = [rand(rng, cfg["x_shape"]), rand(rng, cfg["w_shape"])]

        def fn(x, wt):
            return F.conv2d(x, wt, stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"])

        tensors, _, _ = check_grads(fn, *arrays, wrt=[which], seed=seed)
        assert tensors[1 - which].grad is None


@pytest.mark.parametrize("budget", BUDGETS)
@given(seed=seeds, stride=st.sampled_from([1, 2]))
def test_two_convs_in_blocks_of_images_have_the_finite_difference_gradients(seed, stride, budget):
    """Between two convs the gradient stays filter-major in memory, so the second conv's dx and
    the first conv's products read and write stretches of the same (F, N·OH·OW) matrices, a
    block of images at a time: one image per block, and the whole batch as one."""
    with column_budget(budget):
        rng = np.random.default_rng(seed)
        arrays = [rand(rng, (3, 2, 5, 5)), rand(rng, (4, 2, 3, 3)), rand(rng, (4,)),
                  rand(rng, (2, 4, 3, 3))]

        def fn(x, w1, b1, w2):
            hidden = F.conv2d(x, w1, b1, stride=stride, padding=1).tanh()
            return F.conv2d(hidden, w2, padding=1)

        check_grads(fn, *arrays, seed=seed)


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------

@st.composite
def pool_configs(draw, max_hw=9):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    kernel = draw(ints_or_pairs(1, 4))
    kh, kw = _as_pair(kernel)
    stride = draw(st.one_of(st.none(), ints_or_pairs(1, 3)))
    if draw(st.booleans()):
        padding = draw(st.integers(0, min(kh, kw) // 2))
    else:
        padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    ph, pw = _as_pair(padding)
    sh, sw = _as_pair(kernel if stride is None else stride)
    assume(h + 2 * ph >= kh and w + 2 * pw >= kw)
    out_hw = ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    return {"x_shape": (n, c, h, w), "kernel": kernel, "stride": stride, "padding": padding, "out_hw": out_hw}


@given(cfg=pool_configs(), seed=seeds)
def test_max_pool2d_gradients(cfg, seed):
    rng = np.random.default_rng(seed)
    x = distinct(rng, cfg["x_shape"])

    def fn(t):
        return F.max_pool2d(t, cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"])

    _, out, _ = check_grads(fn, x, seed=seed)
    assert out.shape == cfg["x_shape"][:2] + cfg["out_hw"]


@given(cfg=pool_configs(), seed=seeds)
def test_avg_pool2d_gradients(cfg, seed):
    rng = np.random.default_rng(seed)
    x = rand(rng, cfg["x_shape"])

    def fn(t):
        return F.avg_pool2d(t, cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"])

    _, out, _ = check_grads(fn, x, seed=seed)
    assert out.shape == cfg["x_shape"][:2] + cfg["out_hw"]


# ---------------------------------------------------------------------------------------------
# Linear, activations, elementwise functions
# ---------------------------------------------------------------------------------------------

@given(lead=st.lists(st.integers(1, 3), min_size=1, max_size=2), n_in=st.integers(1, 5),
       n_out=st.integers(1, 4), bias=st.booleans(), seed=seeds, data=st.data())
def test_linear_gradients(lead, n_in, n_out, bias, seed, data):
    rng = np.random.default_rng(seed)
    arrays = [rand(rng, tuple(lead) + (n_in,)), rand(rng, (n_out, n_in))]
    if bias:
        arrays.append(rand(rng, (n_out,)))
    wrt = data.draw(st.lists(st.sampled_from(range(len(arrays))), min_size=1, unique=True),
                    label="wrt")
    tensors, out, _ = check_grads(lambda *ts: F.linear(*ts), *arrays, wrt=wrt, seed=seed)
    assert out.shape == tuple(lead) + (n_out,)
    for i, t in enumerate(tensors):
        assert (t.grad is None) == (i not in wrt)


small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


@given(shape=small_shapes, name=st.sampled_from(["relu", "sigmoid", "tanh"]),
       functional=st.booleans(), seed=seeds)
def test_activation_gradients(shape, name, functional, seed):
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, -4, 4)
    x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep off relu's kink

    def fn(t):
        return getattr(F, name)(t) if functional else getattr(t, name)()

    check_grads(fn, x, seed=seed)


def test_sigmoid_and_tanh_saturate_without_nan():
    x = Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]), requires_grad=True, dtype=np.float64)
    for fn in (lambda t: t.sigmoid(), lambda t: t.tanh()):
        x.grad = None
        y = fn(x)
        y.backward(np.ones(5))
        assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.sigmoid().data, [0.0, 1 / (1 + np.exp(50.0)), 0.5,
                                                  1 / (1 + np.exp(-50.0)), 1.0], rtol=1e-12, atol=0)


@given(shape=small_shapes, seed=seeds)
def test_exp_gradients(shape, seed):
    check_grads(lambda t: t.exp(), rand(np.random.default_rng(seed), shape, -3, 3), seed=seed)


@given(shape=small_shapes, seed=seeds)
def test_log_gradients(shape, seed):
    check_grads(lambda t: t.log(), rand(np.random.default_rng(seed), shape, 0.2, 5), seed=seed)


@given(shape=small_shapes, seed=seeds)
def test_neg_gradients(shape, seed):
    tensors, _, upstream = check_grads(lambda t: -t, rand(np.random.default_rng(seed), shape),
                                       seed=seed)
    np.testing.assert_array_equal(tensors[0].grad, -upstream)


# ---------------------------------------------------------------------------------------------
# Softmax and losses
# ---------------------------------------------------------------------------------------------

@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       log=st.booleans(), seed=seeds)
def test_softmax_and_log_softmax_gradients(shape, data, log, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    fn = (lambda t: F.log_softmax(t, axis=axis)) if log else (lambda t: F.softmax(t, axis=axis))
    check_grads(fn, rand(np.random.default_rng(seed), shape, -3, 3), seed=seed)


@given(n=st.integers(1, 4), k=st.integers(1, 5), seed=seeds, data=st.data())
def test_cross_entropy_gradients(n, k, seed, data):
    rng = np.random.default_rng(seed)
    target = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    logits = rand(rng, (n, k), -3, 3)
    check_grads(lambda t: F.cross_entropy(t, target), logits, seed=seed)
    # labels as a Tensor work the same
    check_grads(lambda t: F.cross_entropy(t, Tensor(target)), logits, seed=seed)


def _independent_cross_entropy(logits: np.ndarray, target: np.ndarray):
    """Loss and gradient via Python floats and math, row by row (float64)."""
    import math

    n, k = logits.shape
    losses, grad = [], np.zeros((n, k))
    for i in range(n):
        row = [float(v) for v in logits[i]]
        m = max(row)
        total = math.fsum(math.exp(v - m) for v in row)
        lse = m + math.log(total)
        losses.append(lse - row[target[i]])
        for j in range(k):
            grad[i, j] = (math.exp(row[j] - lse) - (1.0 if j == target[i] else 0.0)) / n
    return math.fsum(losses) / n, grad


@given(n=st.integers(1, 4), k=st.integers(2, 5), seed=seeds, data=st.data())
def test_cross_entropy_extreme_logits_are_finite_and_exact(n, k, seed, data):
    rng = np.random.default_rng(seed)
    target = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    logits = rng.choice([-1000.0, 1000.0], size=(n, k)) + rng.uniform(-3, 3, size=(n, k))
    t = Tensor(logits, requires_grad=True, dtype=np.float64)
    loss = F.cross_entropy(t, target)
    loss.backward()
    expected_loss, expected_grad = _independent_cross_entropy(logits, target)
    assert np.isfinite(loss.item()) and np.all(np.isfinite(t.grad))
    assert loss.item() == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(t.grad, expected_grad, rtol=1e-9, atol=1e-15)


def test_cross_entropy_extreme_logits_float32():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0]], dtype=np.float32)
    t = Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(t, np.array([1, 2]))
    loss.backward()
    expected, expected_grad = _independent_cross_entropy(logits.astype(np.float64), np.array([1, 2]))
    assert np.isfinite(loss.item()) and np.all(np.isfinite(t.grad))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(t.grad, expected_grad, rtol=1e-5, atol=1e-7)


@given(shape=small_shapes, seed=seeds)
def test_mse_loss_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    p, q = rand(rng, shape), rand(rng, shape)
    tensors, loss, upstream = check_grads(F.mse_loss, p, q, seed=seed)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), np.mean((p - q) ** 2), rtol=1e-12)
    np.testing.assert_allclose(tensors[0].grad, 2 * (p - q) / p.size * upstream, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------

@st.composite
def shape_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd, nd - 1))
    else:
        chosen = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        axis = tuple(a - nd if draw(st.booleans()) else a for a in chosen)  # mix negative axes
    return shape, axis


@given(sa=shape_and_axis(), keepdims=st.booleans(), op=st.sampled_from(["sum", "mean", "max"]),
       seed=seeds)
def test_reduction_gradients(sa, keepdims, op, seed):
    shape, axis = sa
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape) if op == "max" else rand(rng, shape)
    _, out, _ = check_grads(lambda t: getattr(t, op)(axis=axis, keepdims=keepdims), x, seed=seed)
    expected = getattr(np, {"sum": "sum", "mean": "mean", "max": "max"}[op])(x, axis=axis,
                                                                           keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Broadcasting arithmetic, with numbers and numpy arrays on either side
# ---------------------------------------------------------------------------------------------

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}
KINDS = ["tensor", "const_tensor", "ndarray", "number"]


def _operand_values(rng, op, side, shape):
    if op == "div" and side == 1:
        return away_from_zero(rng, shape)
    if op == "pow":
        return rng.uniform(0.5, 2.0, size=shape) if side == 0 else rng.uniform(-2, 2, size=shape)
    return rand(rng, shape)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       op=st.sampled_from(sorted(BINARY)), kinds=st.tuples(st.sampled_from(KINDS),
                                                           st.sampled_from(KINDS)),
       int_number=st.booleans(), seed=seeds)
def test_broadcasting_binary_gradients(shapes, op, kinds, int_number, seed):
    assume("tensor" in kinds)
    rng = np.random.default_rng(seed)
    shape_list = [() if kind == "number" else s for kind, s in zip(kinds, shapes.input_shapes)]
    values = [_operand_values(rng, op, i, s) for i, s in enumerate(shape_list)]
    operands = []  # (kind, value) for each side
    for kind, v in zip(kinds, values):
        if kind == "number":
            v = float(v)
            if int_number:  # a nonzero Python int
                v = int(np.sign(v) or 1) * max(1, round(abs(v)))
        operands.append((kind, v))

    grad_arrays = [v for kind, v in operands if kind == "tensor"]

    def fn(*ts):
        it = iter(ts)
        sides = []
        for kind, v in operands:
            if kind == "tensor":
                sides.append(next(it))
            elif kind == "const_tensor":
                sides.append(Tensor(v, dtype=np.float64))
            elif kind == "ndarray":
                sides.append(np.array(v, dtype=np.float64))
            else:
                sides.append(v)
        return BINARY[op](*sides)

    _, out, _ = check_grads(fn, *grad_arrays, seed=seed)
    plain = [np.float64(v) if kind == "number" else np.asarray(v) for kind, v in operands]
    expected = BINARY[op](*plain)
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_scalar_and_array_operands_hand_checked():
    x = np.array([[0.5, 1.5, -2.0], [3.0, -0.25, 1.0]])
    arr = np.array([10.0, 20.0, 30.0])
    pos = np.abs(x) + 0.5
    cases = [  # (fn, input, expected d/dx)
        (lambda t: 2 * t, x, np.full_like(x, 2.0)),
        (lambda t: t * 2, x, np.full_like(x, 2.0)),
        (lambda t: arr - t, x, -np.ones_like(x)),
        (lambda t: t - arr, x, np.ones_like(x)),
        (lambda t: arr / t, x, -arr / x ** 2),
        (lambda t: 3 + t, x, np.ones_like(x)),
        (lambda t: t ** 2, x, 2 * x),
        (lambda t: t ** 3.0, x, 3 * x ** 2),
        (lambda t: 2 ** t, x, 2.0 ** x * np.log(2.0)),
        (lambda t: pos ** t, x, pos ** x * np.log(pos)),
        (lambda t: 1 / t, x, -1 / x ** 2),
        (lambda t: -t, x, -np.ones_like(x)),
    ]
    for fn, value, expected in cases:
        t = Tensor(value.copy(), requires_grad=True, dtype=np.float64)
        fn(t).sum().backward()
        np.testing.assert_allclose(t.grad, expected, rtol=1e-12)
        np.testing.assert_array_equal(t.data, value)


def test_broadcast_gradient_sums_over_broadcast_axes():
    """(3,1) + (1,4) and (4,) + (2,3,4): each gradient is the upstream summed over its copies."""
    a = Tensor(np.zeros((3, 1)), requires_grad=True, dtype=np.float64)
    b = Tensor(np.zeros((1, 4)), requires_grad=True, dtype=np.float64)
    g = np.arange(12.0).reshape(3, 4)
    (a + b).backward(g)
    np.testing.assert_array_equal(a.grad, [[6.0], [22.0], [38.0]])
    np.testing.assert_array_equal(b.grad, [[12.0, 15.0, 18.0, 21.0]])
    c = Tensor(np.ones(4), requires_grad=True, dtype=np.float64)
    d = Tensor(np.ones((2, 3, 4)), requires_grad=True, dtype=np.float64)
    g = np.arange(24.0).reshape(2, 3, 4)
    (c * d).backward(g)
    np.testing.assert_array_equal(c.grad, g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(d.grad, g)


# ---------------------------------------------------------------------------------------------
# Matrix multiply
# ---------------------------------------------------------------------------------------------

@st.composite
def matmul_shapes(draw, allow_vec_vec=False):
    k, n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kind_a = draw(st.sampled_from(["vec", "mat", "batch"]))
    kind_b = draw(st.sampled_from(["vec", "mat", "batch"]))
    if not allow_vec_vec:
        assume(not (kind_a == "vec" and kind_b == "vec"))  # covered by its own test below
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2, max_side=3))
    ba, bb = batch.input_shapes
    a = (k,) if kind_a == "vec" else ((n, k) if kind_a == "mat" else tuple(ba) + (n, k))
    b = (k,) if kind_b == "vec" else ((k, m) if kind_b == "mat" else tuple(bb) + (k, m))
    return a, b


@given(shapes=matmul_shapes(), seed=seeds, which=st.sampled_from(["both", "a", "b"]))
def test_matmul_gradients(shapes, seed, which):
    rng = np.random.default_rng(seed)
    a, b = rand(rng, shapes[0]), rand(rng, shapes[1])
    wrt = {"both": [0, 1], "a": [0], "b": [1]}[which]
    _, out, _ = check_grads(lambda x, y: x @ y, a, b, wrt=wrt, seed=seed)
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)


def test_matmul_vector_vector_gradient():
    """1-D @ 1-D (a dot product, scalar output) must differentiate like numpy's matmul."""
    a, b = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0])
    ta = Tensor(a, requires_grad=True, dtype=np.float64)
    tb = Tensor(b, requires_grad=True, dtype=np.float64)
    out = ta @ tb
    assert out.shape == () and out.item() == pytest.approx(6.0)
    out.backward(np.array(1.5))
    np.testing.assert_allclose(ta.grad, 1.5 * b)
    np.testing.assert_allclose(tb.grad, 1.5 * a)


def test_matmul_with_numpy_operand_on_either_side():
    w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # (3, 2)
    x = Tensor(np.array([[1.0, -1.0, 2.0]]), requires_grad=True, dtype=np.float64)  # (1, 3)
    (x @ w).backward(np.array([[1.0, 10.0]]))
    np.testing.assert_allclose(x.grad, [[21.0, 43.0, 65.0]])
    y = Tensor(np.array([[1.0], [2.0]]), requires_grad=True, dtype=np.float64)  # (2, 1)
    (w @ y).backward(np.array([[1.0], [1.0], [1.0]]))
    np.testing.assert_allclose(y.grad, [[9.0], [12.0]])


# ---------------------------------------------------------------------------------------------
# Shape ops and dropout
# ---------------------------------------------------------------------------------------------

@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), data=st.data(),
       seed=seeds)
def test_reshape_gradients(shape, data, seed):
    size = int(np.prod(shape))
    # a random factorisation of size (1s inserted anywhere), possibly with one -1
    factors, rest = [], size
    while rest > 1:
        d = data.draw(st.sampled_from([q for q in range(2, rest + 1) if rest % q == 0]))
        factors.append(d)
        rest //= d
    for _ in range(data.draw(st.integers(0 if factors else 1, 2))):
        factors.insert(data.draw(st.integers(0, len(factors))), 1)
    if data.draw(st.booleans()):
        factors[data.draw(st.integers(0, len(factors) - 1))] = -1
    tuple_form = data.draw(st.booleans())
    fn = (lambda t: t.reshape(tuple(factors))) if tuple_form else (lambda t: t.reshape(*factors))
    _, out, _ = check_grads(fn, rand(np.random.default_rng(seed), shape), seed=seed)
    assert out.shape == np.empty(shape).reshape(factors).shape


@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), data=st.data(),
       seed=seeds)
def test_transpose_gradients(shape, data, seed):
    kind = data.draw(st.sampled_from(["perm", "perm_tuple", "default", "T"]))
    perm = data.draw(st.permutations(range(len(shape))))
    # two ints are PyTorch's swap of two axes (tested in test_tensor_api); a full permutation
    # given as separate ints is numpy's reordering from 3 axes on
    assume(kind != "perm" or len(shape) != 2)
    fn = {"perm": lambda t: t.transpose(*perm), "perm_tuple": lambda t: t.transpose(tuple(perm)),
          "default": lambda t: t.transpose(), "T": lambda t: t.T}[kind]
    x = rand(np.random.default_rng(seed), shape)
    _, out, _ = check_grads(fn, x, seed=seed)
    expected = np.transpose(x, perm) if kind.startswith("perm") else x.T
    np.testing.assert_array_equal(out.data, expected)


@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=3), data=st.data(),
       seed=seeds)
def test_transpose_with_negative_axes_gradients(shape, data, seed):
    """numpy (and PyTorch's permute) accept negative axes; the gradient must undo them."""
    perm = data.draw(st.permutations(range(len(shape))))
    neg = [a - len(shape) if data.draw(st.booleans()) else a for a in perm]
    assume(neg != list(perm))
    x = rand(np.random.default_rng(seed), shape)
    _, out, _ = check_grads(lambda t: t.transpose(tuple(neg)), x, seed=seed)
    np.testing.assert_array_equal(out.data, np.transpose(x, neg))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), data=st.data(),
       seed=seeds)
def test_flatten_gradients(shape, data, seed):
    start = data.draw(st.integers(0, len(shape) - 1))
    x = rand(np.random.default_rng(seed), shape)
    _, out, _ = check_grads(lambda t: F.flatten(t, start_dim=start), x, seed=seed)
    assert out.shape == shape[:start] + (int(np.prod(shape[start:])),)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
       p=st.sampled_from([0.1, 0.25, 0.5, 0.9]), seed=seeds, dropout_seed=st.integers(0, 10**6))
def test_dropout_gradient_with_fixed_mask(shape, p, seed, dropout_seed):
    x = away_from_zero(np.random.default_rng(seed), shape)  # nonzero: dropped <=> output 0

    def fn(t):
        mg.manual_seed(dropout_seed)  # the same mask on every evaluation
        return F.dropout(t, p)

    tensors, out, upstream = check_grads(fn, x, seed=seed)
    mask = out.data != 0
    np.testing.assert_allclose(out.data, x * mask / (1 - p), rtol=1e-12)
    np.testing.assert_allclose(tensors[0].grad, upstream * mask / (1 - p), rtol=1e-12)
    # the same seed reproduces the same mask
    mg.manual_seed(dropout_seed)
    again = F.dropout(Tensor(x, dtype=np.float64), p)
    np.testing.assert_array_equal(again.data != 0, mask)


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.75, 0.999])
def test_dropout_keeps_each_element_with_probability_1_minus_p(p):
    mg.manual_seed(7)
    x = Tensor(np.ones((1001, 999), dtype=np.float32))  # an odd count of draws
    dropped = np.mean(F.dropout(x, p).data == 0)
    # the binomial's standard deviation over 10^6 draws is at most 5e-4: 5 of them
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / x.data.size)


def test_dropout_drops_about_p_and_is_identity_when_not_training():
    mg.manual_seed(123)
    x = Tensor(np.ones((200, 100)), requires_grad=True, dtype=np.float64)
    y = F.dropout(x, 0.3)
    assert abs(np.mean(y.data == 0) - 0.3) < 0.02
    kept = y.data[y.data != 0]
    np.testing.assert_allclose(kept, 1 / 0.7, rtol=1e-12)
    z = F.dropout(x, 0.3, training=False)
    np.testing.assert_array_equal(z.data, x.data)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((200, 100)))


# ---------------------------------------------------------------------------------------------
# Composite: a small CNN end to end
# ---------------------------------------------------------------------------------------------

@given(seed=seeds, n=st.integers(1, 2))
def test_small_cnn_end_to_end_gradients(seed, n):
    rng = np.random.default_rng(seed)
    x = rand(rng, (n, 2, 5, 5))
    w1, b1 = rand(rng, (3, 2, 3, 3), -0.5, 0.5), rand(rng, (3,))
    w2, b2 = rand(rng, (4, 12), -0.5, 0.5), rand(rng, (4,))
    target = rng.integers(0, 4, size=n)
    # finite differences are only valid away from max-pool ties: skip nets whose pooled
    # activations have two nearly equal maxima in a window
    with mg.no_grad():
        a = F.conv2d(Tensor(x), Tensor(w1), Tensor(b1), padding=1).tanh().data[:, :, :4, :4]
    windows = np.sort(a.reshape(n, 3, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, 3, 2, 2, 4))
    assume(np.min(windows[..., -1] - windows[..., -2]) > 1e-4)

    def fn(x, w1, b1, w2, b2):
        h = F.conv2d(x, w1, b1, padding=1).tanh()
        h = F.max_pool2d(h, 2)
        h = F.avg_pool2d(h, 3, stride=1, padding=1)
        return F.cross_entropy(F.linear(F.flatten(h), w2, b2), target)

    check_grads(fn, x, w1, b1, w2, b2, seed=seed, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Gradient storage: no aliasing, accumulation
# ---------------------------------------------------------------------------------------------

def _leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True, dtype=np.float64)


def test_gradients_are_not_aliased_between_tensors():
    a = _leaf([1.0, 2.0, 3.0])
    d = _leaf([4.0, 5.0, 6.0])
    b = (a + a).retain_grad()        # Add hands the same upstream array to both of its inputs
    c = (a * 1).retain_grad()
    e = (b + d).retain_grad()        # d and e receive the same upstream array from Add
    s = (e + c).sum()                # Sum's backward is a read-only broadcast view
    s.backward()
    np.testing.assert_array_equal(a.grad, [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(d.grad, [1.0, 1.0, 1.0])
    grads = {"a": a.grad, "b": b.grad, "c": c.grad, "d": d.grad, "e": e.grad}
    for name, g in grads.items():
        assert g is not None, name
        assert g.flags.writeable, f"{name}.grad is read-only"
        assert g.shape == (3,)
    names = list(grads)
    for i, p in enumerate(names):
        for q in names[i + 1:]:
            assert grads[p] is not grads[q], (p, q)
            assert not np.shares_memory(grads[p], grads[q]), (p, q)
    # in-place change of one gradient leaves the others alone
    before = {k: v.copy() for k, v in grads.items()}
    d.grad += 100.0
    a.grad *= 0.0
    for name in ("b", "c", "e"):
        np.testing.assert_array_equal(grads[name], before[name])
    np.testing.assert_array_equal(d.grad, before["d"] + 100.0)


def test_leaf_grad_does_not_alias_upstream_or_data():
    x = _leaf([[1.0, 2.0], [3.0, 4.0]])
    upstream = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = x + 0.0
    y.backward(upstream)
    assert not np.shares_memory(x.grad, upstream)
    assert not np.shares_memory(x.grad, x.data)
    x.grad += 1
    np.testing.assert_array_equal(upstream, [[1.0, 2.0], [3.0, 4.0]])
    z = x.reshape(4)            # forward views are fine, but the gradient must be separate
    w = x.reshape(4)
    x.grad = None
    (z + w).sum().backward()
    assert not np.shares_memory(x.grad, x.data)


@given(seed=seeds, op=st.sampled_from(["conv", "linear", "mul", "maxpool", "softmax"]))
def test_gradients_accumulate_across_backward_calls(seed, op):
    rng = np.random.default_rng(seed)
    if op == "conv":
        arrays = [rand(rng, (2, 2, 5, 5)), rand(rng, (3, 2, 3, 3)), rand(rng, (3,))]
        fn = lambda x, w, b: F.conv2d(x, w, b, padding=1)
    elif op == "linear":
        arrays = [rand(rng, (3, 4)), rand(rng, (2, 4)), rand(rng, (2,))]
        fn = F.linear
    elif op == "mul":
        arrays = [rand(rng, (3, 1)), rand(rng, (4,))]
        fn = lambda a, b: a * b * a
    elif op == "maxpool":
        arrays = [distinct(rng, (1, 2, 4, 4))]
        fn = lambda x: F.max_pool2d(x, 2)
    else:
        arrays = [rand(rng, (3, 4))]
        fn = lambda x: F.softmax(x, axis=0)
    tensors = [Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    out = fn(*tensors)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    first = [t.grad.copy() for t in tensors]
    # a second, fresh graph over the same leaves: gradients add up
    fn(*tensors).backward(upstream)
    for t, g in zip(tensors, first):
        np.testing.assert_allclose(t.grad, 2 * g, rtol=1e-12)
    # and a retained graph run twice more: 4x
    out = fn(*tensors)
    out.backward(upstream, retain_graph=True)
    out.backward(upstream)
    for t, g in zip(tensors, first):
        np.testing.assert_allclose(t.grad, 4 * g, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# minigrad.engine.gradcheck itself
# ---------------------------------------------------------------------------------------------

class _SquareWithWrongElement(Function):
    """x² whose backward is deliberately wrong at one flat index."""

    wrong_index = 0
    offset = 0.5

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        g = 2 * self.a * grad
        g.flat[self.wrong_index] += self.offset
        return g


class _MulWrongSecond(Function):
    """a * b with a correct da and a db that is off by 1% everywhere and by 100 at flat index 3."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        db = grad * self.a * 1.01
        db.flat[3] += 100.0
        return grad * self.b, db


def test_gradcheck_accepts_correct_ops():
    rng = np.random.default_rng(0)
    x, w, b = rand(rng, (2, 2, 5, 5)), rand(rng, (3, 2, 3, 3)), rand(rng, (3,))
    result = mg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), x, w, b)
    assert result.ok and bool(result)
    assert "ok" in str(result)
    assert result.input_index in (0, 1, 2)
    assert abs(result.analytic - result.numeric) <= 1e-5 + 1e-3 * abs(result.numeric)
    labels = np.array([2, 0])
    result = mg.gradcheck(lambda z, y: F.cross_entropy(z, y), rand(rng, (2, 4)), labels)
    assert result.ok and result.input_index == 0  # integer labels passed through, not checked
    # float32 inputs are checked in float64 copies and left untouched
    x32 = rand(rng, (3, 4)).astype(np.float32)
    copy = x32.copy()
    assert mg.gradcheck(lambda t: t.tanh() * t, x32).ok
    np.testing.assert_array_equal(x32, copy)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       seed=seeds)
def test_gradcheck_reports_the_wrong_element(shape, data, seed):
    size = int(np.prod(shape))
    wrong = data.draw(st.integers(0, size - 1))

    class Wrong(_SquareWithWrongElement):
        wrong_index = wrong

    x = rand(np.random.default_rng(seed), shape)
    result = mg.gradcheck(lambda t: Wrong.apply(t), x, seed=seed)
    assert not result.ok and not bool(result)
    assert result.input_index == 0
    assert tuple(result.element) == np.unravel_index(wrong, shape)
    assert result.analytic - result.numeric == pytest.approx(0.5, abs=1e-5)
    # the numeric value is the true derivative 2·x·u at that element
    u = np.random.default_rng(seed).standard_normal(shape)
    assert result.numeric == pytest.approx(2 * x.flat[wrong] * u.flat[wrong], abs=1e-5)
    assert "MISMATCH" in str(result)


def test_gradcheck_reports_the_wrong_input():
    rng = np.random.default_rng(1)
    a, b = rand(rng, (2, 3)), rand(rng, (2, 3))
    result = mg.gradcheck(lambda x, y: _MulWrongSecond.apply(x, y), a, b)
    assert not result.ok
    assert result.input_index == 1
    assert tuple(result.element) == (1, 0)  # flat index 3 in a (2, 3) array


def test_gradcheck_with_no_differentiable_input():
    result = mg.gradcheck(lambda y: Tensor(y.data * 2.0, requires_grad=True), np.array([1, 2]))
    assert result.input_index is None
