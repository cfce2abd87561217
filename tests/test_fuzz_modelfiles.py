"""Fuzzing the files cnncalc reads as archives: model files, checkpoints and .npz datasets.

Each example damages a small valid file one way (a truncation, flipped bytes, a bytes of the zip
directory, an edited .npy header, swapped, renamed, dropped or doubled members, an edited metadata
or training-state JSON, a hostile dataset) and runs the command a user would run on it in-process
(predict, evaluate, train --resume, train --dataset). Whatever the damage: exit status 0 or 2,
never a traceback, never the internal-error path.

The default profile tries a few examples per surface; HYPOTHESIS_PROFILE=thorough tries 10,000
per surface (about ten minutes on one core).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cnncalc.app import app
from cnncalc.train import Data, Settings, model_meta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from minigrad.engine import rng
from minigrad.engine.optim import make_optimizer
from minigrad.readers import parse_spec
from minigrad.tools.build import build_model
from minigrad.tools.data import ArrayDataset, DataLoader
from minigrad.tools.modelfile import save_model
from minigrad.tools.train import Trainer

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
EXAMPLES = 10_000 if THOROUGH else 40
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not THOROUGH,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
runner = CliRunner()

SPEC = "input 8x8x1; conv 2 3x3 relu; maxpool 2; flatten; dense 3"
CLASSES = ("a", "b", "c")


# ---------------------------------------------------------------------------------------------
# The valid files every example starts from.
# ---------------------------------------------------------------------------------------------

def tiny_data(n: int = 24, seed: int = 0) -> ArrayDataset:
    generator = np.random.default_rng(seed)
    return ArrayDataset(generator.random((n, 1, 8, 8), np.float32), np.arange(n) % 3, CLASSES,
                        name="tiny", normalization="x / 255")


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, Path]:
    """A dataset, an image, a finished model and a checkpoint, all tiny."""
    folder = tmp_path_factory.mktemp("bases")
    data = tiny_data()
    dataset = folder / "tiny.npz"
    np.savez(dataset, x=(data.x[:, 0] * 255).astype(np.uint8), y=data.y,
             classes=np.array(CLASSES))
    image = folder / "img.pgm"
    image.write_bytes(b"P5 8 8 255\n" + bytes(range(64)))

    spec = parse_spec(SPEC)
    settings_ = Settings(spec=SPEC, dataset=str(dataset), data_dir=None, epochs=2, batch_size=8,
                         optimizer="adam", lr=None, val_split=0.25, early_stopping=None, seed=0,
                         limit=None, save=None, threads=1)
    rng.manual_seed(0)
    model = build_model(spec.network)
    optimizer = make_optimizer("adam", model.parameters())
    train, validation = data.split(0.25, 0)
    trainer = Trainer(model, optimizer, DataLoader(train, 8, shuffle=True), 2, validation)
    batches = 0

    def stop(progress):
        nonlocal batches
        batches += 1
        if batches == 4:
            trainer.request_stop()

    state = trainer.fit(on_batch=stop)
    meta = model_meta(settings_, Data(train, validation, data, None), state, optimizer.lr)
    checkpoint = folder / "checkpoint.npz"
    save_model(checkpoint, model, spec, meta, optimizer.state_dict(), state)
    finished = folder / "model.npz"
    save_model(finished, model, spec, {**meta, "accuracy": 0.5, "test_loss": 1.0})
    return {"dataset": dataset, "image": image, "model": finished, "checkpoint": checkpoint}


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def zipped(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", method) as archive:
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Damage.
# ---------------------------------------------------------------------------------------------

JSON_CHARS = '{}[]",:0123456789.eE-+ nulltruefalseNaInfity\\\x1b'
SHAPES = st.lists(st.one_of(st.integers(0, 70), st.sampled_from([2**31, 2**40, 2**63 - 1, 10**30]),
                            st.integers(-3, -1)), max_size=5)
DESCRS = st.sampled_from(["<f4", "<f8", ">f4", "<f2", "|u1", "<i8", "|b1", "<U5", "|S3", "|O",
                          "<c8", "|V8", "<M8[s]", "[('a', '<f4')]", "('<f4', (2,))", "<U0",
                          "'<f4'", "nonsense"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(["shapes", "adam", "bogus", "x / 255", "dsl", "hwc"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=8)


@st.composite
def text_edit(draw, text: str) -> str:
    """Cut, insert or overwrite a few characters of a JSON text (or nest it deeply)."""
    how = draw(st.sampled_from(["cut", "insert", "overwrite", "nest", "bignum"]))
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        return text[:at] + text[at + draw(st.integers(1, 40)):]
    if how == "nest":
        depth = draw(st.integers(10, 5000))
        return "[" * depth + text + "]" * depth
    if how == "bignum":
        return text[:at] + "9" * draw(st.integers(20, 6000)) + text[at:]
    piece = draw(st.text(alphabet=JSON_CHARS, min_size=1, max_size=12))
    return text[:at] + piece + text[at + (len(piece) if how == "overwrite" else 0):]


@st.composite
def json_edit(draw, text: str) -> str:
    """Set, delete or retype one field (or a field of 'settings') of a JSON object."""
    value = json.loads(text)
    target = value
    if isinstance(value.get("settings"), dict) and draw(st.booleans()):
        target = value["settings"]
    keys = sorted(target) + ["new", "history", "classes", "input_shape"]
    key = draw(st.sampled_from(keys))
    if draw(st.integers(0, 4)) == 0:
        target.pop(key, None)
    else:
        target[key] = draw(json_values)
    return json.dumps(value)


@st.composite
def header_edit(draw, data: bytes) -> bytes:
    """A .npy member with its header rewritten: other shape, dtype or order, or raw damage."""
    if not data.startswith(b"\x93NUMPY") or len(data) < 10:
        return data
    length = int.from_bytes(data[8:10], "little")
    header, body = data[10:10 + length], data[10 + length:]
    how = draw(st.sampled_from(["shape", "descr", "order", "bytes", "length", "version"]))
    text = header.decode("latin1")
    if how == "shape":
        shape = tuple(draw(SHAPES))
        text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape!r}, }}"
    elif how == "descr":
        descr = draw(DESCRS)
        text = f"{{'descr': {descr if descr.startswith(('[', '(', chr(39))) else repr(descr)}, " \
               f"'fortran_order': False, 'shape': (2,), }}"
    elif how == "order":
        text = text.replace("False", draw(st.sampled_from(["True", "1", "None", "'yes'"])))
    elif how == "bytes":
        raw = bytearray(header)
        for _ in range(draw(st.integers(1, 6))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return data[:10] + bytes(raw) + body
    elif how == "length":
        return data[:8] + draw(st.integers(0, 65535)).to_bytes(2, "little") + header + body
    else:
        return data[:6] + bytes([draw(st.integers(0, 4)), draw(st.integers(0, 1))]) + data[8:]
    encoded = text.encode("latin1") + b"\n"
    return data[:8] + len(encoded).to_bytes(2, "little") + encoded + body


@st.composite
def damaged_archive(draw, path: Path) -> bytes:
    """The archive at `path`, damaged one way."""
    raw = path.read_bytes()
    members = members_of(path)
    names = list(members)
    kind = draw(st.sampled_from(["truncate", "flip", "directory", "header", "swap", "rename",
                                 "drop", "double", "meta", "meta-json", "state", "deflate"]))
    if kind == "truncate":
        return raw[:draw(st.integers(0, len(raw) - 1))]
    if kind in ("flip", "directory"):
        data = bytearray(raw)
        # "directory": the central directory and end record, where methods, flags, versions,
        # sizes and offsets live
        low = max(0, len(raw) - 46 * len(names) - 60 * len(names) - 22) if kind == "directory" \
            else 0
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(low, len(raw) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    items = list(members.items())
    if kind == "header":
        index = draw(st.integers(0, len(items) - 1))
        items[index] = (items[index][0], draw(header_edit(items[index][1])))
    elif kind == "swap":
        i, j = draw(st.integers(0, len(items) - 1)), draw(st.integers(0, len(items) - 1))
        items[i], items[j] = (items[i][0], items[j][1]), (items[j][0], items[i][1])
    elif kind == "rename":
        index = draw(st.integers(0, len(items) - 1))
        new = draw(st.sampled_from(names + ["x.npy", "param/99.weight.npy", "meta", "a/../b.npy",
                                            "optim/lr.npy", "train/best/x.npy", "\x1b[2J.npy"]))
        items[index] = (new, items[index][1])
    elif kind == "drop":
        items.pop(draw(st.integers(0, len(items) - 1)))
    elif kind == "double":
        items.append(items[draw(st.integers(0, len(items) - 1))])
    elif kind != "deflate":   # a dataset has no JSON: damage a header instead
        index = draw(st.integers(0, len(items) - 1))
        items[index] = (items[index][0], draw(header_edit(items[index][1])))
    elif kind in ("meta", "meta-json", "state") and "meta.npy" in members:
        name = "train/state.npy" if kind == "state" and "train/state.npy" in members else "meta.npy"
        text = str(np.load(io.BytesIO(members[name])))
        edited = draw(json_edit(text)) if kind == "meta-json" else draw(text_edit(text))
        items = [(n, npy(np.array(edited)) if n == name else d) for n, d in items]
    return zipped(items, zipfile.ZIP_DEFLATED if kind == "deflate" else zipfile.ZIP_STORED)


def no_traceback(args: list[str]) -> None:
    result = runner.invoke(app, args)
    output = result.output
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {output[-2000:]}"
    assert "Traceback" not in output and "internal error" not in output, output[-2000:]
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


# ---------------------------------------------------------------------------------------------
# The surfaces.
# ---------------------------------------------------------------------------------------------

@FUZZ
@given(st.data())
def test_damaged_model_files_are_refused_by_name(bases, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("m") / "damaged.npz"
    path.write_bytes(data.draw(damaged_archive(bases["model"])))
    command = data.draw(st.sampled_from(["predict", "evaluate"]))
    args = [command, str(path)] + ([str(bases["image"])] if command == "predict" else [])
    no_traceback(args)


@FUZZ
@given(st.data())
def test_damaged_checkpoints_are_refused_by_name(bases, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("c")
    path = folder / "damaged.npz"
    path.write_bytes(data.draw(damaged_archive(bases["checkpoint"])))
    command = data.draw(st.sampled_from(["resume", "predict"]))
    if command == "resume":
        no_traceback(["train", "--resume", str(path), "--save", str(folder / "out.npz"),
                      "--format", "json"])
    else:
        no_traceback(["predict", str(path), str(bases["image"])])


@st.composite
def hostile_dataset(draw) -> dict[str, np.ndarray]:
    """Arrays a dataset file may hold: any of a few shapes, dtypes and label values, with or
    without class names and a test split."""
    def images():
        shape = tuple(draw(st.lists(st.integers(0, 9), min_size=1, max_size=5)))
        dtype = draw(st.sampled_from([np.uint8, np.int16, np.int64, np.float32, np.float64,
                                      np.bool_, np.uint64]))
        fill = draw(st.sampled_from([0, 1, 255, 300, -1, np.nan, np.inf, 2**40]))
        with np.errstate(all="ignore"):
            return np.full(shape, fill).astype(dtype)

    def labels(n):
        count = draw(st.sampled_from([n, n, n + 1, 0]))
        values = draw(st.lists(st.sampled_from([0, 1, 2, 3, 9, -1, 2**40, 2**63 - 1]),
                               min_size=count, max_size=count))
        dtype = draw(st.sampled_from([np.int64, np.uint8, np.int32, np.float32, np.uint64]))
        with np.errstate(all="ignore"):
            return np.array(values, dtype=np.int64 if dtype is np.uint64 else np.int64) \
                .astype(dtype)

    arrays = {}
    plain = draw(st.booleans())
    x = images()
    arrays["x" if plain else "x_train"] = x
    arrays["y" if plain else "y_train"] = labels(len(x) if x.ndim else 0)
    if not plain and draw(st.booleans()):
        x_test = images()
        arrays["x_test"] = x_test
        arrays["y_test"] = labels(len(x_test) if x_test.ndim else 0)
    if draw(st.booleans()):
        names = draw(st.lists(st.text(max_size=6), max_size=5))
        arrays["classes"] = np.array(names) if names else np.array([1, 2])
    return arrays


@FUZZ
@given(st.data())
def test_hostile_datasets_are_refused_by_name(bases, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("d")
    path = folder / "data.npz"
    if data.draw(st.booleans()):
        np.savez(path, **data.draw(hostile_dataset()))
    else:
        path.write_bytes(data.draw(damaged_archive(bases["dataset"])))
    if data.draw(st.booleans()):
        no_traceback(["evaluate", str(bases["model"]), "--dataset", str(path)])
    else:
        no_traceback(["train", "input 8x8x1; flatten; dense 3", "--dataset", str(path),
                      "--epochs", "1", "--limit", "16", "--save", str(folder / "out.npz"),
                      "--format", "json"])


def test_the_bases_themselves_work(bases, tmp_path):
    """The fuzz starts from files that work: each command exits 0 on them."""
    for args in (["predict", str(bases["model"]), str(bases["image"])],
                 ["evaluate", str(bases["model"])],
                 ["train", "--resume", str(bases["checkpoint"]), "--save", str(tmp_path / "o.npz"),
                  "--format", "json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
