"""The pasted-code reproducers of the fuzz campaign (../shared/fuzz/code_*.py), through the
command line as a user meets them: from a file and from standard input, each a one-line named
error with exit status 2 and the right place, in well under 2 s, and nothing executed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cnncalc.app import app
from typer.testing import CliRunner

FUZZ = Path(__file__).resolve().parents[2] / "shared" / "fuzz"
runner = CliRunner()

# file -> what the message must name, and the line the caret must stand under (None: no place)
EXPECTED = {
    "code_deep_binop.py": ("nested too deeply", 1),
    "code_attr_chain.py": ("nested too deeply", 1),
    "code_hex.py": ("number literal is too large", 1),
    "code_latin1.py": ("not UTF-8", None),
    "code_u2028.py": ("units must be a positive integer, got 0", 3),
}


def reproducer(name: str) -> Path:
    path = FUZZ / name
    if not path.exists():
        pytest.skip(f"{path} is not here (the fuzz reproducers live beside the project)")
    return path


@pytest.mark.parametrize("how", ["file", "stdin"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reproducer_gives_a_named_one_line_error(name, how):
    path = reproducer(name)
    args = ["shapes", str(path)] if how == "file" else ["shapes", "-"]
    start = time.perf_counter()
    result = runner.invoke(app, args, input=path.read_bytes() if how == "stdin" else None)
    elapsed = time.perf_counter() - start
    fragment, line = EXPECTED[name]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and fragment in first, first
    if line is not None:
        assert first.startswith(f"error: line {line},"), first
        assert all(len(l) <= 110 for l in result.stderr.splitlines()[1:]), "a long line is windowed"
    assert elapsed < 2, f"{name}: {elapsed:.2f} s"


def test_u2028_inside_a_string_does_not_shift_the_excerpt():
    result = runner.invoke(app, ["shapes", str(reproducer("code_u2028.py"))])
    excerpt = result.stderr.splitlines()[1]
    assert excerpt.strip() == "Dense(0),"   # line 3 as Python counts lines, not line 4


def test_nothing_pasted_runs(tmp_path):
    canary = tmp_path / "canary"
    code = (f"import os, subprocess\nos.system('touch {canary}')\nsubprocess.run(['touch', '{canary}'])\n"
            f"open('{canary}', 'w').write('x')\n"
            f"().__class__.__base__.__subclasses__()\n"
            "model = nn.Sequential(nn.Linear(4, 2))\n")
    result = runner.invoke(app, ["shapes", "-", "--input", "4"], input=code)
    assert result.exit_code in (0, 2) and "Traceback" not in result.output
    assert not canary.exists()
