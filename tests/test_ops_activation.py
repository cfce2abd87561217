"""Activations (leaky_relu … prelu), erf, and channel dropout.

Forward: each function against its formula evaluated one value at a time with the math module.
Gradients: hypothesis draws shapes, settings and values (kept away from the kinks, where a
finite difference straddles two slopes) and backward with a random upstream gradient must equal
central finite differences in float64. At the kinks themselves PyTorch's choice of slope is
checked exactly, and every function against the torch 2.13 goldens to 1e-10.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from rich.console import Console
from test_ops_pool_norm import check_golden, check_grads, golden_cases

import minigrad.engine.functional as F
import minigrad.engine.nn as nn
from minigrad import Tensor, layers
from minigrad.engine.activation import erf
from minigrad.engine.rng import manual_seed

seeds = st.integers(0, 2**32 - 1)

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus(v, beta=1.0, threshold=20.0):
    return v if v * beta > threshold else math.log1p(math.exp(v * beta)) / beta


def _sigmoid(v):
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


# name -> (minigrad call, the formula for one value, kinks to keep finite differences away from)
FUNCTIONS = {
    "leaky_relu": (lambda x: F.leaky_relu(x), lambda v: v if v > 0 else 0.01 * v, [0]),
    "leaky_relu_0.3": (lambda x: F.leaky_relu(x, 0.3), lambda v: v if v > 0 else 0.3 * v, [0]),
    "elu": (lambda x: F.elu(x), lambda v: v if v > 0 else math.expm1(v), [0]),
    "elu_0.5": (lambda x: F.elu(x, 0.5), lambda v: v if v > 0 else 0.5 * math.expm1(v), [0]),
    "selu": (F.selu, lambda v: SELU_SCALE * (v if v > 0 else SELU_ALPHA * math.expm1(v)), [0]),
    "gelu": (F.gelu, lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))), []),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi)
                                                     * (v + 0.044715 * v ** 3))), []),
    "silu": (F.silu, lambda v: v * _sigmoid(v), []),
    "hardswish": (F.hardswish, lambda v: v * min(max(v + 3, 0), 6) / 6, [-3, 3]),
    "hardsigmoid": (F.hardsigmoid, lambda v: min(max(v + 3, 0), 6) / 6, [-3, 3]),
    "relu6": (F.relu6, lambda v: min(max(v, 0), 6), [0, 6]),
    "softplus": (F.softplus, _softplus, [20]),
    "softplus_2_3": (lambda x: F.softplus(x, 2.0, 3.0), lambda v: _softplus(v, 2.0, 3.0), [1.5]),
    "mish": (F.mish, lambda v: v * math.tanh(math.log1p(math.exp(v))), []),
    "softsign": (F.softsign, lambda v: v / (1 + abs(v)), []),
}


def test_erf_matches_the_math_module_to_double_precision():
    x = np.concatenate([np.linspace(-7, 7, 4001), [0.46875, -0.46875, 4.0, -4.0, 30.0, -30.0]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), expected, rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("name", FUNCTIONS)
@given(values=hnp.arrays(np.float64, st.integers(1, 30),
                         elements=st.floats(-30, 30, allow_nan=False)))
def test_forward_against_the_formula(name, values):
    fn, formula, _ = FUNCTIONS[name]
    expected = [formula(v) for v in values]
    np.testing.assert_allclose(fn(values).data, expected, rtol=1e-12, atol=1e-14)


def away_from(rng, shape, kinks, scale=4.0, margin=0.01):
    """Random values at least `margin` from every kink (a finite difference there would mix
    two slopes)."""
    x = rng.standard_normal(shape) * scale
    for kink in kinks:
        near = np.abs(x - kink) < margin
        x[near] = kink + np.where(x[near] >= kink, margin, -margin) * 2
    return x


@pytest.mark.parametrize("name", FUNCTIONS)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=seeds)
def test_gradients(name, shape, seed):
    fn, _, kinks = FUNCTIONS[name]
    x = away_from(np.random.default_rng(seed), tuple(shape), kinks)
    check_grads(fn, x, seed=seed)


@given(slope=st.floats(0, 1), alpha=st.floats(0.1, 2), beta=st.floats(0.5, 3),
       threshold=st.floats(1, 20), approximate=st.sampled_from(["none", "tanh"]),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=2), seed=seeds)
def test_gradients_with_random_settings(slope, alpha, beta, threshold, approximate, shape, seed):
    rng = np.random.default_rng(seed)
    x = away_from(rng, tuple(shape), [0, threshold / beta])
    check_grads(lambda t: F.leaky_relu(t, slope), x, seed=seed)
    check_grads(lambda t: F.elu(t, alpha), x, seed=seed)
    check_grads(lambda t: F.softplus(t, beta, threshold), x, seed=seed)
    check_grads(lambda t: F.gelu(t, approximate), x, seed=seed)


@pytest.mark.parametrize("fn, rank", [(F.dropout2d, 4), (F.dropout1d, 3), (F.dropout1d, 2)])
@given(p=st.floats(0, 0.9), data=st.data(), seed=seeds)
def test_channel_dropout_gradients(fn, rank, p, data, seed):
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))

    def dropped(t):  # the same mask on every call: the generator restarts from the seed
        manual_seed(seed)
        return fn(t, p)

    check_grads(dropped, np.random.default_rng(seed).standard_normal(shape), seed=seed)


# PyTorch's derivative exactly at each kink.
@pytest.mark.parametrize("fn, point, slope", [
    (F.relu6, 0.0, 0.0), (F.relu6, 6.0, 0.0),
    (F.hardsigmoid, -3.0, 0.0), (F.hardsigmoid, 3.0, 0.0),
    (F.hardswish, -3.0, 0.0), (F.hardswish, 3.0, 1.0),
    (F.leaky_relu, 0.0, 0.01), (lambda x: F.elu(x, 0.5), 0.0, 0.5),
    (F.selu, 0.0, SELU_SCALE * SELU_ALPHA), (F.softplus, 20.0, _sigmoid(20)),
    (lambda x: F.prelu(x, Tensor(np.array([0.25]))), 0.0, 0.25),
])
def test_slope_at_the_kinks_is_pytorchs(fn, point, slope):
    x = Tensor(np.array([point]), requires_grad=True)
    fn(x).backward(np.ones(1))
    assert x.grad[0] == pytest.approx(slope, rel=1e-12, abs=0)


@given(n=st.integers(1, 3), c=st.integers(1, 4), spatial=st.lists(st.integers(1, 3), max_size=2),
       shared=st.booleans(), seed=seeds)
def test_prelu_gradients_for_input_and_slopes(n, c, spatial, shared, seed):
    rng = np.random.default_rng(seed)
    x = away_from(rng, (n, c) + tuple(spatial), [0])
    weight = rng.uniform(-1, 1, 1 if shared else c)
    check_grads(F.prelu, x, weight, seed=seed)


def test_prelu_against_loops():
    rng = np.random.default_rng(1)
    x, weight = rng.standard_normal((2, 3, 4)), rng.standard_normal(3)
    out = F.prelu(x, weight).data
    for b in range(2):
        for c in range(3):
            for i in range(4):
                v = x[b, c, i]
                assert out[b, c, i] == (v if v > 0 else weight[c] * v)


@pytest.mark.parametrize("name", golden_cases(
    {"leaky_relu", "elu", "selu", "gelu", "silu", "hardswish", "hardsigmoid", "relu6",
     "softplus", "mish", "softsign", "prelu", "dropout1d", "dropout2d"}))
def test_matches_pytorch(name):
    # torch 2.13's hardsigmoid backward multiplies by 1/6 rounded to float32 even in float64;
    # minigrad uses the float64 1/6, so torch's gradient is rescaled to it.
    factor = (1 / 6) / float(np.float32(1 / 6)) if name == "hardsigmoid" else 1.0
    check_golden(name, factor)


# ---------------------------------------------------------------------------------------------
# Channel dropout
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, shape", [(F.dropout2d, (6, 8, 3, 4)), (F.dropout1d, (6, 8, 5)),
                                       (F.dropout1d, (8, 5))])
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(fn, shape):
    manual_seed(3)
    x = Tensor(np.random.default_rng(0).uniform(1, 2, shape), requires_grad=True)
    out = fn(x, p=0.5)
    upstream = np.ones(shape)
    out.backward(upstream)
    channels = out.data.reshape(shape[:-2 if fn is F.dropout2d else -1] + (-1,))
    values = x.data.reshape(channels.shape)
    dropped = (channels == 0).all(axis=-1)
    kept = np.isclose(channels, 2 * values).all(axis=-1)
    assert (dropped | kept).all() and dropped.any() and kept.any()
    np.testing.assert_array_equal(x.grad, out.data / x.data)   # the same mask and scale
    assert fn(x, p=0.5, training=False) is x


def test_channel_dropout_refuses_bad_shapes_and_rates():
    with pytest.raises(ValueError, match=r"dropout2d.*\(2, 3, 4\)"):
        F.dropout2d(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="dropout1d"):
        F.dropout1d(np.ones((2, 3, 4)), p=1.0)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module, fn", [
    (nn.LeakyReLU(0.2), "leaky_relu"), (nn.ELU(0.7), "elu"), (nn.SELU(), "selu"),
    (nn.GELU("tanh"), "gelu"), (nn.SiLU(), "silu"), (nn.Hardswish(), "hardswish"),
    (nn.Hardsigmoid(), "hardsigmoid"), (nn.ReLU6(), "relu6"), (nn.Softplus(2.0), "softplus"),
    (nn.Mish(), "mish"), (nn.Softsign(), "softsign"),
])
def test_activation_modules_name_their_function(module, fn):
    assert module.layer().fn == fn and fn in layers.ACTIVATION_FUNCTIONS
    x = np.random.default_rng(2).standard_normal((2, 3))
    assert module(Tensor(x)).shape == (2, 3) and module.parameters() == []


@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu_module_counts_its_slopes_as_its_layer_does(num_parameters):
    module = nn.PReLU(num_parameters, init=0.1)
    np.testing.assert_array_equal(module.weight.data, np.full(num_parameters, 0.1, np.float32))
    network = layers.Network((3, 4, 4), (module.layer(),), "chw", "torch")
    assert layers.analyze(network).rows[-1].trainable_params == num_parameters
    out = module(Tensor(-np.ones((2, 3, 4, 4), dtype=np.float32)))
    out.sum().backward()
    assert module.weight.grad.shape == (num_parameters,)


def test_dropout_modules_and_identity():
    x = Tensor(np.ones((2, 3, 4, 4), dtype=np.float32))
    for module, variant in ((nn.Dropout2d(0.3), "dropout2d"), (nn.Dropout1d(0.3), "dropout1d")):
        assert module.layer().variant == variant
        module.eval()
    assert nn.Dropout2d(0.3).eval()(x) is x
    assert nn.Dropout1d(0.3).eval()(Tensor(np.ones((2, 3, 4)))).shape == (2, 3, 4)
    assert nn.Identity()(x) is x and isinstance(nn.Identity().layer(), layers.Identity)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.PReLU(4), nn.Dropout2d(0.2), nn.Hardswish(),
                          nn.Identity(), nn.Flatten(), nn.Linear(16, 2), nn.GELU())
    console = Console(file=io.StringIO(), width=120)
    model.summary(input_shape=(3, 4, 4), console=console)
    total = sum(p.size for p in model.parameters())
    assert total == 3 * 4 * 9 + 4 + 4 + 16 * 2 + 2
    assert f"{total:,}" in console.file.getvalue()
