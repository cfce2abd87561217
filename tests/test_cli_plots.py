"""`cnncalc filter`, `visualize` and `train --plot`: the pixels they compute against direct loops
written here, and the PNG files they save (readable, two panels, not one flat colour)."""

from __future__ import annotations

import numpy as np
import pytest
from cnncalc.app import app
from cnncalc.filtering import apply_kernel, parse_kernel
from cnncalc.visualize import first_conv
from typer.testing import CliRunner

from minigrad.tools.datasets import load_dataset
from minigrad.tools.modelfile import load_model

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def looks_drawn(path) -> tuple[int, int]:
    """A PNG that opens and is not a single colour; returns its (width, height)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10
    return pixels.shape[1], pixels.shape[0]


def correlate(image, kernel, stride, padding):
    """Cross-correlation by loops, zero padding, clipped to 0..255: the oracle."""
    padded = np.zeros((image.shape[0] + 2 * padding, image.shape[1] + 2 * padding))
    padded[padding:padding + image.shape[0], padding:padding + image.shape[1]] = image
    kh, kw = len(kernel), len(kernel[0])
    rows = (padded.shape[0] - kh) // stride + 1
    cols = (padded.shape[1] - kw) // stride + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += padded[i * stride + a][j * stride + b] * kernel[a][b]
            out[i, j] = min(max(total, 0.0), 255.0)
    return out


@pytest.fixture
def pgm(tmp_path):
    """A 9x7 binary PGM with varied pixels, and its pixels."""
    pixels = (np.arange(63).reshape(7, 9) * 37 % 256).astype(np.uint8)
    path = tmp_path / "small.pgm"
    path.write_bytes(b"P5\n9 7\n255\n" + pixels.tobytes())
    return path, pixels.astype(float)


@pytest.mark.parametrize("kernel, matrix", [
    ("sharpen", [[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]]),
    ("edge", [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    ("emboss", [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
    ("0.5,0,1;-2,1,0;0,0,3", [[0.5, 0, 1], [-2, 1, 0], [0, 0, 3]]),
])
@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1)])
def test_filter_pixels_match_a_loop(pgm, kernel, matrix, stride, padding):
    _, pixels = pgm
    got = apply_kernel(pixels.astype(np.float32), parse_kernel(kernel), stride, padding)
    np.testing.assert_allclose(got, correlate(pixels, matrix, stride, padding), atol=1e-3)


def test_blur_is_the_box_mean(pgm):
    _, pixels = pgm
    got = apply_kernel(pixels.astype(np.float32), parse_kernel("blur"), 1, 0)
    assert got[0, 0] == pytest.approx(pixels[:3, :3].mean(), abs=1e-3)


def test_filter_command_saves_two_panels_and_prints_sizes(pgm, tmp_path):
    path, _ = pgm
    out = tmp_path / "out.png"
    result = run("filter", str(path), "--kernel", "edge", "--stride", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    # 9x7, kernel 3, stride 2: floor((9 - 3) / 2) + 1 = 4 wide, floor((7 - 3) / 2) + 1 = 3 high
    assert "input   9x7" in result.output and "output  4x3" in result.output
    assert "floor((7 + 2·0 − 3) / 2) + 1 = 3" in result.output
    assert "[[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]" in result.output
    width, height = looks_drawn(out)
    assert width > 1.5 * height


def test_filter_reads_png(tmp_path):
    pixels = (np.arange(100).reshape(10, 10) * 7 % 256).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    result = run("filter", str(tmp_path / "in.png"), "--kernel", "sharpen", "--padding", "1",
                 "--out", str(tmp_path / "out.png"))
    assert result.exit_code == 0, result.output
    assert "output  10x10" in result.output


@pytest.mark.parametrize("kernel, message", [
    ("1,2,3;4,5;6,7,8", "rows of unequal length"),
    ("1,2;3,4", "2 rows of 2 numbers"),
    ("1,2,x;4,5,6;7,8,9", "'x' is not a number"),
    ("sharpn", "unknown kernel"),
])
def test_bad_kernels_are_reported(pgm, tmp_path, kernel, message):
    path, _ = pgm
    result = run("filter", str(path), "--kernel", kernel, "--out", str(tmp_path / "o.png"))
    assert result.exit_code == 2
    assert result.output.startswith("error:") and message in result.output
    assert "Traceback" not in result.output


def test_kernel_larger_than_image(tmp_path):
    path = tmp_path / "tiny.pgm"
    path.write_bytes(b"P2 2 2 255 0 1 2 3")
    result = run("filter", str(path), "--kernel", "edge", "--out", str(tmp_path / "o.png"))
    assert result.exit_code == 2 and "larger than the padded input" in result.output


def test_missing_matplotlib_names_the_extra(pgm, tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    path, _ = pgm
    result = run("filter", str(path), "--kernel", "edge", "--out", str(tmp_path / "o.png"))
    assert result.exit_code == 2
    assert 'needs matplotlib: pip install "cnncalc[plot]"' in result.output


def test_train_plot_saves_curves(tmp_path):
    out = tmp_path / "p.png"
    result = run("train", "--limit", "200", "--epochs", "2", "--val-split", "0.2",
                 "--plot", str(out))
    assert result.exit_code == 0, result.output
    width, height = looks_drawn(out)
    assert 400 < width < 3000 and 200 < height < 2000


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    result = run("train", "conv 4 3x3 relu; maxpool 2; flatten; dense 3", "--limit", "300",
                 "--epochs", "1", "--save", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_visualize_feature_maps_match_a_correlation(tiny_model):
    loaded = load_model(tiny_model)
    sample = load_dataset("shapes", "test").x[0]
    result = first_conv(loaded, sample)
    with np.load(tiny_model) as saved:  # the saved arrays themselves, not through minigrad
        w, b = saved["param/0.weight"], saved["param/0.bias"]
    np.testing.assert_array_equal(result.weights, w)
    expected = np.zeros((4, 26, 26))
    for f in range(4):
        for i in range(26):
            for j in range(26):
                expected[f, i, j] = max(0.0, float((sample[:, i:i + 3, j:j + 3] * w[f]).sum()
                                                   + b[f]))
    np.testing.assert_allclose(result.maps, expected, rtol=1e-5, atol=1e-5)
    assert result.activation == "ReLU"


def test_visualize_command_writes_png(tiny_model, tmp_path):
    out = tmp_path / "filters.png"
    result = run("visualize", str(tiny_model), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "4 filters of 1x3x3" in result.output
    looks_drawn(out)
    pixels = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    result = run("visualize", str(tiny_model), "--out", str(out), "--image",
                 str(tmp_path / "in.png"))
    assert result.exit_code == 0, result.output


def test_visualize_needs_a_conv_layer(tmp_path):
    path = tmp_path / "dense.npz"
    assert run("train", "flatten; dense 3", "--limit", "50", "--epochs", "1",
               "--save", str(path)).exit_code == 0
    result = run("visualize", str(path), "--out", str(tmp_path / "o.png"))
    assert result.exit_code == 2 and "no conv layer" in result.output
