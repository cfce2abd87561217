"""Model files: one .npz that holds a trained model's weights, the model description it was built
from, and what is needed to use it (classes, input shape, normalisation, ...).

Arrays in the file (all plain numbers or text, so it loads with allow_pickle=False):
    "meta"               JSON text: file format and version, the spec's format and input shape,
                         dataset, classes, normalization, epochs, test accuracy, settings, ...
    "spec"               the model description (layer language, Keras or PyTorch text)
    "param/<name>"       every entry of model.state_dict(), e.g. "param/0.weight"
    "optim/<key>"        optional: the optimizer's state_dict(), to continue training
    "train/..."          optional: a TrainingState (minigrad.tools.train), to resume an interrupted run

Loading rebuilds the model from the spec text (minigrad.readers + minigrad.tools.build) and then checks
that the file holds exactly the arrays that model has, each with the right shape and dtype.
Anything else (not an .npz, truncated, a missing or extra array, a wrong shape, broken metadata,
arrays that would need pickle) is a ModelFileError whose message names the file and the problem.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from minigrad.tools.build import build_model
from minigrad.errors import SpecError
from minigrad.layers.shapes import convert_shape
from minigrad.readers import FORMATS, ReadOptions, Spec, parse_spec
from minigrad.tools.train import TrainingState

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
# Loading, with every check.
# ---------------------------------------------------------------------------------------------

def _valid_options(options) -> bool:
    return (isinstance(options, dict) and isinstance(options.get("model"), (str, type(None)))
            and isinstance(options.get("set", {}), dict)
            and all(isinstance(k, str) and k.isidentifier() for k in options.get("set", {})))


def _read_options(meta: dict, fail) -> ReadOptions:
    """--model and --set as they were when the model was trained (older files have none)."""
    options = meta.get("spec_options") or {}
    return ReadOptions(options.get("model"), dict(options.get("set", {})))


def load_model(path) -> ModelFile:
    """Read a model file written by save_model; ModelFileError for anything wrong with it."""
    path = Path(path)
    arrays = _read_arrays(path)

    def fail(problem: str):
        raise ModelFileError(f"{path}: {problem}")

    meta = _read_meta(arrays, fail)
    if "spec" not in arrays:
        fail("missing array 'spec' (the model description)")
    spec_text = _text(arrays["spec"], "spec", fail)

    try:
        spec = parse_spec(spec_text, meta["spec_format"], tuple(meta["input_shape"]),
                          _read_options(meta, fail))
        model = build_model(spec.network)
        output_shape = spec.analyze().rows[-1].output_shape
    except SpecError as error:
        fail(f"its model description cannot be built: {error.headline()}")
    if output_shape != (len(meta["classes"]),):
        fail(f"the metadata lists {len(meta['classes'])} classes but the model's output has "
             f"shape {output_shape}")

    expected = model.state_dict()
    known = {"meta", "spec"} | {PARAM_PREFIX + name for name in expected}
    missing = sorted(known - arrays.keys())
    if missing:
        fail(f"missing array{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    unexpected = sorted(k for k in arrays.keys() - known
                        if not k.startswith((OPTIM_PREFIX, TRAIN_PREFIX)))
    if unexpected:
        fail(f"unexpected array{'s' if len(unexpected) > 1 else ''} {', '.join(unexpected)} "
             "(not part of this model)")
    weights = {name: arrays[PARAM_PREFIX + name] for name in expected}
    _check_weights(weights, expected, PARAM_PREFIX, fail)
    model.load_state_dict(weights)
    model.eval()

    optimizer_state = {k[len(OPTIM_PREFIX):]: v for k, v in arrays.items()
                       if k.startswith(OPTIM_PREFIX)} or None
    training_state = _read_training_state(arrays, expected, fail)
    return ModelFile(path, model, spec, meta, optimizer_state, training_state)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in the file, read now (a damaged member only shows when it is read)."""
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a directory, not a model file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:
        # Not a zip at all, cut short (the zip directory sits at the end), or a pickle file.
        raise ModelFileError(f"{path}: not a model file: truncated or not an .npz archive "
                             f"({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{path}: a single .npy array, not a model file (.npz)")
    arrays = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except ValueError as error:
                if "allow_pickle" in str(error):
                    raise ModelFileError(f"{path}: array '{name}' holds Python objects, which "
                                         "would need pickle; model files never load pickle") \
                        from None
                raise ModelFileError(f"{path}: array '{name}' is damaged ({error})") from None
            except (zipfile.BadZipFile, EOFError, OSError) as error:
                raise ModelFileError(f"{path}: array '{name}' is damaged or truncated "
                                     f"({error})") from None
    return arrays


def _text(array: np.ndarray, name: str, fail) -> str:
    if array.shape != () or array.dtype.kind != "U":
        fail(f"array '{name}' should be text, found {array.dtype} of shape {array.shape}")
    return str(array)


def _read_meta(arrays: dict[str, np.ndarray], fail) -> dict:
    if "meta" not in arrays:
        fail("missing array 'meta' (no cnncalc metadata: is this a model file?)")
    try:
        meta = json.loads(_text(arrays["meta"], "meta", fail))
    except json.JSONDecodeError as error:
        fail(f"the metadata is not valid JSON ({error})")
    if not isinstance(meta, dict):
        fail("the metadata should be a JSON object")
    if meta.get("format") != FILE_FORMAT:
        fail(f"not a cnncalc model file (metadata format {meta.get('format')!r})")
    if meta.get("version") != VERSION:
        fail(f"model file version {meta.get('version')!r}; this cnncalc reads version {VERSION}")
    if "spec_options" in meta and not _valid_options(meta["spec_options"]):
        fail(f"metadata 'spec_options' should be {{'model': name or null, 'set': {{name: value}}}}, "
             f"got {str(meta['spec_options'])[:80]}")
    if meta.get("spec_format") not in FORMATS:
        fail(f"metadata 'spec_format' is {meta.get('spec_format')!r}; "
             f"expected one of {', '.join(FORMATS)}")
    shape = meta.get("input_shape")
    if not (isinstance(shape, list) and shape
            and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)):
        fail(f"metadata 'input_shape' should be a list of positive integers, got {shape!r}")
    classes = meta.get("classes")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        fail(f"metadata 'classes' should be a list of class names, got {classes!r}")
    return meta


def _check_weights(weights: dict[str, np.ndarray], expected: dict[str, np.ndarray], prefix: str,
                   fail) -> None:
    """Every array must have the shape and dtype of the model's own."""
    for name, want in expected.items():
        got = weights[name]
        if got.shape != want.shape:
            fail(f"array '{prefix}{name}' has shape {got.shape}, the model needs {want.shape}")
        if got.dtype != want.dtype:
            fail(f"array '{prefix}{name}' has dtype {got.dtype}, the model needs {want.dtype}")


def _read_training_state(arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                         fail) -> TrainingState | None:
    train = {k: v for k, v in arrays.items() if k.startswith(TRAIN_PREFIX)}
    if not train:
        return None
    if "train/state" not in train:
        fail("has training arrays but no 'train/state'")
    _text(train["train/state"], "train/state", fail)
    try:
        state = TrainingState.from_arrays(train)
    except (ValueError, TypeError, KeyError) as error:  # bad JSON, or fields that do not fit
        fail(f"the training state in 'train/state' is damaged ({error})")
    extra = sorted(k for k in train if k != "train/state" and not k.startswith("train/best/"))
    if extra:
        fail(f"unexpected array{'s' if len(extra) > 1 else ''} {', '.join(extra)}")
    if state.best_weights is not None:
        names = sorted(state.best_weights.keys() ^ expected.keys())
        if names:
            fail(f"the best-epoch weights (train/best/...) do not match the model: "
                 f"{', '.join(names)}")
        _check_weights(state.best_weights, expected, "train/best/", fail)
    return state
