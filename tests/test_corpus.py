"""The corpus: model files written the way tutorials and repositories write them, read by
`cnncalc shapes` and compared with what the real frameworks say (issue 10's acceptance list).

Each tests/corpus/goldens/*.json was written by tests/corpus/make_goldens.py from PyTorch 2.13
and Keras 3 (see its docstring); no framework is needed here. For every golden:

- exit status 0 and JSON on stdout;
- total and trainable parameters equal (PyTorch files count like `model.parameters()`; their
  BatchNorm running statistics are compared as `buffers` when cnncalc's JSON reports them);
- every golden layer name is among cnncalc's `layers[].name` with the same output shape (a name
  the framework reports k times, e.g. a module applied twice, is compared occurrence by
  occurrence, in order);
- the last row's shape is the model's output shape.

A bug file's golden carries an error: cnncalc exits with status 2 and a one-line message on
stderr naming every number in `expect`, without a traceback. The notes' `class Net(nn.module)`
gives the corrected class's numbers and a warning that names nn.Module.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from cnncalc.app import app
from typer.testing import CliRunner

CORPUS = Path(__file__).parent / "corpus"
GOLDENS = sorted((CORPUS / "goldens").glob("*.json"))

runner = CliRunner()


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def run_shapes(golden: dict):
    args = ["shapes", str(CORPUS / golden["file"]), "-f", "json", *golden["args"]]
    return runner.invoke(app, args)


def stderr_of(result) -> str:
    try:
        return result.stderr
    except ValueError:  # an older click that mixes the streams
        return result.output


def test_corpus_is_big_enough():
    files = [p for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb")
             and p.name != "make_goldens.py"]
    assert len(files) >= 60
    assert sum(p.suffix == ".ipynb" for p in files) >= 5
    assert {load(g)["file"] for g in GOLDENS} == {p.name for p in files}, \
        "every corpus file has a golden (run tests/corpus/make_goldens.py)"


@pytest.mark.parametrize("golden_path", GOLDENS, ids=lambda p: load(p)["file"])
def test_corpus_file(golden_path: Path):
    golden = load(golden_path)
    result = run_shapes(golden)
    err = stderr_of(result)
    context = f"{golden['file']} {' '.join(golden['args'])}\nstderr:\n{err[-3000:]}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"cnncalc raised {result.exception!r}\n{context}") \
            from result.exception
    assert "Traceback" not in result.output, context

    if golden["error"] is not None:
        assert result.exit_code == 2, f"expected a clean refusal (exit 2)\n{context}"
        message = " ".join(line.strip() for line in err.strip().splitlines())
        assert message, f"no message on stderr\n{context}"
        for number in golden["error"]["expect"]:
            assert number in message, f"the error should mention {number}\n{context}"
        # one message, not a report: at most a short wrapped paragraph plus a hint line
        assert len(err.strip().splitlines()) <= 6, context
        return

    assert result.exit_code == 0, context
    data = json.loads(result.stdout)
    assert data["total_params"] == golden["total_params"], context
    assert data["trainable_params"] == golden["trainable_params"], context
    if golden.get("buffers") is not None and "buffers" in data:
        assert data["buffers"] == golden["buffers"], context
    if golden.get("non_trainable_params") is not None:
        assert data["non_trainable_params"] == golden["non_trainable_params"], context

    rows = data["layers"]
    by_name: dict[str, list[list[int]]] = defaultdict(list)
    for row in rows:
        by_name[row["name"]].append(list(row["output_shape"]))
    # Goldens name leaves only (PyTorch leaf modules; the leaf layers a Keras custom layer calls,
    # as 'res_block_0.add'), so every golden name must be a row of its own.
    seen: dict[str, int] = defaultdict(int)
    missing, wrong = [], []
    for layer in golden["layers"]:
        name, k = layer["name"], seen[layer["name"]]
        seen[name] += 1
        found = by_name.get(name, [])
        if k >= len(found):
            missing.append(f"{name} (occurrence {k + 1})")
        elif found[k] != layer["output_shape"]:
            wrong.append(f"{name}: cnncalc {found[k]}, framework {layer['output_shape']}")
    names = [r["name"] for r in rows]
    assert not missing, f"layers not found: {missing}\ncnncalc's rows: {names}\n{context}"
    assert not wrong, f"shapes differ: {wrong}\n{context}"
    assert list(rows[-1]["output_shape"]) == golden["output_shape"], context

    if golden.get("note") == "nn.module typo":
        assert "nn.Module" in err or "nn.Module" in result.stdout, \
            f"a warning should suggest nn.Module\n{context}"
