"""The plans Sequential and GraphModel run (minigrad/engine/nn/plan.py) compute what the modules
compute in the written order, against loops written here:
- a ReLU then a max pool, run as the pool then the ReLU: values and every gradient, ties included;
- batch norm folded into the conv before it (no graph, eval mode); with a graph, or while
  training, nothing is folded and gradients reach the modules' own parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, nn, no_grad
from minigrad.engine.nn.plan import FoldedConvBatchNorm
from minigrad.readers import parse_spec
from minigrad.tools.build import build_model

from test_engine_forward import max_pool2d_backward_loops, pool2d_loops
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
        assert isinstance(model._plan()[0], FoldedConvBatchNorm)  # the folded route ran
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
    x = rng.standard_normal((2, 2, 6, 6))
    same = ((1, 1), (1, 1))
    a = conv2d_loops(x, model.conv1.weight.data, None, (1, 1), same, (1, 1), 1)
    b = batch_norm_eval_loops(a, model.bn1)
    c = conv2d_loops(b, model.conv2.weight.data, model.conv2.bias.data, (1, 1), same, (1, 1), 1)
    expected = batch_norm_eval_loops(c, model.bn2) + a
    with no_grad():
        np.testing.assert_allclose(model(Tensor(x)).data, expected, rtol=1e-10, atol=1e-10)
        steps = {step.name: step for step in model._plan()}
    assert "conv1" in steps and "conv2" not in steps
    assert isinstance(steps["bn2"].modules[0], FoldedConvBatchNorm)


# ---------------------------------------------------------------------------------------------
# ReLU then max pool, run as max pool then ReLU
# ---------------------------------------------------------------------------------------------

def relu_then_pool_loops(x, upstream, kernel, stride, padding):
    """pool(relu(x)) and its gradient by loops: the pool's rule applied to relu(x), then
    relu's derivative (1 where x > 0, else 0)."""
    rectified = np.maximum(x, 0)
    kernel, stride, padding = (kernel, kernel), (stride, stride), (padding, padding)
    value = pool2d_loops(rectified, kernel, stride, padding, "max")
    dx = max_pool2d_backward_loops(rectified, upstream, kernel, stride, padding)
    return value, dx * (x > 0)


@given(seed=seeds, shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(2, 7),
                                   st.integers(2, 7)),
       pool=st.sampled_from([(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)]),
       ties=st.booleans())
def test_relu_then_max_pool_runs_swapped_with_the_same_values_and_gradients(seed, shape, pool,
                                                                           ties):
    kernel, stride, padding = pool
    if 2 * padding > kernel or shape[2] + 2 * padding < kernel or shape[3] + 2 * padding < kernel:
        return
    rng = np.random.default_rng(seed)
    # ties: few distinct values, zeros and negatives, so windows often hold several maxima,
    # or nothing but values the ReLU makes 0
    x = rng.integers(-2, 3, shape).astype(float) if ties else rng.standard_normal(shape)
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(kernel, stride, padding))
    assert [type(m) for m in model._plan()] == [nn.MaxPool2d, nn.ReLU]
    inputs = Tensor(x, requires_grad=True)
    out = model(inputs)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    value, dx = relu_then_pool_loops(x, upstream, kernel, stride, padding)
    np.testing.assert_allclose(out.data, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(inputs.grad, dx, rtol=1e-12, atol=1e-12)


POOLED = """
import torch.nn as nn
import torch.nn.functional as F
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
    def forward(self, x):
        a = F.relu(self.conv(x))
        return self.pool(a)
"""


def swapped_steps(model) -> int:
    """How many steps of the model's plan run a max pool straight before a ReLU."""
    return sum(any(type(a) is nn.MaxPool2d and type(b) is nn.ReLU
                   for a, b in zip(step.modules, step.modules[1:])) for step in model._plan())


def test_a_graph_swaps_relu_and_pool_only_where_the_relu_output_has_no_other_reader():
    model = build_model(parse_spec(POOLED, None, (1, 6, 6)).graph).double()
    assert swapped_steps(model) == 1
    rng = np.random.default_rng(5)
    x = Tensor(rng.standard_normal((2, 1, 6, 6)), requires_grad=True)
    out = model(x)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    conv = conv2d_loops(x.data, model.conv.weight.data, model.conv.bias.data, (1, 1),
                        ((1, 1), (1, 1)), (1, 1), 1)
    value, dconv = relu_then_pool_loops(conv, upstream, 2, 2, 0)
    np.testing.assert_allclose(out.data, value, rtol=1e-12, atol=1e-12)
    # dW by loops: each weight meets each input pixel its output pixel reads
    dweight = np.zeros_like(model.conv.weight.data)
    padded = np.pad(x.data, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for f in range(2):
        for i in range(3):
            for j in range(3):
                dweight[f, 0, i, j] = np.sum(dconv[:, f] * padded[:, 0, i:i + 6, j:j + 6])
    np.testing.assert_allclose(model.conv.weight.grad, dweight, rtol=1e-10, atol=1e-12)

    both = POOLED.replace("return self.pool(a)", "return self.pool(a), a")
    shared = build_model(parse_spec(both, None, (1, 6, 6)).graph).double()
    assert swapped_steps(shared) == 0  # the ReLU's map is an output too: kept in order


# ---------------------------------------------------------------------------------------------
# A ReLU or ReLU6 after a layer that made its array: clipped in place, without a graph
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation, low, high", [(nn.ReLU, 0, np.inf), (nn.ReLU6, 0, 6)])
def test_an_activation_after_a_layer_clips_that_layers_array_in_place(activation, low, high):
    rng = np.random.default_rng(6)
    linear, conv = nn.Linear(5, 4).double(), nn.Conv2d(1, 2, 3).double()
    for layer in (linear, conv):
        layer.weight.data = 4 * rng.standard_normal(layer.weight.shape)
    x, images = rng.standard_normal((3, 5)), rng.standard_normal((2, 1, 5, 5))
    dense_net = nn.Sequential(linear, activation()).eval()
    conv_net = nn.Sequential(conv, activation(), nn.MaxPool2d(2)).eval()
    expected_dense = np.clip(x @ linear.weight.data.T + linear.bias.data, low, high)
    conv_out = conv2d_loops(images, conv.weight.data, conv.bias.data, (1, 1), ((0, 0), (0, 0)),
                            (1, 1), 1)
    expected_conv = pool2d_loops(np.clip(conv_out, low, high), (2, 2), (2, 2), (0, 0), "max")
    with no_grad():
        for _ in range(2):  # the second call reuses arrays the first one made
            np.testing.assert_allclose(dense_net(Tensor(x)).data, expected_dense, rtol=1e-12)
            np.testing.assert_allclose(conv_net(Tensor(images)).data, expected_conv, rtol=1e-12)
        assert type(dense_net._plan()[1]).__name__ == "InPlaceActivation"
    assert type(dense_net._plan()[1]) is activation  # with a graph: the module itself


def test_an_activation_never_clips_an_array_the_caller_gave():
    # Identity and Flatten hand on their input (or a view of it): clipping it in place would
    # change the caller's array.
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    given = x.copy()
    for first in (nn.Identity(), nn.Flatten()):
        with no_grad():
            out = nn.Sequential(first, nn.ReLU()).eval()(Tensor(x)).data
        np.testing.assert_array_equal(x, given)
        np.testing.assert_array_equal(out, np.maximum(given, 0).reshape(out.shape))


def test_as_written_runs_the_modules_in_the_codes_order():
    # cnncalc graph draws the code's ops: inside as_written() the last op is the pool, as written
    from minigrad.engine.nn.plan import as_written
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4) - 8, requires_grad=True)
    assert model(x)._op.name == "ReLU"  # the plan: pooled first
    with as_written():
        assert model(x)._op.name == "MaxPool2d"


def test_a_chain_makes_its_plan_again_when_its_modules_change():
    rng = np.random.default_rng(7)
    conv, norm = nn.Conv2d(1, 2, 3).double(), nn.BatchNorm2d(2).double()
    with_random_statistics(norm, rng)
    model = nn.Sequential(conv, norm).eval()
    x = rng.standard_normal((1, 1, 4, 4))
    conv_out = conv2d_loops(x, conv.weight.data, conv.bias.data, (1, 1), ((0, 0), (0, 0)),
                            (1, 1), 1)
    with no_grad():
        np.testing.assert_allclose(model(Tensor(x)).data, batch_norm_eval_loops(conv_out, norm),
                                   rtol=1e-12)
        setattr(model, "1", nn.ReLU())  # the batch norm replaced: nothing left to fold
        np.testing.assert_allclose(model(Tensor(x)).data, np.maximum(conv_out, 0), rtol=1e-12)
