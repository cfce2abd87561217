"""Mutated corpus files never crash `cnncalc shapes`: token and line edits of real model code
give an answer (exit 0) or a clean refusal (exit 2), never a traceback or an exception.

The default profile (tests/conftest.py) tries a few dozen mutants so the file stays well under a
minute; `HYPOTHESIS_PROFILE=thorough` tries 10,000 (`CORPUS_FUZZ_EXAMPLES=N` sets any budget).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import tokenize
from pathlib import Path

from cnncalc.app import app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p for p in CORPUS.iterdir()
               if p.suffix in (".py", ".ipynb") and p.name != "make_goldens.py")

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
# CORPUS_FUZZ_EXAMPLES=N overrides the profile's budget for a one-off hunt
EXAMPLES = int(os.environ.get("CORPUS_FUZZ_EXAMPLES",
                              {"thorough": 10_000}.get(PROFILE, settings.default.max_examples)))

runner = CliRunner()

# Names and numbers a mutation may put in: framework names, builtins and plain words.
NAMES = ["nn", "torch", "F", "layers", "keras", "tf", "self", "x", "model", "Conv2d", "Linear",
         "Dense", "Conv2D", "Sequential", "range", "len", "None", "True", "print", "super",
         "forward", "call", "__init__", "args", "input", "out", "view", "cat", "add", "lambda",
         "yield", "import", "class", "def", "return", "for", "while", "if", "not", "in"]
NUMBERS = ["0", "1", "-1", "2", "3", "7", "64", "1000", "10**9", "2**64", "0.5", "1e300",
           "(28, 28, 1)", "[]", "''"]


def args_of(path: Path) -> list[str]:
    golden = CORPUS / "goldens" / (path.stem + ("_ipynb" if path.suffix == ".ipynb" else "")
                                   + ".json")
    if golden.exists():
        return json.loads(golden.read_text(encoding="utf-8"))["args"]
    return []


def code_of(path: Path) -> str:
    """A .py file's text, or a notebook's code cells joined (the mutation works on code)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return text
    cells = json.loads(text)["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def tokens_of(text: str) -> list[tuple[int, int, int, int]]:
    """(start_line, start_col, end_line, end_col) of each token worth editing."""
    spans = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NAME, tokenize.NUMBER, tokenize.OP, tokenize.STRING):
                spans.append((*tok.start, *tok.end))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return spans


def offset(lines: list[str], row: int, col: int) -> int:
    return sum(len(line) for line in lines[:row - 1]) + col


@st.composite
def mutants(draw):
    path = draw(st.sampled_from(FILES))
    text = code_of(path)
    for _ in range(draw(st.integers(1, 3))):
        text = draw(mutate(text))
    as_notebook = path.suffix == ".ipynb" and draw(st.booleans())
    return path, text, as_notebook


@st.composite
def mutate(draw, text: str):
    lines = io.StringIO(text).readlines()  # the same line split as tokenize's
    kind = draw(st.sampled_from(["token_delete", "token_dup", "token_swap", "number", "name",
                                 "line_delete", "line_dup", "line_swap", "indent", "dedent"]))
    if kind.startswith("line") or kind in ("indent", "dedent"):
        if not lines:
            return text
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "line_delete":
            del lines[i]
        elif kind == "line_dup":
            lines.insert(i, lines[i])
        elif kind == "line_swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            lines[i] = "    " + lines[i]
        else:
            stripped = lines[i].lstrip(" ")
            lines[i] = lines[i][:max(0, len(lines[i]) - len(stripped) - 4)] + stripped
        return "".join(lines)
    spans = tokens_of(text)
    if not spans:
        return text
    sl, sc, el, ec = draw(st.sampled_from(spans))
    a, b = offset(lines, sl, sc), offset(lines, el, ec)
    token = text[a:b]
    if kind == "token_delete":
        return text[:a] + text[b:]
    if kind == "token_dup":
        return text[:b] + " " + token + text[b:]
    if kind == "token_swap":
        sl2, sc2, el2, ec2 = draw(st.sampled_from(spans))
        c, d = offset(lines, sl2, sc2), offset(lines, el2, ec2)
        if (c, d) == (a, b):
            return text
        (a, b), (c, d) = sorted([(a, b), (c, d)])
        if c < b:  # overlapping spans cannot happen with tokens, but stay safe
            return text
        return text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
    replacement = draw(st.sampled_from(NUMBERS if kind == "number" else NAMES))
    return text[:a] + replacement + text[b:]


def as_ipynb(code: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
              "outputs": [], "source": part.splitlines(keepends=True)}
             for i, part in enumerate(code.split("\n\n\n"))]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(mutants())
def test_mutated_corpus_never_crashes(case):
    path, code, notebook = case
    suffix = ".ipynb" if notebook else ".py"
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / f"mutant{suffix}"
        target.write_text(as_ipynb(code) if notebook else code, encoding="utf-8")
        result = runner.invoke(app, ["shapes", str(target), "-f", "json", *args_of(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"cnncalc raised {result.exception!r} on a mutant of "
                             f"{path.name}:\n{code}") from result.exception
    assert result.exit_code in (0, 2), (path.name, result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output, (path.name, result.output[-2000:])
    # the reader's safety net turns an unhandled case into exit 2; the fuzzer must still see it
    assert "internal error" not in result.output, (path.name, result.output[-2000:], code)
