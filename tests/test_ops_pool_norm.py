"""Adaptive, 1-D and global pools, layer/group/instance/batch norm and the embedding lookup.

Forward: each op against an oracle written as plain loops here. Gradients: hypothesis draws
shapes and settings, and backward with a random upstream gradient must equal central finite
differences in float64. PyTorch: the outputs, gradients and running statistics that
engine_goldens/make_pool_norm_act.py recorded with torch 2.13 must be met to 1e-10.
Modules: their parameters, buffers and the counts minigrad.layers reports for summary().
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from finite_differences import numeric_grads
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

import minigrad as mg
import minigrad.engine.functional as F
import minigrad.engine.nn as nn
from minigrad import Tensor, layers

EPS = 1e-6
seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------------
# Shared helpers (test_ops_activation.py imports them)
# ---------------------------------------------------------------------------------------------

def check_grads(fn, *arrays, wrt=None, seed=0, atol=1e-6, rtol=1e-5):
    """backward(random upstream) of fn == finite differences for the float64 arrays in wrt;
    the inputs must come out unchanged. Returns the output tensor."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    wrt = list(range(len(arrays))) if wrt is None else list(wrt)
    originals = [a.copy() for a in arrays]
    tensors = [Tensor(a, requires_grad=i in wrt, dtype=np.float64) for i, a in enumerate(arrays)]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    for t, original in zip(tensors, originals):
        np.testing.assert_array_equal(t.data, original, err_msg="an op mutated its input")
    for i, expected in zip(wrt, numeric_grads(fn, originals, upstream, wrt)):
        assert tensors[i].grad is not None and tensors[i].grad.dtype == np.float64
        np.testing.assert_allclose(tensors[i].grad, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    return out


def test_the_finite_difference_check_catches_a_wrong_gradient():
    class Wrong(mg.Function):
        def forward(self, a):
            return a * a

        def backward(self, grad):
            return grad * self.inputs[0].data  # should be 2a

    with pytest.raises(AssertionError):
        check_grads(lambda t: Wrong.apply(t), np.array([0.5, -1.5, 2.0]))


def distinct(rng, shape, step=0.05):
    """Values pairwise at least `step` apart: a nudge of EPS never changes which is largest."""
    size = math.prod(shape)
    return ((rng.permutation(size) - size / 2) * step).reshape(shape)


GOLDENS = np.load(Path(__file__).parent / "engine_goldens" / "pool_norm_act.npz",
                  allow_pickle=False)
GOLDEN_CASES = sorted({key.split("__")[0] for key in GOLDENS.files})


def golden_cases(ops: set[str]) -> list[str]:
    return [name for name in GOLDEN_CASES
            if json.loads(str(GOLDENS[f"{name}__config"]))["op"] in ops]


def check_golden(name: str, torch_grad_factor: float = 1.0) -> None:
    """Call the minigrad op of the same name as torch's with the recorded arguments: the
    output, every gradient (torch's times torch_grad_factor) and the buffers after the call
    must match torch to 1e-10."""
    config = json.loads(str(GOLDENS[f"{name}__config"]))
    args, tensors = [], {}
    for arg in config["args"]:
        if arg in config["values"]:
            args.append(config["values"][arg])
        elif arg in config["buffers"] or arg == "indices":
            args.append(GOLDENS[f"{name}__{arg}"].copy())
        else:
            tensors[arg] = Tensor(GOLDENS[f"{name}__{arg}"].copy(), dtype=np.float64,
                                  requires_grad=arg in config["grad"])
            args.append(tensors[arg])
    out = getattr(F, config["op"])(*args, **config["kwargs"])
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, GOLDENS[f"{name}__out"], rtol=1e-10, atol=1e-10,
                               err_msg=f"{name}: output")
    out.backward(GOLDENS[f"{name}__upstream"])
    for arg in config["grad"]:
        np.testing.assert_allclose(tensors[arg].grad,
                                   GOLDENS[f"{name}__grad_{arg}"] * torch_grad_factor,
                                   rtol=1e-10, atol=1e-10, err_msg=f"{name}: gradient of {arg}")
    for arg in config["buffers"]:
        np.testing.assert_allclose(args[config["args"].index(arg)],
                                   GOLDENS[f"{name}__after_{arg}"], rtol=1e-10, atol=1e-10,
                                   err_msg=f"{name}: {arg} after the call")


POOL_NORM_OPS = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool1d",
                 "adaptive_max_pool1d", "global_max_pool2d", "max_pool1d", "avg_pool1d",
                 "layer_norm", "group_norm", "instance_norm", "batch_norm", "embedding"}


@pytest.mark.parametrize("name", golden_cases(POOL_NORM_OPS))
def test_matches_pytorch(name):
    check_golden(name)


def test_every_op_has_pytorch_goldens():
    recorded = {json.loads(str(GOLDENS[f"{n}__config"]))["op"] for n in GOLDEN_CASES}
    assert POOL_NORM_OPS <= recorded


# ---------------------------------------------------------------------------------------------
# Forward oracles: plain loops
# ---------------------------------------------------------------------------------------------

def loop_windows(n, o):
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def loop_adaptive(x, oh, ow, reduce):
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow))
    for b in range(n):
        for ch in range(c):
            for i, (r0, r1) in enumerate(loop_windows(h, oh)):
                for j, (c0, c1) in enumerate(loop_windows(w, ow)):
                    out[b, ch, i, j] = reduce(x[b, ch, r0:r1, c0:c1])
    return out


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       oh=st.integers(1, 10), ow=st.one_of(st.none(), st.integers(1, 10)), seed=seeds)
def test_adaptive_pools_2d_against_loops(n, c, h, w, oh, ow, seed):
    x = np.random.default_rng(seed).integers(-3, 4, (n, c, h, w)).astype(np.float64)
    width = w if ow is None else ow
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, (oh, ow)).data,
                               loop_adaptive(x, oh, width, np.mean), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(F.adaptive_max_pool2d(x, (oh, ow)).data,
                                  loop_adaptive(x, oh, width, np.max))


def test_adaptive_max_pool_sends_each_gradient_to_the_first_maximum_in_row_major_order():
    x = np.ones((1, 1, 5, 4))
    x[0, 0, 2, 1] = x[0, 0, 1, 3] = 5.0          # two maxima in the same window
    t = Tensor(x, requires_grad=True)
    F.adaptive_max_pool2d(t, (1, 1)).sum().backward()
    expected = np.zeros_like(x)
    expected[0, 0, 1, 3] = 1.0                   # row 1 comes before row 2
    np.testing.assert_array_equal(t.grad, expected)
    t = Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)   # all tie: the top-left of each
    F.adaptive_max_pool2d(t, (2, 2)).backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(t.grad[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def loop_pool_1d(x, k, s, p, ceil_mode, mode, count_include_pad=True):
    n, c, length = x.shape
    span = length + 2 * p - k
    out_len = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out_len - 1) * s >= length + p:   # a window must start inside
        out_len -= 1
    out = np.zeros((n, c, out_len))
    for b in range(n):
        for ch in range(c):
            for i in range(out_len):
                start = i * s - p
                cells = [x[b, ch, j] for j in range(max(start, 0), min(start + k, length))]
                if mode == "max":
                    out[b, ch, i] = max(cells)
                else:
                    padded_end = min(start + k, length + p)
                    count = padded_end - start if count_include_pad else len(cells)
                    out[b, ch, i] = sum(cells) / count
    return out


@st.composite
def pool_1d_configs(draw):
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    length = draw(st.integers(max(1, k - 2 * p), 11))
    return {"shape": (draw(st.integers(1, 2)), draw(st.integers(1, 3)), length), "k": k, "s": s,
            "p": p, "ceil_mode": draw(st.booleans()), "count_include_pad": draw(st.booleans())}


@given(cfg=pool_1d_configs(), seed=seeds)
def test_pools_1d_against_loops(cfg, seed):
    x = np.random.default_rng(seed).standard_normal(cfg["shape"])
    k, s, p, ceil_mode = cfg["k"], cfg["s"], cfg["p"], cfg["ceil_mode"]
    np.testing.assert_array_equal(F.max_pool1d(x, k, s, p, ceil_mode).data,
                                  loop_pool_1d(x, k, s, p, ceil_mode, "max"))
    np.testing.assert_allclose(
        F.avg_pool1d(x, k, s, p, ceil_mode, cfg["count_include_pad"]).data,
        loop_pool_1d(x, k, s, p, ceil_mode, "avg", cfg["count_include_pad"]), rtol=1e-12,
        atol=1e-14)
    n, c, length = cfg["shape"]
    o = 1 + seed % 12
    loops = loop_adaptive(x.reshape(n, c, 1, length), 1, o, np.mean)[:, :, 0]
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x, o).data, loops, rtol=1e-12, atol=1e-14)
    loops = loop_adaptive(x.reshape(n, c, 1, length), 1, o, np.max)[:, :, 0]
    np.testing.assert_array_equal(F.adaptive_max_pool1d(x, o).data, loops)


def test_global_max_pool():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    loops = [[x[b, c].max() for c in range(3)] for b in range(2)]
    np.testing.assert_array_equal(F.global_max_pool2d(x).data, loops)
    assert F.global_max_pool2d(x, keepdims=True).shape == (2, 3, 1, 1)


def loop_standardize(values, eps):
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return [(v - mean) / math.sqrt(var + eps) for v in values]


def test_layer_norm_against_loops():
    rng = np.random.default_rng(1)
    x, weight, bias = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((4, 5)), \
        rng.standard_normal((4, 5))
    out = F.layer_norm(x, (4, 5), weight, bias, eps=1e-3).data
    for b in range(2):
        for c in range(3):
            normed = np.array(loop_standardize(list(x[b, c].ravel()), 1e-3)).reshape(4, 5)
            np.testing.assert_allclose(out[b, c], normed * weight + bias, rtol=1e-10)
    np.testing.assert_allclose(F.layer_norm(x, 5).data[1, 2, 3],
                               loop_standardize(list(x[1, 2, 3]), 1e-5), rtol=1e-10)


@given(n=st.integers(1, 3), groups=st.integers(1, 3), per_group=st.integers(1, 3),
       spatial=st.lists(st.integers(1, 3), max_size=2), seed=seeds)
def test_group_norm_against_loops(n, groups, per_group, spatial, seed):
    c = groups * per_group
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + tuple(spatial)) * 2 + 1
    weight, bias = rng.standard_normal(c), rng.standard_normal(c)
    out = F.group_norm(x, groups, weight, bias).data
    for b in range(n):
        for g in range(groups):
            channels = range(g * per_group, (g + 1) * per_group)
            normed = np.array(loop_standardize(list(x[b, g * per_group:(g + 1) * per_group]
                                                    .ravel()), 1e-5))
            normed = normed.reshape((per_group,) + tuple(spatial))
            for i, ch in enumerate(channels):
                np.testing.assert_allclose(out[b, ch], normed[i] * weight[ch] + bias[ch],
                                           rtol=1e-9, atol=1e-12)


def test_instance_norm_against_loops_and_its_running_statistics():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 4, 5)) * 3 + 1
    mean, var = np.zeros(2), np.ones(2)
    out = F.instance_norm(x, mean, var, momentum=0.25).data
    for b in range(3):
        for c in range(2):
            np.testing.assert_allclose(out[b, c].ravel(),
                                       loop_standardize(list(x[b, c].ravel()), 1e-5), rtol=1e-10)
    means = [[x[b, c].mean() for c in range(2)] for b in range(3)]
    variances = [[x[b, c].var(ddof=1) for c in range(2)] for b in range(3)]
    np.testing.assert_allclose(mean, 0.25 * np.mean(means, axis=0), rtol=1e-12)
    np.testing.assert_allclose(var, 0.75 + 0.25 * np.mean(variances, axis=0), rtol=1e-12)
    frozen = F.instance_norm(x, mean, var, use_input_stats=False).data
    np.testing.assert_allclose(frozen[1, 1], (x[1, 1] - mean[1]) / np.sqrt(var[1] + 1e-5))


def test_batch_norm_on_sequences_against_loops():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 4))
    out = F.batch_norm(x, np.zeros(2), np.ones(2), Tensor(np.ones(2)), Tensor(np.zeros(2)),
                       True).data
    for c in range(2):
        np.testing.assert_allclose(out[:, c].ravel(), loop_standardize(list(x[:, c].ravel()),
                                                                       1e-5), rtol=1e-10)


@pytest.mark.parametrize("layout", ["images first", "channels first", "channels last"])
def test_batch_norm_in_every_memory_layout_a_conv_leaves(layout):
    # Batch norm sums its channels by a product with ones when they are the innermost axis in
    # memory (a depthwise conv's output), else by numpy's sum: values against the loops,
    # gradients through the layer that made the layout against finite differences.
    rng = np.random.default_rng(8)
    x, gamma, beta = rng.standard_normal((3, 2, 4, 5)), rng.standard_normal(2), \
        rng.standard_normal(2)
    kernel = rng.standard_normal((2, 1, 3, 3)) if layout == "channels last" else \
        rng.standard_normal((2, 2, 3, 3))

    def maps(x, kernel):
        if layout == "images first":
            return x * kernel.sum()  # NCHW, as made
        return F.conv2d(x, kernel, padding=1, groups=2 if layout == "channels last" else 1)

    made = maps(Tensor(x, requires_grad=True), Tensor(kernel)).data
    order = {"images first": (0, 1, 2, 3), "channels first": (1, 0, 2, 3),
             "channels last": (2, 3, 0, 1)}[layout]
    assert made.transpose(order).flags.c_contiguous  # the layout under test
    out = F.batch_norm(Tensor(made), np.zeros(2), np.ones(2), Tensor(gamma), Tensor(beta),
                       True).data
    for c in range(2):
        expected = np.array(loop_standardize(list(made[:, c].ravel()), 1e-5)) * gamma[c] + beta[c]
        np.testing.assert_allclose(out[:, c].ravel(), expected, rtol=1e-10, atol=1e-12)
    check_grads(lambda x, k, g, b: F.batch_norm(maps(x, k), np.zeros(2), np.ones(2), g, b, True),
                x, kernel, gamma, beta)
    # eval mode, the running statistics: without a graph (x·s + t) and with one
    mean, var = rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    out = F.batch_norm(Tensor(made), mean, var, Tensor(gamma), Tensor(beta), False).data
    for c in range(2):
        expected = (made[:, c] - mean[c]) / np.sqrt(var[c] + 1e-5) * gamma[c] + beta[c]
        np.testing.assert_allclose(out[:, c], expected, rtol=1e-10, atol=1e-12)
    check_grads(lambda x, k, g, b: F.batch_norm(maps(x, k), mean, var, g, b, False),
                x, kernel, gamma, beta)


def test_embedding_against_loops_and_repeated_indices_accumulate():
    rng = np.random.default_rng(4)
    weight = Tensor(rng.standard_normal((6, 3)), requires_grad=True)
    indices = np.array([[0, 5, 5], [2, 5, 0]])
    out = F.embedding(indices, weight, padding_idx=0)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(out.data[i, j], weight.data[indices[i, j]])
    out.backward(np.ones((2, 3, 3)))
    counts = np.zeros(6)
    for index in indices.ravel():
        counts[index] += 1
    counts[0] = 0  # the padding row gets no gradient
    np.testing.assert_array_equal(weight.grad, np.repeat(counts[:, None], 3, axis=1))


# ---------------------------------------------------------------------------------------------
# Gradients against finite differences
# ---------------------------------------------------------------------------------------------

@given(n=st.integers(1, 2), c=st.integers(1, 2), h=st.integers(1, 6), w=st.integers(1, 6),
       oh=st.integers(1, 7), ow=st.one_of(st.none(), st.integers(1, 7)), seed=seeds)
def test_adaptive_pool_2d_gradients(n, c, h, w, oh, ow, seed):
    x = distinct(np.random.default_rng(seed), (n, c, h, w))
    check_grads(lambda t: F.adaptive_avg_pool2d(t, (oh, ow)), x, seed=seed)
    check_grads(lambda t: F.adaptive_max_pool2d(t, (oh, ow)), x, seed=seed)


@given(cfg=pool_1d_configs(), o=st.integers(1, 8), seed=seeds)
def test_pool_1d_gradients(cfg, o, seed):
    x = distinct(np.random.default_rng(seed), cfg["shape"])
    k, s, p, ceil_mode = cfg["k"], cfg["s"], cfg["p"], cfg["ceil_mode"]
    check_grads(lambda t: F.max_pool1d(t, k, s, p, ceil_mode), x, seed=seed)
    check_grads(lambda t: F.avg_pool1d(t, k, s, p, ceil_mode, cfg["count_include_pad"]), x,
                seed=seed)
    check_grads(lambda t: F.adaptive_avg_pool1d(t, o), x, seed=seed)
    check_grads(lambda t: F.adaptive_max_pool1d(t, o), x, seed=seed)


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4),
       keepdims=st.booleans(), seed=seeds)
def test_global_max_pool_gradients(n, c, h, w, keepdims, seed):
    x = distinct(np.random.default_rng(seed), (n, c, h, w))
    check_grads(lambda t: F.global_max_pool2d(t, keepdims), x, seed=seed)


@given(lead=st.lists(st.integers(1, 3), min_size=1, max_size=2),
       normalized=st.lists(st.integers(1, 4), min_size=1, max_size=2),
       affine=st.sampled_from(["both", "weight", "none"]), eps=st.sampled_from([1e-5, 0.1]),
       seed=seeds)
def test_layer_norm_gradients(lead, normalized, affine, eps, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(normalized)
    arrays = [rng.standard_normal(tuple(lead) + shape) * 2]
    if affine != "none":
        arrays.append(rng.standard_normal(shape))
    if affine == "both":
        arrays.append(rng.standard_normal(shape))
    check_grads(lambda x, *wb: F.layer_norm(x, shape, *wb, eps=eps), *arrays, seed=seed)


@given(n=st.integers(1, 2), groups=st.integers(1, 3), per_group=st.integers(1, 2),
       spatial=st.lists(st.integers(1, 3), max_size=2), affine=st.booleans(), seed=seeds)
def test_group_norm_gradients(n, groups, per_group, spatial, affine, seed):
    c = groups * per_group
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c) + tuple(spatial)) * 2]
    if affine:
        arrays += [rng.standard_normal(c), rng.standard_normal(c)]
    check_grads(lambda x, *wb: F.group_norm(x, groups, *wb), *arrays, seed=seed)


@given(n=st.integers(1, 2), c=st.integers(1, 3), spatial=st.lists(st.integers(1, 3), min_size=1,
                                                                   max_size=2),
       use_input_stats=st.booleans(), affine=st.booleans(), seed=seeds)
def test_instance_norm_gradients(n, c, spatial, use_input_stats, affine, seed):
    if use_input_stats and math.prod(spatial) < 2:
        spatial = spatial + [2]
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c) + tuple(spatial)) * 2]
    if affine:
        arrays += [rng.standard_normal(c), rng.standard_normal(c)]
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)

    def fn(x, *wb):  # fresh copies: training updates the running statistics in place
        return F.instance_norm(x, mean.copy(), var.copy(), *wb,
                               use_input_stats=use_input_stats)

    check_grads(fn, *arrays, seed=seed)


@given(n=st.integers(2, 3), c=st.integers(1, 3), length=st.integers(1, 4),
       training=st.booleans(), seed=seeds)
def test_batch_norm_on_sequences_gradients(n, c, length, training, seed):
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.standard_normal((n, c, length)), rng.standard_normal(c), \
        rng.standard_normal(c)
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    check_grads(lambda *t: F.batch_norm(t[0], mean.copy(), var.copy(), t[1], t[2], training),
                x, weight, bias, seed=seed)


@given(index_shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       num=st.integers(1, 5), dim=st.integers(1, 3), seed=seeds)
def test_embedding_gradients(index_shape, num, dim, seed):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, num, tuple(index_shape))
    out = check_grads(lambda weight: F.embedding(indices, weight), rng.standard_normal((num, dim)),
                      seed=seed)
    assert out.shape == tuple(index_shape) + (dim,)


@given(index_shape=st.lists(st.integers(1, 4), min_size=1, max_size=2),
       num=st.integers(1, 5), dim=st.integers(1, 3), seed=seeds, data=st.data())
def test_embedding_padding_row_gets_no_gradient(index_shape, num, dim, seed, data):
    padding_idx = data.draw(st.integers(-num, num - 1))
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, num, tuple(index_shape))
    weight = Tensor(rng.standard_normal((num, dim)), requires_grad=True)
    upstream = rng.standard_normal(tuple(index_shape) + (dim,))
    F.embedding(indices, weight, padding_idx).backward(upstream)
    expected = numeric_grads(lambda w: F.embedding(indices, w), [weight.data], upstream, [0])[0]
    expected[padding_idx % num] = 0  # otherwise the finite difference
    np.testing.assert_allclose(weight.grad, expected, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Errors name the op and the shapes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, words", [
    (lambda: F.adaptive_avg_pool2d(np.ones((2, 3, 4)), 2), "adaptive_avg_pool2d"),
    (lambda: F.adaptive_max_pool2d(np.ones((1, 1, 4, 4)), (0, 2)), "positive"),
    (lambda: F.max_pool1d(np.ones((1, 4)), 2), "(N, C, L)"),
    (lambda: F.layer_norm(np.ones((2, 3)), (4,)), "normalized_shape"),
    (lambda: F.group_norm(np.ones((2, 6, 2)), 4), "do not split"),
    (lambda: F.instance_norm(np.ones((2, 3, 1))), "more than 1 spatial element"),
    (lambda: F.instance_norm(np.ones((2, 3, 4)), use_input_stats=False), "running_mean"),
    (lambda: F.embedding(np.array([0, 7]), np.ones((5, 2))), "[0, 5)"),
    (lambda: F.embedding(np.array([0.5]), np.ones((5, 2))), "integers"),
])
def test_shape_errors_are_value_errors_naming_the_op(call, words):
    with pytest.raises(ValueError, match=None) as error:
        call()
    assert words in str(error.value)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

def _parameter_count(module) -> int:
    return sum(p.size for p in module.parameters())


def _layer_row(module, input_shape):
    """The row minigrad.layers reports for the module's .layer() (PyTorch's rules, C×H×W)."""
    network = layers.Network(tuple(input_shape), (module.layer(),), "chw", "torch")
    return layers.analyze(network).rows[-1]


@pytest.mark.parametrize("module, input_shape", [
    (nn.MaxPool1d(3, 2, 1, ceil_mode=True), (3, 10)),
    (nn.AvgPool1d(2, count_include_pad=False), (3, 10)),
    (nn.AdaptiveAvgPool2d((3, None)), (2, 7, 5)),
    (nn.AdaptiveMaxPool2d(2), (2, 7, 5)),
    (nn.AdaptiveAvgPool1d(4), (2, 9)),
    (nn.AdaptiveMaxPool1d(3), (2, 9)),
    (nn.GlobalMaxPool2d(), (3, 4, 4)),
    (nn.BatchNorm1d(4), (4, 6)),
    (nn.LayerNorm((4, 5)), (3, 4, 5)),
    (nn.LayerNorm(5, elementwise_affine=False), (3, 4, 5)),
    (nn.LayerNorm(5, bias=False), (3, 4, 5)),
    (nn.GroupNorm(2, 4), (4, 3, 3)),
    (nn.GroupNorm(4, 4, affine=False), (4, 3, 3)),
    (nn.InstanceNorm2d(3), (3, 4, 4)),
    (nn.InstanceNorm2d(3, affine=True, track_running_stats=True), (3, 4, 4)),
    (nn.InstanceNorm1d(3, affine=True), (3, 6)),
    (nn.Embedding(10, 4, padding_idx=0), (7,)),
])
def test_modules_count_the_parameters_their_layer_reports(module, input_shape):
    rng = np.random.default_rng(5)
    if isinstance(module, nn.Embedding):
        x = rng.integers(0, 10, (2,) + input_shape)
    else:
        x = rng.standard_normal((2,) + input_shape)
    out = module(Tensor(x) if x.dtype.kind == "f" else x)
    row = _layer_row(module, input_shape)
    assert out.shape[1:] == row.output_shape
    assert _parameter_count(module) == row.trainable_params == row.params
    assert sum(b.size for _, b in module.named_buffers()) == row.buffers
    assert type(module).__name__ in repr(module)


def test_a_model_of_the_new_modules_summarises_and_trains():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.InstanceNorm2d(8, affine=True),
                          nn.AdaptiveAvgPool2d((3, None)), nn.AdaptiveMaxPool2d(2),
                          nn.GlobalMaxPool2d(), nn.LayerNorm(8), nn.Linear(8, 4),
                          nn.BatchNorm1d(4))
    console = Console(file=io.StringIO(), width=120)
    model.summary(input_shape=(3, 10, 10), console=console)
    total = _parameter_count(model)
    assert f"{total:,}" in console.file.getvalue()
    model(Tensor(np.random.default_rng(6).standard_normal((2, 3, 10, 10)))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_instance_norm_module_tracks_statistics_only_when_asked():
    x = Tensor(np.random.default_rng(7).standard_normal((4, 2, 5)) * 3 + 2)
    plain = nn.InstanceNorm1d(2)
    assert list(plain.named_buffers()) == [] and plain.parameters() == []
    plain.eval()
    np.testing.assert_allclose(plain(x).data.mean(axis=2), 0, atol=1e-6)  # input stats in eval
    tracked = nn.InstanceNorm1d(2, track_running_stats=True)
    tracked(x)
    assert not np.allclose(tracked.running_mean, 0)
    tracked.eval()
    before = tracked.running_mean.copy()
    out = tracked(x).data
    np.testing.assert_array_equal(tracked.running_mean, before)
    expected = (x.data - before[None, :, None]) / np.sqrt(tracked.running_var[None, :, None]
                                                          + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_batchnorm1d_refuses_images_and_embedding_pads_with_a_zero_row():
    with pytest.raises(ValueError, match="BatchNorm1d"):
        nn.BatchNorm1d(3)(Tensor(np.ones((2, 3, 4, 4))))
    table = nn.Embedding(5, 3, padding_idx=-2)
    assert table.padding_idx == 3
    np.testing.assert_array_equal(table.weight.data[3], 0)
    with pytest.raises(ValueError, match="GroupNorm"):
        nn.GroupNorm(3, 4)
