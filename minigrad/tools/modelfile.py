"""Model files: one .npz that holds a trained model's weights, the model description it was built
from, and what is needed to use it (classes, input shape, normalisation, ...).

Arrays in the file (all plain numbers or text, so it loads with allow_pickle=False):
    "meta"               JSON text: file format and version, the spec's format and input shape,
                         dataset, classes, normalization, epochs, test accuracy, settings, ...
    "spec"               the model description (layer language, Keras or PyTorch text)
    "param/<name>"       every entry of model.state_dict(), e.g. "param/0.weight"
    "optim/<key>"        optional: the optimizer's state_dict(), to continue training
    "train/..."          optional: a TrainingState (minigrad.tools.train), to resume an interrupted run

Loading trusts nothing in the file, and checks in this order (minigrad.tools.npzcheck reads the
archive): the zip directory and every `.npy` header (names, declared shapes and dtypes, the
unpacked size of each array and of all of them, MAX_FILE_BYTES); the metadata's and the training
state's JSON and every field's type and range; the spec, analysed, whose weight count must fit
the file's before the model is built (minigrad.readers + minigrad.tools.build); then that the
file holds exactly the arrays that model has, each with the right shape and dtype, before any is
read; and finally that no weight is NaN or infinite. Anything else (not an .npz, truncated, a
damaged zip or header, a missing or extra array, a wrong shape, broken metadata, arrays that would
need pickle) is a ModelFileError whose message names the file and the problem; a decoder's own
error becomes "FILE: this file is damaged: <reason>".
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from minigrad.tools.build import MAX_BUILD_VALUES, build_model
from minigrad.errors import SpecError
from minigrad.layers.shapes import convert_shape
from minigrad.readers import FORMATS, ReadOptions, Spec, parse_spec
from minigrad.text import printable
from minigrad.tools.npzcheck import Archive, ArchiveError, NotAnArchive, open_npz, parse_json
from minigrad.tools.train import TrainingState, check_epoch_stats

FILE_FORMAT = "cnncalc-model"
VERSION = 1
OPTIM_PREFIX, TRAIN_PREFIX, PARAM_PREFIX = "optim/", "train/", "param/"


class ModelFileError(ValueError):
    """A model file that cannot be read or does not hold a usable model; says which and why."""


@dataclass
class ModelFile:
    """What load_model returns: the rebuilt model with its weights, and everything saved with it.

    path: the file. model: the Sequential, weights loaded, in eval mode. spec: the description
    it was built from (input shape filled in). meta: the metadata dict. optimizer_state /
    training_state: present in checkpoints only (None otherwise).
    """

    path: Path
    model: object
    spec: Spec
    meta: dict
    optimizer_state: dict[str, np.ndarray] | None = None
    training_state: TrainingState | None = None

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def input_chw(self) -> tuple[int, ...]:
        """The input shape of one sample as the model takes it: (C, H, W)."""
        return convert_shape(tuple(self.meta["input_shape"]), self.spec.layout, "chw")


# ---------------------------------------------------------------------------------------------
# Saving.
# ---------------------------------------------------------------------------------------------

def save_model(path, model, spec: Spec, meta: dict | None = None,
               optimizer_state: dict[str, np.ndarray] | None = None,
               training_state: TrainingState | None = None) -> None:
    """Write `model` (its state_dict), `spec` and `meta` to `path`, atomically.

    spec must carry the input shape (spec.input_shape); meta is the caller's metadata
    (dataset, classes, ...), to which the file format, the spec's format and its input shape are
    added. The file is written to a temporary name in the same directory and then renamed over
    `path`, so a crash or Ctrl-C while saving never leaves a half-written model behind.
    """
    path = Path(path)
    if spec.input_shape is None:
        raise ValueError("the spec has no input shape: fill it in before saving")
    input_shape = list(spec.input_shape)
    meta = {**(meta or {}), "format": FILE_FORMAT, "version": VERSION,
            "spec_format": spec.format, "spec_origin": spec.origin,
            "spec_options": {"model": spec.options.model, "set": dict(spec.options.overrides)},
            "input_shape": input_shape, "layout": spec.layout,
            "input_chw": list(convert_shape(tuple(input_shape), spec.layout, "chw"))}
    meta.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))

    arrays = {"meta": np.array(json.dumps(meta)), "spec": np.array(spec.source)}
    arrays.update({PARAM_PREFIX + name: value for name, value in model.state_dict().items()})
    arrays.update({OPTIM_PREFIX + key: value for key, value in (optimizer_state or {}).items()})
    if training_state is not None:
        arrays.update(training_state.to_arrays())  # its keys start with "train/" already

    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp's files are private (0600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is put back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------------------------------------
# Loading, with every check: names, shapes and sizes first, then the metadata, then the model.
# ---------------------------------------------------------------------------------------------

MAX_FILE_BYTES = 4 << 30        # all arrays of one model file, unpacked (4 GiB: a checkpoint
                                # holds the weights 4 times: model, two Adam buffers, best epoch)
MAX_TEXT_CHARS = 1 << 22        # the metadata, the spec and the training state (4 Mi characters)
MAX_INPUT_ELEMENTS = MAX_BUILD_VALUES  # values of one input sample, as build_model allows
MAX_INPUT_DIMS = 4
MAX_CLASSES = 100_000
MAX_NAME_CHARS = 1_000          # a class name, a dataset name or path
LAYOUTS = ("hwc", "chw")
SHORTFALL = 1 << 20             # weights a description may need beyond the file's before building


def load_model(path) -> ModelFile:
    """Read a model file written by save_model; ModelFileError for anything wrong with it."""
    path = Path(path)

    def fail(problem: str):
        raise ModelFileError(f"{path}: {problem}")

    if not path.exists():
        fail("no such file")
    if path.is_dir():
        fail("is a directory, not a model file")
    try:
        archive = open_npz(path, MAX_FILE_BYTES)
    except NotAnArchive as error:
        fail(f"not a model file: {error}")
    except ArchiveError as error:
        fail(f"this file is damaged: {error}")
    with archive:
        try:
            return _load(path, archive, fail)
        except ArchiveError as error:
            fail(f"this file is damaged: {error}")


def _load(path: Path, archive: Archive, fail) -> ModelFile:
    names = archive.members
    unexpected = sorted(name for name in names if name not in ("meta", "spec", "train/state")
                        and not name.startswith((PARAM_PREFIX, OPTIM_PREFIX, "train/best/")))
    if unexpected:
        fail(f"unexpected array{'s' if len(unexpected) > 1 else ''} "
             f"{', '.join(map(printable, unexpected[:5]))} (not part of a model file)")
    meta = _read_meta(archive, fail)
    if "spec" not in names:
        fail("missing array 'spec' (the model description)")
    spec_text = _read_text(archive, "spec", fail)

    try:
        spec = parse_spec(spec_text, meta["spec_format"], tuple(meta["input_shape"]),
                          _read_options(meta, fail))
        summary = spec.analyze()
    except SpecError as error:
        fail(f"its model description cannot be built: {error.headline()}")
    except RecursionError:
        fail("its model description cannot be built: it is nested too deeply")
    output_shape = summary.rows[-1].output_shape
    if output_shape != (len(meta["classes"]),):
        fail(f"the metadata lists {len(meta['classes'])} classes but the model's output has "
             f"shape {output_shape}")
    # The weights the description needs, counted before anything is built: a description of
    # ten billion units is refused here, not by running out of memory. (A small shortfall is
    # left to the check by name below, which says which arrays are missing.)
    needed = sum(row.params + row.buffers for row in summary.rows)
    held = sum(m.count for name, m in names.items() if name.startswith(PARAM_PREFIX))
    if needed > held + SHORTFALL:
        fail(f"its model description needs {needed:,} weights but the file holds {held:,}")
    try:
        model = build_model(spec.graph)
    except SpecError as error:
        fail(f"its model description cannot be built: {error.headline()}")

    expected = model.state_dict()
    missing = sorted({PARAM_PREFIX + name for name in expected} - names.keys())
    if missing:
        fail(f"missing array{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    extra = sorted(k for k in names if k.startswith(PARAM_PREFIX)
                   and k[len(PARAM_PREFIX):] not in expected)
    if extra:
        fail(f"unexpected array{'s' if len(extra) > 1 else ''} "
             f"{', '.join(map(printable, extra[:5]))} (not part of this model)")
    _check_declared(names, expected, PARAM_PREFIX, fail)
    weights = {name: archive.read(PARAM_PREFIX + name) for name in expected}
    _check_finite(weights, PARAM_PREFIX, model, fail)
    model.load_state_dict(weights)
    model.eval()

    _check_optimizer_declared(names, model, fail)
    optimizer_state = {k[len(OPTIM_PREFIX):]: archive.read(k) for k in names
                       if k.startswith(OPTIM_PREFIX)} or None
    _check_finite(optimizer_state or {}, OPTIM_PREFIX, None, fail)
    training_state = _read_training_state(archive, expected, model, fail)
    return ModelFile(path, model, spec, meta, optimizer_state, training_state)


def _read_text(archive: Archive, name: str, fail) -> str:
    """A text array (shape (), unicode), its length checked from the header before reading."""
    member = archive.members[name]
    if member.shape != () or member.dtype.kind != "U":
        fail(f"array '{name}' should be text, found {member.dtype} of shape {member.shape}")
    if member.dtype.itemsize // 4 > MAX_TEXT_CHARS:
        fail(f"array '{name}' is {member.dtype.itemsize // 4:,} characters long, more than "
             f"the {MAX_TEXT_CHARS:,} cnncalc writes")
    try:
        return str(archive.read(name))
    except UnicodeError:
        fail(f"array '{name}' is not valid text")


def _check_declared(members, expected: dict[str, np.ndarray], prefix: str, fail) -> None:
    """Every array must have the shape and dtype of the model's own, as its header says."""
    for name, want in expected.items():
        got = members[prefix + name]
        if got.shape != want.shape:
            fail(f"array '{prefix}{name}' has shape {got.shape}, the model needs {want.shape}")
        if got.dtype != want.dtype:
            fail(f"array '{prefix}{name}' has dtype {got.dtype}, the model needs {want.dtype}")


def _check_optimizer_declared(members, model, fail) -> None:
    """Optimizer arrays, from their headers: hyperparameters and step counts are single numbers,
    and 'state.<i>.<buffer>' has the shape of the model's parameter i. So nothing bigger than the
    model's own weights is ever read for it (the optimizer then checks its own keys)."""
    shapes = [p.data.shape for p in model.parameters()]
    for key, member in members.items():
        if not key.startswith(OPTIM_PREFIX):
            continue
        name = key[len(OPTIM_PREFIX):]
        parts = name.split(".")
        if member.dtype.kind not in "biuf":
            fail(f"array '{printable(key)}' has dtype {member.dtype}; optimizer state is numbers")
        if member.shape == ():
            continue
        if not (len(parts) == 3 and parts[0] == "state" and parts[1].isdigit()
                and int(parts[1]) < len(shapes) and member.shape == shapes[int(parts[1])]):
            fail(f"array '{printable(key)}' of shape {member.shape} is not optimizer state of "
                 "this model's parameters")


def _check_finite(arrays: dict[str, np.ndarray], prefix: str, model, fail) -> None:
    """NaN or infinite weights would evaluate to 'loss nan' and predict NaN: refused by name."""
    for name, value in arrays.items():
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            layer = ""
            if model is not None:
                module = _module_of(model, name)
                layer = f" (layer {name.split('.')[0]}, {module})" if module else ""
            fail(f"array '{prefix}{name}'{layer} holds NaN or infinite values")


def _module_of(model, name: str) -> str | None:
    """The kind of module that holds weight `name` ("0.weight" -> "Conv2d")."""
    try:
        return type(model[int(name.split(".")[0])]).__name__
    except (ValueError, IndexError, TypeError, KeyError):
        return None


def _read_options(meta: dict, fail) -> ReadOptions:
    """--model and --set as they were when the model was trained (older files have none)."""
    options = meta.get("spec_options") or {}
    return ReadOptions(options.get("model"), dict(options.get("set", {})))


def _read_meta(archive: Archive, fail) -> dict:
    if "meta" not in archive:
        fail("missing array 'meta' (no cnncalc metadata: is this a model file?)")
    meta = parse_json(_read_text(archive, "meta", fail), "the metadata")
    if not isinstance(meta, dict):
        fail("the metadata should be a JSON object")
    if meta.get("format") != FILE_FORMAT:
        fail(f"not a cnncalc model file (metadata format {_shown(meta.get('format'))})")
    if meta.get("version") != VERSION:
        fail(f"model file version {_shown(meta.get('version'))}; this cnncalc reads version "
             f"{VERSION}")
    check_meta(meta, fail)
    return meta


def _shown(value) -> str:
    text = printable(repr(value))
    return text if len(text) <= 60 else text[:60] + "…"


def _is_int(value, low: int = 0, high: int = 10**15) -> bool:
    return type(value) is int and low <= value <= high


def _is_number(value, low=None, high=None) -> bool:
    return (type(value) in (int, float) and math.isfinite(value)
            and (low is None or value >= low) and (high is None or value <= high))


def _is_text(value, limit: int = MAX_NAME_CHARS) -> bool:
    return isinstance(value, str) and len(value) <= limit


# Each optional metadata field and what it must be (None is always allowed for these).
_OPTIONAL = {
    "dataset": ("text (a dataset's name or path)", lambda v: _is_text(v) and v != ""),
    "normalization": ("text", lambda v: _is_text(v, 100)),
    "epochs": ("a whole number >= 0", _is_int),
    "best_epoch": ("a whole number >= 1", lambda v: _is_int(v, 1)),
    "seed": ("a whole number in 0..2^32-1", lambda v: _is_int(v, 0, 2**32 - 1)),
    "optimizer": ("text", lambda v: _is_text(v, 100)),
    "lr": ("a finite positive number", lambda v: _is_number(v) and v > 0),
    "batch_size": ("a whole number >= 1", lambda v: _is_int(v, 1)),
    "val_split": ("a number in 0..1", lambda v: _is_number(v, 0, 1) and v < 1),
    "early_stopping": ("a whole number >= 1", lambda v: _is_int(v, 1)),
    "limit": ("a whole number >= 1", lambda v: _is_int(v, 1)),
    "accuracy": ("a number in 0..1", lambda v: _is_number(v, 0, 1)),
    "test_loss": ("a finite number", _is_number),
    "spec_origin": ("text", _is_text),
    "layout": (f"one of {', '.join(LAYOUTS)}", lambda v: v in LAYOUTS),
    "created": ("text", lambda v: _is_text(v, 100)),
    "settings": ("an object", lambda v: isinstance(v, dict)),
    "history": ("a list of epochs", lambda v: isinstance(v, list)),
    "input_chw": ("a list of sizes", lambda v: isinstance(v, list)),
}


def check_meta(meta: dict, fail) -> None:
    """Every field's type and range (the required ones must be there)."""
    if meta.get("spec_format") not in FORMATS:
        fail(f"metadata 'spec_format' is {_shown(meta.get('spec_format'))}; "
             f"expected one of {', '.join(FORMATS)}")
    if "spec_options" in meta and not _valid_options(meta["spec_options"]):
        fail(f"metadata 'spec_options' should be {{'model': name or null, 'set': {{name: value}}}}, "
             f"got {_shown(meta['spec_options'])}")
    shape = meta.get("input_shape")
    if not (isinstance(shape, list) and 0 < len(shape) <= MAX_INPUT_DIMS
            and all(_is_int(d, 1) for d in shape)):
        fail(f"metadata 'input_shape' should be a list of 1 to {MAX_INPUT_DIMS} positive "
             f"sizes, got {_shown(shape)}")
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        fail(f"metadata 'input_shape' {'×'.join(map(str, shape))} is more than the "
             f"{MAX_INPUT_ELEMENTS:,} values per sample a model file may take")
    classes = meta.get("classes")
    if not (isinstance(classes, list) and 0 < len(classes) <= MAX_CLASSES
            and all(_is_text(c) for c in classes)):
        fail(f"metadata 'classes' should be a list of 1 to {MAX_CLASSES:,} class names, got "
             f"{_shown(classes)}")
    meta["classes"] = [printable(c) for c in classes]  # they are shown on a terminal
    for name, (what, valid) in _OPTIONAL.items():
        value = meta.get(name)
        if value is not None and not valid(value):
            fail(f"metadata '{name}' should be {what}, got {_shown(value)}")
    history = meta.get("history") or []
    for i, row in enumerate(history):
        try:
            check_epoch_stats(row, f"history[{i}]")
        except ValueError as error:
            fail(f"metadata 'history' is damaged: {error}")


def _valid_options(options) -> bool:
    return (isinstance(options, dict) and isinstance(options.get("model"), (str, type(None)))
            and isinstance(options.get("set", {}), dict)
            and all(isinstance(k, str) and k.isidentifier() and _literal(v)
                    for k, v in options.get("set", {}).items()))


def _literal(value, depth: int = 0) -> bool:
    """A --set value as JSON keeps it: a small literal (numbers, text, lists, objects)."""
    if value is None or type(value) is bool:
        return True
    if type(value) is int:
        return abs(value) <= 10**15
    if type(value) is float:
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_NAME_CHARS
    if depth >= 4:
        return False
    if isinstance(value, list):
        return len(value) <= 100 and all(_literal(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return len(value) <= 100 and all(_literal(v, depth + 1) for v in value.values())
    return False


def _read_training_state(archive: Archive, expected: dict[str, np.ndarray], model,
                         fail) -> TrainingState | None:
    names = archive.members
    best = sorted(k for k in names if k.startswith("train/best/"))
    if "train/state" not in names:
        if best:
            fail("has training arrays but no 'train/state'")
        return None
    scalars = parse_json(_read_text(archive, "train/state", fail), "the training state")
    if best:
        extra = sorted({k[len("train/best/"):] for k in best} ^ expected.keys())
        if extra:
            fail(f"the best-epoch weights (train/best/...) do not match the model: "
                 f"{', '.join(map(printable, extra[:5]))}")
        _check_declared(names, expected, "train/best/", fail)
    arrays = {k: archive.read(k) for k in best}
    _check_finite({k[len("train/"):]: v for k, v in arrays.items()}, "train/", None, fail)
    try:
        state = TrainingState.from_arrays(arrays, scalars)
    except ValueError as error:
        fail(f"the training state in 'train/state' is damaged: {error}")
    return state
