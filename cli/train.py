"""`cnncalc train`: read the model and the data, hand them to minigrad.tools.train.Trainer, show its
progress, and save the result (or, after Ctrl-C, a checkpoint to resume from).

The training loop itself is minigrad's; this module only wires the options to it.
"""

from __future__ import annotations

import dataclasses
import math
import shlex
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


from minigrad.engine import rng

from minigrad.layers import report
from minigrad.tools.build import INITS, build_model, classifier_problem
from minigrad.tools.data import (ArrayDataset, Augmentation, DataLoader, flip_allowed,
                                 has_test_split)
from minigrad.tools.datasets import load_dataset, rich_progress
from minigrad.tools.modelfile import ModelFile, ModelFileError, load_model, save_model
from minigrad.text import printable
from minigrad.engine.optim import OPTIMIZER_NAMES, make_optimizer
from minigrad.layers.shapes import convert_shape
from minigrad.readers import ReadOptions, Spec, load_spec
from minigrad.tools.train import SCHEDULES, Trainer, TrainingState, evaluate

from . import plots, render
from .limits import CORES, MAX_BATCH_SIZE, MAX_EPOCHS, MAX_LIMIT, MAX_SEED

# The model `cnncalc train` trains when given none: five epochs on the 6,000 synthetic shapes
# take about 6 s on one core and reach over 99% on the test set (99.3-99.9% for seeds 0-2).
# It takes its input shape and number of classes from the data, so it fits any dataset.
DEFAULT_SPEC = """\
# cnncalc train's default model
conv 16 3x3 padding=same relu
maxpool 2
conv 32 3x3 padding=same relu
maxpool 2
flatten
dense 64 relu
dense {classes} softmax
"""
DEFAULT_CHECKPOINT = "cnncalc-checkpoint.npz"
INTERRUPTED = 130  # the exit status of a program stopped by Ctrl-C (128 + SIGINT)


class TrainError(ValueError):
    """A problem with the options or how the model and the data fit together."""


@dataclass
class Settings:
    """Everything that decides a run; saved in model files and checkpoints (meta "settings"),
    from which `--resume` takes them."""

    spec: str | None          # the SPEC argument (None: the default model)
    dataset: str
    data_dir: str | None
    epochs: int
    batch_size: int
    optimizer: str
    lr: float | None          # None: the optimizer's default
    val_split: float
    early_stopping: int | None
    seed: int
    limit: int | None
    save: str | None
    threads: int              # BLAS threads: results can differ in the last bits between counts
    init: str = "auto"        # initial weights: "auto" (He before relu, else Glorot), "he", "glorot"
    augment: bool = False     # shift (and, where the dataset allows, flip) the training images
    weight_decay: float | None = None  # None: the optimizer's default
    scheduler: str = "none"   # a learning-rate schedule of minigrad.tools.train.SCHEDULES


@dataclass
class Data:
    train: ArrayDataset
    validation: ArrayDataset | None
    test: ArrayDataset
    test_note: str | None     # said when the test set is not a separate one


# ---------------------------------------------------------------------------------------------
# Preparing a run: data, model, optimizer.
# ---------------------------------------------------------------------------------------------

def load_data(settings: Settings, console) -> Data:
    """The training set (first --limit images, less the validation split) and the test set.
    Download progress, if anything is missing, goes to `console`."""
    with rich_progress(console) as progress:
        train = load_dataset(settings.dataset, "train", settings.data_dir, progress=progress)
        test = load_dataset(settings.dataset, "test", settings.data_dir, progress=progress)
    note = None
    if str(settings.dataset).lower().endswith(".npz") and not _has_test_split(settings.dataset):
        note = (f"{settings.dataset} has no x_test / y_test arrays: the test accuracy is "
                "measured on the same images the model trained on")
    if settings.limit is not None:
        train = train.subset(settings.limit)
    validation = None
    if settings.val_split > 0:
        train, validation = train.split(settings.val_split, settings.seed)
    return Data(train, validation, test, note)


def _has_test_split(path: str) -> bool:
    return has_test_split(path)  # reads the directory, not the arrays


def resolve_spec(spec_arg: str | None, data: ArrayDataset, dataset: str) -> Spec:
    """The model description, its input shape filled in from the data (C, H, W) when it has
    none, or checked against it when it has one."""
    if spec_arg is None:
        text = DEFAULT_SPEC.format(classes=data.num_classes)
        spec = dataclasses.replace(load_spec(text), origin="default model")
    else:
        spec = load_spec(spec_arg, options=ReadOptions(fallback_input_chw=tuple(data.sample_shape)))
    wanted = convert_shape(data.sample_shape, "chw", spec.layout)
    if spec.input_shape is None:
        return spec.with_input(wanted)
    if tuple(spec.input_shape) != wanted:
        label = report.LAYOUT_LABELS[spec.layout]
        raise TrainError(f"the model's input shape is {report.shape_text(spec.input_shape)} "
                         f"but {dataset} images are {report.shape_text(wanted)} ({label}); "
                         "change the model's input or leave it out to take the data's")
    return spec


def check_outputs(summary, num_classes: int, dataset: str) -> None:
    problem = classifier_problem(summary)
    if problem:
        raise TrainError(f"cnncalc trains image classifiers, and this model is not one: {problem} "
                         "(cnncalc graph still runs it forward and backward)")
    outputs = summary.rows[-1].output_shape
    if outputs != (num_classes,):
        raise TrainError(f"the model's output shape is {report.shape_text(outputs)} but {dataset} "
                         f"has {num_classes} classes: end the model with a dense layer of "
                         f"{num_classes} units")


# ---------------------------------------------------------------------------------------------
# Ctrl-C: stop after the batch in progress.
# ---------------------------------------------------------------------------------------------

@contextmanager
def stop_on_interrupt(trainer: Trainer, say):
    """While training, the first Ctrl-C asks the trainer to stop after the current batch (so a
    checkpoint can be saved); a second one aborts at once (KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    presses = 0

    def handler(signum, frame):
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        trainer.request_stop()
        say("stopping after this batch to save a checkpoint (Ctrl-C again to abort at once)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def threads_limited(threads: int):
    """Run the engine on `threads` threads of its own (OpenBLAS held at one meanwhile)."""
    from minigrad.engine import parallel
    return parallel.threads(threads)


# ---------------------------------------------------------------------------------------------
# The command.
# ---------------------------------------------------------------------------------------------

def history_rows(state: TrainingState) -> list[dict]:
    return [dataclasses.asdict(row) for row in state.history]


def run_training(settings: Settings, checkpoint: ModelFile | None, as_json: bool, out,
                 err, plot: str | None = None) -> int:
    """Train as `settings` say, or continue `checkpoint`; returns the exit status.

    out: the console for the results (stdout); err: for errors and, with as_json, for progress,
    so that stdout carries nothing but the JSON. plot: where to save the curves of a finished
    run (an option of this run, not a setting: a resumed run does not inherit it).
    """
    console = err if as_json else out
    data = load_data(settings, err)
    if checkpoint is not None:
        spec, model, state = checkpoint.spec, checkpoint.model, checkpoint.training_state
    else:
        spec, state = resolve_spec(settings.spec, data.train, settings.dataset), None
    summary = spec.analyze()
    check_outputs(summary, data.train.num_classes, settings.dataset)
    if not as_json:
        report.print_summary(out, summary, spec.name, explain=False)
        out.print()

    if checkpoint is None:
        rng.manual_seed(settings.seed)  # weight initialisation draws from it
        model = build_model(spec.graph, init=settings.init)
    optimizer = make_optimizer(settings.optimizer, model.parameters(), settings.lr,
                               settings.weight_decay)
    augment = augmentation(settings)
    loader = DataLoader(data.train, settings.batch_size, shuffle=True, seed=settings.seed,
                        augment=augment)
    # made before a checkpoint's optimizer state is loaded: the schedule starts from the
    # settings' learning rate, and the trainer replays it to where the run stopped
    trainer = Trainer(model, optimizer, loader, settings.epochs, data.validation,
                      settings.early_stopping, settings.scheduler)
    if checkpoint is not None:
        try:
            optimizer.load_state_dict(checkpoint.optimizer_state or {})
        except ValueError as error:
            raise ModelFileError(f"{checkpoint.path}: the optimizer state does not fit: "
                                 f"{error}") from None
        console.print(f"resuming {checkpoint.path} at epoch {state.epoch + 1}, "
                      f"batch {state.batch + 1}", markup=False)
    if augment is not None:
        console.print(f"augmenting: shifts of up to {augment.max_shift} pixels"
                      + (", left-right flips" if augment.flip else ""), markup=False)

    with threads_limited(settings.threads):
        with (render.TrainingProgress(console, settings.epochs) as display,
              stop_on_interrupt(trainer, display.say)):
            state = trainer.fit(state, on_batch=display.batch, on_epoch=display.epoch)
        meta = model_meta(settings, data, state, optimizer.lr)
        if not state.finished:
            return save_checkpoint(settings, spec, model, optimizer, state, meta, as_json,
                                   out, console)
        result = evaluate(model, data.test)

    if data.test_note:
        render.print_note(console, data.test_note)
    meta.update(accuracy=result.accuracy, test_loss=result.loss)
    if settings.save:
        save_model(settings.save, model, spec, meta)
    if plot:
        plots.save_history(plot, state.history, f"{spec.name} on {settings.dataset}: test "
                                                f"accuracy {result.accuracy:.2%}")
    if as_json:
        print(report.strict_json({"test_accuracy": result.accuracy, "test_loss": result.loss,
                                  "epochs_run": len(state.history), "best_epoch": state.best_epoch,
                                  "saved": settings.save, "history": history_rows(state)},
                                 lambda message: render.print_note(console, message)))
        return 0
    render.print_training_result(out, state.history, result.loss, result.accuracy,
                                 f"{len(data.test):,} {settings.dataset} test images")
    if settings.save:
        best = (f" (the weights of epoch {state.best_epoch}, the best val_accuracy)"
                if state.best_epoch is not None else "")
        out.print(f"saved to {settings.save}{best}", markup=False)
    if plot:
        out.print(f"curves saved to {plot}", markup=False)
    return 0


def augmentation(settings: Settings) -> Augmentation | None:
    """--augment's changes to the training images: shifts, and flips where the dataset's
    classes survive a mirror (minigrad.tools.data.FLIP_ALLOWED)."""
    if not settings.augment:
        return None
    return Augmentation(max_shift=2, flip=flip_allowed(settings.dataset))


def model_meta(settings: Settings, data: Data, state: TrainingState, lr: float) -> dict:
    """What a model file says about how it was made (modelfile adds the spec's details)."""
    dataset = settings.dataset
    if dataset.lower().endswith(".npz"):
        dataset = str(Path(dataset).resolve())  # so `evaluate` and `--resume` find it anywhere
    return {"dataset": dataset, "classes": list(data.train.classes),
            "normalization": data.train.normalization, "epochs": len(state.history),
            "best_epoch": state.best_epoch, "seed": settings.seed,
            "optimizer": settings.optimizer, "lr": lr,
            "batch_size": settings.batch_size, "val_split": settings.val_split,
            "early_stopping": settings.early_stopping, "limit": settings.limit,
            "history": [dataclasses.asdict(row) for row in state.history],
            "settings": dataclasses.asdict(dataclasses.replace(settings, dataset=dataset))}


def save_checkpoint(settings, spec, model, optimizer, state, meta, as_json, out, console) -> int:
    """After a stop request: everything needed to continue, then how to continue."""
    path = settings.save or DEFAULT_CHECKPOINT
    save_model(path, model, spec, meta, optimizer.state_dict(), state)
    command = f"cnncalc train --resume {shlex.quote(str(path))}"
    where = f"epoch {state.epoch + 1}, after batch {state.batch}"
    if as_json:
        print(report.strict_json({"interrupted": True, "checkpoint": path, "resume": command,
                                  "epochs_run": len(state.history),
                                  "history": history_rows(state)},
                                 lambda message: render.print_note(console, message)))
    else:
        # markup=False: paths may hold brackets; soft_wrap: the command stays on one line
        console.print(f"stopped in {where}; checkpoint saved to {path}", markup=False,
                      soft_wrap=True)
        console.print(f"continue with: {command}", style="bold", markup=False, soft_wrap=True)
    return INTERRUPTED


def open_checkpoint(path: str, epochs: int | None, data_dir: str | None, save: str | None,
                    threads: int | None) -> tuple[Settings, ModelFile]:
    """A checkpoint and the settings it was made with; --epochs, --data-dir, --save and
    --threads may change them (more epochs extend the run)."""
    checkpoint = load_model(path)
    if checkpoint.training_state is None:
        raise TrainError(f"{path} holds a finished model, not a checkpoint: there is nothing "
                         "to resume (train again, or evaluate it)")
    settings = settings_from_meta(checkpoint.meta.get("settings"), path)
    changes = {k: v for k, v in (("epochs", epochs), ("data_dir", data_dir), ("save", save),
                                 ("threads", threads)) if v is not None}
    changes.setdefault("threads", min(settings.threads, CORES))
    settings = dataclasses.replace(settings, **changes)
    done = checkpoint.training_state.epoch
    if settings.epochs <= done:
        raise TrainError(f"the checkpoint has already run {done} epochs; --epochs "
                         f"{settings.epochs} leaves nothing to do")
    return settings, checkpoint



# A checkpoint's settings must be in the options' own ranges, except threads: a checkpoint made
# on a bigger machine resumes here with at most this machine's cores.

def _whole(low: int, high: int, optional: bool = False):
    def check(value) -> bool:
        return (optional and value is None) or (type(value) is int and low <= value <= high)
    return check, f"a whole number in {low:,}..{high:,}" + (" or null" if optional else "")


def _text(optional: bool = False):
    def check(value) -> bool:
        return (optional and value is None) or (isinstance(value, str) and 0 < len(value) <= 4096)
    return check, "text" + (" or null" if optional else "")


def _finite_positive(value) -> bool:
    return value is None or (type(value) in (int, float) and math.isfinite(value) and value > 0)


def _fraction(value) -> bool:
    return type(value) in (int, float) and 0 <= value < 1


SETTING_CHECKS = {
    "spec": _text(optional=True), "dataset": _text(), "data_dir": _text(optional=True),
    "epochs": _whole(1, MAX_EPOCHS), "batch_size": _whole(1, MAX_BATCH_SIZE),
    "optimizer": ((lambda v: v in OPTIMIZER_NAMES), f"one of {', '.join(OPTIMIZER_NAMES)}"),
    "lr": (_finite_positive, "a finite positive number or null"),
    "val_split": (_fraction, "a number at least 0 and below 1"),
    "early_stopping": _whole(1, MAX_EPOCHS, optional=True), "seed": _whole(0, MAX_SEED),
    "limit": _whole(1, MAX_LIMIT, optional=True), "save": _text(optional=True),
    "threads": _whole(1, 1024), "init": ((lambda v: v in INITS), f"one of {', '.join(INITS)}"),
    "augment": ((lambda v: type(v) is bool), "true or false"),
    "weight_decay": ((lambda v: v is None or (type(v) in (int, float) and 0 <= v < 1)),
                     "a number at least 0 and below 1, or null"),
    "scheduler": ((lambda v: v in SCHEDULES), f"one of {', '.join(SCHEDULES)}"),
}


def settings_from_meta(saved, path) -> Settings:
    """A checkpoint's training settings, every one checked for its type and range: a setting
    of the wrong type would only fail later, in the middle of the run."""
    names = {f.name for f in dataclasses.fields(Settings)}
    required = {f.name for f in dataclasses.fields(Settings)
                if f.default is dataclasses.MISSING}
    if not isinstance(saved, dict) or not required <= saved.keys() or not saved.keys() <= names:
        raise ModelFileError(f"{path}: this file is damaged: the metadata has no usable training "
                             f"settings (an object with {', '.join(sorted(required))})")
    for name, value in saved.items():
        valid, what = SETTING_CHECKS[name]
        if not valid(value):
            shown = printable(repr(value))
            raise ModelFileError(f"{path}: this file is damaged: its training setting '{name}' "
                                 f"should be {what}, got {shown[:60]}")
    if saved.get("early_stopping") is not None and not saved["val_split"] > 0:
        raise ModelFileError(f"{path}: this file is damaged: its training settings have early "
                             "stopping without a validation split")
    return Settings(**saved)
