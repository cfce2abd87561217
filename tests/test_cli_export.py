"""`cnncalc export`: the layer-language target read back by cnncalc's own reader, the command's
files and its one-line errors. (The PyTorch, Keras and ONNX translations are checked against the
frameworks in tests/test_export_*.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from cnncalc.app import app
from typer.testing import CliRunner

from minigrad import SpecError
from minigrad.export import for_spec, layers
from minigrad.layers.shapes import convert_shape
from minigrad.readers import load_spec, parse_spec

from corpus_models import CORPUS_MODELS, RANDOM_AUGMENTATION, corpus_spec
from export_fixtures import TOLERANCE, minigrad_outputs, mnist_test_images, need, trained

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def expressible_rows(summary):
    """(type, output shape H×W×C, parameters of convs and dense layers) of each row: what the
    layer-language text must reproduce (BatchNorm's count differs between the frameworks)."""
    return [(row.type, convert_shape(row.output_shape, summary.layout, "hwc"),
             row.params if row.type in ("conv", "dense") else None) for row in summary.rows]


# ---------------------------------------------------------------------------------------------
# --to layers: read back, every row has the source's shape and weights
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("golden_path", CORPUS_MODELS, ids=lambda p: p.stem)
def test_the_layer_language_export_reads_back_to_the_same_rows_or_is_refused_by_name(golden_path):
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    spec = corpus_spec(golden)
    if golden["file"] in RANDOM_AUGMENTATION:
        return  # not built, so not exported (tests/test_build_graph.py)
    exportable = for_spec(spec)
    try:
        text = layers.export(exportable).code
    except SpecError as error:
        # Refused: the message names a layer of the model, or says it is not a chain.
        names = {part.name for part in exportable.parts}
        message = str(error)
        assert "writes chains" in message or (
            "cannot express" in message and any(f"'{n}'" in message for n in names)), message
        return
    source_rows = expressible_rows(spec.analyze())
    read_back = expressible_rows(parse_spec(text, "dsl").analyze())
    folded = [row for row in read_back if row[0] != "activation"]
    # A final softmax the source wrote as a layer comes back inline, so compare without
    # activation rows, which never change a shape.
    assert folded == [row for row in source_rows if row[0] != "activation"]


def test_a_pytorch_chain_exports_with_warnings_where_the_layer_language_computes_otherwise():
    code = """
import torch
import torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.bn = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(6 * 14 * 14, 10)
    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv1(x))))
        return self.fc(torch.flatten(x, 1))
"""
    export = layers.export(for_spec(parse_spec(code, None, (1, 28, 28))))
    lines = export.code.splitlines()
    assert lines[:5] == ["input 28x28x1", "conv 6 5 padding=2", lines[2], "relu", "maxpool 2 ceil"]
    assert lines[2].startswith("batchnorm  # warning: eps=1e-05, momentum=0.1")
    assert lines[5].startswith("flatten  # warning: the layer language flattens channels last")
    assert lines[6] == "dense 10"
    assert len(export.warnings) == 2


def test_asymmetric_padding_is_refused_by_the_layer_language_naming_the_layer():
    code = """
import torch.nn as nn
model = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(1, 4, 2), nn.Flatten())
"""
    with pytest.raises(SpecError, match="layer language cannot express"):
        layers.export(for_spec(parse_spec(code, None, (1, 8, 8))))


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------

def test_export_prints_the_layer_language_and_writes_it_with_out(tmp_path):
    result = run("export", "simple-convnet", "--to", "layers")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == ["input 28x28x1", "conv 30 5 relu"]
    out = tmp_path / "net.txt"
    result = run("export", "simple-convnet", "--to", "layers", "--out", str(out))
    assert result.exit_code == 0 and "wrote" in result.stdout
    rows = expressible_rows(load_spec(str(out)).analyze())
    assert rows == expressible_rows(load_spec("simple-convnet").analyze())


@pytest.mark.parametrize("args, message", [
    (("resnet-mini", "--to", "layers"), "the layer language writes chains"),
    (("mnist-cnn", "--to", "onnx"), "ONNX export carries a trained model's weights"),
    (("mnist-cnn", "--to", "pytorch", "--name", "no good"), "is not a Python name"),
    (("mnist-cnn", "--to", "tensorflow"), "'tensorflow' is not one of"),
    (("conv 8 3", "--to", "layers", "--out", "/no/such/dir/x.txt"), "no directory"),
    (("input 28x28x1; conv 8 3; nonsense", "--to", "pytorch"), "unknown layer 'nonsense'"),
])
def test_bad_exports_end_in_one_line_and_exit_status_2(args, message):
    result = run("export", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_trained_model_needs_out_for_code_and_weights(tmp_path_factory):
    model_file = trained("simple-convnet", tmp_path_factory)
    result = run("export", str(model_file.path), "--to", "pytorch")
    assert result.exit_code == 2
    assert "--out FILE is needed" in result.output


def test_a_trained_model_opens_in_onnx_runtime_as_the_readme_shows(tmp_path, tmp_path_factory):
    need("onnx")
    ort = need("onnxruntime")
    model_file = trained("mnist-cnn", tmp_path_factory)
    out = tmp_path / "mnist.onnx"
    result = run("export", str(model_file.path), "--to", "onnx", "--out", str(out))
    assert result.exit_code == 0, result.output
    images = mnist_test_images(100)
    # The README's three lines:
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": images})[0]
    np.testing.assert_allclose(logits, minigrad_outputs(model_file.model, [images]),
                               atol=TOLERANCE, rtol=TOLERANCE)
