"""The graph presets resnet-mini (PyTorch code) and mobilenet-mini (Keras code): `cnncalc shapes`
reads them with the numbers PyTorch 2.13 and Keras 3 give for the same code.

tests/engine_goldens/presets.json holds those numbers; tests/engine_goldens/make_presets.py
wrote it by running each preset's text in the real framework (by hand: no framework is needed
here). Compared: total, trainable and non-trainable parameters, PyTorch's buffers (BatchNorm's
running statistics), and every layer the framework reports: its output shape and parameters;
and the model `cnncalc train` builds holds as many weights and statistics.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from cnncalc.app import app
from typer.testing import CliRunner

from minigrad.engine.tensor import Tensor, no_grad
from minigrad.readers import load_spec
from minigrad.readers.presets import PRESETS
from minigrad.tools.build import build_model

GOLDENS = json.loads((Path(__file__).parent / "engine_goldens" / "presets.json")
                     .read_text(encoding="utf-8"))
GRAPH_PRESETS = ("resnet-mini", "mobilenet-mini")

runner = CliRunner()


def shapes_json(name: str) -> dict:
    result = runner.invoke(app, ["shapes", name, "-f", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_graph_preset_has_goldens_made_from_its_current_text():
    assert set(GOLDENS) == set(GRAPH_PRESETS)
    for name in GRAPH_PRESETS:
        digest = hashlib.sha256(PRESETS[name].text.encode()).hexdigest()
        assert GOLDENS[name]["text_sha256"] == digest, \
            f"{name} changed since its goldens: run tests/engine_goldens/make_presets.py"


@pytest.mark.parametrize("name", GRAPH_PRESETS)
def test_parameter_counts_and_buffers_match_the_framework(name):
    golden, data = GOLDENS[name], shapes_json(name)
    assert data["total_params"] == golden["total_params"]
    assert data["trainable_params"] == golden["trainable_params"]
    assert data["non_trainable_params"] == golden.get("non_trainable_params", 0)
    assert data["buffers"] == golden.get("buffers", 0)
    assert data["layers"][-1]["output_shape"] == golden["output_shape"]


@pytest.mark.parametrize("name", GRAPH_PRESETS)
def test_every_framework_layer_has_its_output_shape_and_parameters(name):
    """Each layer the framework reports is a row of cnncalc's, in the same order (cnncalc
    also shows what the framework does not call a layer: F.relu, the residual add, flatten)."""
    rows = shapes_json(name)["layers"]
    names = [row["name"] for row in rows]
    position = -1
    for layer in GOLDENS[name]["layers"]:
        assert layer["name"] in names, f"{name}: no row {layer['name']}"
        index = names.index(layer["name"])
        assert index > position, f"{name}: {layer['name']} out of order"
        position = index
        row = rows[index]
        assert (row["output_shape"], row["params"]) == (layer["output_shape"], layer["params"]), \
            f"{name}: {layer['name']}"


@pytest.mark.parametrize("name", GRAPH_PRESETS)
def test_the_built_model_has_the_frameworks_weights_and_statistics(name):
    golden = GOLDENS[name]
    model = build_model(load_spec(name).graph)
    assert sum(p.data.size for p in model.parameters()) == golden["trainable_params"]
    # BatchNorm's running mean and variance: PyTorch's buffers, Keras' non-trainable weights
    statistics = golden["buffers"] if "buffers" in golden else golden["non_trainable_params"]
    assert sum(b.size for _, b in model.named_buffers()) == statistics
    with no_grad():
        assert model(Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)


def test_resnet_mini_is_a_graph_with_both_kinds_of_shortcut():
    rows = {row["name"]: row for row in shapes_json("resnet-mini")["layers"]}
    assert rows["layer1.add"]["type"] == "add"
    assert rows["layer1.add"]["inputs"] == ["layer1.bn2", "layer1.shortcut"]
    assert rows["layer1.shortcut"]["type"] == "identity"
    assert rows["layer2.add"]["inputs"] == ["layer2.bn2", "layer2.shortcut.1"]
    assert rows["layer2.shortcut.0"]["description"] == "32 filters 1×1, stride 2, no bias"
    assert rows["avgpool"]["type"] == "globalavgpool"


def test_mobilenet_mini_is_built_of_depthwise_separable_blocks_with_relu6():
    rows = shapes_json("mobilenet-mini")["layers"]
    kinds = [row["type"] for row in rows]
    assert kinds.count("depthwise") == 4
    assert kinds.count("batchnorm") == 9
    assert [row["description"] for row in rows if row["type"] == "activation"] \
        == ["relu6"] * 9
    strided = [row["name"] for row in rows if "stride 2" in row["description"]]
    assert strided == ["conv2d", "depthwise_conv2d_1", "depthwise_conv2d_3"]
    assert kinds[-2:] == ["globalavgpool", "dense"]


@pytest.mark.parametrize("name", GRAPH_PRESETS)
def test_the_about_line_states_the_frameworks_parameter_counts(name):
    about = PRESETS[name].about
    counts = [int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) (?:parameters|trainable)",
                                                          about)]
    golden = GOLDENS[name]
    expected = [golden["total_params"]]
    if golden["trainable_params"] != golden["total_params"]:
        expected.append(golden["trainable_params"])
    assert counts == expected, about
    assert "28" in about


def test_the_preset_list_shows_the_graph_presets():
    result = runner.invoke(app, ["shapes", "--list"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "resnet-mini pytorch" in text and "mobilenet-mini keras" in text
    assert "19,706 parameters" in text and "19,786 parameters" in text
