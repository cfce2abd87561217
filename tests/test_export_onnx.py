"""ONNX export (minigrad/export/onnx.py): the file onnxruntime runs computes what minigrad
computes, for trained presets, the graph models, every corpus model and the edge cases where
ONNX's defaults are not minigrad's (asymmetric 'same' padding, ceil_mode pools, align_corners,
a Keras flatten's H, W, C order).

Every framework test starts with need("onnx") / need("onnxruntime"): without them it is skipped.
The oracle is always minigrad's own output (or a numpy formula), never the export's.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import Tensor
from minigrad.engine import nn
from minigrad.errors import SpecError
from minigrad.export import Exportable, for_model, for_trained
from minigrad.export import onnx as onnx_export
from minigrad.layers import analyze_graph
from minigrad.readers import PRESETS, load_spec
from minigrad.tools.build import build_model

from corpus_models import CORPUS_MODELS, RANDOM_AUGMENTATION, corpus_spec
from export_fixtures import (GRAPH_MODELS, TOLERANCE, TRAINED_PRESETS, graph_model, inputs_for,
                             minigrad_outputs, mnist_test_images, need, trained)

CORPUS_TOLERANCE = 1e-4   # relative to the largest output: random weights, deep models
MAX_RUN_PARAMS = 50_000_000  # bigger corpus models are exported and checked, not run


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def checked_proto(exportable: Exportable):
    """The exported model, after ONNX's full check; and its warnings."""
    onnx = need("onnx")
    proto, warnings = onnx_export.model_proto(exportable)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].domain == "" and proto.opset_import[0].version >= 17
    return proto, warnings


def run(proto, xs: list[np.ndarray]) -> list[np.ndarray]:
    ort = need("onnxruntime")
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert len(names) == len(xs)
    return session.run(None, dict(zip(names, xs)))


def randomized(model, seed: int = 0):
    """Every weight and statistic drawn at random (biases and running means away from zero,
    variances positive), so that no term of the computation is trivially 0 or 1."""
    rng = np.random.default_rng(seed)
    model.load_state_dict({
        name: (rng.uniform(0.5, 1.5, value.shape) if name.endswith("running_var")
               else rng.normal(0, 0.5, value.shape)).astype(value.dtype)
        for name, value in model.state_dict().items()})
    return model


def node_values(model, xs: list[np.ndarray]) -> dict[int, np.ndarray]:
    """minigrad's value of every node, by the GraphModel's forward loop."""
    inputs = model.input_shapes if isinstance(model, nn.GraphModel) else [0]  # a chain: node 0
    values = {node: Tensor(x) for node, x in zip(inputs, xs)}
    with minigrad.no_grad():
        for step in model.steps:
            values[step.node] = step(*(values[i] for i in step.inputs))
    return {node: value.data for node, value in values.items()}


def every_node_agrees(model, graph, xs, tolerance=TOLERANCE):
    """Export with every node as an output and compare each with minigrad's value of it; and
    the model as exported (its one output) too."""
    exportable = for_model(model, graph, trained=True)
    nodes = tuple(p.index for p in exportable.parts if p.inputs)
    proto, warnings = checked_proto(dataclasses.replace(exportable, outputs=nodes))
    expected = node_values(model, xs)
    for node, got in zip(nodes, run(proto, xs)):
        np.testing.assert_allclose(got, expected[node], rtol=tolerance, atol=tolerance,
                                   err_msg=exportable.part(node).name)
    proto, warnings = checked_proto(exportable)
    np.testing.assert_allclose(run(proto, xs)[0], expected[exportable.outputs[0]],
                               rtol=tolerance, atol=tolerance)
    return proto, warnings


def spec_model(text: str, input_shape, seed: int = 0):
    graph = load_spec(text, input_shape=input_shape).graph
    minigrad.manual_seed(seed)
    return randomized(build_model(graph).eval(), seed), graph


def nodes_of(proto, op: str):
    return [n for n in proto.graph.node if n.op_type == op]


def attribute(node, name: str):
    from onnx import helper
    return next(helper.get_attribute_value(a) for a in node.attribute if a.name == name)


# ---------------------------------------------------------------------------------------------
# 1. Round trips: trained presets and the graph models
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", TRAINED_PRESETS)
def test_trained_presets_give_minigrads_outputs(preset, tmp_path_factory):
    need("onnx"), need("onnxruntime")
    modelfile = trained(preset, tmp_path_factory)
    proto, warnings = checked_proto(for_trained(modelfile))
    assert warnings == []
    images = mnist_test_images(100)
    expected = minigrad_outputs(modelfile.model.eval(), [images])
    (got,) = run(proto, [images])
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)
    (one,) = run(proto, [images[:1]])
    np.testing.assert_allclose(one, expected[:1], rtol=TOLERANCE, atol=TOLERANCE)
    assert [d.dim_param for d in proto.graph.input[0].type.tensor_type.shape.dim[:1]] == ["N"]


@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_graph_models_give_minigrads_outputs(name):
    need("onnx"), need("onnxruntime")
    model, graph = graph_model(name)
    model.eval()
    proto, warnings = checked_proto(for_model(model, graph, trained=True))
    assert warnings == []
    xs = inputs_for(model, 100)
    expected = minigrad_outputs(model, xs)
    got = run(proto, xs)[0]
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(run(proto, [x[:1] for x in xs])[0], expected[:1],
                               rtol=TOLERANCE, atol=TOLERANCE)
    # the weights keep the names the model gives them, each node the name of its layer
    initializers = {i.name for i in proto.graph.initializer}
    assert set(model.state_dict()) <= initializers
    layer_names = {step.name for step in model.steps}
    assert all(node.name.split("/")[0] in layer_names for node in proto.graph.node
               if node.op_type != "Identity")


# ---------------------------------------------------------------------------------------------
# 2. Every corpus model
# ---------------------------------------------------------------------------------------------

def _corpus_inputs(session_inputs, model, n: int) -> list[np.ndarray]:
    """Random inputs: floats, or token ids in range for an input that feeds an embedding."""
    rng = np.random.default_rng(0)
    xs = []
    for info, x in zip(session_inputs, inputs_for(model, n)):
        xs.append(rng.integers(0, 20, x.shape).astype(np.int64)
                  if info.type.tensor_type.elem_type == 7 else x)  # 7: TensorProto.INT64
    return xs


@pytest.mark.parametrize("golden_path", CORPUS_MODELS, ids=lambda path: path.stem)
def test_corpus_models_export_and_agree(golden_path):
    need("onnx"), need("onnxruntime")
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    spec = corpus_spec(golden)
    if golden["file"] in RANDOM_AUGMENTATION:
        with pytest.raises(SpecError, match="random"):
            build_model(spec.graph)
        return
    minigrad.manual_seed(0)
    model = build_model(spec.graph).eval()
    exportable = for_model(model, spec.graph, trained=True)
    proto, _ = checked_proto(exportable)
    output = exportable.part(exportable.outputs[0])
    declared = [d.dim_value or d.dim_param for d in
                proto.graph.output[0].type.tensor_type.shape.dim]
    assert declared == ["N", *output.shape_chw]
    if sum(p.data.size for p in model.parameters()) > MAX_RUN_PARAMS:
        return  # exported and checked; too big to run twice here
    xs = _corpus_inputs(proto.graph.input, model, 2)
    got = run(proto, xs)[0]
    expected = minigrad_outputs(model, xs)
    assert got.shape == (2, *output.shape_chw)
    assert np.abs(got - expected).max() <= CORPUS_TOLERANCE * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_as_specs_export_with_their_softmax(preset):
    """for_spec: the source's function (H, W, C flatten, the final softmax put back)."""
    need("onnx"), need("onnxruntime")
    spec = load_spec(preset)
    if analyze_graph(spec.graph).total_params > MAX_RUN_PARAMS:
        pytest.skip("a big model (2.8 GB of memory for VGG16's export and check); the corpus "
                    "test exports AlexNet")
    minigrad.manual_seed(0)
    model = build_model(spec.graph).eval()
    exportable = for_model(model, spec.graph, trained=False)
    proto, warnings = checked_proto(exportable)
    assert warnings == []
    (got,) = run(proto, inputs_for(model, 2))
    assert got.shape == (2, *exportable.part(exportable.outputs[0]).shape_chw)
    if exportable.final_activation == "softmax":
        np.testing.assert_allclose(got.sum(axis=1), 1, rtol=TOLERANCE)


# ---------------------------------------------------------------------------------------------
# 3. Where ONNX's defaults are not minigrad's
# ---------------------------------------------------------------------------------------------

KERAS_SAME = """
import keras
from keras import layers

model = keras.Sequential([
    keras.Input((9, 11, 2)),
    layers.Conv2D(3, 4, strides=2, padding="same"),
    layers.MaxPooling2D(2, padding="same"),
    layers.AveragePooling2D(2, strides=1, padding="same"),
])
"""


def test_keras_same_padding_puts_the_odd_pixel_after():
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(KERAS_SAME, None)
    proto, _ = every_node_agrees(model, graph, inputs_for(model, 3))
    # pads are [top, left, bottom, right]: the odd pixel after, as TensorFlow puts it
    assert attribute(nodes_of(proto, "Conv")[0], "pads") == [1, 1, 2, 2]
    assert attribute(nodes_of(proto, "MaxPool")[0], "pads") == [0, 0, 1, 0]
    average = nodes_of(proto, "AveragePool")[0]
    assert attribute(average, "pads") == [0, 0, 1, 1]
    assert attribute(average, "count_include_pad") == 0  # TensorFlow counts real values only


TORCH_CEIL = """
import torch.nn as nn

class Pools(nn.Module):
    def __init__(self):
        super().__init__()
        self.max = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True)
        self.avg_real = nn.AvgPool2d(2, 2, padding=1, ceil_mode=True)
        self.max1d = nn.MaxPool1d(3, 2, ceil_mode=True)

    def forward(self, x):
        x = self.avg_real(self.avg(self.max(x)))
        return self.max1d(x.flatten(2))
"""


def test_ceil_mode_pools_count_as_pytorch_does():
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(TORCH_CEIL, (2, 16, 16))
    proto, _ = every_node_agrees(model, graph, inputs_for(model, 3))
    # the last window runs past the input: the overhang is padding after it, never counted
    assert attribute(nodes_of(proto, "MaxPool")[0], "pads") == [0, 0, 1, 1]
    # avg: padding that counts and an overhang that does not: real zeros, then the overhang;
    # avg_real: no overhang (5 + 2 = 3 windows of 2), so ONNX counts its padding as PyTorch does
    avg, avg_real = nodes_of(proto, "AveragePool")
    assert (attribute(avg, "count_include_pad"), attribute(avg, "pads")) == (0, [0, 0, 1, 1])
    assert (attribute(avg_real, "count_include_pad"), attribute(avg_real, "pads")) == (1, [1] * 4)
    assert len(nodes_of(proto, "Pad")) == 1


def _bilinear_matrix(n_in: int, n_out: int, align_corners: bool) -> np.ndarray:
    """(n_out, n_in): PyTorch's bilinear weights along one axis, from its formula."""
    matrix = np.zeros((n_out, n_in))
    for i in range(n_out):
        if align_corners:
            source = i * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            source = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
        first = min(math.floor(source), n_in - 1)
        second, weight = min(first + 1, n_in - 1), source - first
        matrix[i, first] += 1 - weight
        matrix[i, second] += weight
    return matrix


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("resize", ["scale_factor=2", "size=(7, 13)"])
def test_bilinear_upsampling_matches_the_formula(align_corners, resize):
    need("onnx"), need("onnxruntime")
    code = ("import torch.nn as nn\n"
            f"model = nn.Sequential(nn.Upsample({resize}, mode='bilinear', "
            f"align_corners={align_corners}))\n")
    model, graph = spec_model(code, (2, 5, 6))
    x = inputs_for(model, 3)[0]
    proto, _ = checked_proto(for_model(model, graph, trained=True))
    (got,) = run(proto, [x])
    out_h, out_w = got.shape[2:]
    rows, columns = _bilinear_matrix(5, out_h, align_corners), _bilinear_matrix(6, out_w,
                                                                                align_corners)
    expected = np.einsum("oh,nchw,pw->ncop", rows, x.astype(np.float64), columns)
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(got, minigrad_outputs(model, [x]), rtol=TOLERANCE,
                               atol=TOLERANCE)


# at 1.7, ONNX's floor(i·in/out) and minigrad's floor(i/1.7) pick different pixels (i = 5 of 10)
@pytest.mark.parametrize("resize", ["scale_factor=2", "scale_factor=1.7", "size=(7, 13)"])
def test_nearest_upsampling_copies_minigrads_pixels(resize):
    need("onnx"), need("onnxruntime")
    code = f"import torch.nn as nn\nmodel = nn.Sequential(nn.Upsample({resize}))\n"
    model, graph = spec_model(code, (2, 5, 6))
    x = inputs_for(model, 3)[0]
    proto, _ = checked_proto(for_model(model, graph, trained=True))
    np.testing.assert_array_equal(run(proto, [x])[0], minigrad_outputs(model, [x]))


KERAS_FLATTEN = """
import keras
from keras import layers

model = keras.Sequential([keras.Input((4, 5, 3)), layers.Conv2D(2, 3, padding="same"),
                          layers.Flatten()])
"""


def test_a_keras_flatten_takes_the_values_in_h_w_c_order():
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(KERAS_FLATTEN, None)
    exportable = for_model(model, graph, trained=False)
    assert exportable.flatten_order == "hwc"
    x = inputs_for(model, 3)[0]
    proto, _ = checked_proto(exportable)
    (got,) = run(proto, [x])
    channels_first = minigrad_outputs(model, [x]).reshape(3, 2, 4, 5)  # minigrad: C, H, W
    np.testing.assert_allclose(got, channels_first.transpose(0, 2, 3, 1).reshape(3, -1),
                               rtol=TOLERANCE, atol=TOLERANCE)
    # a trained model's export computes minigrad's own order
    (trained_order,) = run(checked_proto(for_model(model, graph, trained=True))[0], [x])
    np.testing.assert_allclose(trained_order, channels_first.reshape(3, -1), rtol=TOLERANCE,
                               atol=TOLERANCE)


KERAS_SOFTMAX = """
import keras
from keras import layers

model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(4, 3),
                          layers.GlobalAveragePooling2D(), layers.Dense(5, activation="softmax")])
"""


def test_a_spec_gets_its_final_softmax_back():
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(KERAS_SOFTMAX, None)
    x = inputs_for(model, 3)[0]
    logits = minigrad_outputs(model, [x]).astype(np.float64)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    (got,) = run(checked_proto(for_model(model, graph, trained=False))[0], [x])
    np.testing.assert_allclose(got, softmax, rtol=TOLERANCE, atol=TOLERANCE)
    (got,) = run(checked_proto(for_model(model, graph, trained=True))[0], [x])
    np.testing.assert_allclose(got, logits, rtol=TOLERANCE, atol=TOLERANCE)


KERAS_TWO_OUTPUTS = """
import keras
from keras import layers

inputs = keras.Input((16, 2))
a = layers.Conv1D(3, 3)(inputs)
b = layers.Conv1D(4, 4, padding="same")(a)
model = keras.Model(inputs, [a, b, a])
"""


def test_several_outputs_run_with_onnxruntimes_optimizations():
    """An output that also feeds a Pad (the odd pixel of a 'same' Conv1D) is made by its own
    node, not copied by an Identity: onnxruntime 1.32's Pad fusion loses such a tensor."""
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(KERAS_TWO_OUTPUTS, None)
    exportable = for_model(model, graph, trained=True)
    proto, _ = checked_proto(exportable)
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1", "output_2"]
    xs = inputs_for(model, 2)
    values = node_values(model, xs)
    for index, got in zip(exportable.outputs, run(proto, xs)):
        np.testing.assert_allclose(got, values[index], rtol=TOLERANCE, atol=TOLERANCE)


# ---------------------------------------------------------------------------------------------
# Module zoos: every node of models using the translations the corpus does not
# ---------------------------------------------------------------------------------------------

TORCH_ZOO = """
import torch
import torch.nn as nn

class Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
        self.same = nn.Conv2d(8, 8, 4, padding="same", dilation=1)
        self.gelu = nn.GELU()
        self.softplus = nn.Softplus()
        self.mish = nn.Mish()
        self.hardsigmoid = nn.Hardsigmoid()
        self.softsign = nn.Softsign()
        self.prelu = nn.PReLU(8)
        self.elu = nn.ELU(alpha=0.5)
        self.leaky = nn.LeakyReLU(0.2)
        self.group_norm = nn.GroupNorm(2, 8)
        self.instance_running = nn.InstanceNorm2d(8, affine=True, track_running_stats=True)
        self.instance = nn.InstanceNorm2d(8)
        self.layer_norm = nn.LayerNorm([8, 12, 12], elementwise_affine=False)
        self.pad = nn.ReplicationPad2d((1, 2, 0, 1))
        self.crop = nn.ZeroPad2d((-1, 0, 2, -2))
        self.up = nn.Upsample(scale_factor=1.7, mode="nearest")
        self.shuffle = nn.PixelShuffle(2)
        self.deconv = nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1,
                                         groups=2)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, dilation=2, groups=2, bias=False)
        self.adaptive_avg = nn.AdaptiveAvgPool2d((3, 5))
        self.adaptive_max = nn.AdaptiveMaxPool2d((2, 3))
        self.fc = nn.Linear(126, 5)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.same(self.conv(x))
        x = self.gelu(x) + self.softplus(x) - self.mish(x)
        x = self.hardsigmoid(x) * self.softsign(x) + self.prelu(x) + self.elu(x) + self.leaky(x)
        x = self.group_norm(x) + self.instance_running(x) + self.instance(x)
        x = self.layer_norm(x) * 2 + 1
        x = self.crop(self.pad(x))
        x = self.up(x)
        x = self.shuffle(x[:, :, 1:, :8])
        x = self.conv2(self.deconv(x))
        x = torch.cat([self.adaptive_avg(x).flatten(1), self.adaptive_max(x).flatten(1)], dim=1)
        return self.softmax(self.fc(x))
"""


def test_a_pytorch_zoo_agrees_node_by_node():
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(TORCH_ZOO, (3, 12, 12))
    proto, warnings = every_node_agrees(model, graph, inputs_for(model, 3))
    assert warnings == []
    ops = {n.op_type for n in proto.graph.node}
    assert {"Tanh", "Softplus", "Where", "InstanceNormalization", "Gather", "DepthToSpace",
            "ConvTranspose", "MatMul", "ReduceMax", "PRelu"} <= ops


@pytest.mark.parametrize("opset", [18, 21])
def test_later_opsets_compute_the_same(opset):
    """From opset 18 the reductions take their axes as an input."""
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(TORCH_ZOO, (3, 12, 12))
    proto, _ = onnx_export.model_proto(for_model(model, graph, trained=True), opset)
    need("onnx").checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == opset
    x = inputs_for(model, 2)
    np.testing.assert_allclose(run(proto, x)[0], minigrad_outputs(model, x), rtol=TOLERANCE,
                               atol=TOLERANCE)


def test_an_opset_before_17_is_refused():
    need("onnx")
    model, graph = spec_model(KERAS_SOFTMAX, None)
    with pytest.raises(SpecError, match="opset 17 or later"):
        onnx_export.model_proto(for_model(model, graph, trained=True), 16)


KERAS_ZOO = """
import keras
from keras import layers

inputs = keras.Input((8, 8, 3))
x = layers.Rescaling(1 / 127.5, offset=-1)(inputs)
x = layers.SeparableConv2D(6, 3, padding="same", activation="relu6")(x)
x = layers.DepthwiseConv2D(3, strides=2, padding="same")(x)
x = layers.BatchNormalization()(x)
x = layers.PReLU(shared_axes=[1, 2])(x)
y = layers.Dense(4, activation="gelu")(x)
y = layers.LayerNormalization()(y)
x = layers.Concatenate()([x, y])
x = layers.Conv2DTranspose(5, 3, strides=2, padding="same", activation="swish")(x)
x = layers.ZeroPadding2D(((1, 0), (2, 1)))(x)
x = layers.Cropping2D(((0, 1), (1, 1)))(x)
x = layers.UpSampling2D(interpolation="bilinear")(x)
x = layers.Permute((2, 1, 3))(x)
x = layers.Reshape((16, -1))(x)
x = layers.Conv1D(4, 3, padding="same", activation="elu")(x)
x = layers.GlobalMaxPooling1D()(x)
outputs = layers.Dense(3, activation="hard_sigmoid")(x)
model = keras.Model(inputs, outputs)
"""


def test_a_keras_zoo_agrees_node_by_node():
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(KERAS_ZOO, None)
    proto, warnings = every_node_agrees(model, graph, inputs_for(model, 3))
    assert warnings == []


# ---------------------------------------------------------------------------------------------
# Errors, the CLI's text, and the import without onnx
# ---------------------------------------------------------------------------------------------

class _Unknown(nn.Module):
    def forward(self, x):
        return x


def test_a_module_without_a_translation_is_a_spec_error_naming_its_layer():
    need("onnx")
    model, graph = spec_model(KERAS_FLATTEN, None)
    exportable = for_model(model, graph, trained=True)
    conv = next(p for p in exportable.parts if p.modules)
    parts = tuple(dataclasses.replace(p, modules=(_Unknown(),)) if p is conv else p
                  for p in exportable.parts)
    with pytest.raises(SpecError, match=f"{conv.name}: ONNX export cannot translate .*_Unknown"):
        onnx_export.model_proto(dataclasses.replace(exportable, parts=parts))


def test_modules_the_builder_does_not_make_translate_too():
    """Hand-built models: PyTorch's 'same' string, the padding modules, and settings the
    builder does not pass on (Softplus' beta and threshold, GELU's tanh approximation)."""
    need("onnx"), need("onnxruntime")
    model, graph = spec_model(KERAS_FLATTEN, None)
    exportable = for_model(model, graph, trained=True)
    conv = next(p for p in exportable.parts if p.modules)
    hand_built = (nn.Softplus(beta=2.0, threshold=1.0), nn.GELU(approximate="tanh"),
                  nn.Sequential(nn.ReflectionPad2d((1, 2, 0, 1)),
                                nn.ConstantPad2d((0, -3, 1, -2), 0.5)),
                  nn.Conv2d(3, 2, (4, 3), padding="same", dilation=(1, 2)), nn.ReplicationPad2d(1),
                  nn.Conv2d(2, 2, 3, padding="valid"))
    minigrad.manual_seed(1)
    parts = tuple(dataclasses.replace(p, modules=hand_built) if p is conv else p
                  for p in exportable.parts)
    proto, _ = checked_proto(dataclasses.replace(exportable, parts=parts, outputs=(conv.index,)))
    x = inputs_for(model, 2)[0]
    with minigrad.no_grad():
        expected = Tensor(x)
        for module in hand_built:
            expected = module(expected)
    np.testing.assert_allclose(run(proto, [x])[0], expected.data, rtol=TOLERANCE, atol=TOLERANCE)


def test_export_says_how_to_run_the_file():
    need("onnx")
    model, graph = spec_model(KERAS_SOFTMAX, None)
    export = onnx_export.export(for_model(model, graph, trained=False))
    assert export.weights is None and export.warnings == []
    lines = export.code.strip().splitlines()
    assert len(lines) == 3
    assert "onnxruntime.InferenceSession" in export.code and '"input"' in export.code
    assert "(N, 2, 6, 6)" in export.code


def test_the_module_imports_without_onnx_and_says_what_to_install():
    script = (
        "import sys\n"
        "sys.modules['onnx'] = None  # as if it were not installed\n"
        "from minigrad.errors import SpecError\n"
        "from minigrad.export import for_spec\n"
        "from minigrad.export import onnx as onnx_export\n"
        "from minigrad.readers import load_spec\n"
        "try:\n"
        "    onnx_export.model_proto(for_spec(load_spec('simple-convnet')))\n"
        "except SpecError as error:\n"
        "    print(error)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ("ONNX export needs the onnx package: pip install "
                                     "'cnncalc[export]'")
