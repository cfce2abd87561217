"""Issue "Never a traceback", sizes and options: every reproducer of the fuzz campaign about
unbounded integers, input length and option values exits 2 with a named reason (or 0 where the
input is valid), never with a traceback, in well under 10 s; the layer language is fuzzed
through `cnncalc shapes`; and an unexpected exception reaches the one error boundary (exit 70).

`HYPOTHESIS_PROFILE=thorough` runs the layer-language fuzz on 10,000 inputs
(`SIZES_FUZZ_EXAMPLES=N` sets any budget).
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from cnncalc import app as app_module
from cnncalc.app import app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from minigrad.layers import bounds
from minigrad.readers.presets import PRESETS
from typer.testing import CliRunner

runner = CliRunner()

EXAMPLES = int(os.environ.get("SIZES_FUZZ_EXAMPLES",
                              10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 40))
BIG = "9" * 4301   # one digit more than Python turns into an int (or back into text)


def run(*args: str, stdin: str | None = None, seconds: float = 10.0):
    started = time.perf_counter()
    result = runner.invoke(app, list(args), input=stdin)
    took = time.perf_counter() - started
    assert took < seconds, (args[:3], took)
    assert "Traceback" not in result.output, result.output[-3000:]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"cnncalc raised {result.exception!r}") from result.exception
    return result


def refused(*args: str, words: str | list[str], stdin: str | None = None) -> str:
    """Exit 2 with a one-line reason naming `words`; returns the error text."""
    result = run(*args, stdin=stdin)
    assert result.exit_code == 2, (result.exit_code, result.output[-2000:])
    text = " ".join(result.stderr.replace("│", " ").split())
    for word in [words] if isinstance(words, str) else words:
        assert word in text, (word, text[-2000:])
    assert "internal error" not in text
    return text


# ---------------------------------------------------------------------------------------------
# 1. Unbounded integers: in the layer language, in --input, and formatted.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, what", [
    (f"input {BIG}x28x1; conv 8 3x3; flatten; dense 10", "input shape"),
    (f"input 28x28x1; conv {BIG} 3x3", "filter count"),
    (f"input 28x28x1; conv 8 {BIG}x3", "kernel size"),
    (f"input 28x28x1; conv 8 3x3 stride={BIG}", "stride"),
    (f"input 28x28x1; conv 8 3x3 padding={BIG}", "padding"),
    (f"input 28x28x1; maxpool 2 stride=2x{BIG}", "stride"),
    (f"input 784; dense {BIG}", "units"),
    (f"input {'0' * 5000}28x28x1; conv 8 3x3", None),   # leading zeros: 28 is a fine size
], ids=["input", "filters", "kernel", "stride", "padding", "pool-stride", "units", "zeros"])
def test_a_4301_digit_size_in_the_layer_language_is_named(spec, what):
    if what is None:
        assert run("shapes", spec).exit_code == 0
        return
    text = refused("shapes", spec, words=[what, "(4,301 digits)", "ceiling of 10^12"])
    assert len(text) < 1000      # the number is quoted short, the excerpt is a window


def test_a_4301_digit_size_in_input_is_named():
    refused("shapes", "mnist-cnn", "--input", f"{BIG}x28x1",
            words=["'--input'", "(4,301 digits)", "ceiling of 10^12 for one size"])
    refused("shapes", "input 28x28x1; flatten", "--input", f"28x{10**13}x1",
            words=["'--input'", "ceiling of 10^12"])


@pytest.mark.parametrize("exponent", [155, 400, 2200])
def test_sizes_of_10_to_the_155_to_2200_are_refused_not_formatted(exponent):
    refused("shapes", f"input {10**exponent}x1x1; conv 1 1x1",
            words=["input shape", f"({exponent + 1:,} digits)", "ceiling of 10^12"])


def test_outputs_above_the_element_ceiling_are_named():
    # each size is allowed, the product is not
    refused("shapes", "input 1000000x1000000x1; conv 1000000 1x1",
            words=["conv2d", "1,000,000,000,000,000,000 values", "ceiling of 10^15 values for one tensor"])
    refused("shapes", "input 28x28x1; conv 8 3x3 padding=1000000000000",
            words=["conv2d", "ceiling of 10^12 for one size"])


@pytest.mark.parametrize("fmt", [[], ["--explain"], ["-f", "json"], ["-f", "csv"],
                                 ["-f", "markdown"], ["--style", "keras"]])
def test_the_largest_numbers_allowed_print_in_every_format(fmt):
    """At the ceilings every count, byte size and receptive field still prints exactly."""
    spec = ("input 1000000x1000000x1000; conv 1000 999999x999999 padding=same dilation=1000; "
            "conv 1000 999999x999999 stride=999999; flatten; dense 1000000000000")
    result = run("shapes", spec, *fmt)
    assert result.exit_code == 0, result.output[-2000:]
    if fmt == ["-f", "json"]:
        data = json.loads(result.stdout)
        assert data["layers"][1]["params"] == 999999 * 999999 * 1000 * 1000 + 1000
        assert data["total_macs"] > 10**29
    elif not fmt:
        assert "memory" in result.stdout and "PiB" in result.stdout


@pytest.mark.parametrize("fmt", [[], ["--explain"], ["-f", "json"], ["-f", "csv"]])
def test_a_receptive_field_beyond_10_to_the_15_is_no_longer_tracked(fmt):
    """Strides multiply the jump: 60 pools of stride 1000 make it 10^180, a number no float
    holds. The rows from there on say so instead of printing it."""
    spec = "input 28x28x1; " + "maxpool 1 stride=1000; " * 60 + "flatten; dense 10"
    result = run("shapes", spec, *fmt)
    assert result.exit_code == 0, result.output[-2000:]
    if fmt == ["-f", "json"]:
        rows = json.loads(result.stdout)["layers"]
        assert rows[5]["jump"] == [1000**5, 1000**5]
        assert all(r["receptive_field"] is None and "10^15" in r["rf_unknown"] for r in rows[6:])
    elif not fmt:
        assert "10^15 input pixels" in result.output


def test_a_100000_by_100000_input_is_exact():
    data = json.loads(run("shapes", "input 100000x100000x3; conv 64 3x3 padding=same; "
                                    "maxpool 2; flatten; dense 10", "-f", "json").stdout)
    conv, pool, flat, dense = data["layers"][1:]
    assert conv["output_shape"] == [100000, 100000, 64]
    assert conv["macs"] == 3 * 3 * 3 * 64 * 100000 * 100000
    assert flat["output_shape"] == [50000 * 50000 * 64]
    assert dense["params"] == 50000 * 50000 * 64 * 10 + 10
    assert data["activation_bytes"] == 4 * (100000 * 100000 * 64 + 2 * 50000 * 50000 * 64 + 10)
    table = run("shapes", "input 100000x100000x1; conv 8 3x3; flatten; dense 10").stdout
    assert "799,968,000,410" in table        # 99998·99998·8·10 + 10 + 80 params, exactly


@pytest.mark.parametrize("code, words", [
    ("model = nn.Sequential(nn.Linear(2**4000, 10))", ["in_features about 10^1,204", "10^12"]),
    ("model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2**4000))", ["stride about 10^1,204"]),
    ("model = nn.Sequential(nn.Upsample(scale_factor=10**7), nn.Upsample(scale_factor=10**7))",
     ["307,200,000,000,000,000 values", "ceiling of 10^15 values for one tensor"]),
    ("model = nn.Sequential(nn.Upsample(scale_factor=10**11), nn.Upsample(scale_factor=10**11))",
     ["an output size of 3,200,000,000,000", "ceiling of 10^12 for one size"]),
    ("model = nn.Sequential(*[nn.ReLU() for _ in range(30000)])", ["more than 20,000 layers"]),
    ("model = nn.Sequential(*[nn.ReLU() for _ in range(6000)])", ["more than 5,000 layers"]),
])
def test_huge_sizes_in_pasted_code_are_named(code, words, tmp_path):
    path = tmp_path / "net.py"
    path.write_text(code + "\n", encoding="utf-8")
    refused("shapes", str(path), "--input", "3x32x32", words=words)


def test_jumps_past_10_to_the_15_in_pasted_code_are_not_tracked(tmp_path):
    path = tmp_path / "net.py"
    path.write_text("model = nn.Sequential(*[nn.MaxPool2d(1, stride=1000) for _ in range(60)])\n",
                    encoding="utf-8")
    result = run("shapes", str(path), "--input", "3x32x32", "--explain")
    assert result.exit_code == 0, result.output[-2000:]


@pytest.mark.parametrize("args, words", [
    (["graph", "input 28x28x1; flatten; dense 1000000000000"],
     ["785,000,000,000,000 parameters", "200,000,000 minigrad builds"]),
    (["graph", "input 100000x100000x1; conv 1 1x1"],
     ["20,000,000,000 values", "use a smaller input"]),
    (["train", "input 28x28x1; flatten; dense 100000000000; dense 3", "--epochs", "1"],
     ["parameters, more than the 200,000,000 minigrad builds"]),
])
def test_models_too_big_to_allocate_are_refused_before_any_array(args, words):
    refused(*args, words=words)


# ---------------------------------------------------------------------------------------------
# 4 and 3. Options: type and range checked before any work.
# ---------------------------------------------------------------------------------------------

def test_pad_with_a_huge_stride_is_refused():
    refused("pad", "--size", "28", "--kernel", "3", "--stride", "100000000", "--output", "14",
            words=["'--stride'", "at most 256", "too many paddings"])


def test_pad_with_a_huge_kernel_answers_at_once():
    started = time.perf_counter()
    result = run("pad", "--size", "28", "--kernel", str(10**11), "--output", "14", seconds=2)
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 2
    assert "13 with P = 49999999992, 15 with P = 49999999993" in result.stdout
    refused("pad", "--size", "28", "--kernel", str(10**13), "--output", "14",
            words=["'--kernel'", "at most 10^12"])
    refused("pad", "--size", BIG, "--kernel", "3", "--output", "14", words=["'--size'"])


@pytest.mark.parametrize("args, words", [
    (["train", "--threads", str(10**11)], ["'--threads'", "the number of cores"]),
    (["evaluate", "m.npz", "--threads", str(10**11)], ["'--threads'", "the number of cores"]),
    (["train", "--lr", "inf"], ["'--lr'", "finite positive"]),
    (["train", "--lr", "nan"], ["'--lr'", "finite positive"]),
    (["train", "--lr", "-1"], ["'--lr'", "finite positive"]),
    (["train", "--seed", "-1"], ["'--seed'"]),
    (["train", "--seed", str(2**40)], ["'--seed'", "numpy's seed range"]),
    (["train", "--epochs", "0"], ["'--epochs'"]),
    (["train", "--epochs", str(10**9)], ["'--epochs'", "at most"]),
    (["train", "--epochs", BIG], ["'--epochs'"]),
    (["train", "--batch-size", str(10**12)], ["'--batch-size'", "at most"]),
    (["train", "--limit", str(10**30)], ["'--limit'", "at most"]),
    (["train", "--val-split", "nan"], ["'--val-split'"]),
    (["predict", "m.npz", "x.pgm", "--top", str(10**9)], ["'--top'", "at most"]),
    (["filter", "x.pgm", "--kernel", "edge", "--out", "o.png", "--padding", "30000"],
     ["'--padding'", "at most 100"]),
    (["filter", "x.pgm", "--kernel", "edge", "--out", "o.png", "--stride", str(10**9)],
     ["'--stride'", "at most 100"]),
])
def test_numeric_options_are_checked_before_any_work(args, words):
    refused(*args, words=words)


@pytest.mark.parametrize("args", [
    ["shapes", "input 28x28x1; conv 8 3x3\udcff"],
    ["shapes", "/tmp/\udcff.txt"],
    ["shapes", "mnist-cnn", "--model", "\udcff"],
    ["train", "--save", "m\udce9.npz"],
])
def test_a_non_utf8_argument_is_named(args):
    refused(*args, words=["not UTF-8 text", "byte 0x", "argument"])


def test_non_utf8_bytes_on_stdin_are_named():
    result = runner.invoke(app, ["shapes", "-"], input=b"input 28x28x1; conv 8 3x3 \xff\n")
    assert result.exit_code == 2, result.output
    assert "standard input is not UTF-8 text: byte 0xff on line 1" in result.stderr


def test_endless_stdin_is_read_no_further_than_a_spec_can_be(monkeypatch, capsys):
    class Endless:
        """/dev/zero as standard input: read(n) gives n bytes; read() would never end."""
        def read(self, size=-1):
            assert size is not None and size > 0, "stdin read whole"
            return b"\0" * size

    class Stdin:
        buffer = Endless()

    monkeypatch.setattr("sys.stdin", Stdin())
    with pytest.raises(SystemExit) as stop:
        app(["shapes", "-"])
    assert stop.value.code == 2
    assert "standard input is larger than 20 MiB" in capsys.readouterr().err


def test_a_4301_digit_set_value_is_named():
    refused("shapes", "mnist-cnn", "--set", f"n={BIG}", words=["'--set'", "4,300 digits"])


# ---------------------------------------------------------------------------------------------
# 6. Input length: a ceiling on layers and on text, linear time below it.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [20_000, 210_000])
def test_too_many_layers_are_refused_quickly(layers, tmp_path):
    spec = tmp_path / "deep.txt"
    spec.write_text("input 28x28x1\n" + "conv 1 1x1\n" * layers, encoding="utf-8")
    text = refused("shapes", str(spec), words=["more than"])
    assert "5,000 layers" in text or "500,000" in text


def test_more_layers_than_the_ceiling_on_one_line():
    refused("shapes", "input 28x28x1;" + "relu;" * 5001, words=["more than 5,000 layers"])


@pytest.mark.parametrize("repeats", [150_000, 250_000])  # under and over the 1 MB parse limit
def test_a_long_layer_language_text_is_refused_by_its_length(tmp_path, repeats):
    spec = tmp_path / "long.txt"
    spec.write_text("input 28x28x1\n" + "relu  " * repeats, encoding="utf-8")
    refused("shapes", str(spec), words=["characters long, more than 500,000",
                                        "ceiling for the layer language"])


def test_a_model_at_the_layer_ceiling_still_works_in_linear_time():
    spec = "input 28x28x1;" + "relu;" * bounds.MAX_LAYERS
    result = run("shapes", spec, "-f", "json", seconds=10)
    assert result.exit_code == 0, result.output[-2000:]
    assert len(json.loads(result.stdout)["layers"]) == bounds.MAX_LAYERS + 1


def test_a_50_mb_model_add_file_is_refused_unread(tmp_path):
    code = tmp_path / "add.py"
    with open(code, "w", encoding="utf-8") as handle:
        handle.write("from keras import models, layers\nmodel = models.Sequential()\n")
        handle.write("model.add(layers.Dense(10))\n" * 1_800_000)
    refused("shapes", str(code), "--input", "10", words=["larger than 20 MiB"])


# ---------------------------------------------------------------------------------------------
# The layer language, fuzzed through `cnncalc shapes`.
# ---------------------------------------------------------------------------------------------

DSL_PRESETS = [p.text for p in PRESETS.values() if p.format == "dsl"]
WORDS = ["input", "conv", "maxpool", "avgpool", "globalavgpool", "flatten", "dropout", "batchnorm",
         "dense", "relu", "softmax", "ceil", "stride=2", "padding=same", "padding=valid",
         "padding=1", "dilation=2", "bias=false", "3x3", "2", "0", "1", "-1", "28x28x1", "784",
         "0.5", "1e999", "nan", BIG, "10" * 20, "x", "×", ";", ",", "#", "=", "\n", "",
         "stride=", "padding=0x0", "١٢", "fc", "conv2d", "4294967296", "1000000000000"]


@st.composite
def layer_texts(draw):
    if draw(st.booleans()) and DSL_PRESETS:
        text = draw(st.sampled_from(DSL_PRESETS))
    else:
        lines = ["input " + draw(st.sampled_from(["28x28x1", "32x32x3", "784", "1x1x1",
                                                 "100000x100000x1"]))]
        for _ in range(draw(st.integers(0, 8))):
            lines.append(" ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))))
        text = "\n".join(lines)
    tokens = re.split(r"(\s+|;|,)", text)
    for _ in range(draw(st.integers(1, 4))):
        if not tokens:
            break
        at = draw(st.integers(0, len(tokens) - 1))
        edit = draw(st.sampled_from(["replace", "delete", "insert", "duplicate", "line"]))
        word = draw(st.sampled_from(WORDS) | st.text(max_size=6))
        if edit == "replace":
            tokens[at] = word
        elif edit == "delete":
            del tokens[at]
        elif edit == "insert":
            tokens.insert(at, word)
        elif edit == "duplicate":
            tokens.insert(at, tokens[at])
        else:
            lines = "".join(tokens).split("\n")
            line = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[line])
            tokens = ["\n".join(lines)]
    return "".join(tokens)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layer_texts(), st.sampled_from([[], ["--explain"], ["-f", "json"], ["-f", "csv"]]))
def test_edited_layer_language_never_crashes(text, fmt):
    result = runner.invoke(app, ["shapes", "--from", "dsl", *fmt, "--", text])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"cnncalc raised {result.exception!r} on {text!r}") from result.exception
    assert result.exit_code in (0, 2), (text, result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output, (text, result.output[-2000:])
    assert "internal error" not in result.output, (text, result.output[-2000:])


# ---------------------------------------------------------------------------------------------
# The one error boundary: a bug is exit 70, one line, the traceback only when asked.
# ---------------------------------------------------------------------------------------------

def _explode(*args, **kwargs):
    raise RuntimeError("boom\nsecond line")


def test_an_unexpected_exception_is_exit_70_and_one_line(monkeypatch):
    monkeypatch.delenv("CNNCALC_DEBUG", raising=False)
    monkeypatch.setattr(app_module, "load_spec", _explode)
    result = runner.invoke(app, ["shapes", "mnist-cnn"])
    assert result.exit_code == 70, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("internal error, please report: RuntimeError: boom second line")
    assert "--debug" in lines[0]
    assert "Traceback" not in result.output and result.stdout == ""


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_traceback_is_shown_under_debug(monkeypatch, how):
    monkeypatch.setattr(app_module, "solve_padding", _explode)
    args = ["pad", "--size", "28", "--kernel", "3", "--output", "14"]
    if how == "option":
        monkeypatch.delenv("CNNCALC_DEBUG", raising=False)
        args = ["--debug", *args]
    else:
        monkeypatch.setenv("CNNCALC_DEBUG", "1")
    result = runner.invoke(app, args)
    assert result.exit_code == 70, result.output
    assert "Traceback (most recent call last)" in result.stderr
    assert "_explode" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "internal error, please report: RuntimeError: boom")


def test_expected_errors_still_exit_2_through_the_boundary():
    result = runner.invoke(app, ["--debug", "shapes", "input 28x28x1; conv 8 3x3 stride=0"])
    assert result.exit_code == 2
    assert "internal error" not in result.output and "Traceback" not in result.output
