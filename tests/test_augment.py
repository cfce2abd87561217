"""`cnncalc train --augment`: shifts move pixels exactly (a loop oracle), flips only where the
dataset allows them, the same seed gives the same batches (also after --resume), and the
setting is kept in the model file's settings, from which --resume takes it.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from cnncalc import train as training
from cnncalc.app import app
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from minigrad.tools.data import (ArrayDataset, Augmentation, DataLoader, flip_allowed,
                                 shift_images)
from minigrad.tools.modelfile import ModelFileError, load_model
from minigrad.tools.train import Trainer

runner = CliRunner()

TINY = "conv 4 3x3 relu; maxpool 2; flatten; dense 3"   # takes the data's shape


def shifted_by_loops(x, dy, dx, flip):
    """The oracle: every output pixel looked up one by one."""
    batch, channels, height, width = x.shape
    out = np.zeros_like(x)
    for i in range(batch):
        for c in range(channels):
            for y in range(height):
                for col in range(width):
                    source_y, source_x = y - dy[i], col - dx[i]
                    if 0 <= source_y < height and 0 <= source_x < width:
                        if flip is not None and flip[i]:
                            source_x = width - 1 - source_x
                        out[i, c, y, col] = x[i, c, source_y, source_x]
    return out


@st.composite
def batches_and_moves(draw):
    batch, channels = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    height, width = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    x = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(
        (batch, channels, height, width)).astype(np.float32) + 1   # no pixel is 0 already
    reach = max(height, width) + 1      # some moves push the whole image out
    moves = st.lists(st.integers(-reach, reach), min_size=batch, max_size=batch)
    dy, dx = np.array(draw(moves)), np.array(draw(moves))
    flip = draw(st.none() | st.lists(st.booleans(), min_size=batch, max_size=batch))
    return x, dy, dx, None if flip is None else np.array(flip)


@given(batches_and_moves())
def test_shift_images_moves_every_pixel_as_the_loops_do(case):
    x, dy, dx, flip = case
    out = shift_images(x, dy, dx, flip)
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_array_equal(out, shifted_by_loops(x, dy, dx, flip))


def test_shift_images_refuses_moves_that_do_not_fit_the_batch():
    with pytest.raises(ValueError, match=r"shift_images: .*x \(2, 1, 3, 3\), dy \(3,\)"):
        shift_images(np.zeros((2, 1, 3, 3)), np.zeros(3, int), np.zeros(2, int))


def recovered_moves(original, augmented, max_shift):
    """(dy, dx, flipped) of each augmented image: the one move within max_shift that makes it
    from the original (images of distinct pixels, so exactly one does)."""
    moves = []
    for image, result in zip(original, augmented):
        found = [(dy, dx, flip)
                 for dy in range(-max_shift, max_shift + 1)
                 for dx in range(-max_shift, max_shift + 1) for flip in (False, True)
                 if np.array_equal(shift_images(image[None], np.array([dy]), np.array([dx]),
                                                np.array([flip]))[0], result)]
        assert len(found) == 1, "not a shift of at most max_shift (or a mirror of one)"
        moves.append(found[0])
    return moves


def distinct_images(n: int, size: int = 8) -> np.ndarray:
    """Images whose pixels all differ (so a shift or a mirror is recognisable)."""
    rng = np.random.default_rng(0)
    return np.stack([rng.permutation(size * size).reshape(1, size, size) + 1.0
                     for _ in range(n)]).astype(np.float32)


@pytest.mark.parametrize("flip", [False, True])
def test_augmentation_shifts_by_up_to_two_pixels_and_flips_half_only_when_allowed(flip):
    x = distinct_images(300)
    augmented = Augmentation(max_shift=2, flip=flip)(x, np.random.default_rng(1))
    moves = recovered_moves(x, augmented, max_shift=2)
    assert {(dy, dx) for dy, dx, _ in moves} == {(dy, dx) for dy in range(-2, 3)
                                                 for dx in range(-2, 3)}
    flipped = sum(f for _, _, f in moves)
    if flip:
        assert 100 < flipped < 200
    else:
        assert flipped == 0
    assert np.array_equal(x, distinct_images(300)), "the batch itself is left alone"


def test_turning_flips_on_does_not_change_the_shifts():
    x = distinct_images(40)
    plain = Augmentation(flip=False)(x, np.random.default_rng(7))
    mirrored = Augmentation(flip=True)(x, np.random.default_rng(7))
    shifts = [(dy, dx) for dy, dx, _ in recovered_moves(x, plain, 2)]
    assert shifts == [(dy, dx) for dy, dx, _ in recovered_moves(x, mirrored, 2)]


def test_the_datasets_that_may_be_flipped():
    assert not flip_allowed("mnist") and not flip_allowed("MNIST")
    assert flip_allowed("fashion-mnist") and flip_allowed("Fashion_MNIST")
    assert flip_allowed("shapes")
    assert not flip_allowed("digits.npz") and not flip_allowed("/data/fashion-mnist.npz")


def loader(seed: int, augment: Augmentation | None = Augmentation(flip=True)) -> DataLoader:
    x = distinct_images(50)
    data = ArrayDataset(x, np.arange(50) % 3, ("a", "b", "c"))
    return DataLoader(data, batch_size=8, shuffle=True, seed=seed, augment=augment)


def test_the_same_seed_gives_the_same_augmented_batches_and_another_seed_others():
    first, again, other = loader(3), loader(3), loader(4)
    for epoch in (0, 1):
        for (xa, ya), (xb, yb) in zip(first.batches(epoch), again.batches(epoch)):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(next(first.batches(0))[0], next(other.batches(0))[0])
    # each batch and each epoch draws its own moves
    batches = [x for x, _ in first.batches(0)] + [next(first.batches(1))[0]]
    originals = [x for x, _ in loader(3, augment=None).batches(0)] \
        + [next(loader(3, augment=None).batches(1))[0]]
    moves = [tuple(recovered_moves(o, a, 2)) for o, a in zip(originals, batches)]
    assert len(set(moves)) == len(moves)


def test_augmentation_keeps_the_order_and_labels_and_a_resumed_epoch_repeats_its_batches():
    augmented, plain = loader(5), loader(5, augment=None)
    for (xa, ya), (xp, yp) in zip(augmented.batches(2), plain.batches(2)):
        np.testing.assert_array_equal(ya, yp)
        recovered_moves(xp, xa, 2)      # each image is a moved copy of the same image
    whole = list(augmented.batches(2))
    for b, (x, y) in enumerate(augmented.batches(2, start=3), start=3):
        np.testing.assert_array_equal(x, whole[b][0])
        np.testing.assert_array_equal(y, whole[b][1])


# ---------------------------------------------------------------------------------------------
# The command: the setting in model files and checkpoints.
# ---------------------------------------------------------------------------------------------

def run_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


RUN = ("train", TINY, "--limit", "256", "--epochs", "2", "--seed", "3")


def test_the_setting_is_saved_in_the_model_file(tmp_path):
    for flag, expected in (("--augment", True), (None, False)):
        path = tmp_path / f"{expected}.npz"
        run_json(*RUN, *([flag] if flag else []), "--save", str(path))
        assert load_model(path).meta["settings"]["augment"] is expected


def test_augmented_runs_repeat_and_differ_from_plain_ones():
    augmented = run_json(*RUN, "--augment")
    assert without_seconds(run_json(*RUN, "--augment")["history"]) \
        == without_seconds(augmented["history"])
    assert without_seconds(run_json(*RUN)["history"]) != without_seconds(augmented["history"])


def test_resume_takes_the_setting_from_the_checkpoint_and_ends_as_the_whole_run(tmp_path,
                                                                             monkeypatch):
    checkpoint = tmp_path / "run.npz"
    fit = Trainer.fit

    def fit_stopping_in_epoch_2(self, state=None, on_batch=None, on_epoch=None):
        def progress(report):      # as Ctrl-C would: stop after batch 3 of epoch 2
            on_batch(report)
            if (report.epoch, report.batch) == (1, 3):
                self.request_stop()
        return fit(self, state, progress, on_epoch)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "fit", fit_stopping_in_epoch_2)
        stopped = runner.invoke(app, [*RUN, "--augment", "--save", str(checkpoint)])
    assert stopped.exit_code == training.INTERRUPTED, stopped.output
    assert load_model(checkpoint).meta["settings"]["augment"] is True

    refused = runner.invoke(app, ["train", "--resume", str(checkpoint), "--augment"])
    assert refused.exit_code == 2 and "drop --augment" in refused.output

    resumed = run_json("train", "--resume", str(checkpoint))
    whole = run_json(*RUN, "--augment")
    assert without_seconds(resumed["history"]) == without_seconds(whole["history"])
    assert (resumed["test_accuracy"], resumed["test_loss"]) \
        == (whole["test_accuracy"], whole["test_loss"])


SAVED = dict(spec=None, dataset="mnist", data_dir=None, epochs=3, batch_size=32,
             optimizer="adam", lr=None, val_split=0.0, early_stopping=None, seed=0, limit=None,
             save=None, threads=1, init="auto")


def test_a_file_from_before_the_setting_loads_without_augmentation():
    settings = training.settings_from_meta(SAVED, "old.npz")
    assert settings.augment is False and training.augmentation(settings) is None


def test_the_setting_is_checked_when_a_file_is_read():
    with pytest.raises(ModelFileError, match="'augment' should be true or false, got 'yes'"):
        training.settings_from_meta({**SAVED, "augment": "yes"}, "bad.npz")
    with pytest.raises(ModelFileError, match="'augment' should be true or false, got 1"):
        training.settings_from_meta({**SAVED, "augment": 1}, "bad.npz")


@pytest.mark.parametrize("dataset, flips", [("mnist", False), ("fashion-mnist", True),
                                            ("shapes", True), ("/data/my.npz", False)])
def test_the_run_flips_only_the_datasets_that_allow_it(dataset, flips):
    settings = dataclasses.replace(training.settings_from_meta(SAVED, "old.npz"),
                                   dataset=dataset, augment=True)
    augment = training.augmentation(settings)
    assert (augment.max_shift, augment.flip) == (2, flips)
