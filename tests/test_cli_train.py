"""`cnncalc train`, `evaluate` and `predict`: the default run's accuracy, the outputs, keeping the
best epoch, Ctrl-C and --resume, images, and a clean exit-2 message for every kind of bad input.

Models are tiny and runs short (--limit, few epochs), so the whole file takes well under a minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from cnncalc import images
from cnncalc.app import app
from typer.testing import CliRunner

from minigrad.tools import datasets
from minigrad.tools.datasets import load_dataset, make_shapes
from minigrad.tools.modelfile import load_model
from minigrad.engine.tensor import Tensor, no_grad
from minigrad.tools.train import evaluate

runner = CliRunner()

TINY = "conv 4 3x3 relu; maxpool 2; flatten; dense 3"   # no input line: takes the data's shape
HISTORY_KEYS = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}


def run(*args: str):
    return runner.invoke(app, list(args))


def run_json(*args: str) -> dict:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(*args: str) -> str:
    """Run a command that must fail cleanly; returns its stderr."""
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return result.stderr


def without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[str, dict]:
    """A small model trained for evaluate and predict: its path and train's JSON."""
    path = str(tmp_path_factory.mktemp("model") / "shapes.npz")
    return path, run_json("train", "--limit", "1500", "--epochs", "2", "--save", path)


# ---------------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------------

def test_no_arguments_trains_the_default_model_to_97_percent():
    result = run("train", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)       # stdout holds the JSON and nothing else
    assert data["test_accuracy"] >= 0.97
    assert data["epochs_run"] == 5 and len(data["history"]) == 5
    assert all(set(row) == HISTORY_KEYS for row in data["history"])
    assert [row["epoch"] for row in data["history"]] == [1, 2, 3, 4, 5]
    assert data["history"][-1]["loss"] < data["history"][0]["loss"]
    assert "epoch 5/5" in result.stderr   # progress goes to stderr with --format json


def test_text_output_shows_table_epochs_accuracy_and_sparkline():
    result = run("train", TINY, "--limit", "300", "--epochs", "3", "--val-split", "0.2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "inline model · H×W×C" in out and "28×28×1" in out     # the model table first
    assert out.index("inline model") < out.index("epoch 1/3")
    for epoch in (1, 2, 3):
        assert f"epoch {epoch}/3  loss " in out
    assert "val_loss" in out and "val_accuracy" in out
    assert "test accuracy" in out and "1,000 shapes test images" in out
    sparkline = next(line for line in out.splitlines() if line.startswith("loss per epoch"))
    assert sum(ch in "▁▂▃▄▅▆▇█" for ch in sparkline) == 3
    assert "\x1b[" not in out


def test_seed_makes_runs_repeatable_and_different_seeds_differ():
    args = ("train", TINY, "--limit", "200", "--epochs", "1")
    first = run_json(*args, "--seed", "1")
    again = run_json(*args, "--seed", "1")
    other = run_json(*args, "--seed", "2")
    assert without_seconds(first["history"]) == without_seconds(again["history"])
    assert first["test_accuracy"] == again["test_accuracy"]
    assert without_seconds(first["history"]) != without_seconds(other["history"])


@pytest.mark.parametrize("init, bound", [("he", lambda fan_in, fan_out: np.sqrt(6 / fan_in)),
                                         ("glorot", lambda fan_in, fan_out: np.sqrt(6 / (fan_in + fan_out)))])
def test_init_option_draws_the_first_weights_from_that_scheme(tmp_path, init, bound):
    """With --epochs 1 on 8 images and a tiny learning rate the saved weights are still the
    initial draw: uniform within the scheme's bound, and filling most of it."""
    path = tmp_path / "m.npz"
    result = run("train", "input 28x28x1; conv 64 3x3 relu; flatten; dense 3", "--limit", "8",
                 "--epochs", "1", "--batch-size", "8", "--optimizer", "sgd", "--lr", "1e-9",
                 "--init", init, "--save", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    model = load_model(str(path))
    assert model.meta["settings"]["init"] == init
    weight = model.model.state_dict()["0.weight"]            # (64, 1, 3, 3): fan_in 9, fan_out 576
    limit = bound(9, 576)
    assert np.abs(weight).max() <= limit * (1 + 1e-6)
    assert np.abs(weight).max() > 0.9 * limit


def test_save_keeps_the_epoch_with_the_best_val_accuracy(tmp_path):
    # A learning rate this high makes val_accuracy jump about, so the best epoch is not the last.
    path = str(tmp_path / "best.npz")
    data = run_json("train", TINY, "--limit", "600", "--epochs", "4", "--val-split", "0.3",
                    "--optimizer", "momentum", "--lr", "0.2", "--save", path)
    val = [row["val_accuracy"] for row in data["history"]]
    best = int(np.argmax(val)) + 1
    assert data["best_epoch"] == best
    assert val[best - 1] != val[-1], "this run no longer tests anything: pick another"
    # The saved weights give the best epoch's val_accuracy on the same held-out images.
    _, held_out = load_dataset("shapes", "train").subset(600).split(0.3, seed=0)
    assert evaluate(load_model(path).model, held_out).accuracy == val[best - 1]


def test_early_stopping_stops_when_val_loss_stops_improving():
    data = run_json("train", TINY, "--limit", "300", "--epochs", "8", "--early-stopping", "1",
                    "--optimizer", "momentum", "--lr", "0.2")
    losses = [row["val_loss"] for row in data["history"]]
    assert all(v is not None for v in losses)  # --early-stopping turns validation on (0.1)
    # Patience 1: stop after the first epoch whose val_loss is not below the best so far.
    stop = next((e for e in range(1, len(losses)) if losses[e] >= min(losses[:e])), None)
    assert data["epochs_run"] == (stop + 1 if stop is not None else 8)


def test_npz_dataset_and_its_test_split_note(tmp_path):
    shapes = make_shapes(200, size=12, seed=4)
    path = tmp_path / "mine.npz"
    np.savez(path, x=(shapes.x[:, 0] * 255).round().astype(np.uint8), y=shapes.y,
             classes=np.array(shapes.classes))
    result = run("train", TINY, "--dataset", str(path), "--epochs", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "no x_test" in result.stderr
    json.loads(result.stdout)

    # The shape comes from the data: a 12x12 spec fits, a 28x28 one does not.
    assert "28×28×1" in refused("train", "input 28x28x1; " + TINY, "--dataset", str(path))


def test_the_default_model_takes_the_datas_shape_and_classes(tmp_path):
    shapes = make_shapes(100, size=16, seed=4)
    labels = shapes.y.copy()
    labels[::4] = 3                            # a fourth class
    np.savez(tmp_path / "four.npz", x=shapes.x, y=labels)
    model = tmp_path / "four-model.npz"
    run_json("train", "--dataset", str(tmp_path / "four.npz"), "--epochs", "1",
             "--save", str(model))
    loaded = load_model(model)
    assert loaded.classes == ["0", "1", "2", "3"]
    assert loaded.input_chw == (1, 16, 16)


def test_ctrl_c_saves_a_checkpoint_and_resume_matches_the_uninterrupted_run(tmp_path):
    checkpoint = tmp_path / "run.npz"
    args = ["--limit", "3000", "--epochs", "3", "--seed", "5"]
    process = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", "train", *args, "--save", str(checkpoint)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen = []
    for line in process.stdout:   # interrupt during epoch 2
        seen.append(line)
        if line.startswith("epoch 1/3"):
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=120)
    out = "".join(seen) + out
    assert process.returncode == 130, out + err
    assert f"cnncalc train --resume {checkpoint}" in out
    assert "checkpoint saved" in out
    assert load_model(checkpoint).training_state is not None

    resumed = run_json("train", "--resume", str(checkpoint))
    full = run_json("train", *args)
    assert without_seconds(resumed["history"]) == without_seconds(full["history"])
    assert resumed["test_accuracy"] == full["test_accuracy"]
    assert resumed["test_loss"] == full["test_loss"]
    assert load_model(checkpoint).training_state is None   # now the finished model


# ---------------------------------------------------------------------------------------------
# Evaluating.
# ---------------------------------------------------------------------------------------------

def test_evaluate_json_agrees_with_the_test_set(trained):
    path, train_result = trained
    data = run_json("evaluate", path)
    test = load_dataset("shapes", "test")
    counts = np.array(data["confusion_matrix"])
    assert counts.shape == (3, 3) and counts.sum() == len(test) == data["samples"]
    assert counts.sum(axis=1).tolist() == np.bincount(test.y, minlength=3).tolist()
    assert [row["support"] for row in data["per_class"]] == np.bincount(test.y).tolist()
    assert [row["class"] for row in data["per_class"]] == ["triangle", "square", "circle"]
    assert data["accuracy"] == pytest.approx(np.trace(counts) / counts.sum())
    assert data["accuracy"] == pytest.approx(train_result["test_accuracy"])
    assert data["loss"] == pytest.approx(train_result["test_loss"])
    for k, row in enumerate(data["per_class"]):
        predicted = counts[:, k].sum()
        assert row["precision"] == pytest.approx(counts[k, k] / predicted if predicted else 0)
        assert row["recall"] == pytest.approx(counts[k, k] / counts[k].sum())


def test_evaluate_text_shows_report_and_confusion_matrix(trained):
    path, _ = trained
    result = run("evaluate", path)
    assert result.exit_code == 0, result.output
    for text in ("accuracy", "precision", "recall", "f1-score", "support", "macro avg",
                 "weighted avg", "confusion matrix", "0 triangle", "2 circle"):
        assert text in result.stdout, text


# ---------------------------------------------------------------------------------------------
# Predicting.
# ---------------------------------------------------------------------------------------------

def write_pgm(path, pixels: np.ndarray, plain: bool = False, maxval: int = 255) -> None:
    h, w = pixels.shape
    if plain:
        rows = "\n".join(" ".join(str(v) for v in row) for row in pixels)
        path.write_text(f"P2\n# written by a test\n{w} {h}\n# maxval next\n{maxval}\n{rows}\n")
    else:
        dtype = ">u2" if maxval > 255 else "u1"
        path.write_bytes(f"P5\n{w} {h}\n{maxval}\n".encode() + pixels.astype(dtype).tobytes())


def same_top(a: list[dict], b: list[dict]) -> bool:
    """Same classes in the same order with the same probabilities (to float32 rounding: a
    batch's rows may be summed in different orders by BLAS)."""
    return ([(e["class"], e["index"]) for e in a] == [(e["class"], e["index"]) for e in b]
            and [e["probability"] for e in a] == pytest.approx([e["probability"] for e in b],
                                                                rel=1e-5))


def probabilities(model_path, pixels: np.ndarray) -> np.ndarray:
    """The model's softmax for 8-bit pixels (H, W), computed here without the image readers."""
    model = load_model(model_path).model
    with no_grad():
        logits = model(Tensor((pixels / np.float32(255)).astype(np.float32)[None, None])).data
    e = np.exp(logits - logits.max())
    return (e / e.sum())[0]


def test_predict_pgm_gives_the_models_probabilities(trained, tmp_path):
    path, _ = trained
    pixels = (load_dataset("shapes", "test").x[7, 0] * 255).round().astype(np.uint8)
    write_pgm(tmp_path / "binary.pgm", pixels)
    write_pgm(tmp_path / "plain.pgm", pixels, plain=True)
    data = run_json("predict", path, str(tmp_path / "binary.pgm"), str(tmp_path / "plain.pgm"))
    expected = probabilities(path, pixels)
    order = np.argsort(-expected)
    for prediction in data["predictions"]:
        top = prediction["top"]
        assert [entry["index"] for entry in top] == order.tolist()
        assert [entry["class"] for entry in top] == [
            ["triangle", "square", "circle"][k] for k in order]
        assert [entry["probability"] for entry in top] == pytest.approx(expected[order].tolist(),
                                                                         rel=1e-5)
    assert same_top(data["predictions"][0]["top"], data["predictions"][1]["top"])


def test_predict_png_and_resizing_need_pillow(trained, tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    path, _ = trained
    pixels = (load_dataset("shapes", "test").x[3, 0] * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "same.png")
    write_pgm(tmp_path / "same.pgm", pixels)
    write_pgm(tmp_path / "big.pgm", np.kron(pixels, np.ones((2, 2), np.uint8)))
    data = run_json("predict", path, str(tmp_path / "same.png"), str(tmp_path / "same.pgm"),
                    str(tmp_path / "big.pgm"), "--top", "2")
    png, pgm, big = data["predictions"]
    assert same_top(png["top"], pgm["top"]) and len(png["top"]) == 2
    assert big["top"][0]["index"] == pgm["top"][0]["index"]  # 56x56 resized to 28x28

    monkeypatch.setattr(images, "_pillow", lambda: None)
    assert "cnncalc[images]" in refused("predict", path, str(tmp_path / "same.png"))
    assert "resizing needs Pillow" in refused("predict", path, str(tmp_path / "big.pgm"))
    assert run("predict", path, str(tmp_path / "same.pgm")).exit_code == 0  # PGM needs nothing


def test_predict_text_lists_the_top_three(trained, tmp_path):
    path, _ = trained
    write_pgm(tmp_path / "a.pgm", np.zeros((28, 28), np.uint8))
    result = run("predict", path, str(tmp_path / "a.pgm"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == str(tmp_path / "a.pgm")
    assert [line.split()[0] for line in lines[1:]] == ["1.", "2.", "3."]
    assert all(line.rstrip().endswith("%") for line in lines[1:])


def test_pgm_reader_scales_16_bit_and_skips_comments(tmp_path):
    values = np.array([[0, 65535], [32768, 1000]])
    write_pgm(tmp_path / "deep.pgm", values, maxval=65535)
    assert images.read_pgm(tmp_path / "deep.pgm") == pytest.approx(values * 255 / 65535)
    write_pgm(tmp_path / "plain.pgm", np.array([[0, 7], [3, 15]]), plain=True, maxval=15)
    assert images.read_pgm(tmp_path / "plain.pgm") == pytest.approx(np.array([[0, 119], [51, 255]]))


NOT_AN_IMAGE = ("cannot read it as an image" if images._pillow() is not None
                else "only PGM files can be read without Pillow")


@pytest.mark.parametrize("content, fragment", [
    (b"P5\n28 28\n255\n" + bytes(100), "truncated"),
    (b"P5\n28\n", "height"),
    (b"P2\n2 2\n255\n1 2 3\n", "expected 4 pixel values"),
    (b"P5\n2 1\n3\n\x00\x09", "exceeds maxval 3"),
    (b"GIF89a", NOT_AN_IMAGE),
    (b"", NOT_AN_IMAGE),
])
def test_unreadable_images(trained, tmp_path, content, fragment):
    path, _ = trained
    image = tmp_path / "bad.pgm"
    image.write_bytes(content)
    assert fragment in refused("predict", path, str(image))


# ---------------------------------------------------------------------------------------------
# Errors: exit status 2, one line, no traceback.
# ---------------------------------------------------------------------------------------------

def test_unknown_dataset():
    err = refused("train", "--dataset", "mnsit")
    assert "unknown dataset 'mnsit'" in err and "did you mean 'mnist'?" in err


def test_missing_data_files_say_where_to_put_them(tmp_path, monkeypatch):
    closed = "http://127.0.0.1:9/"  # nothing listens on the discard port: no network is used
    monkeypatch.setattr(datasets, "MIRRORS", {"mnist": [closed], "fashion-mnist": [closed]})
    err = refused("train", "--dataset", "mnist", "--data-dir", str(tmp_path))
    assert "train-images-idx3-ubyte.gz" in err and str(tmp_path / "mnist") in err
    err = refused("evaluate", "missing.npz", "--dataset", "fashion-mnist")
    assert "missing.npz: no such file" in err


def test_spec_and_data_shapes_must_match():
    err = refused("train", "input 32x32x1; conv 4 3x3; flatten; dense 3")
    assert "32×32×1" in err and "28×28×1" in err
    err = refused("train", "alexnet")   # PyTorch: C x H x W
    assert "3×224×224" in err and "1×28×28" in err


def test_output_size_must_match_the_classes():
    assert "3 classes" in refused("train", "conv 4 3x3; flatten; dense 10")


def test_spec_errors_point_at_the_token():
    err = refused("train", "conv 4 3x3; flatn; dense 3")
    assert "unknown layer 'flatn'" in err and "^^^^^" in err


def test_corrupt_model_files(trained, tmp_path):
    path, _ = trained
    cut = tmp_path / "cut.npz"
    with open(path, "rb") as handle:
        cut.write_bytes(handle.read()[:5000])
    for command in ("evaluate", "predict"):
        args = [command, str(cut)] + ([str(cut)] if command == "predict" else [])
        assert "truncated or not an .npz" in refused(*args)


def test_resume_needs_a_checkpoint(trained):
    path, _ = trained
    assert "not a checkpoint" in refused("train", "--resume", path)


def test_resume_takes_settings_from_the_checkpoint(trained):
    path, _ = trained
    result = run("train", "--resume", path, "--seed", "3", "--lr", "0.1")
    assert result.exit_code == 2 and "drop --lr, --seed" in result.output


def test_bad_options():
    assert run("train", "--early-stopping", "2", "--val-split", "0").exit_code == 2
    assert run("train", "--val-split", "1.5").exit_code == 2
    assert run("train", "--optimizer", "lbfgs").exit_code == 2
    assert run("train", "--save", "/no/such/dir/model.npz").exit_code == 2


def test_evaluate_with_a_dataset_of_another_shape(trained, tmp_path):
    path, _ = trained
    small = make_shapes(30, size=12)
    np.savez(tmp_path / "small.npz", x=small.x, y=small.y)
    err = refused("evaluate", path, "--dataset", str(tmp_path / "small.npz"))
    assert "1×12×12" in err and "1×28×28" in err


def test_a_checkpoint_from_a_bigger_machine_resumes_with_this_machines_cores(monkeypatch):
    from types import SimpleNamespace

    from cnncalc import train as training

    saved = dict(spec=None, dataset="mnist", data_dir=None, epochs=3, batch_size=32,
                 optimizer="adam", lr=None, val_split=0.1, early_stopping=None, seed=0,
                 limit=None, save=None, threads=1024)
    checkpoint = SimpleNamespace(meta={"settings": saved},
                                 training_state=SimpleNamespace(epoch=1))
    monkeypatch.setattr(training, "load_model", lambda path: checkpoint)
    settings, _ = training.open_checkpoint("run.npz", None, None, None, None)
    assert settings.threads == training.CORES < 1024
    settings, _ = training.open_checkpoint("run.npz", None, None, None, 1)
    assert settings.threads == 1


def test_a_model_that_is_not_a_classifier_is_refused_with_the_reason():
    text = refused("train", "conv 4 3x3 padding=same; conv 1 3x3 padding=same", "--epochs", "1")
    assert "its output is 28×28×1, an image" in text and "cnncalc graph" in text


def test_schedule_and_weight_decay_are_settings_of_the_run(trained):
    path, _ = trained
    result = run("train", "--resume", path, "--scheduler", "cosine", "--weight-decay", "0.1")
    assert result.exit_code == 2 and "drop --weight-decay, --scheduler" in result.output
    assert run("train", "--weight-decay", "-1").exit_code == 2
    assert run("train", "--scheduler", "linear").exit_code == 2
