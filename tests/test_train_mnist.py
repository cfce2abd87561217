"""The acceptance test on real data: one epoch on the first 10,000 MNIST training images reaches
at least 95% on the 10,000 test images. Needs the MNIST files under $CNNCALC_DATA/mnist/
(skipped without it; nothing is downloaded). About 3 s on one core."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cnncalc.app import app
from typer.testing import CliRunner

DATA = os.environ.get("CNNCALC_DATA")
pytestmark = pytest.mark.skipif(
    not DATA or not (Path(DATA) / "mnist").is_dir(),
    reason="set CNNCALC_DATA to a directory with mnist/ to run the MNIST acceptance test")


def test_one_epoch_on_10000_mnist_images_reaches_95_percent():
    # The book's SimpleConvNet with Adam at a larger step than its default 0.001: one pass over
    # 10,000 images is only 200 steps of 50. Seeds 0-3 give 95.4-96.4%.
    result = CliRunner().invoke(app, [
        "train", "simple-convnet", "--dataset", "mnist", "--data-dir", DATA, "--limit", "10000",
        "--epochs", "1", "--optimizer", "adam", "--lr", "0.005", "--batch-size", "50",
        "--seed", "0", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["epochs_run"] == 1
    assert data["test_accuracy"] >= 0.95
