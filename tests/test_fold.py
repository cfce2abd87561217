"""Batch norm folded into the conv before it (minigrad/engine/nn/fold.py): without a graph, in eval
mode, a chain or a graph computes what the conv and the batch norm compute one after the other,
written out with loops here; with a graph, or while training, nothing is folded and gradients
reach the modules' own parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, nn, no_grad
from minigrad.engine.nn.fold import FoldedConvBatchNorm
from minigrad.readers import parse_spec
from minigrad.tools.build import build_model

from test_ops_conv import conv2d_cases, conv2d_loops, explicit_pads, seeds


def batch_norm_eval_loops(x, norm):
    """y[n, c, …] = γ[c]·(x[n, c, …] − μ[c]) / √(σ²[c] + ε) + β[c], channel by channel."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        out[:, c] = (norm.weight.data[c] * (x[:, c] - norm.running_mean[c])
                     / np.sqrt(norm.running_var[c] + norm.eps) + norm.bias.data[c])
    return out


def with_random_statistics(norm, rng):
    """Batch norm parameters and running statistics far from their initial ones and 1s."""
    c = norm.num_features
    norm.weight.data[...] = rng.uniform(-2, 2, c)
    norm.bias.data[...] = rng.standard_normal(c)
    norm.running_mean[...] = rng.standard_normal(c)
    norm.running_var[...] = rng.uniform(0.1, 3, c)


def conv_like(case, rng, padding_mode="zeros"):
    """An nn.Conv2d (float64) with the case's geometry and random weights."""
    f, cg, kh, kw = case["weight"]
    kwargs = case["kwargs"]
    conv = nn.Conv2d(cg * kwargs["groups"], f, (kh, kw), stride=kwargs["stride"],
                     padding=kwargs["padding"], dilation=kwargs["dilation"],
                     groups=kwargs["groups"], bias=case["bias"] is not None,
                     padding_mode=padding_mode)
    conv.weight.data = rng.standard_normal(case["weight"])
    if conv.bias is not None:
        conv.bias.data = rng.standard_normal(f)
    return conv


@given(case=conv2d_cases(), seed=seeds)
def test_a_chain_folds_conv_and_batch_norm_into_what_the_loops_compute(case, seed):
    rng = np.random.default_rng(seed)
    conv = conv_like(case, rng)
    norm = nn.BatchNorm2d(case["weight"][0]).double()
    with_random_statistics(norm, rng)
    model = nn.Sequential(conv, norm, nn.ReLU()).eval()
    x = rng.standard_normal(case["x"])
    expected = np.maximum(batch_norm_eval_loops(
        conv2d_loops(x, conv.weight.data, None if conv.bias is None else conv.bias.data,
                     case["kwargs"]["stride"], explicit_pads(case), case["kwargs"]["dilation"],
                     case["kwargs"]["groups"]), norm), 0)
    with no_grad():
        out = model(Tensor(x)).data
    assert isinstance(model._inference_plan()[0], FoldedConvBatchNorm)  # the folded route ran
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_folding_reads_the_parameters_of_the_moment():
    # A fold is recomputed at every call: after the weights and statistics change (a training
    # step), the next eval call must see the new ones, not a copy from before.
    rng = np.random.default_rng(1)
    conv, norm = nn.Conv2d(2, 3, 3, padding=1).double(), nn.BatchNorm2d(3).double()
    model = nn.Sequential(conv, norm).eval()
    x = rng.standard_normal((2, 2, 5, 5))
    for _ in range(3):
        conv.weight.data[...] = rng.standard_normal(conv.weight.shape)
        with_random_statistics(norm, rng)
        expected = batch_norm_eval_loops(
            conv2d_loops(x, conv.weight.data, conv.bias.data, (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
            norm)
        with no_grad():
            np.testing.assert_allclose(model(Tensor(x)).data, expected, rtol=1e-10, atol=1e-10)


def test_padding_modes_other_than_zeros_fold_too():
    rng = np.random.default_rng(2)
    case = dict(weight=(3, 2, 3, 3), bias=(3,), x=(2, 2, 5, 6),
                kwargs=dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1))
    conv = conv_like(case, rng, padding_mode="reflect")
    norm = nn.BatchNorm2d(3).double()
    with_random_statistics(norm, rng)
    x = rng.standard_normal(case["x"])
    reflected = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    expected = batch_norm_eval_loops(
        conv2d_loops(reflected, conv.weight.data, conv.bias.data, (1, 1), ((0, 0), (0, 0)),
                     (1, 1), 1), norm)
    with no_grad():
        out = nn.Sequential(conv, norm).eval()(Tensor(x)).data
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("how", ["graph recorded", "training"])
def test_nothing_is_folded_where_a_backward_or_the_batch_statistics_need_the_modules(how):
    rng = np.random.default_rng(3)
    conv, norm = nn.Conv2d(2, 3, 3).double(), nn.BatchNorm2d(3).double()
    with_random_statistics(norm, rng)
    model = nn.Sequential(conv, norm)
    model.train(how == "training")
    x = rng.standard_normal((4, 2, 5, 5))
    before = norm.running_mean.copy()
    if how == "graph recorded":
        out = model(Tensor(x))
        out.backward(np.ones(out.shape))
        assert conv.weight.grad is not None and norm.weight.grad is not None
        expected = batch_norm_eval_loops(
            conv2d_loops(x, conv.weight.data, conv.bias.data, (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
            norm)
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-10)
    else:
        with no_grad():
            model(Tensor(x))
        assert not np.array_equal(norm.running_mean, before)  # the batch's statistics were used


RESIDUAL = """
import torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(4)
    def forward(self, x):
        a = self.conv1(x)
        b = self.bn1(a)
        return self.bn2(self.conv2(b)) + a
"""


def test_a_graph_folds_only_a_conv_whose_output_nothing_else_reads():
    # conv1's output also feeds the residual add: folding bn1 into it would lose that value.
    model = build_model(parse_spec(RESIDUAL, None, (2, 6, 6)).graph).double().eval()
    rng = np.random.default_rng(4)
    for norm in (model.bn1, model.bn2):
        with_random_statistics(norm, rng)
    names = [step.name for step in model._inference_steps()]
    assert "conv1" in names and "conv2" not in names
    assert isinstance(model._inference_steps()[names.index("bn2")].modules[0], FoldedConvBatchNorm)
    x = rng.standard_normal((2, 2, 6, 6))
    same = ((1, 1), (1, 1))
    a = conv2d_loops(x, model.conv1.weight.data, None, (1, 1), same, (1, 1), 1)
    b = batch_norm_eval_loops(a, model.bn1)
    c = conv2d_loops(b, model.conv2.weight.data, model.conv2.bias.data, (1, 1), same, (1, 1), 1)
    expected = batch_norm_eval_loops(c, model.bn2) + a
    with no_grad():
        np.testing.assert_allclose(model(Tensor(x)).data, expected, rtol=1e-10, atol=1e-10)
