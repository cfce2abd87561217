"""The fuzz campaign's image reproducers (issue "Never a traceback", items 2, 3 and 5) through the
real command line, each in its own process: exit status 2 with a named reason (or 0 for a valid
image), never a traceback, under 10 s and under 1 GB of peak memory (the child's ru_maxrss).

The files are in ../shared/fuzz/ (read there, never copied into the project); a test is skipped
when its file is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from measured import PEAK_BYTES, SECONDS, Run, run_cnncalc

pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

FUZZ = Path(__file__).resolve().parents[2] / "shared" / "fuzz"


def fuzz_file(name: str) -> Path:
    path = FUZZ / name
    if not path.exists():
        pytest.skip(f"reproducer {name} is not in {FUZZ}")
    return path


def cnncalc(tmp_path, *args) -> Run:
    """`python -m cnncalc ARGS` in a child process, with its time and peak memory checked."""
    run = run_cnncalc(tmp_path, *args)
    assert "Traceback" not in run.out + run.err, run.err
    assert run.cpu < SECONDS, f"{args}: {run.cpu:.1f} s of CPU"
    assert run.peak < PEAK_BYTES, f"{args}: peak {run.peak / 2**20:.0f} MiB"
    assert run.status in (0, 2), (run.status, run.err)
    return run


def refused(tmp_path, *args) -> str:
    """The one-line error of a command that must exit with status 2."""
    run = cnncalc(tmp_path, *args)
    assert run.status == 2, (run.out, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    return lines[0]


def commands(image: Path, tmp_path) -> dict[str, list]:
    """predict, filter and visualize, each reading `image`."""
    model = fuzz_file("m.npz")
    return {"predict": ["predict", model, image],
            "filter": ["filter", image, "--kernel", "edge", "--out", tmp_path / "f.png"],
            "visualize": ["visualize", model, "--image", image, "--out", tmp_path / "v.png"]}


COMMANDS = ("predict", "filter", "visualize")


@pytest.mark.parametrize("command", COMMANDS)
def test_good_pgm_is_read(tmp_path, command):
    run = cnncalc(tmp_path, *commands(fuzz_file("img.pgm"), tmp_path)[command])
    assert run.status == 0, run.err
    if command == "predict":
        assert [line.split()[0] for line in run.out.splitlines()[1:]] == ["1.", "2.", "3."]
    else:
        assert "saved to" in run.out and (tmp_path / f"{command[0]}.png").stat().st_size > 0


@pytest.mark.parametrize("command", COMMANDS)
def test_pgm_header_of_5000_digits(tmp_path, command):
    image = fuzz_file("pgm_header_5000_digits.pgm")
    error = refused(tmp_path, *commands(image, tmp_path)[command])
    assert "PGM header: the width has 5,000 digits; at most 9 are read" in error
    assert str(image) in error


@pytest.mark.parametrize("command", COMMANDS)
def test_p2_pixel_of_20_digits(tmp_path, command):
    image = fuzz_file("p2_pixel_int64_overflow.pgm")
    error = refused(tmp_path, *commands(image, tmp_path)[command])
    assert "a pixel value of 20 digits exceeds maxval 255" in error


@pytest.mark.parametrize("command", COMMANDS)
def test_png_with_a_broken_chunk(tmp_path, command):
    image = fuzz_file("png_broken_chunk.png")
    error = refused(tmp_path, *commands(image, tmp_path)[command])
    assert "cannot read it as an image" in error and "broken PNG file" in error


@pytest.mark.parametrize("command", COMMANDS)
def test_169_megapixel_png_is_refused_before_decoding(tmp_path, command):
    image = fuzz_file("png_13000x13000_RGBA_valid.png")
    run = cnncalc(tmp_path, *commands(image, tmp_path)[command])
    assert run.status == 2
    assert "the image is 13000x13000 (169.0 megapixels)" in run.err
    assert "at most 16,777,216 pixels (4096x4096)" in run.err
    assert run.peak < 400 * 2**20  # decoding it would take 676 MB (RGBA) before any copy


@pytest.mark.parametrize("command", COMMANDS)
def test_dev_zero_is_not_read(tmp_path, command):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    error = refused(tmp_path, *commands(Path("/dev/zero"), tmp_path)[command])
    assert "/dev/zero: not a regular file" in error


def test_class_names_with_escape_codes_are_shown_escaped(tmp_path):
    """classes_escape.npz: a class name is ESC[2J ESC[31m pwned (clear the screen, turn red)."""
    model = fuzz_file("classes_escape.npz")
    run = cnncalc(tmp_path, "predict", model, fuzz_file("img.pgm"))
    assert "\x1b" not in run.out + run.err
    if run.status == 0:  # shown, escaped
        assert "\\x1b[2J\\x1b[31mpwned" in run.out
    else:  # or refused by the model file reader, by name
        assert "class" in run.err
    run = cnncalc(tmp_path, "predict", model, fuzz_file("img.pgm"), "-f", "json")
    assert "\x1b" not in run.out + run.err
    if run.status == 0:
        names = [top["class"] for top in json.loads(run.out)["predictions"][0]["top"]]
        # JSON escapes the raw name as \u001b; the model reader may also have escaped it
        assert {"\x1b[2J\x1b[31mpwned", "\\x1b[2J\\x1b[31mpwned"} & set(names), names


def test_evaluate_shows_escaped_class_names(tmp_path):
    run = cnncalc(tmp_path, "evaluate", fuzz_file("classes_escape.npz"))
    assert "\x1b" not in run.out + run.err
    if run.status == 0:
        assert "\\x1b[2J\\x1b[31mpwned" in run.out


def strict_loads(text: str):
    """json.loads that refuses NaN and Infinity, as strict JSON parsers do."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_nan_weights_never_print_nan_json(tmp_path):
    """nan_weights.npz: refused (by the model reader, or as a model whose output is not finite),
    never "probability": NaN."""
    run = cnncalc(tmp_path, "predict", fuzz_file("nan_weights.npz"), fuzz_file("img.pgm"),
                  "-f", "json")
    assert run.status == 2 and "nan" in run.err.lower(), run.err
    assert "NaN" not in run.out
