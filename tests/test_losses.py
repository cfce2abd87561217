"""Losses of minigrad.engine.loss (F.*) and their modules (nn.*Loss) against three oracles:

- forward: each loss written here as plain Python loops over samples and classes, on random
  shapes and options (hypothesis);
- backward: central finite differences in float64 with a RANDOM upstream gradient for
  reduction='none' (and a random scalar otherwise), for the input and for float targets;
- PyTorch: tests/engine_goldens/losses.npz (written by make_losses.py with torch 2.13.0), every
  loss and option combination, outputs and gradients to 1e-10.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.engine.functional as F
import minigrad.engine.nn as nn
from minigrad import Tensor

GOLDENS = Path(__file__).parent / "engine_goldens" / "losses.npz"
REDUCTIONS = ("mean", "sum", "none")


def numeric_grad(fn, arrays, upstream, i, eps=1e-6):
    """Central differences of sum(fn(*arrays) * upstream) with respect to arrays[i]."""
    arrays = [np.array(a, copy=True) for a in arrays]
    grad = np.zeros(arrays[i].shape)
    for idx in np.ndindex(arrays[i].shape):
        values = []
        for step in (eps, -eps):
            arrays[i][idx] += step
            with mg.no_grad():
                values.append(float(np.sum(fn(*arrays).data * upstream)))
            arrays[i][idx] -= step
        grad[idx] = (values[0] - values[1]) / (2 * eps)
    return grad


def check_grads(fn, arrays, wrt, seed):
    """fn(*tensors).backward(random upstream) == finite differences for the arrays in wrt."""
    tensors = [Tensor(a, requires_grad=i in wrt, dtype=a.dtype) for i, a in enumerate(arrays)]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    for i in wrt:
        expected = numeric_grad(fn, arrays, upstream, i)
        np.testing.assert_allclose(tensors[i].grad, expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"gradient of argument {i}")


# ---------------------------------------------------------------------------------------------
# Oracles: one loss value per element (or per sample), as loops, then PyTorch's reductions
# ---------------------------------------------------------------------------------------------

def oracle_class_losses(x, target, log_probs_given, weight, ignore_index, smoothing):
    """Per-sample losses and weights of the targets (for the weighted mean), looping over the
    samples (n, d1, ...) and the classes."""
    k = x.shape[1]
    weight = np.ones(k) if weight is None else weight
    losses, weights = np.zeros(target.shape), np.zeros(target.shape)
    for index in np.ndindex(target.shape):
        y = int(target[index])
        if y == ignore_index:
            continue
        n, rest = index[0], index[1:]
        scores = [float(x[(n, c) + rest]) for c in range(k)]
        if log_probs_given:
            log_probs = scores
        else:
            top = max(scores)
            log_total = top + math.log(sum(math.exp(s - top) for s in scores))
            log_probs = [s - log_total for s in scores]
        loss = -(1 - smoothing) * weight[y] * log_probs[y]
        for c in range(k):
            loss -= smoothing / k * weight[c] * log_probs[c]
        losses[index], weights[index] = loss, weight[y]
    return losses, weights


def oracle_elementwise(name, x, t, options):
    out = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        a, b = float(x[index]), float(t[index])
        d = a - b
        if name == "mse_loss":
            value = d * d
        elif name == "l1_loss":
            value = abs(d)
        elif name == "smooth_l1_loss":
            beta = options["beta"]
            value = 0.5 * d * d / beta if abs(d) < beta else abs(d) - 0.5 * beta
        elif name == "huber_loss":
            delta = options["delta"]
            value = 0.5 * d * d if abs(d) < delta else delta * (abs(d) - 0.5 * delta)
        elif name == "binary_cross_entropy":
            value = -(b * max(math.log(a), -100) + (1 - b) * max(math.log(1 - a), -100))
        else:  # with logits: −(p·t·log σ(a) + (1 − t)·log(1 − σ(a)))
            p = 1.0 if options.get("pos_weight") is None else options["pos_weight"][index[-1]]
            sigmoid = 1 / (1 + math.exp(-a))
            value = -(p * b * math.log(sigmoid) + (1 - b) * math.log(1 - sigmoid))
        if options.get("weight") is not None:
            value *= options["weight"][index[-1]]
        out[index] = value
    return out


def reduce(elements, reduction, denominator=None):
    if reduction == "none":
        return elements
    if reduction == "sum":
        return elements.sum()
    return elements.sum() / (elements.size if denominator is None else denominator)


# ---------------------------------------------------------------------------------------------
# Random problems
# ---------------------------------------------------------------------------------------------

@st.composite
def class_problems(draw):
    """Scores (N, K, d...) with labels, and random options of cross_entropy / nll_loss."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, k = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    x = rng.standard_normal((n, k) + spatial) * draw(st.sampled_from([0.5, 3.0]))
    ignore_index = draw(st.sampled_from([-100, 0, k - 1]))
    target = rng.integers(0, k, size=(n,) + spatial)
    if draw(st.booleans()):
        target[rng.random(target.shape) < 0.3] = ignore_index
    if (target == ignore_index).all():  # keep one target, so that "mean" is defined
        target.flat[0] = (ignore_index + 1) % k if ignore_index >= 0 else 0
    weight = rng.uniform(0.2, 2.0, k) if draw(st.booleans()) else None
    options = {"weight": weight, "ignore_index": ignore_index,
               "reduction": draw(st.sampled_from(REDUCTIONS))}
    return x, target, options, draw(st.sampled_from([0.0, 0.1, 0.5])), rng.integers(2**31)


@given(class_problems())
def test_cross_entropy_against_loops_and_finite_differences(problem):
    x, target, options, smoothing, seed = problem
    losses, weights = oracle_class_losses(x, target, False, options["weight"],
                                          options["ignore_index"], smoothing)
    expected = reduce(losses, options["reduction"], weights.sum())
    got = F.cross_entropy(Tensor(x), target, label_smoothing=smoothing, **options)
    np.testing.assert_allclose(got.data, expected, rtol=1e-10, atol=1e-12)
    check_grads(lambda z: F.cross_entropy(z, target, label_smoothing=smoothing, **options),
                [x], [0], seed)


@given(class_problems())
def test_nll_loss_against_loops_and_finite_differences(problem):
    x, target, options, _, seed = problem
    losses, weights = oracle_class_losses(x, target, True, options["weight"],
                                          options["ignore_index"], 0.0)
    expected = reduce(losses, options["reduction"], weights.sum())
    np.testing.assert_allclose(F.nll_loss(Tensor(x), target, **options).data, expected,
                               rtol=1e-10, atol=1e-12)
    check_grads(lambda z: F.nll_loss(z, target, **options), [x], [0], seed)


ELEMENTWISE = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
               "binary_cross_entropy_with_logits")


@st.composite
def elementwise_problems(draw):
    name = draw(st.sampled_from(ELEMENTWISE))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    x = rng.standard_normal(shape) * draw(st.sampled_from([0.3, 1.0, 4.0]))
    t = rng.standard_normal(shape)
    options = {"reduction": draw(st.sampled_from(REDUCTIONS))}
    if name == "smooth_l1_loss":
        options["beta"] = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
    if name == "huber_loss":
        options["delta"] = draw(st.sampled_from([0.3, 1.0, 2.0]))
    if name.startswith("binary"):
        t = rng.uniform(0, 1, shape)
        if draw(st.booleans()):
            options["weight"] = rng.uniform(0.2, 2.0, shape[-1:])
    if name == "binary_cross_entropy":
        x = rng.uniform(0.05, 0.95, shape)
    if name == "binary_cross_entropy_with_logits" and draw(st.booleans()):
        options["pos_weight"] = rng.uniform(0.5, 3.0, shape[-1:])
    return name, x, t, options, rng.integers(2**31)


@given(elementwise_problems())
def test_elementwise_losses_against_loops_and_finite_differences(problem):
    name, x, t, options, seed = problem
    if name == "smooth_l1_loss" and options["beta"] == 0.0:
        expected_elements = oracle_elementwise("l1_loss", x, t, options)  # PyTorch's rule
    else:
        expected_elements = oracle_elementwise(name, x, t, options)
    loss = getattr(F, name)
    got = loss(Tensor(x), Tensor(t), **options)
    np.testing.assert_allclose(got.data, reduce(expected_elements, options["reduction"]),
                               rtol=1e-10, atol=1e-12)
    # Both the prediction and the target get gradients.
    check_grads(lambda a, b: loss(a, b, **options), [x, t], [0, 1], seed)


# ---------------------------------------------------------------------------------------------
# PyTorch goldens
# ---------------------------------------------------------------------------------------------

def golden_configs():
    with np.load(GOLDENS, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    names = sorted({key.split(".")[0] for key in arrays})
    return [(name, json.loads(str(arrays[f"{name}.options"])),
             {key.split(".", 1)[1]: value for key, value in arrays.items()
              if key.split(".")[0] == name})
            for name in names]


CONFIGS = golden_configs()


def test_goldens_cover_every_loss_and_option():
    losses = {options["loss"] for _, options, _ in CONFIGS}
    assert losses == {"cross_entropy", "nll_loss", *ELEMENTWISE}
    assert len(CONFIGS) >= 30
    used = {key for _, options, arrays in CONFIGS for key in [*options, *arrays]}
    assert {"ignore_index", "label_smoothing", "beta", "delta", "weight", "pos_weight"} <= used
    for reduction in REDUCTIONS:
        assert any(options.get("reduction", "mean") == reduction for _, options, _ in CONFIGS)


@pytest.mark.parametrize("name, options, arrays", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_matches_pytorch(name, options, arrays):
    options = dict(options)
    loss = getattr(F, options.pop("loss"))
    extra = {key: arrays[key] for key in ("weight", "pos_weight") if key in arrays}
    float_target = arrays["target"].dtype.kind == "f"
    x = Tensor(arrays["input"], requires_grad=True, dtype=np.float64)
    t = Tensor(arrays["target"], requires_grad=float_target, dtype=arrays["target"].dtype)
    out = loss(x, t, **options, **extra)
    assert out.dtype == np.float64 and out.shape == arrays["output"].shape
    np.testing.assert_allclose(out.data, arrays["output"], rtol=1e-10, atol=1e-10)
    out.backward(arrays["upstream"])
    np.testing.assert_allclose(x.grad, arrays["grad_input"], rtol=1e-10, atol=1e-10)
    if float_target:
        np.testing.assert_allclose(t.grad, arrays["grad_target"], rtol=1e-10, atol=1e-10)


MODULES = {"cross_entropy": nn.CrossEntropyLoss, "nll_loss": nn.NLLLoss, "mse_loss": nn.MSELoss,
           "l1_loss": nn.L1Loss, "smooth_l1_loss": nn.SmoothL1Loss, "huber_loss": nn.HuberLoss,
           "binary_cross_entropy": nn.BCELoss,
           "binary_cross_entropy_with_logits": nn.BCEWithLogitsLoss}


@pytest.mark.parametrize("name, options, arrays", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_modules_match_pytorch(name, options, arrays):
    options = dict(options)
    extra = {key: arrays[key] for key in ("weight", "pos_weight") if key in arrays}
    criterion = MODULES[options.pop("loss")](**options, **extra)
    out = criterion(Tensor(arrays["input"], dtype=np.float64), arrays["target"])
    np.testing.assert_allclose(out.data, arrays["output"], rtol=1e-10, atol=1e-10)
    assert sorted(criterion.state_dict()) == sorted(extra)  # class weights are buffers


# ---------------------------------------------------------------------------------------------
# Behaviour worth a name
# ---------------------------------------------------------------------------------------------

def test_integer_logits_are_refused_by_dtype():
    logits = np.array([[2, 0, 1], [0, 3, 0]])
    with pytest.raises(ValueError, match="cross_entropy.*int64"):
        F.cross_entropy(Tensor(logits), np.array([0, 1]))
    with pytest.raises(ValueError, match="mse_loss.*int64"):
        F.mse_loss(Tensor(np.array([1, 2])), Tensor(np.array([1.0, 2.0])))
    # As floats the same logits give (0.40761 + 0.09492) / 2, not an integer.
    value = F.cross_entropy(Tensor(logits.astype(np.float64)), np.array([0, 1])).item()
    assert value == pytest.approx(0.2512644604326708, abs=1e-12)


def test_default_cross_entropy_is_mean_of_minus_log_softmax():
    x = np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)
    y = np.array([0, 3, 1, 1, 2, 0, 3])
    log_probs = x - np.log(np.exp(x).sum(1, keepdims=True))
    got = F.cross_entropy(Tensor(x), y)
    assert got.dtype == np.float32
    assert got.item() == pytest.approx(-log_probs[np.arange(7), y].mean(), rel=1e-5)


def test_every_target_ignored_gives_nan_mean_as_pytorch():
    got = F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([-100, -100]))
    assert np.isnan(got.item())
    assert F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([-100, -100]),
                           reduction="sum").item() == 0.0


def test_huge_logits_stay_finite():
    x = Tensor(np.array([[1000.0, -1000.0], [-800.0, 900.0]]), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, Tensor(np.array([[0.0, 1.0], [1.0, 0.0]])))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(3700 / 4)
    assert np.isfinite(x.grad).all()
    ce = F.cross_entropy(Tensor(np.array([[1000.0, -1000.0]])), np.array([1]))
    assert ce.item() == pytest.approx(2000.0)


@pytest.mark.parametrize("call, words", [
    (lambda: F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 1]), reduction="avg"),
     ["reduction", "avg"]),
    (lambda: F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 1]), weight=np.ones(2)),
     ["weight", "(3,)", "(2,)"]),
    (lambda: F.cross_entropy(Tensor(np.zeros((2, 3, 4))), np.array([0, 1])),
     ["target", "(2, 4)", "(2,)"]),
    (lambda: F.nll_loss(Tensor(np.zeros((2, 3))), np.array([0, 5])), ["nll_loss", "[0, 3)"]),
    (lambda: F.binary_cross_entropy(Tensor(np.array([0.5, 1.5])), Tensor(np.ones(2))),
     ["[0, 1]"]),
    (lambda: F.binary_cross_entropy_with_logits(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 3))),
                                                pos_weight=np.ones(4)), ["pos_weight", "(4,)"]),
    (lambda: F.l1_loss(Tensor(np.zeros(3)), Tensor(np.zeros(4))), ["l1_loss", "(3,)", "(4,)"]),
    (lambda: F.huber_loss(Tensor(np.zeros(3)), Tensor(np.zeros(3)), delta=0.0), ["delta"]),
    (lambda: nn.MSELoss(reduction="avg"), ["MSELoss", "avg"]),
])
def test_bad_arguments_are_named(call, words):
    with pytest.raises(ValueError) as error:
        call()
    for word in words:
        assert word in str(error.value)
