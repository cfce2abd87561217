"""The `cnncalc` command line: figures per preset, every output format, the padding solver, and a
clean exit-2 message (with a caret where there is a place) for every kind of error."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from cnncalc.app import app
from typer.testing import CliRunner

runner = CliRunner()


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def summary_json(*args: str) -> dict:
    result = run("shapes", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def layer_params(data: dict) -> list[int]:
    return [layer["params"] for layer in data["layers"][1:]]


def layer_shapes(data: dict) -> list[list[int]]:
    return [layer["output_shape"] for layer in data["layers"][1:]]


# ---------------------------------------------------------------------------------------------
# Figures of the presets and of inline models.
# ---------------------------------------------------------------------------------------------

def test_mnist_cnn_figures():
    data = summary_json("mnist-cnn")
    assert layer_params(data) == [320, 18496, 0, 0, 1605760, 1290]
    assert data["total_params"] == 1625866
    assert layer_shapes(data) == [[28, 28, 32], [28, 28, 64], [14, 14, 64], [12544], [128], [10]]


def test_mnist_cnn_dropout_figures():
    data = summary_json("mnist-cnn-dropout")
    assert layer_params(data) == [320, 18496, 0, 0, 0, 1179776, 0, 1290]
    assert data["total_params"] == 1199882
    assert layer_shapes(data)[:3] == [[26, 26, 32], [24, 24, 64], [12, 12, 64]]


@pytest.mark.parametrize("preset, total", [
    ("lenet5", 61706),
    ("vgg16", 138357544),    # needs the Keras parser
    ("alexnet", 61100840),   # needs the PyTorch parser
])
def test_preset_totals(preset, total):
    assert summary_json(preset)["total_params"] == total


def test_tiny_inline_model():
    data = summary_json("input 3x3x1; conv 1 2x2")
    assert data["layers"][-1]["output_shape"] == [2, 2, 1]
    assert data["total_params"] == 5


def test_huge_input_is_exact():
    data = summary_json("input 100000x100000x3; conv 64 3x3; flatten; dense 10")
    assert data["layers"][-1]["params"] == 99998 * 99998 * 64 * 10 + 10


def test_input_option_replaces_the_preset_input():
    data = summary_json("mnist-cnn", "--input", "32,32,1")
    assert data["input_shape"] == [32, 32, 1]
    assert layer_shapes(data)[0] == [32, 32, 32]


def test_model_from_stdin():
    result = run("shapes", "-", "--format", "json", stdin="input 3x3x1\nconv 1 2x2\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 5


def test_model_from_file(tmp_path):
    path = tmp_path / "net.cnn"
    path.write_text("input 8x8x1\nconv 4 3x3\nflatten\ndense 2\n")
    data = summary_json(str(path))
    assert layer_shapes(data) == [[6, 6, 4], [144], [2]]


# ---------------------------------------------------------------------------------------------
# The default table, explanations, layouts and warnings.
# ---------------------------------------------------------------------------------------------

def test_table_shows_title_columns_and_totals():
    result = run("shapes", "mnist-cnn")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "mnist-cnn · H×W×C" in out
    assert "conv 32 filters 3×3, same, relu" in out
    assert "28×28×32" in out and "12544" in out
    assert "1,605,760" in out and "1,625,866" in out
    assert "5 / 1" in out and "32 / —" in out
    assert "32,566,784 FLOPs" in out            # 2 × 16,283,392 MACs
    assert "6.20 MiB" in out
    assert "\x1b[" not in out                   # no colour codes when not a terminal
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 100


def test_explain_shows_formulas_with_numbers():
    result = run("shapes", "mnist-cnn", "--explain")
    assert result.exit_code == 0, result.output
    assert "params = 3·3·1·32 + 32 = 320" in result.stdout
    assert "r = 1 + (3 − 1)·1 = 3" in result.stdout


def test_layout_chw_switches_shapes():
    data = summary_json("mnist-cnn", "--layout", "chw")
    assert data["layout"] == "chw"
    assert layer_shapes(data)[:3] == [[32, 28, 28], [64, 28, 28], [64, 14, 14]]
    table = run("shapes", "mnist-cnn", "--layout", "chw").stdout
    assert "mnist-cnn · C×H×W" in table and "32×28×28" in table


def test_row_notes_are_warnings_with_row_numbers():
    result = run("shapes", "input 28x28x1; conv 8 3x3 stride=2; dense 4")
    assert result.exit_code == 0, result.output
    assert "warning: row 1 (conv2d): stride 2 does not divide" in result.stdout
    assert "warning: row 2 (dense): dense on a non-flat input" in result.stdout


def test_warnings_stay_off_stdout_for_machine_formats():
    result = run("shapes", "input 28x28x1; conv 8 3x3 stride=2", "--format", "json")
    assert result.exit_code == 0
    json.loads(result.stdout)
    assert "warning: row 1" in result.stderr


def test_list_presets():
    result = run("shapes", "--list")
    assert result.exit_code == 0
    for name in ("lenet5", "alexnet", "vgg16", "mnist-cnn", "mnist-cnn-dropout"):
        assert name in result.stdout
    assert "1,625,866" in result.stdout


# ---------------------------------------------------------------------------------------------
# Keras' summary text, CSV and Markdown.
# ---------------------------------------------------------------------------------------------

# Printed by Keras 2 (TF 2.9-2.15) for the MNIST CNN; trailing spaces are restored below, since
# every line of the table itself is exactly 65 characters wide.
KERAS_MNIST_CNN = '''\
Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 conv2d (Conv2D)             (None, 28, 28, 32)        320

 conv2d_1 (Conv2D)           (None, 28, 28, 64)        18496

 max_pooling2d (MaxPooling2D  (None, 14, 14, 64)       0
 )

 flatten (Flatten)           (None, 12544)             0

 dense (Dense)               (None, 128)               1605760

 dense_1 (Dense)             (None, 10)                1290

=================================================================
Total params: 1,625,866
Trainable params: 1,625,866
Non-trainable params: 0
_________________________________________________________________
'''


def test_keras_style_matches_keras_character_for_character():
    result = run("shapes", "mnist-cnn", "--style", "keras")
    assert result.exit_code == 0, result.output
    unpadded = ("Model:", "Total params", "Trainable params", "Non-trainable params")
    expected = [line if line.startswith(unpadded) else line.ljust(65)
                for line in KERAS_MNIST_CNN.splitlines()]
    assert result.stdout.splitlines() == expected


def test_csv_has_one_row_per_layer():
    result = run("shapes", "mnist-cnn", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["index", "name", "type", "output_shape", "params",
                             "trainable_params", "non_trainable_params", "receptive_field",
                             "jump", "rf_center", "macs"]
    assert len(rows) == 7
    assert rows[1]["output_shape"] == "28x28x32" and rows[1]["params"] == "320"
    assert rows[1]["receptive_field"] == "3x3" and rows[5]["jump"] == "-x-"
    assert sum(int(r["params"]) for r in rows) == 1625866


def test_markdown_is_a_github_table_with_totals():
    result = run("shapes", "mnist-cnn", "--format", "markdown")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 7                               # header, rule, one per row
    assert {line.count("|") for line in table} == {7}        # six columns everywhere
    assert "| 1 | conv2d (conv 32 filters 3×3, same, relu) | 28×28×32 | 320 | 3 / 1 |" in table[3]
    assert "**Total params:** 1,625,866" in lines[-1]


# ---------------------------------------------------------------------------------------------
# The padding solver.
# ---------------------------------------------------------------------------------------------

def pad(*args: str) -> str:
    result = run("pad", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_pad_same_at_stride_one():
    out = pad("--size", "28", "--kernel", "3", "--stride", "1", "--output", "28")
    assert "padding P = 1 on each side" in out
    assert "floor((28 + 2·1 − 3) / 1) + 1 = 28" in out


def test_pad_strided_with_keras_split():
    out = pad("--size", "28", "--kernel", "3", "--stride", "2", "--output", "14")
    assert "padding P = 1 on each side" in out
    assert "0 before, 1 after" in out
    assert "a total of 1 to 2" in out


def test_pad_only_asymmetric():
    out = pad("--size", "5", "--kernel", "2", "--output", "5")
    assert "no padding P on both sides gives 5" in out
    assert "a total of 1 (before + after)" in out
    assert "4 with P = 0, 6 with P = 1" in out


def test_pad_output_smaller_than_any_padding_gives():
    # Padding can only grow the output: 28 with a 3-wide kernel never gets below 26.
    out = pad("--size", "28", "--kernel", "3", "--output", "10")
    assert "no padding gives 10" in out
    assert "26 with P = 0" in out


def test_pad_lists_every_symmetric_padding():
    out = pad("--size", "28", "--kernel", "3", "--stride", "4", "--output", "8")
    assert "padding P = 2 on each side" in out and "or P = 3" in out


def test_pad_rejects_non_positive_numbers():
    result = run("pad", "--size", "0", "--kernel", "3", "--output", "3")
    assert result.exit_code == 2
    assert "size must be a positive integer" in result.stderr
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------
# Errors: exit 2, a message naming the problem, a caret under the place, never a traceback.
# ---------------------------------------------------------------------------------------------

ERRORS = [
    # (spec, words the message must contain, caret line expected)
    ("input 3x3x1; conv 1 4x4", "kernel 4×4 is larger than its input 3", "conv 1 4x4"),
    ("input 3x3x1; conv 1 6x6 padding=1", "larger than its padded input 5", "conv 1 6x6"),
    ("input 3x3x1; maxpool 4", "pool window 4×4 is larger than its input 3", "maxpool 4"),
    ("input 8x8x1; conv 0 3x3", "filter count must be positive", "0"),
    ("input 8x8x1; conv 32 3x3 stride=0", "stride must be positive", "0"),
    ("input 0x8x1; conv 4 3x3", "input shape must be positive", "0x8x1"),
    ("input 8x8x1; dropout 1.5", "dropout rate must be in [0, 1), got 1.5", "1.5"),
    ("conv 32 3x3; flatten; dense 10", "missing input shape", None),
    ("input 8x8x1; maxpoll 2", "did you mean 'maxpool'?", "maxpoll"),
    ("input 8x8x1; conv 4 3x3 padding same", "options are written with '=': padding=same",
     "padding"),
    ("", "empty model", None),
    ("model.py", "no such file: model.py", None),
    # a name the code never defines is known only when it runs: named, with the way out
    ("model = Sequential()\nmodel.add(Conv2D(32, foo()))", "kernel_size needs 'foo'",
     "Conv2D(32, foo())"),
    ("model = Sequential()\nmodel.add(Conv2D(32, foo()))", "pass --set foo=VALUE",
     "Conv2D(32, foo())"),
    ("model = nn.Sequential(nn.Conv2d(3, 8, k))", "kernel_size needs 'k'", "nn.Conv2d(3, 8, k)"),
    ("import torch\n", "no model found", None),
]


@pytest.mark.parametrize("spec, message, marked", ERRORS)
def test_errors_exit_2_with_message_and_caret(spec, message, marked):
    result = run("shapes", spec)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and message in lines[0]
    if marked is None:
        assert len(lines) == 1
        return
    source, carets = lines[1], lines[2]
    start = carets.index("^")
    assert set(carets.strip()) == {"^"}
    assert source[start:].startswith(marked)


def test_syntax_error_in_pasted_code_has_a_caret_where_the_colon_is_missing():
    result = run("shapes", "class Net(nn.Module):\n    def forward(self, x)\n        return x\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: line 2, col 25:") and "not valid Python" in lines[0]
    source, carets = lines[1], lines[2]
    assert source.endswith("def forward(self, x)")
    assert carets.index("^") == len(source)   # just after ')', where ':' belongs


def test_caret_points_into_a_multi_line_spec():
    result = run("shapes", "input 8x8x1\nconv 4 3x3\nconv 4 7x7\n")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith("error: line 3, col 1:")
    assert result.stderr.splitlines()[1:] == ["  conv 4 7x7", "  ^^^^"]


def test_error_in_a_preset_quotes_the_preset_line():
    result = run("shapes", "mnist-cnn", "--input", "1x1x1")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: line 5, col 1: max_pooling2d: pool window 2×2 is larger than its input 1 along H",
        "  maxpool 2",
        "  ^^^^^^^",
    ]


@pytest.mark.parametrize("text", ["28xx1", "abc", "-1x28x1", ""])
def test_bad_input_option(text):
    result = run("shapes", "mnist-cnn", "--input", text)
    assert result.exit_code == 2
    assert "--input" in result.output or "input shape" in result.output
    assert "Traceback" not in result.output


def test_input_of_the_wrong_rank_is_named_by_the_first_layer_that_needs_a_map():
    # a rank-2 input is a valid shape (a 1-D signal, Keras' 28x28 images before a Flatten)
    result = run("shapes", "mnist-cnn", "--input", "28x28")
    assert result.exit_code == 2
    assert "conv needs a H×W×C feature map but receives 28×28" in result.output


@pytest.mark.parametrize("args", [
    ["shapes", "mnist-cnn", "--style", "keras", "--format", "json"],
    ["shapes", "mnist-cnn", "--format", "yaml"],
    ["shapes", "mnist-cnn", "--from", "onnx"],
    ["shapes", "--explain"],
    ["pad", "--size", "x", "--kernel", "3", "--output", "3"],
])
def test_bad_options_are_usage_errors(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------
# End to end, as a user runs it.
# ---------------------------------------------------------------------------------------------

def cnncalc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_python_m_cnncalc_json_pipe():
    done = cnncalc("shapes", "-", "--format", "json", stdin="input 28x28x1\nconv 8 3x3\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_params"] == 80


def test_python_m_cnncalc_table_has_no_colour_codes_when_piped():
    done = cnncalc("shapes", "lenet5", "--explain")
    assert done.returncode == 0, done.stderr
    assert "61,706" in done.stdout and "\x1b[" not in done.stdout


def test_python_m_cnncalc_error_has_no_traceback():
    done = cnncalc("shapes", "input 8x8x1; maxpoll 2")
    assert done.returncode == 2
    assert "did you mean 'maxpool'?" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_no_arguments_shows_help():
    done = cnncalc()
    assert "shapes" in done.stdout + done.stderr and "pad" in done.stdout + done.stderr


@pytest.mark.parametrize("args", [("-f", "csv"), ("-f", "markdown"), ("--style", "keras"), ()])
def test_layer_names_from_pasted_code_are_shown_not_obeyed(tmp_path, args):
    # PyTorch accepts any module name without a dot, an escape sequence included
    source = tmp_path / "model.py"
    source.write_text("import torch.nn as nn\nfrom collections import OrderedDict\n"
                      "model = nn.Sequential(OrderedDict([('a\\x1b[2J\\nb', nn.Linear(4, 2))]))\n")
    result = run("shapes", str(source), "--input", "4", *args)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "a\\x1b[2J\\nb" in result.stdout
