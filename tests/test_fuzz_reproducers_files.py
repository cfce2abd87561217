"""The model-file, checkpoint and dataset reproducers of the fuzz campaign (../shared/fuzz/*.npz),
each through the command the issue names, as a user runs it: a separate process, so that its time
and its peak memory are its own. Each must end with exit status 2 and a one-line error that names
the reason (or exit 0 where the input is valid), never a traceback, in under 10 s and 1 GB.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from measured import PEAK_BYTES, SECONDS, run_cnncalc

FUZZ = Path(__file__).resolve().parents[2] / "shared" / "fuzz"

# reproducer -> (command, its arguments after the file, exit status, words the message must hold)
MODEL, IMAGE = "{file}", "{img}"
PREDICT = ("predict", [MODEL, IMAGE])
EVALUATE = ("evaluate", [MODEL])
RESUME = ("train", ["--resume", MODEL, "--save", "{out}"])
DATASET = ("train", ["--dataset", MODEL, "--epochs", "1", "--limit", "30", "--save", "{out}"])

CASES = {
    "m.npz": (PREDICT, 0, "circle"),
    "zip_method.npz": (EVALUATE, 2, "this file is damaged: array 'meta' uses zip compression "
                                    "method 99"),
    "zip_flagbit5.npz": (PREDICT, 2, "this file is damaged: array 'param/3.weight' uses "
                                     "compressed patched data (zip flag bit 5)"),
    "zip_version.npz": (EVALUATE, 2, "this file is damaged: its zip directory cannot be read "
                                     "(zip file version 7.0)"),
    "npy_header_tokenerror.npz": (PREDICT, 2, "this file is damaged: array 'param/3.weight' has "
                                              "a damaged .npy header"),
    "meta_deep_json.npz": (PREDICT, 2, "this file is damaged: the metadata is nested too deeply"),
    "ck_state_deep.npz": (PREDICT, 2, "this file is damaged: the training state is nested too "
                                      "deeply"),
    "meta_bigint_json.npz": (EVALUATE, 2, "this file is damaged: the metadata holds a number of "
                                          "5,000 digits"),
    "meta_input_bigint.npz": (PREDICT, 2, "metadata 'input_shape' should be a list of 1 to 4 "
                                          "positive sizes"),
    "meta_input_huge.npz": (PREDICT, 2, "metadata 'input_shape' 1000000×1000000×1 is more than "
                                        "the 100,000,000 values per sample"),
    "meta_dataset_int.npz": (EVALUATE, 2, "metadata 'dataset' should be text"),
    "spec_huge_model.npz": (PREDICT, 2, "its model description needs 7,880,000,000,003 weights "
                                        "but the file holds 105,411"),
    "spec_3GB_model.npz": (EVALUATE, 2, "its model description needs 788,000,003 weights but the "
                                        "file holds 105,411"),
    "bomb_3GiB_optim.npz": (EVALUATE, 2, "array 'optim/junk' of shape (805306368,) is not "
                                         "optimizer state of this model's parameters"),
    "declared_4TiB_param.npz": (PREDICT, 2, "this file is damaged: array 'param/0.weight' "
                                            "declares shape (1099511627776,)"),
    "nan_weights.npz": (EVALUATE, 2, "array 'param/0.weight' (layer 0, Conv2d) holds NaN or "
                                     "infinite values"),
    "classes_escape.npz": (PREDICT, 0, r"\x1b[2J\x1b[31mpwned"),
    "ck_epochs_str.npz": (RESUME, 2, "this file is damaged: its training setting 'epochs' should "
                                     "be a whole number in 1..100,000, got '5'"),
    "ck_optimizer_bogus.npz": (RESUME, 2, "this file is damaged: its training setting "
                                          "'optimizer' should be one of sgd, momentum, adam, "
                                          "adamw, rmsprop, adagrad, got 'bogus'"),
    "declared_4TiB_x.npz": (DATASET, 2, "this file is damaged: array 'x' declares shape "
                                        "(4398046511104,)"),
    "y_huge_label.npz": (DATASET, 2, "y has the label 1099511627776, more than the 100,000 "
                                     "classes a dataset may have"),
    "test_mismatch.npz": (DATASET, 2, "the test images (x_test) are 1×14×14 (C×H×W) but the "
                                      "training images are 1×28×28"),
    "test_more_classes.npz": (DATASET, 2, "y_test has label 7 but only 3 classes in the training "
                                          "labels (0..2)"),
}


def reproducer(name: str) -> Path:
    path = FUZZ / name
    if not path.exists():
        pytest.skip(f"{path} is not here (the fuzz reproducers live beside the project)")
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_reproducer(name, tmp_path):
    path = reproducer(name)
    (command, rest), status, words = CASES[name]
    args = [command] + [a.format(file=path, img=FUZZ / "img.pgm", out=tmp_path / "out.npz")
                        for a in rest]
    if "{img}" in rest and not (FUZZ / "img.pgm").exists():
        pytest.skip("img.pgm is not here")
    run = run_cnncalc(tmp_path, *args)
    code, stdout, stderr = run.status, run.out, run.err
    output = stdout + stderr
    assert "Traceback" not in output and "internal error" not in output, output
    assert code == status, f"exit {code}, expected {status}:\n{output}"
    if status == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), stderr
        message = re.sub(r"\s+", " ", lines[0])
        assert str(path) in message, message
        assert words in message, message
        assert stdout == ""
    else:
        assert words in stdout, stdout
        assert "\x1b" not in output, "an escape code from the file reached the terminal"
    assert run.cpu < SECONDS, f"{run.cpu:.1f} s of CPU"
    assert run.peak < PEAK_BYTES, f"peak memory {run.peak / 2**20:.0f} MiB"
