"""Fuzz the image readers through `cnncalc predict` and `cnncalc filter` (in-process, through the
commands' error handling): PGM (P2, P5) and PNG files with flipped bytes, truncations, inserted
bytes and edited headers (PGM numbers of any length, PNG sizes up to 2^31 with a valid CRC).
Every input ends with exit status 0 or 2 and a one-line error, never an exception.

A few examples per surface by default; HYPOTHESIS_PROFILE=thorough tries 10,000 per surface.
Also: control characters never reach the terminal, and JSON output is strict JSON.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cnncalc import images, render
from cnncalc.app import app
from minigrad.layers.report import strict_json

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
EXAMPLES = 10_000 if THOROUGH else 25
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model that takes 28x28 grey images (a dense layer: quick to run)."""
    path = tmp_path_factory.mktemp("model") / "m.npz"
    result = run("train", "flatten; dense 3", "--limit", "50", "--epochs", "1",
                 "--save", path)
    assert result.exit_code == 0, result.output
    return path


# ---------------------------------------------------------------------------------------------
# Valid images to start from, and the damage done to them.
# ---------------------------------------------------------------------------------------------

@st.composite
def pgm_files(draw) -> bytes:
    width, height = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    maxval = draw(st.sampled_from([1, 15, 255, 256, 65535]))
    values = draw(st.lists(st.integers(0, maxval), min_size=width * height,
                           max_size=width * height))
    comment = draw(st.sampled_from([b"", b"# a comment\n"]))
    if draw(st.booleans()):  # P2: decimal text
        body = b"\n".join(b" ".join(str(v).encode() for v in values[r * width:(r + 1) * width])
                          for r in range(height))
        return b"P2\n" + comment + f"{width} {height}\n{maxval}\n".encode() + body + b"\n"
    dtype = ">u2" if maxval > 255 else "u1"
    return (b"P5\n" + comment + f"{width} {height}\n{maxval}\n".encode()
            + np.array(values, dtype).tobytes())


@st.composite
def png_files(draw) -> bytes:
    width, height = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16", "LA"]))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA").convert(mode if mode != "I;16" else "I")
    if mode == "I;16":
        image = image.convert("I;16")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


@st.composite
def png_size_edit(draw, data: bytes) -> bytes:
    """The PNG with IHDR's width and height replaced (CRC fixed, so only the size is wrong)."""
    width = draw(st.one_of(st.integers(1, 64), st.integers(0, 2**31 - 1)))
    height = draw(st.one_of(st.integers(1, 64), st.integers(0, 2**31 - 1)))
    ihdr = data[16:29]
    return data[:8] + png_chunk(b"IHDR", struct.pack(">II", width, height) + ihdr[8:]) + data[33:]


@st.composite
def pgm_header_edit(draw, data: bytes) -> bytes:
    """One of the PGM header's numbers replaced by other digits (up to 5,000 of them) or text."""
    words = data.split(maxsplit=4)
    if len(words) < 4 or words[1].startswith(b"#"):
        return data
    index = draw(st.integers(1, 3))
    number = draw(st.one_of(
        st.integers(0, 70000).map(lambda n: str(n).encode()),
        st.integers(1, 5000).map(lambda n: b"9" * n),
        st.sampled_from([b"-1", b"0x10", b"1e3", b"", b"#", b"\xff", b"4096", b"4097"])))
    words[index] = number
    rest = words[4] if len(words) > 4 else b""
    return b" ".join(words[:4]) + b"\n" + rest


@st.composite
def damaged(draw, files) -> bytes:
    """A valid file with one to three kinds of damage."""
    data = draw(files)
    edits = draw(st.lists(st.sampled_from(["flip", "truncate", "insert", "delete", "header",
                                           "repeat"]), min_size=1, max_size=3))
    for edit in edits:
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if edit == "flip":
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif edit == "truncate":
            data = data[:at]
        elif edit == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
        elif edit == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 16)):]
        elif edit == "repeat":  # a part of the file twice, e.g. a chunk or a header line
            end = draw(st.integers(at, len(data)))
            data = data[:end] + data[at:end] + data[end:]
        elif data.startswith(b"\x89PNG") and len(data) >= 33:
            data = draw(png_size_edit(data))
        elif data[:2] in (b"P2", b"P5"):
            data = draw(pgm_header_edit(data))
    return data


def assert_handled(result) -> None:
    """Exit 0, or exit 2 with one 'error: …' line; never an exception."""
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output


def write(tmp_path_factory, data: bytes, suffix: str):
    path = tmp_path_factory.mktemp("fuzz") / f"image{suffix}"
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------------------------
# The fuzz tests: two formats through two commands.
# ---------------------------------------------------------------------------------------------

@settings(max_examples=EXAMPLES)
@given(data=damaged(pgm_files()))
def test_damaged_pgm_through_predict(model, tmp_path_factory, data):
    assert_handled(run("predict", model, write(tmp_path_factory, data, ".pgm")))


@settings(max_examples=EXAMPLES)
@given(data=damaged(png_files()))
def test_damaged_png_through_predict(model, tmp_path_factory, data):
    assert_handled(run("predict", model, write(tmp_path_factory, data, ".png")))


@settings(max_examples=EXAMPLES)
@given(data=damaged(pgm_files()))
def test_damaged_pgm_through_filter(tmp_path_factory, data):
    path = write(tmp_path_factory, data, ".pgm")
    assert_handled(run("filter", path, "--kernel", "edge", "--out", path.with_suffix(".out.png")))


@settings(max_examples=EXAMPLES)
@given(data=damaged(png_files()))
def test_damaged_png_through_filter(tmp_path_factory, data):
    path = write(tmp_path_factory, data, ".png")
    assert_handled(run("filter", path, "--kernel", "edge", "--out", path.with_suffix(".out.png")))


# ---------------------------------------------------------------------------------------------
# The bounds themselves, exactly at the limit.
# ---------------------------------------------------------------------------------------------

def test_pgm_of_4096x4096_is_read_and_4097x4096_refused_before_its_pixels(tmp_path):
    header = b"P5\n4096 4096\n255\n"
    (tmp_path / "ok.pgm").write_bytes(header + bytes(4096 * 4096))
    assert images.read_pgm(tmp_path / "ok.pgm").shape == (4096, 4096)
    (tmp_path / "big.pgm").write_bytes(b"P5\n4097 4096\n255\n")  # no pixels: never read
    with pytest.raises(images.ImageError, match=r"the image is 4097x4096 \(16\.8 megapixels\)"):
        images.read_pgm(tmp_path / "big.pgm")


def test_png_size_is_checked_before_decoding(tmp_path):
    """A PNG whose IHDR says 100000x100000 (CRC fixed) is refused from its header alone."""
    out = io.BytesIO()
    Image.new("L", (4, 4)).save(out, "PNG")
    data = out.getvalue()
    data = data[:8] + png_chunk(b"IHDR", struct.pack(">II", 100000, 100000) + data[24:29]) \
        + data[33:]
    (tmp_path / "big.png").write_bytes(data)
    with pytest.raises(images.ImageError, match=r"100000x100000 \(10,000\.0 megapixels\)"):
        images.load_greyscale(tmp_path / "big.png")


@pytest.mark.parametrize("text, fragment", [
    (b"P2\n2 1\n255\n1 99999999999999999999\n", "a pixel value of 20 digits exceeds maxval 255"),
    (b"P2\n2 1\n255\n1 256\n", "a pixel value 256 exceeds maxval 255"),
    (b"P2\n2 2\n255\n1 2 x 4\n", "expected 4 pixel values (2x2), found 2"),
    (b"P2\n2 1\n255\n1 2 trailing words are not pixels\n", None),
    (b"P2\n# " + b"x" * 70000 + b"\n2 1\n255\n1 2\n", "no complete width in the first 64 KiB"),
    (b"P5\n1 1\n1234567890\n\x00", "the maxval has 10 digits; at most 9 are read"),
])
def test_pgm_numbers_are_bounded(tmp_path, text, fragment):
    (tmp_path / "a.pgm").write_bytes(text)
    if fragment is None:
        assert images.read_pgm(tmp_path / "a.pgm").tolist() == [[1.0, 2.0]]
        return
    with pytest.raises(images.ImageError) as caught:
        images.read_pgm(tmp_path / "a.pgm")
    assert fragment in str(caught.value)


def test_p2_values_match_pythons_reading():
    """The numpy P2 reader against int() on each word, with comments and odd whitespace."""
    rng = np.random.default_rng(0)
    values = rng.integers(0, 65536, 500)
    words = [str(v).encode() for v in values]
    text = b"# head\n" + b"".join(w + rng.choice([b" ", b"\n", b"\t", b"  \r\n", b" # c\n"])
                                  for w in words)
    got = images._p2_values(text, 500, 25, 20, 65535, "x")
    assert got.tolist() == [int(w) for w in words]


def test_pillow_formats_outside_the_list_are_refused(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "a.tga", "TGA")
    with pytest.raises(images.ImageError, match="cannot read it as an image"):
        images.load_greyscale(tmp_path / "a.tga")


# ---------------------------------------------------------------------------------------------
# Text that reaches the terminal, and JSON.
# ---------------------------------------------------------------------------------------------

CONTROL = ["\x1b[2J", "\x1b]0;title\x07", "\r", "\x08", "\x9b31m", "\u202e", "\x7f", "\x00"]


@settings(max_examples=EXAMPLES // 5 or 1)
@given(st.lists(st.sampled_from(["a", " ", "é", "\n", "\t"] + CONTROL), max_size=12).map("".join))
def test_printable_leaves_no_control_character(text):
    shown = render.printable(text)
    assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c in "\u202e\u2028" for c in shown)
    assert render.printable(shown) == shown  # escaping twice changes nothing more
    if text.isalnum() or not text:
        assert shown == text


def test_console_escapes_what_slipped_through(capsys):
    console = render.make_console()
    console.print("class \x1b[2J\x1b[31mpwned\x07\u202e")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[2J\\x1b[31mpwned" in out


def test_error_excerpt_keeps_the_caret_under_its_token(capsys):
    from minigrad.errors import SpecError, Where
    error = SpecError("unknown layer 'flatn'", Where(1, 14, 5))
    error.source = "conv 4 3x3;\x1b flatn; dense 3"
    render.print_error(render.make_console(), error)
    lines = capsys.readouterr().out.splitlines()
    assert "\x1b" not in "".join(lines)
    assert lines[1].index("flatn") == lines[2].index("^")


def strict_loads(text: str):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_strict_json_writes_null_and_warns():
    warnings = []
    text = strict_json({"loss": math.nan, "top": [1.5, math.inf, -math.inf], "name": "\x1b"},
                       warnings.append)
    assert strict_loads(text) == {"loss": None, "top": [1.5, None, None], "name": "\x1b"}
    assert "\x1b" not in text
    assert warnings == ["3 values not finite, written as null: loss (nan), top[1] (inf), "
                        "top[2] (-inf)"]
    warnings.clear()
    assert strict_loads(strict_json({"a": 1}, warnings.append)) == {"a": 1} and not warnings


def test_predict_refuses_a_model_whose_output_is_nan(model, tmp_path, monkeypatch):
    from minigrad.engine import functional as F
    image = tmp_path / "a.pgm"
    image.write_bytes(b"P5\n28 28\n255\n" + bytes(784))
    monkeypatch.setattr(F, "softmax", lambda x, axis: type(x)(np.full(x.data.shape, np.nan)))
    for extra in ([], ["-f", "json"]):
        result = run("predict", model, image, *extra)
        assert result.exit_code == 2, result.output
        assert "is not finite (NaN or infinity)" in result.output
        assert "NaN," not in result.stdout and "probability" not in result.stdout


def test_evaluate_json_writes_a_nan_loss_as_null(model, monkeypatch):
    from cnncalc import evaluate as evaluating
    real = evaluating.evaluate

    def nan_loss(*args, **kwargs):
        result = real(*args, **kwargs)
        result.loss = math.nan
        return result
    monkeypatch.setattr(evaluating, "evaluate", nan_loss)
    result = run("evaluate", model, "-f", "json")
    assert result.exit_code == 0, result.output
    assert strict_loads(result.stdout)["loss"] is None
    assert "note: 1 value not finite, written as null: loss (nan)" in result.stderr
    result = run("evaluate", model)
    assert result.exit_code == 0 and "the loss is nan" in result.stderr


def test_shapes_json_is_strict():
    result = run("shapes", "input 28x28x1; conv 8 3x3; maxpool 2; flatten; dense 10",
                 "-f", "json")
    assert result.exit_code == 0, result.output
    assert strict_loads(result.stdout)["layers"]


def test_sparkline_of_a_diverged_loss():
    assert render.sparkline([2.0, 1.0, math.nan, math.inf]) == "█▁××"
    assert render.sparkline([math.nan]) == "×"
    assert render.sparkline([1e308, -1e308]) == "▁▁"  # the range overflows: flat, no crash
    assert render.not_finite_text([1.0, math.nan]).startswith("the loss is NaN from epoch 2")


def test_train_with_lr_1e30_says_the_loss_is_nan():
    result = run("train", "--lr", "1e30", "--epochs", "2", "--limit", "64")
    if result.exit_code == 2:  # a learning rate that large may be refused as an option
        assert "--lr" in result.output
        return
    assert result.exit_code == 0, result.output
    assert "the loss is NaN from epoch 1" in result.output
    assert "loss per epoch ××" in result.output
    result = run("train", "--lr", "1e30", "--epochs", "1", "--limit", "64", "--format", "json")
    assert result.exit_code == 0, result.output
    data = strict_loads(result.stdout)
    assert data["test_loss"] is None and data["history"][0]["loss"] is None
    assert "not finite, written as null: test_loss (nan)" in result.stderr
