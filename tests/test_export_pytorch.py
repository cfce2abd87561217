"""The PyTorch export (minigrad/export/pytorch.py), checked against PyTorch itself: the generated
code is written to a file, imported and run.

- every corpus model: the code's __main__ block builds the model and runs a batch, PyTorch
  counts the parameters cnncalc counts under PyTorch's rules, the output has the analysis's
  shape; the smaller models also compute what minigrad computes with the same weights;
- trained presets and the graph models: code plus weights file give minigrad's outputs, and a
  generated file runs as a script;
- every module class the builder makes, one node each, against minigrad's numbers;
- the rules that are easy to get wrong: TensorFlow's uneven 'same' padding, ceil_mode pools
  with padding, Keras' channels-last flatten (against an oracle that permutes the dense
  layer's columns instead), the final softmax's axis, frozen layers.
"""

from __future__ import annotations

import dataclasses
import json
import runpy
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import SpecError, Tensor
from minigrad.engine import nn
from minigrad.export import Exportable, Part, for_model, for_spec, for_trained, pytorch
from minigrad.layers import Identity, Input, analyze_graph
from minigrad.readers import load_spec
from minigrad.tools.build import build_model

from corpus_models import CORPUS, CORPUS_MODELS, RANDOM_AUGMENTATION, corpus_spec
from export_fixtures import (GRAPH_MODELS, TOLERANCE, TRAINED_PRESETS, graph_model, inputs_for,
                             load_generated, minigrad_outputs, mnist_test_images, need, trained)

# corpus models small enough to also run through minigrad (multiply-adds per sample)
NUMERIC_CHECK_MACS = 30_000_000


def torch_model(export, folder, name: str = "model", weights_file: str = "weights.npz"):
    """The exported class, built, its weights loaded as the code's __main__ block loads them,
    in eval mode."""
    torch = need("torch")
    module = load_generated(export.code, folder, name)
    model = module.Net()
    if export.weights is not None:
        np.savez(folder / weights_file, **export.weights)
        with np.load(folder / weights_file, allow_pickle=False) as state:
            model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model.eval()


def torch_outputs(model, xs: list[np.ndarray]) -> np.ndarray:
    torch = need("torch")
    with torch.no_grad():
        out = model(*[torch.from_numpy(x) for x in xs])
    out = out[0] if isinstance(out, tuple) else out
    return out.numpy()


def expected_torch_params(graph) -> int:
    """cnncalc's parameter count under PyTorch's rules. Keras counts BatchNorm's moving mean and
    variance (half of its 4·C) as non-trainable parameters; PyTorch keeps them as buffers."""
    summary = analyze_graph(graph)
    if graph.rules == "torch":
        return summary.total_params
    return summary.total_params - sum(row.params // 2 for row in summary.rows
                                      if row.type == "batchnorm")


def sample_inputs(exportable, n: int, seed: int = 0) -> list[np.ndarray]:
    """n random samples of each input, channels first: token ids for an embedding's input."""
    rng = np.random.default_rng(seed)
    xs = []
    needed = [i for i in exportable.inputs  # what the model takes (not a spare Keras Input)
              if any(i in p.inputs for p in exportable.parts) or i in exportable.outputs]
    for index in needed:
        part = exportable.part(index)
        readers = [p.modules[0] for p in exportable.parts if index in p.inputs and p.modules]
        embeddings = [getattr(m, "inner", m) for m in readers]
        embeddings = [m for m in embeddings if isinstance(m, nn.Embedding)]
        if embeddings:
            xs.append(rng.integers(0, embeddings[0].num_embeddings, (n, *part.shape_chw)))
        else:
            xs.append(rng.standard_normal((n, *part.shape_chw)).astype(np.float32))
    return xs


def softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def assert_close(actual, expected):
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=TOLERANCE)


# ---------------------------------------------------------------------------------------------
# Every corpus model
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("golden_path", CORPUS_MODELS, ids=lambda p: p.stem)
def test_every_corpus_model_exports_to_code_pytorch_counts_and_runs(golden_path, tmp_path):
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    spec = corpus_spec(golden)
    if golden["file"] in RANDOM_AUGMENTATION:
        with pytest.raises(SpecError, match="random"):
            pytorch.export(for_spec(spec))
        return
    torch = need("torch")
    torch.manual_seed(0)
    minigrad.manual_seed(0)  # the same weights whatever ran before (float32 sums vary with them)
    model = build_model(spec.graph).eval()
    exportable = for_model(model, spec.graph, trained=False)
    export = pytorch.export(exportable)
    assert export.weights is None
    # the code's own __main__ block: builds the model and runs a random batch of 2 through it
    (tmp_path / "model.py").write_text(export.code, encoding="utf-8")
    namespace = runpy.run_path(str(tmp_path / "model.py"), run_name="__main__")
    net, out = namespace["model"], namespace["out"]
    assert sum(p.numel() for p in net.parameters()) == expected_torch_params(spec.graph)
    outs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape) for o in outs] == [(2, *exportable.part(i).shape_chw)
                                              for i in exportable.outputs]

    if sum(row.macs for row in analyze_graph(spec.graph).rows) <= NUMERIC_CHECK_MACS:
        # the same built model with its weights: every translation computes minigrad's numbers
        xs = sample_inputs(exportable, 2)
        weighted = pytorch.export(for_model(model, spec.graph, trained=True))
        net = torch_model(weighted, tmp_path, "weighted")
        assert_close(torch_outputs(net, xs), minigrad_outputs(model, xs))


def test_the_parameter_count_moves_keras_batchnorm_statistics_to_buffers(tmp_path):
    need("torch")
    spec = corpus_spec(json.loads((CORPUS / "goldens" / "keras_mobilenet_like.json")
                                  .read_text(encoding="utf-8")))
    summary = analyze_graph(spec.graph)
    net = torch_model(pytorch.export(for_spec(spec)), tmp_path)
    statistics = sum(b.numel() for name, b in net.named_buffers() if "running" in name)
    assert statistics > 0
    assert sum(p.numel() for p in net.parameters()) + statistics == summary.total_params
    assert expected_torch_params(spec.graph) == summary.total_params - statistics


def test_several_outputs_and_a_node_without_modules_come_back_as_a_tuple(tmp_path):
    """Two heads on one input, one of them an identity node (the input's own value)."""
    need("torch")
    shape = (3, 4)
    x = Part(0, "features", Input(shape=shape), (), (), shape, shape)
    head = Part(1, "head", Identity(), (0,), (nn.Linear(4, 2), nn.Tanh()), (3, 2), (3, 2))
    same = Part(2, "same", Identity(), (0,), (), shape, shape)
    exportable = Exportable((x, head, same), (0,), (1, 2), "chw", "torch", "chw", None, True)
    export = pytorch.export(exportable)
    assert "return head, features" in export.code
    net = torch_model(export, tmp_path)
    xs = sample_inputs(exportable, 5)
    ours = head.modules[1](head.modules[0](Tensor(xs[0]))).data
    torch = need("torch")
    with torch.no_grad():
        theirs = net(torch.from_numpy(xs[0]))
    assert_close(theirs[0].numpy(), ours)
    assert_close(theirs[1].numpy(), xs[0])


def test_a_class_name_that_is_not_an_identifier_is_refused():
    exportable = for_spec(load_spec("input 4\ndense 2", "dsl"), name="my net")
    with pytest.raises(SpecError, match="'my net'"):
        pytorch.export(exportable)


def test_a_module_without_translation_is_refused_naming_its_node():
    spec = load_spec("input 8x8x1\nconv 4 3x3\nflatten\ndense 2", "dsl")
    exportable = for_spec(spec)
    conv = next(p for p in exportable.parts if p.modules)
    odd = dataclasses.replace(conv, modules=(nn.ZeroPad2d(1),))
    parts = tuple(odd if p is conv else p for p in exportable.parts)
    with pytest.raises(SpecError, match=f"{conv.name}: .*ZeroPad2d"):
        pytorch.export(dataclasses.replace(exportable, parts=parts))


# ---------------------------------------------------------------------------------------------
# Round trips: trained presets and graph models, with their weights
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset", TRAINED_PRESETS)
def test_a_trained_preset_gives_minigrads_outputs(preset, tmp_path, tmp_path_factory):
    need("torch")
    model_file = trained(preset, tmp_path_factory)
    images = mnist_test_images(100)
    export = pytorch.export(for_trained(model_file), "weights.npz")
    assert export.weights and all(v.dtype in (np.float32, np.int64)
                                  for v in export.weights.values())
    net = torch_model(export, tmp_path)
    assert_close(torch_outputs(net, [images]), minigrad_outputs(model_file.model, [images]))


@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_a_graph_model_gives_minigrads_outputs(name, tmp_path):
    need("torch")
    model, graph = graph_model(name)
    xs = inputs_for(model, 100)
    net = torch_model(pytorch.export(for_model(model, graph, trained=True)), tmp_path)
    assert_close(torch_outputs(net, xs), minigrad_outputs(model, xs))


def test_the_generated_file_runs_as_a_script_and_loads_its_weights(tmp_path, tmp_path_factory):
    need("torch")
    model_file = trained("mnist-cnn", tmp_path_factory)
    export = pytorch.export(for_trained(model_file), "mnist_weights.npz")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "mnist.py").write_text(export.code, encoding="utf-8")
    np.savez(folder / "mnist_weights.npz", **export.weights)
    result = subprocess.run([sys.executable, str(folder / "mnist.py")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "(2, 10)"
    (folder / "mnist_weights.npz").unlink()  # the weights are really read
    result = subprocess.run([sys.executable, str(folder / "mnist.py")], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "mnist_weights.npz" in result.stderr


def test_a_spec_export_runs_as_a_script_printing_the_model(tmp_path):
    need("torch")
    export = pytorch.export(for_spec(load_spec("mnist-cnn")))
    (tmp_path / "net.py").write_text(export.code, encoding="utf-8")
    result = subprocess.run([sys.executable, "net.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Conv2d(1, 32" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "(2, 10)"


# ---------------------------------------------------------------------------------------------
# Exactness: padding, pools, the flatten order
# ---------------------------------------------------------------------------------------------

def test_tensorflow_same_padding_that_differs_before_and_after_is_exact(tmp_path):
    need("torch")
    spec = load_spec("input 17x17x3\n"
                     "conv 6 4x4 stride=2 padding=same relu\n"   # 17 -> 9: pads (1, 2)
                     "maxpool 2 stride=2 padding=same\n"          # 9 -> 5: pads (0, 1), -inf
                     "conv 6 2x2 padding=same\n"                  # even kernel: pads (0, 1)
                     "avgpool 2 stride=2 padding=same\n"          # 5 -> 3: real values only
                     "avgpool 3 stride=1 padding=same\n"          # (1, 1): count_include_pad
                     "flatten\ndense 4", "dsl")
    model = build_model(spec.graph).eval()
    export = pytorch.export(for_model(model, spec.graph, trained=True))
    for text in ("nn.ZeroPad2d((1, 2, 1, 2))", 'nn.ConstantPad2d((0, 1, 0, 1), float("-inf"))',
                 "nn.ZeroPad2d((0, 1, 0, 1))", "count_include_pad=False"):
        assert text in export.code
    xs = [np.random.default_rng(1).standard_normal((8, 3, 17, 17)).astype(np.float32)]
    net = torch_model(export, tmp_path)
    assert_close(torch_outputs(net, xs), minigrad_outputs(model, xs))


def test_pytorch_pools_keep_ceil_mode_and_padding(tmp_path):
    need("torch")
    source = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.fc = nn.Linear(64, 5)

    def forward(self, x):
        x = self.avg(self.pool(self.conv(x)))
        return self.fc(torch.flatten(x, 1))
"""
    spec = load_spec(source, None, (3, 12, 12))
    model = build_model(spec.graph).eval()
    export = pytorch.export(for_model(model, spec.graph, trained=True))
    assert "nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)" in export.code
    assert "nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)" in export.code
    xs = [np.random.default_rng(2).standard_normal((8, 3, 12, 12)).astype(np.float32)]
    net = torch_model(export, tmp_path)
    assert_close(torch_outputs(net, xs), minigrad_outputs(model, xs))


def test_a_keras_spec_flattens_channels_last_as_keras_does(tmp_path):
    """Oracle: minigrad flattens C, H, W. Giving the export minigrad's weights with the first
    dense layer's columns reordered from C, H, W to H, W, C must then give minigrad's outputs
    (and the softmax the source applies) — which holds only if the export flattens H, W, C."""
    need("torch")
    spec = corpus_spec(json.loads((CORPUS / "goldens" / "keras_mnist_convnet.json")
                                  .read_text(encoding="utf-8")))
    model = build_model(spec.graph).eval()
    exportable = for_model(model, spec.graph, trained=False)
    assert exportable.flatten_order == "hwc" and exportable.final_activation == "softmax"
    export = pytorch.export(exportable)
    assert ".permute(0, 2, 3, 1).flatten(1)" in export.code

    weights = pytorch.export(for_model(model, spec.graph, trained=True)).weights
    flatten = next(p for p in exportable.parts
                   if p.modules and isinstance(p.modules[0], nn.Flatten))
    c, h, w = exportable.part(flatten.inputs[0]).shape_chw
    dense = next(k for k, v in weights.items() if v.ndim == 2 and v.shape[1] == c * h * w)
    units = weights[dense].shape[0]
    weights[dense] = (weights[dense].reshape(units, c, h, w).transpose(0, 2, 3, 1)
                      .reshape(units, c * h * w))
    export = dataclasses.replace(export, weights=weights)
    net = torch_model(export, tmp_path)
    xs = inputs_for(model, 16)
    assert_close(torch_outputs(net, xs), softmax(minigrad_outputs(model, xs)))


# ---------------------------------------------------------------------------------------------
# Every module class the builder makes, one node each, against minigrad's numbers
# ---------------------------------------------------------------------------------------------

def _cases():
    a, b = (3, 6, 7), (3, 6, 7)
    merges = [(f"merge-{op}", lambda op=op: nn.Merge(op), [a, b])
              for op in ("add", "subtract", "multiply", "average", "maximum", "minimum")]
    arithmetic = [(f"arithmetic-{op}", lambda op=op: nn.Arithmetic(op, 2.5), [(4, 5)])
                  for op in ("add", "sub", "rsub", "mul", "div", "rdiv", "rpow")]
    arithmetic.append(("arithmetic-pow", lambda: nn.Arithmetic("pow", 3.0), [(4, 5)]))
    activations = [(f"activation-{cls.__name__}", cls, [(3, 4, 5)])
                   for cls in (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.SiLU, nn.Hardswish,
                               nn.Hardsigmoid, nn.Mish, nn.SELU, nn.Softsign, nn.Identity)]
    return merges + arithmetic + activations + [
        ("conv2d-strided-dilated", lambda: nn.Conv2d(3, 4, 3, 2, 1, dilation=2), [(3, 9, 8)]),
        ("conv2d-groups-reflect", lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2,
                                                    padding_mode="reflect"), [(4, 6, 7)]),
        ("conv2d-same-even", lambda: nn.Conv2d(3, 4, 4, padding="same", bias=False), [(3, 7, 6)]),
        ("conv2d-uneven", lambda: nn.Conv2d(3, 4, 2, 2, padding=((0, 1), (1, 0))), [(3, 7, 6)]),
        ("conv2d-uneven-replicate", lambda: nn.Conv2d(3, 2, 3, padding=((2, 1), (0, 1)),
                                                      padding_mode="replicate"), [(3, 5, 6)]),
        ("depthwise", lambda: nn.Conv2d(3, 6, 3, groups=3), [(3, 6, 6)]),
        ("conv1d", lambda: nn.Conv1d(3, 4, 5, stride=2, padding=2), [(3, 11)]),
        ("conv1d-same-reflect", lambda: nn.Conv1d(3, 4, 4, padding="same",
                                                  padding_mode="reflect"), [(3, 9)]),
        ("conv-transpose2d", lambda: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                        output_padding=1), [(4, 4, 5)]),
        ("conv-transpose2d-groups-dilation", lambda: nn.ConvTranspose2d(4, 2, 2, groups=2,
                                                                       dilation=2), [(4, 3, 3)]),
        ("conv-transpose1d", lambda: nn.ConvTranspose1d(3, 2, 4, stride=2, bias=False),
         [(3, 6)]),
        ("maxpool-ceil-padding", lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), [(2, 8, 9)]),
        ("maxpool-uneven", lambda: nn.MaxPool2d(2, 2, ((0, 1), (0, 1))), [(2, 5, 7)]),
        ("avgpool-uneven-real-values", lambda: nn.AvgPool2d(2, 2, ((0, 1), (1, 0)),
                                                            count_include_pad=False), [(2, 5, 5)]),
        ("avgpool-uneven-counting-pads", lambda: nn.AvgPool2d(3, 1, ((0, 1), (1, 1))),
         [(2, 5, 5)]),
        ("avgpool-ceil-real-values", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True,
                                                          count_include_pad=False), [(2, 8, 8)]),
        ("maxpool1d", lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True), [(2, 10)]),
        ("avgpool1d", lambda: nn.AvgPool1d(3, 2, 1, count_include_pad=False), [(2, 10)]),
        ("adaptive-avg2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), [(2, 7, 8)]),
        ("adaptive-max2d", lambda: nn.AdaptiveMaxPool2d(3), [(2, 7, 8)]),
        ("adaptive-avg1d", lambda: nn.AdaptiveAvgPool1d(3), [(2, 10)]),
        ("adaptive-max1d", lambda: nn.AdaptiveMaxPool1d(4), [(2, 10)]),
        ("global-avg-keepdims", lambda: nn.GlobalAvgPool2d(keepdims=True), [(3, 4, 5)]),
        ("global-max", lambda: nn.GlobalMaxPool2d(), [(3, 4, 5)]),
        ("linear", lambda: nn.Linear(12, 5), [(12,)]),
        ("linear-last-axis", lambda: nn.Linear(6, 4, bias=False), [(3, 6)]),
        ("channel-linear", lambda: nn.ChannelLinear(3, 5), [(3, 4, 2)]),
        ("channels-last-linear", lambda: nn.ChannelsLast(nn.Linear(3, 5)), [(3, 7)]),
        ("embedding", lambda: nn.Embedding(10, 4, padding_idx=0), [(6,)]),
        ("channels-last-embedding", lambda: nn.ChannelsLast(nn.Embedding(10, 4)), [(6,)]),
        ("batchnorm2d", lambda: nn.BatchNorm2d(3, eps=1e-3, momentum=0.01), [(3, 4, 5)]),
        ("batchnorm1d-flat", lambda: nn.BatchNorm1d(6), [(6,)]),
        ("batchnorm1d-sequence", lambda: nn.BatchNorm1d(3), [(3, 7)]),
        ("layernorm", lambda: nn.LayerNorm(5, eps=1e-3), [(3, 5)]),
        ("layernorm-plain", lambda: nn.LayerNorm((3, 5), elementwise_affine=False), [(3, 5)]),
        ("layernorm-no-bias", lambda: nn.LayerNorm(5, bias=False), [(3, 5)]),
        ("channels-last-layernorm", lambda: nn.ChannelsLast(nn.LayerNorm(3)), [(3, 4, 5)]),
        ("groupnorm", lambda: nn.GroupNorm(2, 4), [(4, 3, 5)]),
        ("groupnorm-plain", lambda: nn.GroupNorm(1, 4, affine=False), [(4, 3, 5)]),
        ("instancenorm2d-tracked", lambda: nn.InstanceNorm2d(3, affine=True,
                                                             track_running_stats=True),
         [(3, 4, 5)]),
        ("instancenorm1d", lambda: nn.InstanceNorm1d(3), [(3, 8)]),
        ("dropout", lambda: nn.Dropout(0.3), [(3, 4)]),
        ("dropout1d", lambda: nn.Dropout1d(0.3), [(3, 4)]),
        ("dropout2d", lambda: nn.Dropout2d(0.3), [(3, 4, 5)]),
        ("upsample-nearest", lambda: nn.Upsample(scale_factor=2), [(2, 3, 4)]),
        ("upsample-bilinear-size", lambda: nn.Upsample(size=(5, 7), mode="bilinear",
                                                       align_corners=True), [(2, 3, 4)]),
        ("upsample-bilinear-scale", lambda: nn.Upsample(scale_factor=1.5, mode="bilinear",
                                                        align_corners=False), [(2, 4, 4)]),
        ("upsample-linear", lambda: nn.Upsample(scale_factor=3, mode="linear"), [(2, 5)]),
        ("upsample-nearest-fraction", lambda: nn.Upsample(scale_factor=1.5), [(2, 5, 4)]),
        ("upsample-nearest-size", lambda: nn.Upsample(size=(7, 9)), [(2, 3, 4)]),
        ("upsample-linear-corners", lambda: nn.Upsample(size=9, mode="linear",
                                                        align_corners=True), [(2, 5)]),
        ("pixel-shuffle", lambda: nn.PixelShuffle(2), [(8, 3, 3)]),
        ("leaky-relu", lambda: nn.LeakyReLU(0.3), [(3, 4)]),
        ("elu", lambda: nn.ELU(0.5), [(3, 4)]),
        ("gelu", nn.GELU, [(3, 4)]),
        ("gelu-tanh", lambda: nn.GELU("tanh"), [(3, 4)]),
        ("softplus", lambda: nn.Softplus(2.0, 3.0), [(3, 4)]),
        ("softmax", lambda: nn.Softmax(axis=1), [(3, 4)]),
        ("log-softmax", lambda: nn.LogSoftmax(axis=1), [(3, 4, 2)]),
        ("prelu", lambda: nn.PReLU(3), [(3, 4, 5)]),
        ("value-prelu", lambda: nn.ValuePReLU((3, 1, 5)), [(3, 4, 5)]),
        ("flatten", nn.Flatten, [(3, 4, 5)]),
        ("flatten-inner", lambda: nn.Flatten(2), [(3, 4, 5)]),
        ("reshape", lambda: nn.Reshape((4, -1)), [(3, 4, 5)]),
        ("permute", lambda: nn.Permute((1, 2, 0)), [(3, 4, 5)]),
        ("squeeze-all", lambda: nn.Squeeze(), [(3, 1, 1)]),
        ("squeeze-axis", lambda: nn.Squeeze(-1), [(3, 4, 1)]),
        ("unsqueeze", lambda: nn.Unsqueeze(0), [(3, 4)]),
        ("unsqueeze-last", lambda: nn.Unsqueeze(-1), [(3, 4)]),
        ("reduce-mean", lambda: nn.Reduce("mean", (1, 2)), [(3, 4, 5)]),
        ("reduce-min-keepdims", lambda: nn.Reduce("min", (0,), keepdims=True), [(3, 4, 5)]),
        ("reduce-sum-last", lambda: nn.Reduce("sum", (-1,)), [(3, 4, 5)]),
        ("reduce-max", lambda: nn.Reduce("max", (1,)), [(3, 4)]),
        ("slice", lambda: nn.Slice(((None, 2, None), 1, None, (1, None, 2))), [(3, 4, 5)]),
        ("concat", lambda: nn.Merge("concat", 0), [(3, 4, 5), (2, 4, 5)]),
        ("channels-last-concat", lambda: nn.ChannelsLast(nn.Merge("concat", -1)),
         [(3, 4, 5), (2, 4, 5)]),
        ("channels-last-reshape", lambda: nn.ChannelsLast(nn.Reshape((20, 3))), [(3, 4, 5)]),
        ("channels-last-permute", lambda: nn.ChannelsLast(nn.Permute((1, 0, 2))), [(3, 4, 5)]),
        ("channels-last-slice", lambda: nn.ChannelsLast(nn.Slice(((1, 3, None),))), [(3, 4, 5)]),
        ("pad-constant", lambda: nn.PadSides(((1, 2), (0, 3)), "constant", 0.5), [(2, 3, 4)]),
        ("pad-zeros-1d", lambda: nn.PadSides(((2, 1),)), [(2, 5)]),
        ("pad-reflect", lambda: nn.PadSides(((1, 2), (2, 1)), "reflect"), [(2, 4, 4)]),
        ("pad-replicate", lambda: nn.PadSides(((0, 1), (3, 0)), "replicate"), [(2, 4, 4)]),
        ("crop", lambda: nn.PadSides(((-1, 0), (-1, -2))), [(2, 4, 5)]),
    ]


MODULE_CASES = _cases()


def randomize(module) -> None:
    """Random values in every parameter and buffer (positive variances), so that no weight is
    its neutral starting value."""
    rng = np.random.default_rng(3)
    state = {key: (rng.uniform(0.5, 2.0, value.shape) if "var" in key
                   else rng.standard_normal(value.shape)).astype(np.float32)
             for key, value in module.state_dict().items()}
    module.load_state_dict(state)


def one_node(module, in_shapes, out_shape) -> Exportable:
    """An Exportable of inputs feeding one node computed by `module`."""
    inputs = tuple(Part(i, f"input_{i}", Input(shape=s), (), (), s, s)
                   for i, s in enumerate(in_shapes))
    node = Part(len(inputs), "node", Identity(), tuple(range(len(inputs))), (module,),
                out_shape, out_shape)
    return Exportable(inputs + (node,), tuple(range(len(inputs))), (node.index,), "chw",
                      "torch", "chw", None, trained=True)


@pytest.mark.parametrize("case", MODULE_CASES, ids=[case[0] for case in MODULE_CASES])
def test_every_module_class_translates_to_pytorch_exactly(case, tmp_path):
    need("torch")
    _, make, in_shapes = case
    minigrad.manual_seed(0)
    module = make()
    randomize(module.inner if isinstance(module, nn.ChannelsLast) else module)
    module.eval()
    if isinstance(module, nn.ChannelsLast):
        module.inner.eval()
    rng = np.random.default_rng(4)
    inner = getattr(module, "inner", module)
    if isinstance(inner, nn.Embedding):
        xs = [rng.integers(0, inner.num_embeddings, (5, *s)) for s in in_shapes]
    else:
        xs = [rng.uniform(0.5, 1.5, (5, *s)).astype(np.float32) * rng.choice([-1, 1], (5, *s))
              .astype(np.float32) for s in in_shapes]
    with minigrad.no_grad():
        expected = module(*[Tensor(x) for x in xs]).data
    export = pytorch.export(one_node(module, in_shapes, expected.shape[1:]))
    net = torch_model(export, tmp_path)
    assert_close(torch_outputs(net, xs), expected)


def test_a_ceil_mode_pool_with_uneven_padding_is_refused_naming_its_node():
    # PyTorch pads evenly; padding first would change which windows ceil_mode keeps
    pool = nn.MaxPool2d(2, 2, ((0, 1), (0, 1)), ceil_mode=True)
    with pytest.raises(SpecError, match="node: a pool with ceil_mode"):
        pytorch.export(one_node(pool, [(2, 5, 5)], (2, 3, 3)))


def test_the_module_cases_cover_every_translation():
    made = set()
    for _, make, _ in MODULE_CASES:
        module = make()
        made |= {type(module), type(getattr(module, "inner", module))}
    translated = set(pytorch._Writer.RENDER) | set(pytorch.ACTIVATIONS)
    assert translated <= made, translated - made


def spec_code_with_model_weights(model, spec, tmp_path):
    """The spec's export (the source's function, final softmax included) loaded in PyTorch with
    the built model's weights: (export, the PyTorch module)."""
    export = pytorch.export(for_model(model, spec.graph, trained=False))
    weights = pytorch.export(for_model(model, spec.graph, trained=True)).weights
    return export, torch_model(dataclasses.replace(export, weights=weights), tmp_path)


def test_the_final_softmax_keeps_the_axis_the_source_gave_it(tmp_path):
    """audio_m5_conv1d ends in F.log_softmax(self.fc1(x), dim=2) on (N, 1, 35): over the 35
    classes, not over the axis of size 1 that dim=1 would give (all zeros)."""
    need("torch")
    spec = corpus_spec(json.loads((CORPUS / "goldens" / "audio_m5_conv1d.json")
                                  .read_text(encoding="utf-8")))
    model = build_model(spec.graph).eval()
    export, net = spec_code_with_model_weights(model, spec, tmp_path)
    assert "return F.log_softmax(x, dim=2)" in export.code
    xs = inputs_for(model, 4)
    logits = minigrad_outputs(model, xs)
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    assert_close(torch_outputs(net, xs), log_softmax)


def test_a_keras_softmax_axis_counts_channels_last(tmp_path):
    """Keras' Softmax(axis=1) on a (steps, channels) sequence is over the steps: PyTorch's dim 2
    of (N, channels, steps)."""
    need("torch")
    spec = load_spec("from tensorflow import keras\nfrom tensorflow.keras import layers\n"
                     "model = keras.Sequential([keras.Input(shape=(6, 4)),\n"
                     "    layers.Conv1D(5, 3, padding='same'), layers.Softmax(axis=1)])\n")
    model = build_model(spec.graph).eval()
    export, net = spec_code_with_model_weights(model, spec, tmp_path)
    assert "return F.softmax(x, dim=2)" in export.code
    xs = inputs_for(model, 4)
    assert_close(torch_outputs(net, xs), softmax(minigrad_outputs(model, xs), axis=2))


def test_frozen_keras_layers_stay_frozen_and_a_frozen_batchnorm_warns(tmp_path):
    need("torch")
    spec = load_spec("from tensorflow import keras\nfrom tensorflow.keras import layers\n"
                     "inputs = keras.Input(shape=(8,))\n"
                     "x = layers.Dense(4, trainable=False)(inputs)\n"
                     "x = layers.BatchNormalization(trainable=False)(x)\n"
                     "model = keras.Model(inputs, layers.Dense(2)(x))\n")
    export = pytorch.export(for_spec(spec))
    assert len(export.warnings) == 1 and "batch_normalization" in export.warnings[0]
    assert f"# warning: {export.warnings[0]}" in export.code
    net = torch_model(export, tmp_path)
    frozen = {name for name, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {"dense.weight", "dense.bias", "batch_normalization.weight",
                      "batch_normalization.bias"}
    assert sum(p.numel() for p in net.parameters()) == expected_torch_params(spec.graph)
