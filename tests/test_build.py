"""minigrad.tools.build.build_model: parameter counts against published figures and against the layer
arithmetic, forward shapes against minigrad.kinds.analyze, Keras 'same' padding against hand-
worked TensorFlow results, gradients of whole built models against finite differences."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from rich.console import Console

import minigrad as mg
import minigrad.engine.functional as F
from minigrad import SpecError, Tensor
from minigrad.engine import nn
from minigrad.layers import shapes
from minigrad import layers as kinds
from minigrad.tools.build import build_model
from minigrad.readers import PRESETS, load_spec, parse_spec

# Trainable parameter counts as published (Keras summaries, torchvision, the papers), not computed
# here; for the graph presets, as PyTorch 2.13 and Keras 3 count them (engine_goldens/presets.json).
PUBLISHED_PARAMS = {"lenet5": 61_706, "alexnet": 61_100_840, "vgg16": 138_357_544,
                    "simple-convnet": 433_890, "mnist-cnn": 1_625_866,
                    "mnist-cnn-dropout": 1_199_882, "shapes-cnn": 178} | {
    name: record["trainable_params"] for name, record in json.loads(
        (Path(__file__).parent / "engine_goldens" / "presets.json").read_text()).items()}
# Forward passes at 224×224 through VGG16 take too long for the default suite.
SMALL_INPUT = {"vgg16": (32, 32, 3)}


def n_params(model: nn.Module) -> int:
    return sum(p.size for p in model.parameters())


def dsl(text: str) -> kinds.Network:
    return parse_spec(text, "dsl").network


def torch_net(code: str, input_shape) -> kinds.Network:
    return parse_spec(code, "pytorch", input_shape).network


def chw(network: kinds.Network, shape) -> tuple[int, ...]:
    return shapes.convert_shape(tuple(shape), network.layout, "chw")


def forward(model, network, n=2, seed=0):
    """model(x) for n random samples of the input `network` (a Network or LayerGraph) states."""
    if isinstance(network, kinds.LayerGraph):
        network = kinds.Network(network.nodes[0].layer.shape, (), network.layout)
    shape = chw(network, network.input_shape)
    x = np.random.default_rng(seed).standard_normal((n,) + shape).astype(np.float32)
    with mg.no_grad():
        return model(Tensor(x))


# ---------------------------------------------------------------------------------------------
# Presets: parameter counts and forward shapes
# ---------------------------------------------------------------------------------------------

def test_every_preset_has_a_published_count():
    assert set(PUBLISHED_PARAMS) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_parameter_counts(name):
    """Two independent computations: the sizes of the arrays built, and the layer arithmetic."""
    graph = load_spec(name).graph
    model = build_model(graph)
    assert n_params(model) == kinds.analyze_graph(graph).trainable_params == PUBLISHED_PARAMS[name]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_forward_gives_the_last_rows_shape(name):
    graph = load_spec(name, input_shape=SMALL_INPUT.get(name)).graph
    model = build_model(graph)
    out = forward(model, graph)
    expected = shapes.convert_shape(kinds.analyze_graph(graph).rows[-1].output_shape,
                                    graph.layout, "chw")
    assert out.shape == (2,) + expected
    assert out.dtype == np.float32
    assert np.isfinite(out.data).all()


def test_mnist_cnn_summary_shows_the_published_total():
    network = load_spec("mnist-cnn").network
    model = build_model(network)
    assert n_params(model) == 1_625_866
    buffer = io.StringIO()
    model.summary(console=Console(file=buffer, width=120, color_system=None))
    text = buffer.getvalue()
    assert "1,625,866" in text
    assert "H×W×C" in text and "28×28×32" in text      # the spec's own layout


def test_summary_of_a_built_model_with_another_input_shape():
    model = build_model(dsl("input 8x8x1; conv 4 3x3; globalavgpool; dense 2"))
    buffer = io.StringIO()
    model.summary((16, 16, 1), console=Console(file=buffer, width=120, color_system=None))
    assert "14×14×4" in buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Every layer type, and shapes against analyze()
# ---------------------------------------------------------------------------------------------

@st.composite
def windowed_networks(draw):
    """Convs and pools under Keras rules ('same' / 'valid', H×W×C) or PyTorch's (explicit
    padding, ceil_mode, C×H×W)."""
    keras = draw(st.booleans())
    h, w, c = draw(st.integers(1, 12)), draw(st.integers(1, 12)), draw(st.integers(1, 3))
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        if draw(st.booleans()):
            dilation = (1, 1) if stride != (1, 1) else (draw(st.integers(1, 2)),) * 2
            if keras or (stride == (1, 1) and draw(st.booleans())):  # PyTorch: 'same' at stride 1
                padding = draw(st.sampled_from(["same", "valid"]))
            else:
                padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            layers.append(kinds.Conv(filters=draw(st.integers(1, 3)), kernel=kernel, stride=stride,
                                      padding=padding, dilation=dilation,
                                      activation=draw(st.sampled_from([None, "relu", "tanh"]))))
        else:
            if keras:
                padding, ceil = draw(st.sampled_from(["same", "valid"])), False
            else:
                padding = (draw(st.integers(0, kernel[0] // 2)),
                           draw(st.integers(0, kernel[1] // 2)))
                ceil = draw(st.booleans())
            layers.append(kinds.Pool(mode=draw(st.sampled_from(["max", "avg"])), kernel=kernel,
                                      stride=draw(st.sampled_from([None, stride])),
                                      padding=padding, ceil=ceil))
    input_shape = (h, w, c) if keras else (c, h, w)
    return kinds.Network(input_shape, tuple(layers), "hwc" if keras else "chw",
                          "keras" if keras else "torch")


@given(network=windowed_networks(), seed=st.integers(0, 2**32 - 1))
def test_built_convs_and_pools_produce_the_shapes_analyze_predicts(network, seed):
    try:
        summary = kinds.analyze(network)
    except SpecError:
        assume(False)
    for k in range(1, len(network.layers) + 1):  # every prefix: each layer's own output
        prefix = replace(network, layers=network.layers[:k])
        out = forward(build_model(prefix), prefix, seed=seed)
        assert out.shape[1:] == chw(network, summary.rows[k].output_shape)
        layer, before = network.layers[k - 1], chw(network, summary.rows[k - 1].output_shape)
        if layer.padding == "same":  # TensorFlow: ceil(H / S), whatever the kernel
            stride = layer.stride or layer.kernel
            assert out.shape[2:] == (math.ceil(before[1] / stride[0]),
                                     math.ceil(before[2] / stride[1]))


def test_keras_same_convolution_at_stride_2_by_hand():
    """TensorFlow pads a 4×4 input for a 3×3 kernel at stride 2 by 0 before and 1 after."""
    model = build_model(dsl("input 4x4x1; conv 1 3x3 stride=2 padding=same"))
    model.load_state_dict({"0.weight": np.ones((1, 1, 3, 3)), "0.bias": np.zeros(1)})
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    out = model(Tensor(x.reshape(1, 1, 4, 4))).data[0, 0]
    np.testing.assert_array_equal(out, [[x[0:3, 0:3].sum(), x[0:3, 2:4].sum()],
                                        [x[2:4, 0:3].sum(), x[2:4, 2:4].sum()]])


def test_keras_same_pools_by_hand():
    """TensorFlow's 'same' pools of a 3×3 input: the padding never wins a max and is not
    counted in an average."""
    x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    average = build_model(dsl("input 3x3x1; avgpool 2 padding=same"))
    np.testing.assert_array_equal(average(Tensor(x)).data[0, 0], [[2, 3.5], [6.5, 8]])
    maximum = build_model(dsl("input 3x3x1; maxpool 2 padding=same"))
    np.testing.assert_array_equal(maximum(Tensor(-x)).data[0, 0], [[0, -2], [-6, -8]])


def test_pytorch_ceil_mode_pools():
    """GoogLeNet's MaxPool2d(3, stride=2, ceil_mode=True): 6 -> ceil(3 / 2) + 1 = 3, not 2."""
    for pool in ("MaxPool2d", "AvgPool2d"):
        network = torch_net(f"model = nn.Sequential(nn.{pool}(3, stride=2, ceil_mode=True))",
                            (1, 6, 6))
        x = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)
        out = build_model(network)(Tensor(x)).data[0, 0]
        assert out.shape == (3, 3)
        last = x[0, 0, 4:6, 4:6]  # the last window holds only the last two rows and columns
        assert out[2, 2] == (last.max() if pool == "MaxPool2d" else last.mean())


def test_pytorch_average_pools_count_their_padding():
    network = torch_net("model = nn.Sequential(nn.AvgPool2d(2, padding=1))", (1, 2, 2))
    out = build_model(network)(Tensor(np.ones((1, 1, 2, 2), dtype=np.float32)))
    np.testing.assert_array_equal(out.data[0, 0], np.full((2, 2), 0.25))


def test_dense_on_a_feature_map_follows_each_frameworks_layout():
    keras = dsl("input 4x4x3; dense 5")
    model = build_model(keras)
    assert isinstance(model[0], nn.ChannelLinear) and model[0].weight.shape == (5, 3)
    assert forward(model, keras).shape == (2, 5, 4, 4)
    torch = torch_net("model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 5))", (1, 6, 6))
    model = build_model(torch)
    linear = dict(model.named_modules())["1"]   # PyTorch's own name for it
    assert type(linear) is nn.Linear and linear.weight.shape == (5, 4)
    assert forward(model, torch).shape == (2, 2, 4, 5)


def test_adaptive_and_global_average_pools():
    network = torch_net("model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d((2, 2)))",
                        (1, 10, 10))
    model = build_model(network)
    x = Tensor(np.random.default_rng(0).standard_normal((1, 1, 10, 10)).astype(np.float32))
    conv_out = dict(model.named_modules())["0"](x).data
    expected = conv_out.reshape(1, 4, 2, 4, 2, 4).mean(axis=(3, 5))   # 4×4 blocks
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-5, atol=1e-6)
    one = torch_net("model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1))", (1, 5, 5))
    assert forward(build_model(one), one).shape == (2, 4, 1, 1)
    keras = dsl("input 5x5x1; conv 4 3x3; globalavgpool")
    assert forward(build_model(keras), keras).shape == (2, 4)


def test_batchnorm_on_maps_and_on_features():
    model = build_model(dsl("input 6x6x2; conv 3 3x3; batchnorm; flatten; dense 4; batchnorm"))
    assert [type(m) for m in model] == [nn.Conv2d, nn.BatchNorm2d, nn.Flatten, nn.Linear,
                                        nn.BatchNorm1d]
    assert model[1].num_features == 3 and model[4].num_features == 4
    assert forward(model, model.network).shape == (2, 4)


# ---------------------------------------------------------------------------------------------
# Activations, the folded softmax, initialisation
# ---------------------------------------------------------------------------------------------

def test_final_softmax_is_left_to_the_loss():
    model = build_model(load_spec("lenet5").network)
    assert model.output_activation == "softmax"
    assert isinstance(model[-1], nn.Linear) and model[-1].out_features == 10
    logsoft = build_model(dsl("input 4; dense 3; log_softmax"))
    assert logsoft.output_activation == "log_softmax" and len(logsoft) == 1
    torch = build_model(torch_net("model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))",
                                  (4,)))
    x = Tensor(np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32))
    assert torch.output_activation == "softmax"   # the logits come out: the loss applies it
    np.testing.assert_array_equal(torch(x).data, dict(torch.named_modules())["0"](x).data)
    plain = build_model(dsl("input 4; dense 3 relu"))
    assert plain.output_activation is None and isinstance(plain[-1], nn.ReLU)
    middle = build_model(dsl("input 4; dense 3 softmax; dense 2; linear"))
    assert middle.output_activation is None
    assert [type(m) for m in middle] == [nn.Linear, nn.Softmax, nn.Linear]
    x = Tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    np.testing.assert_allclose(middle[1](middle[0](x)).data.sum(axis=1), np.ones(5), rtol=1e-6)


def test_activations_become_modules():
    model = build_model(dsl("input 3x3x1; conv 2 1x1 tanh; sigmoid; flatten; dense 2 relu; "
                            "dense 2"))
    assert [type(m) for m in model] == [nn.Conv2d, nn.Tanh, nn.Sigmoid, nn.Flatten, nn.Linear,
                                        nn.ReLU, nn.Linear]


def _max_abs(model, index):
    """The largest initial weight of module `index` (its name, in a model of PyTorch code)."""
    module = model[index] if isinstance(model, nn.Sequential) else dict(model.named_modules())[str(index)]
    return float(np.abs(module.weight.data).max())


def test_auto_init_uses_he_before_relu_and_glorot_otherwise():
    mg.manual_seed(0)
    network = dsl("input 8x8x64; conv 64 3x3 relu; conv 64 3x3 tanh; conv 64 3x3; relu")
    he, glorot = math.sqrt(6 / 576), math.sqrt(6 / (576 + 576))
    model = build_model(network)  # conv, relu, conv, tanh, conv, relu
    assert glorot < 0.98 * he
    assert 0.99 * he < _max_abs(model, 0) <= he
    assert 0.99 * glorot < _max_abs(model, 2) <= glorot
    assert 0.99 * he < _max_abs(model, 4) <= he     # an activation layer right after counts
    forced = build_model(network, init="glorot")
    assert _max_abs(forced, 0) <= glorot
    forced = build_model(network, init="he")
    assert _max_abs(forced, 2) > 0.99 * he
    torch = build_model(torch_net("model = nn.Sequential(nn.Conv2d(64, 64, 3), nn.ReLU())",
                                  (64, 8, 8)))
    assert _max_abs(torch, 0) > 0.99 * he
    with pytest.raises(ValueError, match="init"):
        build_model(network, init="xavier")


def test_parameters_are_named_for_graph_renderings():
    model = build_model(load_spec("shapes-cnn").network)
    assert [p.name for p in model.parameters()] == [name for name, _ in model.named_parameters()]
    assert model.parameters()[0].name == "0.weight"


def test_networks_that_do_not_fit_raise_spec_errors_naming_the_layer():
    with pytest.raises(SpecError, match="conv2d"):
        build_model(dsl("input 4x4x1; conv 2 5x5"))
    with pytest.raises(SpecError, match="input"):
        build_model(kinds.Network(None, (kinds.Flatten(),)))


# ---------------------------------------------------------------------------------------------
# Gradients of whole built models
# ---------------------------------------------------------------------------------------------

def check_model_gradients(model, x, y, seed_before_forward=None, rtol=1e-5, atol=1e-7):
    """Every parameter's gradient of cross_entropy(model(x), y) == central differences (float64)."""
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    x = Tensor(x.astype(np.float64))

    def loss():
        if seed_before_forward is not None:
            mg.manual_seed(seed_before_forward)  # the same dropout mask every time
        return F.cross_entropy(model(x), y)

    model.zero_grad()
    loss().backward()
    eps = 1e-6
    for name, p in model.named_parameters():
        numeric = np.zeros_like(p.data)
        for idx in np.ndindex(p.shape):
            original = p.data[idx]
            p.data[idx] = original + eps
            with mg.no_grad():
                plus = loss().item()
            p.data[idx] = original - eps
            with mg.no_grad():
                minus = loss().item()
            p.data[idx] = original
            numeric[idx] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(p.grad, numeric, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_of_a_tiny_built_model(seed):
    mg.manual_seed(seed)
    model = build_model(dsl("input 6x6x1; conv 2 3x3 padding=same relu; maxpool 2; flatten; "
                            "dense 3 softmax"))
    rng = np.random.default_rng(seed)
    check_model_gradients(model, rng.standard_normal((4, 1, 6, 6)), rng.integers(0, 3, 4))


@pytest.mark.parametrize("seed", [0, 1])
def test_gradients_through_batchnorm_dropout_same_pools_and_channel_dense(seed):
    mg.manual_seed(seed)
    model = build_model(dsl("input 7x7x2; conv 3 3x3 stride=2 padding=same; batchnorm; relu; "
                            "avgpool 2 padding=same; dense 4 tanh; flatten; dropout 0.3; "
                            "dense 3 softmax"))
    assert isinstance(model[3], nn.AvgPool2d) and not model[3].count_include_pad
    assert isinstance(model[4], nn.ChannelLinear)
    rng = np.random.default_rng(seed)
    check_model_gradients(model, rng.standard_normal((4, 2, 7, 7)), rng.integers(0, 3, 4),
                          seed_before_forward=seed)


def test_gradients_of_a_pytorch_style_model():
    mg.manual_seed(3)
    network = torch_net("""\
model = nn.Sequential(
    nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, ceil_mode=True),
    nn.AvgPool2d(2, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4),
    nn.LogSoftmax(dim=1))
""", (2, 6, 6))
    model = build_model(network)
    assert model.output_activation == "log_softmax"
    rng = np.random.default_rng(3)
    check_model_gradients(model, rng.standard_normal((3, 2, 6, 6)), rng.integers(0, 4, 3))


@pytest.mark.parametrize("layer, shape, message", [
    (kinds.Pad(padding=1, mode="circular"), (4, 4, 2), "circular padding"),
    (kinds.Normalization(axis=-1), (4, 4, 2), "Normalization"),
    (kinds.Augment(kind="RandomFlip"), (4, 4, 2), "RandomFlip.*cnncalc train --augment"),
    (kinds.Resizing(height=3, width=3, interpolation="nearest"), (4, 4, 2), "'nearest'"),
])
def test_kinds_the_engine_cannot_compute_are_refused_by_name(layer, shape, message):
    with pytest.raises(SpecError, match=message):
        build_model(kinds.Network(shape, (layer,)))


@pytest.mark.parametrize("layer, shape", [
    (kinds.Conv(filters=2, kernel=(3,)), (8, 1)),
    (kinds.Conv(filters=2, kernel=(3,), padding="same", stride=(2,)), (8, 3)),
    (kinds.Conv(filters=4, kernel=(3, 3), groups=2), (4, 4, 2)),
    (kinds.GlobalPool(mode="max"), (4, 4, 2)),
    (kinds.Activation(fn="gelu"), (4, 4, 2)),
    (kinds.AdaptivePool(mode="avg", output=(3, 3)), (4, 4, 2)),
    (kinds.ConvTranspose(filters=3, kernel=(3, 3), stride=(2, 2), padding="same"), (5, 5, 2)),
    (kinds.SeparableConv(filters=3, kernel=(3, 3), padding="same"), (5, 5, 2)),
    (kinds.Upsample(scale=(2,), mode="bilinear"), (3, 3, 2)),
    (kinds.Reshape(target=(2, 8)), (4, 4, 1)),
    (kinds.Elementwise(op="rdiv", operand=2.0), (4, 4, 1)),
    (kinds.Resizing(height=3, width=5), (4, 4, 2)),
    (kinds.PReLU(shared_axes=(0, 1)), (4, 4, 2)),
    (kinds.Dropout(rate=0.5, variant="spatial_dropout"), (6, 3)),
])
def test_kinds_once_refused_now_build_to_the_analysed_shape(layer, shape):
    network = kinds.Network(shape, (layer,))
    out = forward(build_model(network), network)
    assert out.shape == (2,) + chw(network, kinds.analyze(network).rows[-1].output_shape)


def test_batch_norm_takes_the_codes_eps_and_momentum_else_its_frameworks():
    def norm_of(model):
        return next(m for _, m in model.named_modules() if isinstance(m, nn.BatchNorm2d))

    keras = norm_of(build_model(dsl("input 6x6x2; conv 3 3x3; batchnorm")))
    assert (keras.eps, keras.momentum) == (1e-3, pytest.approx(0.01))   # Keras' 1e-3 and 0.99
    given = parse_spec("model = Sequential([Input((6, 6, 2)), BatchNormalization(momentum=0.9, "
                       "epsilon=0.01)])", "keras").graph
    assert (norm_of(build_model(given)).eps, norm_of(build_model(given)).momentum) == (
        0.01, pytest.approx(0.1))
    torch = norm_of(build_model(torch_net("model = nn.Sequential(nn.BatchNorm2d(2))", (2, 6, 6))))
    assert (torch.eps, torch.momentum) == (1e-5, 0.1)
