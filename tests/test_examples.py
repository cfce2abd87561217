"""Every example runs, in its quick mode, as a learner would run it: a fresh Python process, no
arguments but --out. None may rot: each must exit 0 without a traceback, and every PNG it says
it saved must open and show something. A few examples also print a figure that can be checked
here against a number worked out independently (by hand, or from the notes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("[0-9][0-9]_*.py"))


def test_one_example_per_topic_of_the_notes():
    assert [path.name[:2] for path in EXAMPLES] == [f"{n:02d}" for n in range(1, 9)]


@pytest.fixture(scope="module")
def run_example(tmp_path_factory):
    """run_example(path) -> (stdout, output folder); each example runs once per test module."""
    runs: dict[tuple, tuple[str, Path]] = {}

    def run(path: Path, *options: str) -> tuple[str, Path]:
        key = (path, options)
        if key not in runs:
            out = tmp_path_factory.mktemp(path.stem)
            runs[key] = (_run(path, out, options), out)
        stdout, out = runs[key]
        if stdout.startswith("skipped:"):
            pytest.skip(stdout.splitlines()[0])
        return stdout, out

    return run


def _run(path: Path, out: Path, options=()) -> str:
    result = subprocess.run([sys.executable, str(path), "--out", str(out), *options],
                            capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def looks_drawn(path: Path) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width >= 400 and image.height >= 300
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # not blank, not one flat colour


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_example_runs_and_its_pictures_open(path, run_example):
    stdout, out = run_example(path)
    for saved in re.findall(r"^saved (.+\.png)$", stdout, flags=re.MULTILINE):
        looks_drawn(Path(saved))
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == len(re.findall(r"^saved .+\.png$", stdout, flags=re.MULTILINE))
    # The examples that promise pictures in their docstring deliver them.
    promised = re.findall(r"DIR/(\w+\.png)", path.read_text())
    assert sorted(p.name for p in pngs) == sorted(promised)


@pytest.mark.parametrize("path", [p for p in EXAMPLES if "_common.pyplot()" in p.read_text()],
                         ids=lambda p: p.stem)
def test_without_matplotlib_an_example_says_what_to_install(path, tmp_path):
    blocked = ("import runpy, sys; sys.modules['matplotlib'] = None; "  # as if not installed
               f"sys.path.insert(0, {str(path.parent)!r}); sys.argv = [{str(path)!r}]; "
               f"runpy.run_path({str(path)!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ('error: this example draws pictures and needs matplotlib: '
                                     'pip install "cnncalc[plot]"')


def test_positions_a_filter_visits(run_example):
    stdout, _ = run_example(EXAMPLES[0])
    # floor((100 - 3) / 1) + 1 = 98 and floor((100 - 3) / 10) + 1 = 10 per axis
    assert "98 x 98 = 9604 positions" in stdout
    assert "10 x 10 = 100 positions" in stdout


def test_parameter_sharing_figures(run_example):
    stdout, _ = run_example(EXAMPLES[2])
    assert "params = 2*2*1 weights + 1 bias = 5" in stdout
    assert "= 36 + 4 = 40" in stdout


def test_hand_gradient_agrees(run_example):
    assert "all three gradients agree: True" in run_example(EXAMPLES[5])[0]


def test_trained_filters_are_no_longer_noise(run_example):
    stdout, _ = run_example(EXAMPLES[6])
    start, trained = map(float, re.search(r"filters: ([+-][\d.]+) at the start.*?"
                                          r"([+-][\d.]+) after training", stdout).groups())
    assert abs(start) < 0.15 and trained > 0.4, stdout


def book_network_accuracy(book, images, labels) -> float:
    """The DLFS book's SimpleConvNet written out directly in numpy, in the book's own layout
    (affine weights (in, out)): every 5x5 window times every filter, ReLU, 2x2 max pool, flatten
    (C, H, W), affine, ReLU, affine. Independent of minigrad."""
    correct = 0
    filters = book["W1"].reshape(30, 25)
    for start in range(0, len(images), 1000):
        x = images[start:start + 1000, 0].astype(np.float64)                 # (n, 28, 28)
        windows = np.lib.stride_tricks.sliding_window_view(x, (5, 5), axis=(1, 2))  # (n, 24, 24, 5, 5)
        maps = (windows.reshape(len(x), 24, 24, 25) @ filters.T).transpose(0, 3, 1, 2)
        maps = np.maximum(maps + book["b1"][None, :, None, None], 0)
        pooled = maps.reshape(len(x), 30, 12, 2, 12, 2).max(axis=(3, 5))
        hidden = np.maximum(pooled.reshape(len(x), -1) @ book["W2"] + book["b2"], 0)
        scores = hidden @ book["W3"] + book["b3"]
        correct += int((scores.argmax(axis=1) == labels[start:start + 1000]).sum())
    return correct / len(images)


def test_book_weights_score_what_a_direct_forward_pass_scores(run_example):
    from minigrad.tools.data import DataError
    from minigrad.tools.datasets import data_root, load_dataset

    stdout, _ = run_example(EXAMPLES[6], "--book-weights")
    printed = float(re.search(r"test accuracy ([\d.]+) on 10,000", stdout).group(1))
    try:
        test = load_dataset("mnist", "test", download=False)
    except DataError as error:
        pytest.skip(str(error))
    with np.load(data_root() / "dlfs-simple-convnet-params.npz", allow_pickle=False) as book:
        expected = book_network_accuracy(dict(book), test.x, test.y)
    assert abs(printed - expected) <= 3e-4  # float32 against float64: a near tie may flip
