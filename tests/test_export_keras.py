"""The Keras export (minigrad/export/keras.py), checked against Keras itself (on PyTorch's
backend): the generated code is written to a file, imported and run.

- every corpus model: the code builds, Keras counts the parameters cnncalc counts under Keras'
  rules (BatchNorm's moving statistics included), the model's output shape is the analysis's
  (H×W×C), and with minigrad's weights copied in it computes what minigrad computes (all
  but the two largest models);
- trained presets and the graph models: code plus weights file give minigrad's outputs;
- the rules that are easy to get wrong: PyTorch padding that is not TensorFlow's 'same',
  ceil_mode and padded max pools (-inf, not zeros), and PyTorch's C, H, W flatten order.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import SpecError
from minigrad.engine import nn
from minigrad.export import for_model, for_spec, for_trained
from minigrad.export.keras import export
from minigrad.layers import analyze_graph
from minigrad.layers.shapes import convert_shape
from minigrad.readers import load_spec
from minigrad.tools.build import build_model

from corpus_models import CORPUS_MODELS, RANDOM_AUGMENTATION, corpus_spec
from export_fixtures import (GRAPH_MODELS, TOLERANCE, TRAINED_PRESETS, graph_model, inputs_for,
                             load_generated, minigrad_outputs, mnist_test_images, need, trained)

# corpus models small enough to also run through minigrad and Keras (multiply-adds per sample):
# all but the two largest, whose layers the others have
NUMERIC_CHECK_MACS = 3_000_000_000


def keras_model(exported, folder, name: str = "model"):
    """The exported model, built, its weights saved to the file the code names and loaded by the
    code's own load_weights."""
    need("keras")
    module = load_generated(exported.code, folder, name)
    model = module.build_model()
    if exported.weights is not None:
        np.savez(folder / module.WEIGHTS, **exported.weights)
        module.load_weights(model, folder / module.WEIGHTS)
    return model


def keras_outputs(model, xs: list[np.ndarray]) -> np.ndarray:
    """The model's (first) output for channels-first xs, channels first again."""
    channels_last = [np.moveaxis(x, 1, -1) if x.ndim >= 3 else x for x in xs]
    out = model.predict(channels_last if len(xs) > 1 else channels_last[0], verbose=0)
    out = np.asarray(out[0] if isinstance(out, (list, tuple)) else out)
    return np.moveaxis(out, -1, 1) if out.ndim >= 3 else out


def sample_inputs(model, exported, n: int) -> list[np.ndarray]:
    xs = inputs_for(model, n)
    if 'dtype="int32"' in exported.code:  # token ids for an embedding
        rng = np.random.default_rng(0)
        xs = [rng.integers(0, 100, x.shape) for x in xs]
    return xs


def keras_params(graph) -> int:
    """cnncalc's parameter count under Keras' rules (BatchNorm's moving mean and variance are
    Keras' non-trainable parameters)."""
    return analyze_graph(dataclasses.replace(graph, rules="keras")).total_params


# ---------------------------------------------------------------------------------------------
# Every corpus model
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("golden_path", CORPUS_MODELS, ids=lambda p: p.stem)
def test_corpus_model_builds_counts_and_computes(golden_path, tmp_path):
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    if golden["file"] in RANDOM_AUGMENTATION:
        with pytest.raises(SpecError, match="random"):
            export(for_spec(corpus_spec(golden)))
        return
    need("keras")
    spec = corpus_spec(golden)
    graph = spec.graph
    model = keras_model(export(for_spec(spec)), tmp_path)
    assert model.count_params() == keras_params(graph)
    summary = analyze_graph(graph)
    output = graph.outputs[0] if graph.outputs else len(graph.nodes) - 1
    expected = convert_shape(summary.rows[output].output_shape, graph.layout, "hwc")
    shape = model.output_shape[0] if isinstance(model.output_shape, list) else model.output_shape
    assert tuple(shape[1:]) == tuple(expected)

    if sum(row.macs for row in summary.rows) > NUMERIC_CHECK_MACS:
        return
    # with minigrad's weights, the export computes what minigrad computes
    minigrad.manual_seed(0)
    built = build_model(graph).eval()
    exported = export(for_model(built, graph, trained=True))
    twin = keras_model(exported, tmp_path, "trained")
    xs = sample_inputs(built, exported, 2)
    ours = minigrad_outputs(built, xs)
    np.testing.assert_allclose(keras_outputs(twin, xs), ours, rtol=0,
                               atol=TOLERANCE * (1 + np.abs(ours).max()))


def test_keras_counts_batch_norm_statistics(tmp_path):
    """A PyTorch model with BatchNorm2d: Keras counts 4 numbers per channel, PyTorch 2."""
    need("keras")
    spec = corpus_spec(json.loads(next(p for p in CORPUS_MODELS if p.stem == "resnet18_cifar")
                                  .read_text(encoding="utf-8")))
    model = keras_model(export(for_spec(spec)), tmp_path)
    torch_count = analyze_graph(spec.graph).total_params
    assert model.count_params() == keras_params(spec.graph) > torch_count
    assert sum(np.prod(w.shape) for w in model.trainable_weights) == torch_count


# ---------------------------------------------------------------------------------------------
# Trained models: code + weights give minigrad's outputs
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", TRAINED_PRESETS)
def test_trained_preset_round_trip(preset, tmp_path, tmp_path_factory):
    need("keras")
    modelfile = trained(preset, tmp_path_factory)
    exportable = for_trained(modelfile)
    exported = export(exportable, "net_weights.npz")
    assert exported.weights and not exported.warnings
    model = keras_model(exported, tmp_path)
    x = mnist_test_images(100)
    np.testing.assert_allclose(keras_outputs(model, [x]), minigrad_outputs(modelfile.model, [x]),
                               rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_graph_model_round_trip(name, tmp_path):
    need("keras")
    model, graph = graph_model(name)
    exported = export(for_model(model, graph, trained=True))
    xs = inputs_for(model, 100)
    np.testing.assert_allclose(keras_outputs(keras_model(exported, tmp_path), xs),
                               minigrad_outputs(model, xs), rtol=0, atol=TOLERANCE)


def test_generated_file_runs_as_a_script(tmp_path):
    need("keras")
    model, graph = graph_model("resnet")
    exported = export(for_model(model, graph, trained=True), "resnet_weights.npz")
    (tmp_path / "resnet.py").write_text(exported.code, encoding="utf-8")
    np.savez(tmp_path / "resnet_weights.npz", **exported.weights)
    run = subprocess.run([sys.executable, "resnet.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env={**os.environ, "KERAS_BACKEND": "torch"})
    assert run.returncode == 0, run.stderr
    assert "output shape: (2, 10)" in run.stdout


# ---------------------------------------------------------------------------------------------
# Exactness: PyTorch's paddings and flatten order in Keras' layout
# ---------------------------------------------------------------------------------------------

PYTORCH_SOURCE = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2, padding=1)   # 28 -> 14; TF 'same' pads (0, 1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)      # 14 -> 7, padded with -inf
        self.ceil = nn.MaxPool2d(2, ceil_mode=True)           # 7 -> 4
        self.bn = nn.BatchNorm2d(4, momentum=0.2)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = self.bn(self.ceil(self.pool(self.conv(x))))
        return self.fc(torch.flatten(x, 1))
"""


@pytest.fixture(scope="module")
def pytorch_net(tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "net.py"
    path.write_text(PYTORCH_SOURCE, encoding="utf-8")
    spec = load_spec(str(path), None, (1, 28, 28))
    minigrad.manual_seed(0)
    model = build_model(spec.graph)
    model.train()  # move the BatchNorm statistics away from 0 and 1
    model(minigrad.Tensor(np.random.default_rng(1).standard_normal((8, 1, 28, 28))
                          .astype(np.float32)))
    model.eval()
    return spec, model


def test_pytorch_paddings_are_exact(pytorch_net, tmp_path):
    need("keras")
    spec, model = pytorch_net
    exported = export(for_model(model, spec.graph, trained=True))
    code = exported.code
    assert 'padding="same"' not in code.split("MaxPooling2D(2")[0]  # not for conv and pool
    assert "layers.ZeroPadding2D(((1, 1), (1, 1))" in code
    assert 'Pad(((1, 0), (1, 0)), value=float("-inf")' in code  # the last window ends at 14
    assert 'MaxPooling2D(2, padding="same"' in code  # ceil_mode on 7: one pixel after
    keras_net = keras_model(exported, tmp_path)
    norm = keras_net.get_layer("bn")
    assert (norm.momentum, norm.epsilon, norm.axis) == (pytest.approx(0.8), 1e-5, -1)
    # negative inputs make zero padding differ from -inf at the edges
    x = -np.abs(np.random.default_rng(2).standard_normal((20, 1, 28, 28))).astype(np.float32)
    np.testing.assert_allclose(keras_outputs(keras_net, [x]), minigrad_outputs(model, [x]),
                               rtol=0, atol=TOLERANCE)


def test_pytorch_flatten_order(pytorch_net, tmp_path):
    """The code for the spec flattens C, H, W as PyTorch does: with minigrad's weights copied in
    it computes minigrad's outputs, and without the Permute it does not."""
    need("keras")
    spec, model = pytorch_net
    exportable = for_spec(spec)
    assert exportable.flatten_order == "chw"
    code = export(exportable).code
    assert "layers.Permute((3, 1, 2)" in code
    weights = export(for_model(model, spec.graph, trained=True)).weights
    x = np.random.default_rng(3).standard_normal((10, 1, 28, 28)).astype(np.float32)
    ours = minigrad_outputs(model, [x])
    outputs = []
    for name, variant in (("permuted", code),
                          ("plain", "\n".join(line for line in code.splitlines()
                                              if "layers.Permute(" not in line))):
        keras_net = load_generated(variant, tmp_path, name).build_model()
        for layer in keras_net.layers:
            layer.set_weights([weights[f"{layer.name}/{i}"] for i in range(len(layer.weights))])
        outputs.append(keras_outputs(keras_net, [x]))
    np.testing.assert_allclose(outputs[0], ours, rtol=0, atol=TOLERANCE)
    assert np.abs(outputs[1] - ours).max() > 1e-2


# modules the corpus has few of: reflect padding, grouped and dilated convs, a depth
# multiplier, output_padding, arithmetic, activations without a Keras layer of their own
TORCH_ZOO = """import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
        self.grouped = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.strided = nn.Conv2d(8, 8, 3, stride=2, padding=3, dilation=3)
        self.depthwise = nn.Conv2d(8, 16, 3, groups=8, bias=False)
        self.up = nn.ConvTranspose2d(16, 4, 3, stride=2, padding=1, output_padding=1)
        self.mish = nn.Mish()
        self.hsig = nn.Hardsigmoid()
        self.soft = nn.Softsign()
        self.gelu = nn.GELU(approximate="tanh")
        self.plus = nn.Softplus(beta=2, threshold=1)
        self.fc = nn.Linear(4 * 52 * 52, 6)

    def forward(self, x):
        x = self.mish(self.conv(x)) * 0.5 + 1
        x = self.plus(self.grouped(x)) + self.strided(x).mean(dim=(2, 3), keepdim=True)
        x = self.gelu(self.depthwise(x))
        x = self.soft(self.up(x))
        x = torch.softmax(x, dim=1)
        x = self.hsig(x - 0.25)
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)
"""
KERAS_ZOO = """from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    keras.Input(shape=(16, 16, 3)),
    layers.Rescaling(1 / 255.0, offset=-0.5),
    layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
    layers.Conv2D(8, 3, strides=2, padding="same", activation="elu"),
    layers.Dense(6, activation="tanh"),
    layers.SeparableConv2D(8, 3),
    layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
    layers.LayerNormalization(),
    layers.Activation("hard_sigmoid"),
    layers.Flatten(),
    layers.Dense(5, activation="softmax"),
])
"""

KERAS_GRAPH_ZOO = """from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(12, 10, 3))
x = layers.ZeroPadding2D(((1, 2), (0, 1)))(inputs)
x = layers.Conv2D(6, 3, padding="same")(x)
x = layers.PReLU(shared_axes=[1, 2])(x)
x = layers.Cropping2D(((1, 0), (0, 1)))(x)
x = layers.UpSampling2D(2, interpolation="bilinear")(x)
x = layers.Resizing(10, 8)(x)
x = layers.LeakyReLU()(x)
x = layers.Permute((2, 1, 3))(x)
x = layers.Reshape((80, 6))(x)
x = layers.Dense(5)(x)
y = layers.Conv1D(5, 3, padding="same", activation="swish")(x)
x = layers.concatenate([x, y], axis=1)
x = layers.SpatialDropout1D(0.2)(x)
x = layers.LayerNormalization(axis=[1, 2])(x)
x = layers.GlobalMaxPooling1D()(x)
outputs = layers.Dense(3, activation="softmax")(x)
model = keras.Model(inputs, outputs)
"""


@pytest.mark.parametrize("source, input_shape, idioms", [
    (TORCH_ZOO, (3, 28, 28), ['Pad(((1, 1), (1, 1)), mode="reflect"', "groups=2",
                              "DepthwiseConv2D(3, depth_multiplier=2",
                              "Cropping2D(((1, 0), (1, 0))", "Rescaling(0.5",
                              "Rescaling(1.0, offset=1.0", "Softmax(axis=-1",
                              "MaxPooling2D(1, strides=2", "approximate=True", "x * 2.0 > 1.0"]),
    (KERAS_ZOO, None, ["Rescaling(0.00392156862745098, offset=-0.5",
                       'Conv2DTranspose(4, 3, strides=2, padding="same"',
                       'Conv2D(8, 3, strides=2, padding="same", activation="elu"',
                       'Dense(6, activation="tanh"']),
    (KERAS_GRAPH_ZOO, None, ['UpSampling2D(2, interpolation="bilinear"',
                             "PReLU(shared_axes=[1, 2]", "Permute((2, 1, 3)",
                             "Concatenate(axis=1", "LayerNormalization(axis=[1, 2]",
                             "GlobalMaxPooling1D("]),
], ids=["pytorch", "keras", "keras-graph"])
def test_module_zoo_is_exact(source, input_shape, idioms, tmp_path):
    need("keras")
    path = tmp_path / "zoo.py"
    path.write_text(source, encoding="utf-8")
    spec = load_spec(str(path), None, input_shape)
    minigrad.manual_seed(0)
    model = build_model(spec.graph).eval()
    exported = export(for_model(model, spec.graph, trained=True))
    for idiom in idioms:
        assert idiom in exported.code
    xs = inputs_for(model, 10)
    ours = minigrad_outputs(model, xs)
    np.testing.assert_allclose(keras_outputs(keras_model(exported, tmp_path), xs), ours,
                               rtol=0, atol=TOLERANCE * (1 + np.abs(ours).max()))


def test_keras_flatten_is_plain(tmp_path):
    """A Keras source flattens H, W, C: its code has a plain Flatten, and computes minigrad's
    outputs when the dense layer's rows are reordered from minigrad's C, H, W (an oracle that
    moves the weights instead of the values)."""
    spec = load_spec("input 6x5x2\nconv 3 3x3 relu\nflatten\ndense 4 softmax")
    code = export(for_spec(spec)).code
    assert "Permute" not in code and "layers.Flatten(" in code
    assert 'Dense(4, activation="softmax"' in code
    need("keras")
    minigrad.manual_seed(0)
    model = build_model(spec.graph).eval()
    weights = dict(export(for_model(model, spec.graph, trained=True)).weights)
    kernel = weights["dense/0"]  # rows in C, H, W order: (3·4·3, 4)
    weights["dense/0"] = kernel.reshape(3, 4, 3, 4).transpose(1, 2, 0, 3).reshape(36, 4)
    net = load_generated(code, tmp_path).build_model()
    for layer in net.layers:
        layer.set_weights([weights[f"{layer.name}/{i}"] for i in range(len(layer.weights))])
    x = np.random.default_rng(5).standard_normal((6, 2, 6, 5)).astype(np.float32)
    logits = minigrad_outputs(model, [x])
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(keras_outputs(net, [x]), softmax, rtol=0, atol=TOLERANCE)


def test_frozen_layers_stay_frozen(tmp_path):
    need("keras")
    spec = load_spec("from tensorflow import keras\nfrom tensorflow.keras import layers\n"
                     "inputs = keras.Input(shape=(8,))\n"
                     "x = layers.Dense(4, trainable=False)(inputs)\n"
                     "x = layers.BatchNormalization(trainable=False)(x)\n"
                     "model = keras.Model(inputs, layers.Dense(2)(x))\n")
    exported = export(for_spec(spec))
    assert not exported.warnings  # a Keras source: Keras' own frozen batch norm
    net = keras_model(exported, tmp_path)
    frozen = {layer.name for layer in net.layers if layer.weights and not layer.trainable}
    assert frozen == {"dense", "batch_normalization"}
    assert sum(np.prod(w.shape) for w in net.trainable_weights) == 2 * 4 + 2 == \
        analyze_graph(spec.graph).rows[-1].params


def test_frozen_pytorch_batch_norm_warns():
    model, graph = graph_model("resnet")
    exportable = for_model(model, graph, trained=True)
    norm = next(m for p in exportable.parts for m in p.modules
                if isinstance(m, nn.BatchNorm2d))
    try:
        for parameter in norm.parameters():
            parameter.requires_grad = False
        exported = export(exportable)
    finally:
        for parameter in norm.parameters():
            parameter.requires_grad = True
    assert len(exported.warnings) == 1 and "inference mode" in exported.warnings[0]
    assert f"# warning: {exported.warnings[0]}" in exported.code
    assert "trainable=False" in exported.code


def test_layer_names_are_valid_and_unique():
    model, graph = graph_model("resnet")
    exported = export(for_model(model, graph, trained=True))
    names = [key.rsplit("/", 1)[0] for key in exported.weights]
    assert all("." not in name and "/" not in name for name in names)
    assert len(set(exported.weights)) == len(exported.weights)


def test_untranslatable_module_names_the_layer(tmp_path):
    path = tmp_path / "net.py"
    path.write_text("import torch.nn as nn\n\nclass Net(nn.Module):\n"
                    "    def __init__(self):\n        super().__init__()\n"
                    "        self.squash = nn.AdaptiveAvgPool2d(3)\n\n"
                    "    def forward(self, x):\n        return self.squash(x)\n",
                    encoding="utf-8")
    with pytest.raises(SpecError, match="squash: Keras has no layer"):
        export(for_spec(load_spec(str(path), None, (2, 5, 5))))


def test_ceil_mode_average_pool_is_exact(tmp_path):
    """AvgPool2d(4, stride=3, ceil_mode=True) on 8: the last window reaches 2 past the input
    and averages its 2 values; Keras' 'same' would pad 1 before and 1 after."""
    need("keras")
    path = tmp_path / "net.py"
    path.write_text("import torch.nn as nn\n\nclass Net(nn.Module):\n"
                    "    def __init__(self):\n        super().__init__()\n"
                    "        self.pool = nn.AvgPool2d(4, stride=3, ceil_mode=True)\n\n"
                    "    def forward(self, x):\n        return self.pool(x)\n",
                    encoding="utf-8")
    spec = load_spec(str(path), None, (2, 8, 8))
    model = build_model(spec.graph).eval()
    exported = export(for_model(model, spec.graph, trained=True))
    assert not exported.warnings and 'padding="same"' not in exported.code
    x = np.random.default_rng(4).standard_normal((3, 2, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(keras_outputs(keras_model(exported, tmp_path), [x]),
                               minigrad_outputs(model, [x]), rtol=0, atol=TOLERANCE)
