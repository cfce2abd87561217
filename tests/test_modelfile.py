"""Model files: save -> load gives bit-identical predictions, checkpoints resume to exactly the
uninterrupted run, and every kind of damaged file is refused with an error naming the problem."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import numpy as np
import pytest

from minigrad.engine import rng
from minigrad.tools.build import build_model
from minigrad.tools.data import DataLoader
from minigrad.tools.datasets import make_shapes
from minigrad.tools.modelfile import ModelFileError, load_model, save_model
from minigrad.engine.optim import Adam
from minigrad.readers import parse_spec
from minigrad.engine.tensor import Tensor, no_grad
from minigrad.tools.train import Trainer

# Conv, batch norm (buffers), dropout (random masks), dense: every kind of saved state.
SPEC = """\
input 12x12x1
conv 4 3x3 relu
batchnorm
maxpool 2
dropout 0.25
flatten
dense 8 relu
dense 3 softmax
"""
META = {"dataset": "shapes", "classes": ["triangle", "square", "circle"],
        "normalization": "x / 255", "epochs": 1, "accuracy": 0.5}


def predictions(model, x):
    model.eval()
    with no_grad():
        return model(Tensor(x)).data


def trained_model(seed=0):
    """A small model with non-trivial weights and batch-norm statistics."""
    rng.manual_seed(seed)
    spec = parse_spec(SPEC)
    model = build_model(spec.network)
    data = make_shapes(64, size=12, seed=seed)
    trainer = Trainer(model, Adam(model.parameters()), DataLoader(data, 16, shuffle=True), 1)
    trainer.fit()
    return spec, model


@pytest.fixture
def saved(tmp_path):
    spec, model = trained_model()
    path = tmp_path / "model.npz"
    save_model(path, model, spec, META)
    return path, model


# ---------------------------------------------------------------------------------------------
# Round trips.
# ---------------------------------------------------------------------------------------------

def test_save_load_gives_bit_identical_predictions(saved):
    path, model = saved
    x = np.random.default_rng(1).random((10, 1, 12, 12), dtype=np.float32)
    loaded = load_model(path)
    assert np.array_equal(predictions(loaded.model, x), predictions(model, x))
    original = model.state_dict()
    restored = loaded.model.state_dict()
    assert original.keys() == restored.keys()
    for name in original:
        assert restored[name].dtype == original[name].dtype
        assert restored[name].tobytes() == original[name].tobytes(), name
    assert not loaded.model.training  # ready to predict


def test_metadata_and_spec_round_trip(saved):
    path, _ = saved
    loaded = load_model(path)
    for key, value in META.items():
        assert loaded.meta[key] == value
    assert loaded.meta["input_shape"] == [12, 12, 1]
    assert loaded.meta["input_chw"] == [1, 12, 12]
    assert loaded.input_chw == (1, 12, 12)
    assert loaded.classes == META["classes"]
    assert loaded.spec.source == SPEC and loaded.spec.format == "dsl"
    assert loaded.optimizer_state is None and loaded.training_state is None


def test_spec_without_input_line_uses_the_saved_input_shape(tmp_path):
    # PyTorch code states no input shape: it is stored in the metadata, in C x H x W.
    text = "nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(200, 3))"
    spec = parse_spec(text, input_shape=(1, 12, 12))
    rng.manual_seed(3)
    model = build_model(spec.network)
    save_model(tmp_path / "torch.npz", model, spec, META)
    loaded = load_model(tmp_path / "torch.npz")
    assert loaded.spec.network.input_shape == (1, 12, 12)
    assert loaded.input_chw == (1, 12, 12)
    x = np.random.default_rng(2).random((3, 1, 12, 12), dtype=np.float32)
    assert np.array_equal(predictions(loaded.model, x), predictions(model, x))


def test_save_is_atomic(tmp_path, monkeypatch):
    spec, model = trained_model()
    path = tmp_path / "model.npz"
    save_model(path, model, spec, META)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, model, spec, {**META, "epochs": 2})
    assert path.read_bytes() == before                  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


# ---------------------------------------------------------------------------------------------
# Checkpoints: interrupted + resumed == uninterrupted.
# ---------------------------------------------------------------------------------------------

def run_setup(seed=0):
    rng.manual_seed(seed)
    spec = parse_spec(SPEC)
    model = build_model(spec.network)
    data = make_shapes(150, size=12, seed=7)
    train, validation = data.split(0.2, seed=seed)
    loader = DataLoader(train, 16, shuffle=True, seed=seed)   # 8 batches per epoch
    optimizer = Adam(model.parameters(), lr=0.01)
    return spec, model, optimizer, loader, validation


@pytest.mark.parametrize("stop_after", [3, 8, 13])  # mid-epoch, at an epoch's end, in epoch 2
def test_checkpoint_resumes_to_the_uninterrupted_run(tmp_path, stop_after):
    spec, model, optimizer, loader, validation = run_setup()
    full = Trainer(model, optimizer, loader, 3, validation).fit()
    expected = model.state_dict()

    spec, model, optimizer, loader, validation = run_setup()
    trainer = Trainer(model, optimizer, loader, 3, validation)
    batches = 0

    def stop_at(progress):
        nonlocal batches
        batches += 1
        if batches == stop_after:
            trainer.request_stop()

    state = trainer.fit(on_batch=stop_at)
    assert not state.finished
    path = tmp_path / "checkpoint.npz"
    save_model(path, model, spec, META, optimizer.state_dict(), state)

    rng.manual_seed(12345)  # anything drawn meanwhile must not matter: the state is in the file
    checkpoint = load_model(path)
    resumed_optimizer = Adam(checkpoint.model.parameters())
    resumed_optimizer.load_state_dict(checkpoint.optimizer_state)
    resumed = Trainer(checkpoint.model, resumed_optimizer, loader, 3, validation)
    final = resumed.fit(checkpoint.training_state)

    assert final.finished
    result = checkpoint.model.state_dict()
    for name, value in expected.items():
        assert result[name].tobytes() == value.tobytes(), name

    def without_time(history):
        return [dataclasses.replace(row, seconds=0.0) for row in history]

    assert without_time(final.history) == without_time(full.history)
    assert final.best_epoch == full.best_epoch


@pytest.mark.parametrize("schedule", ["step", "cosine", "onecycle", "plateau"])
def test_a_scheduled_run_resumes_to_the_uninterrupted_run(tmp_path, schedule):
    """The schedule is replayed from the history: the learning rate of every later step, and so
    the weights, are those of the run that was never stopped."""
    spec, model, optimizer, loader, validation = run_setup()
    Trainer(model, optimizer, loader, 3, validation, schedule=schedule).fit()
    expected, expected_lr = model.state_dict(), optimizer.lr

    spec, model, optimizer, loader, validation = run_setup()
    trainer = Trainer(model, optimizer, loader, 3, validation, schedule=schedule)
    batches = 0

    def stop_at(progress):
        nonlocal batches
        batches += 1
        if batches == 8:
            trainer.request_stop()

    state = trainer.fit(on_batch=stop_at)
    path = tmp_path / "checkpoint.npz"
    save_model(path, model, spec, META, optimizer.state_dict(), state)
    checkpoint = load_model(path)
    resumed_optimizer = Adam(checkpoint.model.parameters(), lr=0.01)
    resumed = Trainer(checkpoint.model, resumed_optimizer, loader, 3, validation, schedule=schedule)
    resumed_optimizer.load_state_dict(checkpoint.optimizer_state)   # as cnncalc train does
    resumed.fit(checkpoint.training_state)

    assert resumed_optimizer.lr == expected_lr
    assert schedule == "plateau" or expected_lr != 0.01   # the schedule moved it
    result = checkpoint.model.state_dict()
    for name, value in expected.items():
        assert result[name].tobytes() == value.tobytes(), name


def test_training_state_and_optimizer_state_round_trip(tmp_path):
    spec, model, optimizer, loader, validation = run_setup()
    state = Trainer(model, optimizer, loader, 2, validation).fit()  # with best-epoch weights
    save_model(tmp_path / "c.npz", model, spec, META, optimizer.state_dict(), state)
    loaded = load_model(tmp_path / "c.npz")
    for key, value in optimizer.state_dict().items():
        assert np.array_equal(loaded.optimizer_state[key], value), key
    assert loaded.training_state.history == state.history
    assert loaded.training_state.best_epoch == state.best_epoch
    for name, value in state.best_weights.items():
        assert loaded.training_state.best_weights[name].tobytes() == value.tobytes()


# ---------------------------------------------------------------------------------------------
# Damaged files.
# ---------------------------------------------------------------------------------------------

def rewrite(path, change):
    """Load the file's arrays, let `change` edit the dict, write them back (plain np.savez)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def refused(path, *fragments):
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(saved, keep):
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    refused(path, "truncated or not an .npz")


def test_empty_file(saved):
    path, _ = saved
    path.write_bytes(b"")
    refused(path, "not a model file")


def test_not_a_zip(saved):
    path, _ = saved
    path.write_text("input 28x28x1\nconv 8 3x3\n")
    refused(path, "not a model file")


def test_a_single_npy_array(saved):
    path, _ = saved
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(3))
    refused(path, ".npy")


def test_damaged_bytes_inside_an_array(saved):
    path, _ = saved
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("param/6.weight.npy")
    data = bytearray(path.read_bytes())
    # The member's data starts after its local header (30 bytes + name + extra); flip one
    # byte well inside it, so the stored CRC no longer matches.
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    refused(path, "param/6.weight", "damaged")


@pytest.mark.parametrize("name", ["param/0.weight", "param/2.running_var", "param/8.bias"])
def test_missing_weight(saved, name):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.pop(name))
    refused(path, "missing array", name)


@pytest.mark.parametrize("name", ["meta", "spec"])
def test_missing_meta_or_spec(saved, name):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.pop(name))
    refused(path, f"missing array '{name}'")


def test_extra_array(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update({"param/9.weight": np.zeros(3, np.float32)}))
    refused(path, "unexpected array", "param/9.weight")


def test_wrong_shape(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update({"param/6.weight": np.zeros((8, 99), np.float32)}))
    refused(path, "param/6.weight", "(8, 99)", "(8, 100)")


def test_wrong_dtype(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update(
        {"param/0.bias": arrays["param/0.bias"].astype(np.float64)}))
    refused(path, "param/0.bias", "float64", "float32")


def test_metadata_not_json(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update({"meta": np.array("{'dataset': shapes")}))
    refused(path, "metadata is not valid JSON")


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m.update(format="something-else"), "not a cnncalc model file"),
    (lambda m: m.update(version=99), "version 99"),
    (lambda m: m.update(spec_format="onnx"), "spec_format"),
    (lambda m: m.update(input_shape=[12, -12, 1]), "input_shape"),
    (lambda m: m.pop("classes"), "classes"),
    (lambda m: m.update(classes=["a", "b"]), "2 classes but the model's output has shape (3,)"),
    (lambda m: m.update(dataset=3), "metadata 'dataset' should be text"),
    (lambda m: m.update(lr=-1.0), "metadata 'lr' should be a finite positive number"),
    (lambda m: m.update(seed=-1), "metadata 'seed' should be a whole number"),
    (lambda m: m.update(epochs="5"), "metadata 'epochs' should be a whole number"),
    (lambda m: m.update(input_shape=[10**6, 10**6, 1]), "values per sample"),
    (lambda m: m.update(input_shape=[10**20, 1, 1]), "input_shape' should be a list of 1 to 4"),
    (lambda m: m.update(history=[{"epoch": "1"}]), "metadata 'history' is damaged"),
])
def test_every_metadata_field_is_type_checked(saved, change, fragment):
    path, _ = saved

    def edit(arrays):
        meta = json.loads(str(arrays["meta"]))
        change(meta)
        arrays["meta"] = np.array(json.dumps(meta))

    rewrite(path, edit)
    refused(path, fragment)


def test_metadata_that_is_not_an_object(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update({"meta": np.array("[1, 2]")}))
    refused(path, "JSON object")


def test_spec_that_does_not_build(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update({"spec": np.array("input 12x12x1\nconv 4 30x30")}))
    refused(path, "cannot be built")


def test_meta_stored_as_numbers_instead_of_text(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update({"meta": np.arange(3)}))
    refused(path, "'meta' should be text")


class _Planted:
    """Unpickling this creates a file: proof that pickle ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_pickled_object_arrays_are_never_loaded(saved, tmp_path):
    path, _ = saved
    marker = tmp_path / "pickle-ran"
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["meta"] = np.array([_Planted(marker)], dtype=object)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)  # np.savez pickles object arrays
    refused(path, "'meta'", "pickle")
    assert not marker.exists()


def test_missing_file_and_directory(tmp_path):
    refused(tmp_path / "nothing.npz", "no such file")
    refused(tmp_path, "directory")


def test_damaged_training_state(tmp_path):
    spec, model, optimizer, loader, validation = run_setup()
    state = Trainer(model, optimizer, loader, 1, validation).fit()
    path = tmp_path / "c.npz"
    save_model(path, model, spec, META, optimizer.state_dict(), state)
    rewrite(path, lambda arrays: arrays.update({"train/state": np.array('{"epoch": 1}x')}))
    refused(path, "training state", "damaged")

    save_model(path, model, spec, META, optimizer.state_dict(), state)
    rewrite(path, lambda arrays: arrays.update(
        {"train/best/0.weight": np.zeros((4, 1, 5, 5), np.float32)}))
    refused(path, "train/best/0.weight", "(4, 1, 5, 5)")


# ---------------------------------------------------------------------------------------------
# Sizes and values checked before anything is read or built (issue 11).
# ---------------------------------------------------------------------------------------------

def test_total_unpacked_size_is_bounded_from_the_zip_directory(saved, monkeypatch):
    from minigrad.tools import modelfile
    path, _ = saved
    monkeypatch.setattr(modelfile, "MAX_FILE_BYTES", 2000)
    refused(path, "this file is damaged", "when unpacked")


def test_a_header_that_declares_more_than_the_member_holds(saved):
    path, _ = saved
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    weight = members["param/0.bias.npy"]
    members["param/0.bias.npy"] = weight.replace(b"(4,)", b"(1099511627776,)")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    refused(path, "this file is damaged", "'param/0.bias' declares shape (1099511627776,)")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_weights_that_are_not_finite_are_refused_by_layer(saved, bad):
    path, _ = saved

    def poison(arrays):
        arrays["param/6.weight"] = arrays["param/6.weight"].copy()
        arrays["param/6.weight"][0, 0] = bad

    rewrite(path, poison)
    refused(path, "'param/6.weight' (layer 6, Linear) holds NaN or infinite values")


@pytest.mark.parametrize("text, fragment", [
    ("[" * 100_000 + "]" * 100_000, "the metadata is nested too deeply"),
    ('{"format": ' + "9" * 5000 + "}", "the metadata holds a number of 5,000 digits"),
])
def test_metadata_json_that_would_break_the_decoder(saved, text, fragment):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update({"meta": np.array(text)}))
    refused(path, "this file is damaged", fragment)


def test_a_model_description_far_bigger_than_its_weights_is_not_built(saved):
    path, _ = saved
    rewrite(path, lambda arrays: arrays.update(
        {"spec": np.array("input 12x12x1\nflatten\ndense 100000000\ndense 3")}))
    refused(path, "needs 14,800,000,003 weights but the file holds 891")


def test_class_names_are_escaped(saved):
    path, _ = saved

    def edit(arrays):
        meta = json.loads(str(arrays["meta"]))
        meta["classes"] = ["\x1b[2Jcat", "dog\u202e", "ok"]
        arrays["meta"] = np.array(json.dumps(meta))

    rewrite(path, edit)
    assert load_model(path).classes == ["\\x1b[2Jcat", "dog\\u202e", "ok"]


def test_optimizer_arrays_must_fit_the_parameters_before_they_are_read(tmp_path):
    spec, model, optimizer, loader, validation = run_setup()
    state = Trainer(model, optimizer, loader, 1, validation).fit()
    path = tmp_path / "c.npz"
    save_model(path, model, spec, META, optimizer.state_dict(), state)
    rewrite(path, lambda arrays: arrays.update({"optim/junk": np.zeros(1000, np.float32)}))
    refused(path, "'optim/junk' of shape (1000,) is not optimizer state")
    save_model(path, model, spec, META, optimizer.state_dict(), state)
    rewrite(path, lambda arrays: arrays.update({"optim/lr": np.array(np.nan)}))
    refused(path, "'optim/lr' holds NaN")


@pytest.mark.parametrize("field, value, fragment", [
    ("epoch", "1", "'epoch' should be a whole number"),
    ("seen", -5, "'seen' should be a whole number"),
    ("loss_sum", None, "'loss_sum' should be a finite number"),
    ("finished", 1, "'finished' should be true or false"),
    ("rng_state", {"bit_generator": "bogus"}, "'rng_state' is not a random generator's state"),
    ("bogus", 1, "unknown fields 'bogus'"),
])
def test_training_state_fields_are_type_checked(tmp_path, field, value, fragment):
    spec, model, optimizer, loader, validation = run_setup()
    state = Trainer(model, optimizer, loader, 1, validation).fit()
    path = tmp_path / "c.npz"
    save_model(path, model, spec, META, optimizer.state_dict(), state)

    def edit(arrays):
        scalars = json.loads(str(arrays["train/state"]))
        scalars[field] = value
        arrays["train/state"] = np.array(json.dumps(scalars))

    rewrite(path, edit)
    refused(path, "the training state in 'train/state' is damaged", fragment)
