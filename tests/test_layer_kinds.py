"""Every layer kind against the real frameworks' numbers, and the layer graph's own rules.

tests/layer_goldens/layers.json holds what PyTorch 2.13 and Keras 3 (torch backend) report for
each configuration (written by tests/layer_goldens/make_layer_goldens.py, run by hand): output
shape, parameters as model.parameters() / model.count_params() count them, trainable and
non-trainable parts, PyTorch's buffers, MACs from torch's FLOP counter, or the framework's
refusal. Here each configuration is built as one of our kinds and analysed; no framework is
needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import minigrad.layers as K
from minigrad.errors import SpecError
from minigrad.layers import Conv, Input, LayerGraph, Merge, Node, analyze_graph
from minigrad.layers.report import (
    csv_text,
    field_text,
    json_text,
    keras_summary,
    markdown_text,
    note_lines,
)

GOLDENS = json.loads((Path(__file__).parent / "layer_goldens" / "layers.json").read_text())
CASES = GOLDENS["cases"]


def _tuples(value):
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def build(case) -> LayerGraph:
    kind = getattr(K, case["kind"])
    layer = kind(**{key: _tuples(value) for key, value in case["args"].items()})
    inputs = [Node(None, Input(shape=tuple(shape))) for shape in case["inputs"]]
    node = Node(None, layer, tuple(range(len(inputs))))
    torch = case["framework"] == "torch"
    return LayerGraph(tuple(inputs) + (node,), "chw" if torch else "hwc",
                      "torch" if torch else "keras")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['framework']}:{c['code']}:{c['inputs']}"
                                             for c in CASES])
def test_kind_matches_the_framework(case):
    graph = build(case)
    if "error" in case:
        with pytest.raises(SpecError):
            analyze_graph(graph)
        return
    row = analyze_graph(graph).rows[-1]
    assert list(row.output_shape) == case["output"]
    assert row.params == case["params"]
    assert row.trainable_params == case["trainable"]
    if case["framework"] == "torch":
        assert row.buffers == case["buffers"]
    else:
        assert row.non_trainable_params == case["non_trainable"]
        assert row.buffers == 0
    if case["kind"] in ("Conv", "Dense"):
        assert row.macs == case["macs"]
    else:
        assert case["macs"] == 0   # nothing else multiplies in torch's count


def test_goldens_cover_every_base_kind_and_both_frameworks():
    kinds = {c["kind"] for c in CASES}
    base = {"Conv", "Pool", "AdaptivePool", "GlobalPool", "Dense", "Embedding", "Flatten",
            "Reshape", "Permute", "Squeeze", "Unsqueeze", "Reduce", "BatchNorm", "InstanceNorm",
            "LayerNorm", "GroupNorm", "Activation", "PReLU", "Merge", "Dropout", "Identity"}
    assert base <= kinds, base - kinds
    assert base <= {cls.__name__ for cls in K.KINDS}
    assert {c["framework"] for c in CASES} == {"torch", "keras"}
    assert GOLDENS["torch"].startswith("2.13")
    assert sum("error" in c for c in CASES) >= 8


# ---------------------------------------------------------------------------------------------
# The graph: sharing, names, checks, receptive fields through merges, the report's graph forms.
# ---------------------------------------------------------------------------------------------

def residual(shortcut_stride: int = 1, rules: str = "keras") -> LayerGraph:
    """input → conv a (3×3, stride 2, same) → conv b (3×3 same) ; shortcut conv (1×1) ; add."""
    conv_a = Conv(filters=4, kernel=(3, 3), stride=(2, 2), padding=((1, 1), (1, 1)))
    conv_b = Conv(filters=4, kernel=(3, 3), padding="same")
    short = Conv(filters=4, kernel=(1, 1), stride=(shortcut_stride,) * 2)
    return LayerGraph((Node(None, Input(shape=(8, 8, 3))), Node(None, conv_a, (0,)),
                       Node(None, conv_b, (1,)), Node(None, short, (0,)),
                       Node(None, Merge(op="add"), (2, 3))), "hwc", rules)


def test_residual_block_field_is_the_largest_branch_field():
    summary = analyze_graph(residual(shortcut_stride=2))
    names = [r.name for r in summary.rows]
    assert names == ["input", "conv2d", "conv2d_1", "conv2d_2", "add"]
    add = summary.rows[-1]
    assert add.inputs == ("conv2d_1", "conv2d_2")
    # branch a: r = 3 then 3 + 2·2 = 7, jump 2, centre 0 + (1 − 1)·1 = 0 then 0; shortcut: r 1,
    # jump 2, centre 0: aligned, so the merge's field is the larger one
    assert add.receptive_field == (7, 7) and add.jump == (2, 2) and add.rf_center == (0, 0)
    assert add.rf_unknown is None and add.params == 0
    assert not summary.is_chain


def test_misaligned_branches_leave_the_field_unknown_downstream():
    # valid 1×1 at stride 1 keeps 8×8 while branch a halves it: no merge of those shapes, so
    # pad the shortcut's input instead: compare a 2×2/stride 2 conv with a 3×3/stride 2 one
    a = Conv(filters=2, kernel=(2, 2), stride=(2, 2))
    b = Conv(filters=2, kernel=(3, 3), stride=(2, 2), padding="same")
    graph = LayerGraph((Node(None, Input(shape=(8, 8, 1))), Node("a", a, (0,)),
                        Node("b", b, (0,)), Node("sum", Merge(op="add"), (1, 2)),
                        Node("after", Conv(filters=1, kernel=(1, 1)), (3,))), "hwc", "keras")
    summary = analyze_graph(graph)
    merged, after = summary.rows[3], summary.rows[4]
    # a: field 2, centre 0.5; b: field 3, centre (3 − 1)/2 − 0 = 1 ('same' pads 0 before, 1 after)
    assert merged.rf_unknown == "branches disagree along H: center 1 vs 0.5"
    assert after.rf_unknown == merged.rf_unknown and after.receptive_field is None
    assert field_text(after) == "n/a"
    lines = note_lines(summary)
    assert sum("no receptive field" in line for line in lines) == 1   # said once, where it starts


def test_a_reused_layer_counts_its_parameters_once():
    conv = Conv(filters=3, kernel=(3, 3), padding="same")
    graph = LayerGraph((Node(None, Input(shape=(3, 6, 6))), Node("conv", conv, (0,)),
                        Node("conv_again", conv, (1,), shares=1)), "chw", "torch")
    rows = analyze_graph(graph).rows
    assert rows[1].params == 3 * 3 * 3 * 3 + 3 and rows[2].params == 0
    assert rows[2].macs == rows[1].macs
    assert "shares the parameters of conv" in rows[2].notes


@pytest.mark.parametrize("nodes, message", [
    ((Node(None, Input(shape=(4,))), Node(None, Merge(op="add"), (0,))), "at least two"),
    ((Node(None, Input(shape=(4,))), Node(None, K.Dense(units=2), (1,))), "earlier node"),
    ((Node(None, Input(shape=(4,))), Node(None, K.Dense(units=2), (0, 0))), "takes 1 input"),
    ((Node(None, Input(shape=(4,))), Node(None, Input(shape=(4,)), (0,))), "no inputs"),
    ((Node(None, Input(shape=(4,))), Node(None, K.Dense(units=2), (0,)),
      Node(None, K.Dense(units=3), (0,), shares=1)), "different layer"),
])
def test_malformed_graphs_are_refused_with_the_node_named(nodes, message):
    with pytest.raises(SpecError, match=message):
        analyze_graph(LayerGraph(nodes, "chw", "torch"))


def test_concat_and_add_shape_errors_name_both_shapes():
    graph = LayerGraph((Node(None, Input(shape=(8, 8, 3))), Node(None, Input(shape=(4, 4, 3))),
                        Node(None, Merge(op="concat"), (0, 1))), "hwc", "keras")
    with pytest.raises(SpecError, match="8×8×3 and 4×4×3"):
        analyze_graph(graph)


def test_keras_style_prints_a_functional_model_with_connected_to():
    lines = keras_summary(analyze_graph(residual(shortcut_stride=2)))
    assert lines[0] == 'Model: "model"' and len(lines[1]) == 98
    assert "Connected to" in lines[2]
    text = "\n".join(lines)
    assert (" input (InputLayer)".ljust(32) + "[(None, 8, 8, 3)]".ljust(21) + "0".ljust(12)
            + "[]").ljust(98) in lines
    assert "['conv2d_1[0][0]'," in text and "'conv2d_2[0][0]']" in text
    assert "Total params: " + f"{112 + 148 + 16:,}" in text


def test_machine_formats_of_a_graph_name_each_rows_inputs():
    summary = analyze_graph(residual(shortcut_stride=2))
    data = json.loads(json_text(summary))
    assert [layer["inputs"] for layer in data["layers"]] == [
        [], ["input"], ["conv2d"], ["input"], ["conv2d_1", "conv2d_2"]]
    assert data["buffers"] == 0 and data["rules"] == "keras"
    assert all(layer["buffers"] == 0 and layer["rf_unknown"] is None for layer in data["layers"])
    header, *rows = csv_text(summary).splitlines()
    assert header.endswith(",from") and rows[-1].endswith(",conv2d_1 conv2d_2")
    table = markdown_text(summary, "block")
    assert "| # | layer (type) | from | output shape |" in table
    assert "| 4 | add | conv2d_1, conv2d_2 | 4×4×4 | 0 | 7 / 2 | 0 |" in table


def test_pytorch_batch_norm_keeps_its_running_statistics_as_buffers():
    graph = LayerGraph((Node(None, Input(shape=(6, 4, 4))),
                        Node("bn", K.BatchNorm(num_features=6), (0,))), "chw", "torch")
    summary = analyze_graph(graph)
    assert (summary.total_params, summary.buffers) == (12, 12)
    assert '"buffers": 12' in json_text(summary)
    assert csv_text(summary).splitlines()[0].endswith(",macs,buffers")
