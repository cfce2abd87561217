"""The engine's fast paths compute what the plain ones do: Adam's cache-sized blocks against the
whole-array rule and torch.optim (goldens), max-pool's argmax offsets against loops (kernels of
more offsets than a uint8 holds), the memory layout ReLU's gradient takes, ReLU and ReLU6 (by
np.clip) value by value, and BatchNorm's inference without a graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad.engine.functional as F
from minigrad import Tensor, no_grad
from minigrad.engine.optim import Adam, AdamW

GOLDENS = Path(__file__).parent / "engine_goldens" / "speed_paths.npz"


def run_adam(kind, options, param0, grads, block):
    p = Tensor(param0.copy(), requires_grad=True)
    optimizer = kind([p], **options)
    optimizer.BLOCK = block
    for g in grads:
        p.grad = g
        optimizer.step()
    return p.data


@given(st.integers(1, 50), st.integers(1, 40), st.booleans(), st.booleans(),
       st.floats(0, 0.1), st.integers(0, 2**32 - 1))
def test_adam_in_blocks_equals_adam_on_whole_arrays(size, block, amsgrad, decoupled, decay,
                                                    seed):
    rng = np.random.default_rng(seed)
    param0, grads = rng.standard_normal(size), rng.standard_normal((3, size))
    kind = AdamW if decoupled else Adam
    options = {"lr": 0.01, "amsgrad": amsgrad, "weight_decay": decay}
    whole = run_adam(kind, options, param0, grads, block=size)
    blocked = run_adam(kind, options, param0, grads, block=block)
    np.testing.assert_array_equal(blocked, whole)


def test_adam_on_a_strided_parameter_updates_it_in_place():
    """A parameter that is not C-contiguous is updated whole (its flat view would be a copy)."""
    base = np.random.default_rng(0).standard_normal((6, 4))
    param0, grads = base.T, np.random.default_rng(1).standard_normal((3, 4, 6))
    p = Tensor(param0.copy(order="F"), requires_grad=True)  # Fortran order: strided rows
    assert not p.data.flags.c_contiguous
    optimizer = Adam([p], lr=0.01)
    optimizer.BLOCK = 5
    for g in grads:
        p.grad = g
        optimizer.step()
    np.testing.assert_array_equal(p.data, run_adam(Adam, {"lr": 0.01}, np.ascontiguousarray(
        param0), grads, block=24))


@pytest.mark.parametrize("name", ["adam", "adam_amsgrad_decay", "adamw"])
def test_blocked_adam_matches_torch_on_a_parameter_of_several_blocks(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_speed_paths",
                                                  GOLDENS.with_name("make_speed_paths.py"))
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    golden = np.load(GOLDENS, allow_pickle=False)
    config = json.loads(str(golden[f"{name}.options"]))
    param0, grads = maker.problem()
    assert param0.size > 2 * Adam.BLOCK  # several blocks, the last one short
    kind = {"Adam": Adam, "AdamW": AdamW}[config["optimizer"]]
    final = run_adam(kind, config["options"], param0, grads, block=Adam.BLOCK)
    np.testing.assert_allclose(final[golden["index"]], golden[f"{name}.final"], rtol=0,
                               atol=1e-10)


@given(st.integers(15, 17), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_max_pool_with_more_offsets_than_a_byte_sends_gradients_to_the_first_maximum(
        kernel, stride, seed):
    """16x16 = 256 offsets still fit uint8, 17x17 = 289 do not; few values, so many ties."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, size=(1, 2, kernel + 3, kernel + 2)).astype(np.float64)
    t = Tensor(x, requires_grad=True)
    out = F.max_pool2d(t, kernel, stride)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    expected = np.zeros_like(x)
    for c in range(x.shape[1]):
        for r in range(out.shape[2]):
            for q in range(out.shape[3]):
                window = x[0, c, r * stride:r * stride + kernel, q * stride:q * stride + kernel]
                i, j = np.unravel_index(np.argmax(window), window.shape)  # first, row-major
                assert out.data[0, c, r, q] == window[i, j]
                expected[0, c, r * stride + i, q * stride + j] += upstream[0, c, r, q]
    np.testing.assert_allclose(t.grad, expected, rtol=1e-12, atol=1e-15)  # sums in any order


def test_relu_gradient_takes_its_input_layout():
    """After a conv (whose output is filter-major in memory), ReLU's gradient is filter-major
    too, so the conv's backward reads it as its (F, N·OH·OW) matrix without copying it."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((3, 2, 5, 5)))
    weight = Tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
    conv_out = F.conv2d(x, weight, padding=1)
    conv_out.retain_grad()
    activated = F.relu(conv_out)
    upstream = rng.standard_normal(activated.shape)
    activated.backward(upstream)
    assert conv_out.grad.transpose(1, 0, 2, 3).flags.c_contiguous
    np.testing.assert_array_equal(conv_out.grad, upstream * (conv_out.data > 0))


@given(st.integers(1, 3), st.integers(1, 3000), st.sampled_from(["contiguous", "swapped",
                                                                 "strided"]),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_relu_and_relu6_follow_their_rule_value_by_value(rows, width, layout, dtype, seed):
    # In any memory layout; NaN passes through, as np.maximum's does, and ±inf are clipped.
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, width)) * 8).astype(dtype)
    x.flat[rng.integers(0, x.size, 5)] = [np.nan, 0.0, 6.0, np.inf, -np.inf]
    x = {"contiguous": x, "swapped": np.ascontiguousarray(x.T).T, "strided": x[:, ::2]}[layout]
    with no_grad():
        relu, relu6 = F.relu(Tensor(x)).data, F.relu6(Tensor(x)).data
    for i, j in np.ndindex(*x.shape):
        v = x[i, j]
        assert relu[i, j] == (v if v > 0 else 0) or (np.isnan(v) and np.isnan(relu[i, j]))
        assert relu6[i, j] == min(max(v, 0), 6) or (np.isnan(v) and np.isnan(relu6[i, j]))


@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 6), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_batch_norm_inference_without_a_graph_equals_the_formula_per_value(n, c, hw, strided, seed):
    # Without a graph, eval-mode BatchNorm is one multiply-add per value (scale and shift folded);
    # the oracle is the formula, value by value, in float64.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c, n, hw, hw))
    x = x.transpose(1, 0, 2, 3) if strided else np.ascontiguousarray(x.transpose(1, 0, 2, 3))
    mean, var = rng.standard_normal(c), rng.random(c) + 0.1
    weight, bias = rng.standard_normal(c), rng.standard_normal(c)
    with no_grad():
        out = F.batch_norm(Tensor(x), mean.copy(), var.copy(), Tensor(weight), Tensor(bias),
                           training=False, momentum=0.1, eps=1e-5).data
    expected = np.empty_like(x)
    for i, k, h, w in np.ndindex(*x.shape):
        expected[i, k, h, w] = ((x[i, k, h, w] - mean[k]) / np.sqrt(var[k] + 1e-5) * weight[k]
                                + bias[k])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
