"""`cnncalc graph`: the recorded graph of one forward and backward pass."""

from __future__ import annotations

import re

from cnncalc.app import app
from typer.testing import CliRunner

runner = CliRunner()
SPEC = "input 6x6x1; conv 2 3x3 relu; maxpool 2; flatten; dense 3 softmax"


def test_tree_shows_every_op_with_its_shape_and_every_parameter_gets_a_gradient():
    result = runner.invoke(app, ["graph", SPEC])
    assert result.exit_code == 0, result.output
    out = result.output
    # The ops the spec implies, with output shapes worked out by hand for a batch of one:
    # conv 3x3 valid on 6x6 -> 2x4x4, pool 2 -> 2x2x2, flatten -> 8, dense -> 3; the final
    # softmax is folded into the cross-entropy loss.
    for expected in ("CrossEntropy → scalar", "Linear → 1×3", "Reshape → 1×8",
                     "MaxPool2d → 1×2×2×2", "ReLU → 1×2×4×4", "Conv2d → 1×2×4×4",
                     "leaf input 1×1×6×6"):
        assert expected in out
    assert "Softmax" not in out
    gradients = out[out.index("gradients after loss.backward()"):]
    for name, shape in (("0.weight", "2×1×3×3"), ("0.bias", "2"), ("4.weight", "3×8"),
                        ("4.bias", "3")):
        row = next(line for line in gradients.splitlines() if f" {name} " in line)
        assert shape in row and "—" not in row


def test_dot_output_is_a_graph_with_one_edge_per_op_input_and_output():
    result = runner.invoke(app, ["graph", SPEC, "--dot"])
    assert result.exit_code == 0, result.output
    dot = result.output
    assert dot.startswith("digraph")
    ops = dict(re.findall(r'(op\d+) \[shape=ellipse, label="(\w+)"\]', dot))
    edges = re.findall(r"(\w+) -> (\w+);", dot)
    assert sorted(ops.values()) == sorted(["Conv2d", "ReLU", "MaxPool2d", "Reshape", "Linear",
                                           "CrossEntropy"])
    inputs = {"Conv2d": 3, "ReLU": 1, "MaxPool2d": 1, "Reshape": 1, "Linear": 3, "CrossEntropy": 2}
    for op, label in ops.items():
        assert sum(1 for _, target in edges if target == op) == inputs[label]
        assert sum(1 for source, _ in edges if source == op) == 1


def test_a_model_without_an_input_shape_is_an_error():
    result = runner.invoke(app, ["graph", "conv 2 3x3"])
    assert result.exit_code == 2
    assert "missing input shape" in result.output
    assert "Traceback" not in result.output


def test_a_graph_model_that_is_not_a_classifier_runs_forward_and_backward():
    # a U-Net: two concatenations, a transposed conv, bilinear upsampling; its loss is the
    # output's mean, and every parameter, PyTorch's names, gets a gradient
    result = runner.invoke(app, ["graph", "tests/graph_models/unet.py"])
    assert result.exit_code == 0, result.output
    assert "Cat" in result.output and "ConvTranspose2d" in result.output
    for name in ("down1.0.weight", "up2.weight", "conv_up1.3.bias", "out.weight"):
        assert re.search(rf"{re.escape(name)}\s.*\d", result.output), name
    assert "—" not in result.output.split("gradients after")[1]   # no parameter without one
