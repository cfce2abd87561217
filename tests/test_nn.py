"""minigrad.engine.nn: registration of parameters and sub-modules, dotted names, state dicts, modes,
initialisation, the layers' values against numpy, repr and summary()."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from rich.console import Console

import minigrad as mg
from minigrad import Tensor, layers
from minigrad.engine import nn


def text_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=120, color_system=None), buffer


class Block(nn.Module):
    """A hand-written module: two layers, a loose parameter and a plain attribute."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.note = "not registered"
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5))

    def forward(self, x):
        return self.head(self.conv(x) * self.scale.reshape(1, 3, 1, 1))


# ---------------------------------------------------------------------------------------------
# Registration and names
# ---------------------------------------------------------------------------------------------

def test_assigned_parameters_and_modules_are_registered_with_dotted_names():
    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["scale", "conv.weight", "conv.bias", "head.1.weight", "head.1.bias"]
    assert [p.shape for p in block.parameters()] == [(3,), (3, 2, 3, 3), (3,), (5, 48), (5,)]
    assert [name for name, _ in block.named_modules()] == ["", "conv", "head", "head.0", "head.1"]
    assert block(Tensor(np.zeros((2, 2, 4, 4), dtype=np.float32))).shape == (2, 5)


def test_reassigning_and_deleting_attributes_updates_the_registry():
    block = Block()
    block.conv.bias = None                      # no longer a parameter
    block.scale = "a string now"
    assert [name for name, _ in block.named_parameters()] == ["conv.weight", "head.1.weight",
                                                              "head.1.bias"]
    del block.head
    assert [name for name, _ in block.named_parameters()] == ["conv.weight"]
    block.extra = nn.Linear(2, 2)
    assert [name for name, _ in block.named_parameters()][-2:] == ["extra.weight", "extra.bias"]


def test_a_shared_parameter_is_listed_once():
    first = nn.Linear(3, 3)
    second = nn.Linear(3, 3)
    second.weight = first.weight
    model = nn.Sequential(first, second)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_assigning_before_super_init_is_a_clear_error():
    class Forgot(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match=re.escape("call super().__init__() first")):
        Forgot()


def test_parameter_dtype_and_requires_grad():
    assert nn.Parameter([1, 2]).dtype == np.float32
    assert nn.Parameter([1.5, 2.5]).dtype == np.float32       # Python floats, as Tensor does
    assert nn.Parameter(np.zeros(2, dtype=np.int64)).dtype == np.float32
    assert nn.Parameter(np.zeros(2)).dtype == np.float64      # float64 stays, for gradient checks
    assert nn.Parameter(np.zeros(2)).requires_grad
    assert repr(nn.Parameter([1.0])).startswith("Parameter(")


def test_sequential_is_iterable_indexable_and_sized():
    layers = [nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)]
    model = nn.Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    with pytest.raises(TypeError, match="item 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_named_buffers():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    assert [name for name, _ in model.named_buffers()] == ["1.running_mean", "1.running_var"]


# ---------------------------------------------------------------------------------------------
# State dicts
# ---------------------------------------------------------------------------------------------

def _model():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))


def test_state_dict_holds_copies_of_parameters_and_buffers():
    model = _model()
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias",
                           "1.running_mean", "1.running_var"]
    before = model[0].weight.data.copy()
    state["0.weight"] += 100
    state["1.running_var"][:] = -1
    np.testing.assert_array_equal(model[0].weight.data, before)
    np.testing.assert_array_equal(model[1].running_var, np.ones(2))


def test_load_state_dict_round_trip_keeps_arrays_and_dtypes():
    source, target = _model(), _model()
    source[1].running_mean[:] = [0.5, -0.5]
    weight_array = target[3].weight.data
    state = {k: v.astype(np.float64) for k, v in source.state_dict().items()}
    assert target.load_state_dict(state) == ([], [])
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert target[3].weight.data is weight_array            # loaded in place
    assert target[3].weight.dtype == np.float32              # float64 values, float32 model
    np.testing.assert_array_equal(target[1].running_mean, [0.5, -0.5])


def test_load_state_dict_errors_name_every_problem_and_load_nothing():
    model = _model()
    state = model.state_dict()
    original = model.state_dict()
    bad = dict(state)
    del bad["0.bias"]
    bad["9.weight"] = np.zeros(2)
    bad["3.weight"] = np.zeros((8, 3))
    bad["1.bias"] = np.ones(2) * 7
    with pytest.raises(ValueError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert "missing keys: 0.bias" in message
    assert "unexpected keys: 9.weight" in message
    assert "3.weight" in message and "(3, 8)" in message and "(8, 3)" in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, original[name], err_msg=name)


def test_load_state_dict_non_strict_still_refuses_shape_mismatches():
    model = _model()
    state = model.state_dict()
    del state["0.bias"]
    state["extra"] = np.zeros(1)
    assert model.load_state_dict(state, strict=False) == (["0.bias"], ["extra"])
    state["3.bias"] = np.zeros(4)
    with pytest.raises(ValueError, match="3.bias"):
        model.load_state_dict(state, strict=False)
    with pytest.raises(ValueError, match="0.weight"):
        model.load_state_dict({**model.state_dict(), "0.weight": np.full((2, 1, 3, 3), "x")})


# ---------------------------------------------------------------------------------------------
# Modes, dropout, zero_grad
# ---------------------------------------------------------------------------------------------

def test_train_and_eval_reach_every_module():
    block = Block()
    assert all(m.training for _, m in block.named_modules())
    assert block.eval() is block
    assert not any(m.training for _, m in block.named_modules())
    block.train()
    assert all(m.training for _, m in block.named_modules())


def test_dropout_is_the_identity_in_eval_and_inverted_dropout_in_training():
    x = Tensor(np.random.default_rng(0).uniform(1, 2, (50, 40)).astype(np.float32))
    layer = nn.Dropout(0.25)
    mg.manual_seed(0)
    out = layer(x).data
    kept = out != 0
    assert 0.2 < 1 - kept.mean() < 0.3
    np.testing.assert_allclose(out[kept], x.data[kept] / 0.75, rtol=1e-6)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.0)


def test_zero_grad_clears_every_gradient():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    model(Tensor(np.ones((4, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# Layers against numpy
# ---------------------------------------------------------------------------------------------

def test_batchnorm2d_running_statistics_follow_numpy():
    rng = np.random.default_rng(1)
    layer = nn.BatchNorm2d(3, momentum=0.2)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(5.0, 2.0, (4, 3, 5, 6)).astype(np.float32)
        layer(Tensor(x))
        per_channel = x.astype(np.float64).transpose(1, 0, 2, 3).reshape(3, -1)
        mean = 0.8 * mean + 0.2 * per_channel.mean(axis=1)
        var = 0.8 * var + 0.2 * per_channel.var(axis=1, ddof=1)      # unbiased, as PyTorch
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-5)
    layer.eval()
    x = rng.normal(5.0, 2.0, (2, 3, 2, 2)).astype(np.float32)
    out = layer(Tensor(x)).data
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-5)   # eval leaves them


def test_batchnorm2d_on_flat_features():
    x = np.random.default_rng(2).normal(3, 2, (8, 5))
    out = nn.BatchNorm2d(5)(Tensor(x)).data
    np.testing.assert_allclose(out.mean(axis=0), np.zeros(5), atol=1e-6)
    np.testing.assert_allclose(out.var(axis=0), np.ones(5), rtol=1e-3)


def test_linear_and_conv_compute_what_their_weights_say():
    rng = np.random.default_rng(3)
    linear = nn.Linear(4, 3)
    linear.bias.data[:] = [1, 2, 3]
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(linear(Tensor(x)).data, x @ linear.weight.data.T + [1, 2, 3],
                               rtol=1e-5)
    conv = nn.Conv2d(2, 1, 1, bias=False)
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    w = conv.weight.data[0, :, 0, 0]
    np.testing.assert_allclose(conv(Tensor(x)).data[0, 0], w[0] * x[0, 0] + w[1] * x[0, 1],
                               rtol=1e-5)


def test_channel_linear_mixes_the_channels_at_every_position():
    rng = np.random.default_rng(4)
    layer = nn.ChannelLinear(3, 2)
    layer.bias.data[:] = [0.5, -0.5]
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    out = layer(Tensor(x)).data
    bias = np.array([0.5, -0.5])[:, None, None]
    expected = np.einsum("nchw,oc->nohw", x, layer.weight.data) + bias
    assert out.shape == (2, 2, 4, 5)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_pool_and_activation_modules():
    x = Tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).data[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert nn.MaxPool2d(3, 2, ceil_mode=True)(x).shape == (1, 1, 2, 2)   # floor would give 1
    assert nn.GlobalAvgPool2d()(x).shape == (1, 1)
    assert nn.GlobalAvgPool2d(keepdims=True)(x).data[0, 0, 0, 0] == 7.5
    assert nn.Flatten()(x).shape == (1, 16)
    v = Tensor(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(nn.ReLU()(v).data, [[0, 0, 2]])
    np.testing.assert_allclose(nn.Sigmoid()(v).data, 1 / (1 + np.exp(-v.data)))
    np.testing.assert_allclose(nn.Tanh()(v).data, np.tanh(v.data))
    softmax = np.exp(v.data) / np.exp(v.data).sum()
    np.testing.assert_allclose(nn.Softmax()(v).data, softmax)
    np.testing.assert_allclose(nn.LogSoftmax()(v).data, np.log(softmax))


def test_strided_same_convolution_is_refused_at_construction():
    with pytest.raises(ValueError, match="same"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")


# ---------------------------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("init, bound", [("he", math.sqrt(6 / 800)),
                                         ("glorot", math.sqrt(6 / (800 + 600)))])
def test_linear_init_is_uniform_within_its_bound(init, bound):
    mg.manual_seed(0)
    layer = nn.Linear(800, 600, init=init)
    w = layer.weight.data
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound                     # it reaches the bound
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.01          # uniform: variance b²/3
    assert abs(w.mean()) < 0.01 * bound
    np.testing.assert_array_equal(layer.bias.data, np.zeros(600))


def test_conv_init_fans_include_the_kernel_area():
    mg.manual_seed(1)
    layer = nn.Conv2d(16, 32, 5, init="glorot")
    bound = math.sqrt(6 / (16 * 25 + 32 * 25))
    w = layer.weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.03
    he = nn.Conv2d(16, 32, 5, init="he").weight.data
    assert np.abs(he).max() <= math.sqrt(6 / 400) and np.abs(he).max() > 0.99 * math.sqrt(6 / 400)


def test_init_is_repeatable_from_the_seed_and_checked():
    mg.manual_seed(7)
    a = nn.Linear(5, 4).weight.data.copy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(5, 4).weight.data, a)
    with pytest.raises(ValueError, match="init"):
        nn.Linear(2, 2, init="normal")


# ---------------------------------------------------------------------------------------------
# repr and summary()
# ---------------------------------------------------------------------------------------------

def test_repr_reads_like_pytorch():
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
                          nn.Flatten(), nn.Linear(5408, 10, bias=False))
    text = repr(model)
    lines = text.splitlines()
    assert lines[0] == "Sequential("
    assert lines[1] == "  (0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"
    assert lines[2] == "  (1): ReLU()"
    assert lines[-1] == ")"
    assert "(5): Linear(in_features=5408, out_features=10, bias=False)" in text
    assert "Dropout(p=0.25)" in text and "MaxPool2d(kernel_size=(2, 2)" in text
    nested = repr(Block())
    assert "  (head): Sequential(\n    (0): Flatten(start_dim=1)" in nested
    assert "padding=(1, 1)" in repr(nn.Conv2d(1, 1, 3, padding=1))
    assert "padding=((0, 1), (0, 1))" in repr(nn.Conv2d(1, 1, 2, padding=((0, 1), (0, 1))))
    assert repr(nn.BatchNorm2d(8)) == "BatchNorm2d(8, eps=1e-05, momentum=0.1)"


def test_summary_of_a_hand_built_model_needs_an_input_shape_and_totals_its_parameters():
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
    with pytest.raises(ValueError, match="input_shape"):
        model.summary()
    console, buffer = text_console()
    model.summary((1, 28, 28), console=console)
    text = buffer.getvalue()
    # PyTorch's count: the parameter arrays; BatchNorm's running mean and variance are buffers
    trainable = sum(p.size for p in model.parameters())
    buffers = sum(b.size for _, b in model.named_buffers())
    assert f"{trainable:,} total · {trainable:,} trainable" in text
    assert f"buffers  {buffers:,} " in text
    assert "C×H×W" in text
    assert re.search(r"8×14×14", text)


def test_layers_describe_themselves_in_minigrad_shapes_terms():
    conv = nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), dilation=1, bias=False)
    assert conv.layer() == layers.Conv(filters=8, kernel=(3, 5), stride=(2, 2), padding=(1, 2),
                                       bias=False, in_channels=3)
    assert nn.Linear(4, 2).layer() == layers.Dense(units=2, in_features=4)
    assert nn.MaxPool2d(3, 2, 1, ceil_mode=True).layer() == layers.Pool(
        mode="max", kernel=(3, 3), stride=(2, 2), padding=(1, 1), ceil=True)
    assert nn.BatchNorm2d(6).layer() == layers.BatchNorm(num_features=6)
    assert nn.Dropout(0.3).layer() == layers.Dropout(rate=0.3)
    assert nn.LogSoftmax().layer() == layers.Activation(fn="log_softmax")
    with pytest.raises(ValueError, match="before and after"):
        nn.Conv2d(1, 1, 2, padding=((0, 1), (0, 1))).layer()
    with pytest.raises(ValueError, match="ChannelLinear"):
        nn.ChannelLinear(2, 2).layer()
