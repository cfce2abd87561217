"""The training loop: epochs of mini-batches, validation, early stopping, the best epoch's weights,
stopping on request (Ctrl-C), and resuming to results identical to an uninterrupted run.

A run is deterministic given its seed: the batch order of every epoch and each batch's
augmentation come from the loader's own seeded streams, and every other random draw (dropout
masks) from minigrad's one generator, whose state a checkpoint saves. Resuming restores both and
continues at the next batch.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from minigrad.engine import functional as F
from minigrad.engine import lr_scheduler, rng
from minigrad.engine.tensor import Tensor, no_grad


@dataclass
class EpochStats:
    """One line of the training history."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


@dataclass
class BatchProgress:
    """What a progress bar shows after each batch: running means over the epoch so far."""

    epoch: int
    batch: int          # batches of this epoch done
    batches: int        # batches in the epoch
    loss: float
    accuracy: float
    images_per_second: float


@dataclass
class TrainingState:
    """Where a run is: enough to continue it exactly.

    epoch: the epoch in progress (0-based); batch: its batches already done; loss_sum, correct,
    seen: that epoch's running totals; seconds: its time so far; best_*: the epoch with the best
    validation accuracy and its weights; stale_epochs: epochs since val_loss last improved.
    """

    epoch: int = 0
    batch: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0
    history: list[EpochStats] = field(default_factory=list)
    best_val_accuracy: float | None = None
    best_epoch: int | None = None
    best_weights: dict[str, np.ndarray] | None = None
    best_val_loss: float | None = None
    stale_epochs: int = 0
    finished: bool = False
    rng_state: dict | None = None

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat numpy arrays (for an .npz, loaded without pickle): numbers and history as JSON
        text, best weights as arrays."""
        scalars = {k: v for k, v in asdict(self).items() if k not in ("best_weights",)}
        arrays = {"train/state": np.array(json.dumps(scalars))}
        for name, value in (self.best_weights or {}).items():
            arrays[f"train/best/{name}"] = value
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], scalars: dict | None = None
                    ) -> TrainingState:
        """The state to_arrays() wrote. `scalars`: "train/state" already decoded (a file reader
        decodes it with its own limits). ValueError naming the field for anything that does not
        fit: a wrong type, a negative count, a NaN, an unknown or missing field."""
        if scalars is None:
            scalars = json.loads(str(arrays["train/state"]))
        scalars = check_state_fields(scalars)
        best = {k[len("train/best/"):]: np.array(v) for k, v in arrays.items()
                if k.startswith("train/best/")}
        return cls(**scalars, best_weights=best or None)


MAX_EPOCH_COUNT = 10**6   # more epochs than any run has: a bigger number is damage


def _count(value, name: str, low: int = 0, optional: bool = False):
    if value is None and optional:
        return None
    if type(value) is not int or not low <= value <= 10**15:
        raise ValueError(f"'{name}' should be a whole number >= {low}, got {_shown(value)}")
    return value


def _number(value, name: str, low: float | None = 0.0, high: float | None = None,
            optional: bool = False):
    if value is None and optional:
        return None
    if type(value) not in (int, float) or not math.isfinite(value) \
            or (low is not None and value < low) or (high is not None and value > high):
        bounds = f" in {low}..{high}" if high is not None else f" >= {low}" if low is not None \
            else ""
        raise ValueError(f"'{name}' should be a finite number{bounds}, got {_shown(value)}")
    return float(value)


def _shown(value) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:40] + "…"


def check_epoch_stats(row, where: str) -> EpochStats:
    """One history row as JSON gave it: every field present, of its type and range."""
    if not isinstance(row, dict) or set(row) != {f.name for f in fields(EpochStats)}:
        raise ValueError(f"{where} should be an object with the fields "
                         f"{', '.join(f.name for f in fields(EpochStats))}")
    return EpochStats(_count(row["epoch"], f"{where}.epoch", 1),
                      _number(row["loss"], f"{where}.loss", None),
                      _number(row["accuracy"], f"{where}.accuracy", 0.0, 1.0),
                      _number(row["val_loss"], f"{where}.val_loss", None, optional=True),
                      _number(row["val_accuracy"], f"{where}.val_accuracy", 0.0, 1.0,
                              optional=True),
                      _number(row["seconds"], f"{where}.seconds"))


def check_state_fields(scalars) -> dict:
    """The fields of a TrainingState from JSON, each checked (see from_arrays)."""
    names = {f.name for f in fields(TrainingState)} - {"best_weights"}
    if not isinstance(scalars, dict):
        raise ValueError("it should be a JSON object")
    unknown, missing = sorted(set(scalars) - names), sorted(names - set(scalars))
    if unknown or missing:
        raise ValueError("; ".join(([f"unknown fields {', '.join(map(_shown, unknown))}"]
                                    if unknown else [])
                                   + ([f"missing fields {', '.join(missing)}"] if missing
                                      else [])))
    out = dict(scalars)
    out["epoch"] = _count(scalars["epoch"], "epoch")
    if out["epoch"] > MAX_EPOCH_COUNT:
        raise ValueError(f"'epoch' is {out['epoch']}, more than {MAX_EPOCH_COUNT:,}")
    for name in ("batch", "correct", "seen", "stale_epochs"):
        out[name] = _count(scalars[name], name)
    if out["correct"] > out["seen"]:
        raise ValueError(f"'correct' ({out['correct']}) is more than 'seen' ({out['seen']})")
    out["loss_sum"] = _number(scalars["loss_sum"], "loss_sum", None)
    out["seconds"] = _number(scalars["seconds"], "seconds")
    out["best_val_accuracy"] = _number(scalars["best_val_accuracy"], "best_val_accuracy", 0.0,
                                       1.0, optional=True)
    out["best_val_loss"] = _number(scalars["best_val_loss"], "best_val_loss", None,
                                   optional=True)
    out["best_epoch"] = _count(scalars["best_epoch"], "best_epoch", 1, optional=True)
    if type(scalars["finished"]) is not bool:
        raise ValueError(f"'finished' should be true or false, got {_shown(scalars['finished'])}")
    history = scalars["history"]
    if not isinstance(history, list) or len(history) > MAX_EPOCH_COUNT:
        raise ValueError("'history' should be a list of epochs")
    out["history"] = [check_epoch_stats(row, f"history[{i}]") for i, row in enumerate(history)]
    state = scalars["rng_state"]
    if state is not None:
        try:  # a fresh generator of the same kind must accept it
            type(rng.generator().bit_generator)().state = state
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as error:
            raise ValueError(f"'rng_state' is not a random generator's state ({error})") from None
    return out


@dataclass
class EvalResult:
    loss: float
    accuracy: float
    predictions: np.ndarray    # (N,) predicted class
    probabilities: np.ndarray  # (N, K) softmax of the logits


def evaluate(model, dataset, batch_size: int = 500) -> EvalResult:
    """Mean cross-entropy, accuracy and per-sample predictions, in eval mode without a graph."""
    was_training = model.training
    model.eval()
    losses, probabilities = [], []
    try:
        with no_grad():
            for start in range(0, len(dataset), batch_size):
                x = dataset.x[start:start + batch_size]
                y = dataset.y[start:start + batch_size]
                logits = model(Tensor(x))
                losses.append(F.cross_entropy(logits, y).item() * len(y))
                probabilities.append(F.softmax(logits, axis=1).data)
    finally:
        model.train(was_training)
    probs = np.concatenate(probabilities)
    predictions = probs.argmax(axis=1)
    return EvalResult(float(sum(losses) / len(dataset)), float((predictions == dataset.y).mean()),
                      predictions, probs)


# --scheduler: how the learning rate changes over a run (torch.optim.lr_scheduler's classes)
SCHEDULES = ("none", "step", "cosine", "onecycle", "plateau")


def make_schedule(name: str, optimizer, epochs: int, batches_per_epoch: int):
    """The learning-rate schedule called `name`, or None for "none":

    step      StepLR: × 0.1 after every third of the epochs (at least one epoch)
    cosine    CosineAnnealingLR: from lr down to 0 along half a cosine over the epochs
    onecycle  OneCycleLR: up to lr and back down over every batch of the run (Smith's 1cycle);
              momentum (or Adam's β₁) cycles the other way where the optimizer has it
    plateau   ReduceLROnPlateau: × 0.1 after 2 epochs without a lower val_loss (the training loss
              when there is no validation set)
    """
    if name == "none":
        return None
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "onecycle":
        group = optimizer.param_groups[0]
        cycles = group.get("momentum", 0) > 0 or "betas" in group
        return lr_scheduler.OneCycleLR(optimizer, max_lr=group["lr"],
                                       total_steps=epochs * batches_per_epoch,
                                       cycle_momentum=cycles)
    if name == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=2)
    raise ValueError(f"unknown schedule {name!r}: choose one of {', '.join(SCHEDULES)}")


class Trainer:
    """Trains `model` with cross-entropy on integer labels.

    loader: a DataLoader over the training set; validation: a dataset evaluated after each epoch
    (optional); early_stopping: stop after this many epochs without a lower val_loss (Keras'
    EarlyStopping(patience)); with validation, the weights of the epoch with the best val_accuracy
    are kept (Keras' save_best_only) and restored at the end.
    """

    def __init__(self, model, optimizer, loader, epochs: int, validation=None,
                 early_stopping: int | None = None, schedule: str = "none"):
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        if early_stopping is not None and validation is None:
            raise ValueError("early stopping watches val_loss: it needs a validation set")
        self.model, self.optimizer, self.loader = model, optimizer, loader
        self.epochs, self.validation, self.early_stopping = epochs, validation, early_stopping
        self.schedule = schedule
        self.scheduler = make_schedule(schedule, optimizer, epochs, len(loader))
        self.start_lrs = [group["lr"] for group in optimizer.param_groups]
        self._stop_requested = False

    def _replay_schedule(self, state: TrainingState) -> None:
        """Bring the schedule to where an interrupted run left it: a schedule depends only on
        the steps taken (and, for plateau, on the epochs' losses), so it is stepped again from
        the learning rate it started at (a checkpoint's optimizer state holds the last one)."""
        if self.scheduler is None:
            return
        for group, lr in zip(self.optimizer.param_groups, self.start_lrs):
            group["lr"] = lr
        for stats in state.history:
            self._step_epoch_schedule(stats)
        if self.schedule == "onecycle":
            for _ in range(len(state.history) * len(self.loader) + state.batch):
                self.scheduler.step()

    def _step_epoch_schedule(self, stats: EpochStats) -> None:
        if self.schedule == "plateau":
            self.scheduler.step(stats.val_loss if stats.val_loss is not None else stats.loss)
        elif self.scheduler is not None and self.schedule != "onecycle":
            self.scheduler.step()

    def request_stop(self) -> None:
        """Stop after the batch in progress (what Ctrl-C does); fit() then returns the state."""
        self._stop_requested = True

    def fit(self, state: TrainingState | None = None, on_batch=None, on_epoch=None) -> TrainingState:
        """Train from `state` (a fresh run when None) until the last epoch, early stopping, or a
        stop request. Returns the state: `finished` says which.

        on_batch(BatchProgress) after every batch; on_epoch(EpochStats) after every epoch.
        """
        state = state or TrainingState()
        self._replay_schedule(state)
        if state.rng_state is not None:
            rng.generator().bit_generator.state = state.rng_state
        self._stop_requested = False
        self.model.train()
        while state.epoch < self.epochs and not state.finished:
            if not self._run_epoch(state, on_batch):
                state.rng_state = rng.generator().bit_generator.state
                return state
            stats = self._end_epoch(state)
            self._step_epoch_schedule(stats)
            if on_epoch:
                on_epoch(stats)
            if self._should_stop_early(state):
                state.finished = True
        state.finished = True
        if state.best_weights is not None:
            self.model.load_state_dict(state.best_weights)
        state.rng_state = rng.generator().bit_generator.state
        return state

    def _run_epoch(self, state: TrainingState, on_batch) -> bool:
        """Run the rest of the current epoch's batches; False if a stop was requested first."""
        n_batches = len(self.loader)
        for x, y in self.loader.batches(state.epoch, start=state.batch):
            if self._stop_requested:
                return False
            started = time.perf_counter()
            logits = self.model(Tensor(x))
            loss = F.cross_entropy(logits, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if self.schedule == "onecycle":
                self.scheduler.step()
            state.seconds += time.perf_counter() - started
            state.batch += 1
            state.loss_sum += loss.item() * len(y)
            state.correct += int((logits.data.argmax(axis=1) == y).sum())
            state.seen += len(y)
            if on_batch:
                on_batch(BatchProgress(state.epoch, state.batch, n_batches,
                                       state.loss_sum / state.seen, state.correct / state.seen,
                                       state.seen / max(state.seconds, 1e-9)))
        return not self._stop_requested or state.batch == n_batches

    def _end_epoch(self, state: TrainingState) -> EpochStats:
        val_loss = val_accuracy = None
        if self.validation is not None:
            result = evaluate(self.model, self.validation)
            val_loss, val_accuracy = result.loss, result.accuracy
        stats = EpochStats(state.epoch + 1, state.loss_sum / state.seen, state.correct / state.seen,
                           val_loss, val_accuracy, state.seconds)
        state.history.append(stats)
        if val_accuracy is not None and (state.best_val_accuracy is None
                                         or val_accuracy > state.best_val_accuracy):
            state.best_val_accuracy, state.best_epoch = val_accuracy, stats.epoch
            state.best_weights = self.model.state_dict()
        if val_loss is not None:
            if state.best_val_loss is None or val_loss < state.best_val_loss:
                state.best_val_loss, state.stale_epochs = val_loss, 0
            else:
                state.stale_epochs += 1
        state.epoch += 1
        state.batch = state.correct = state.seen = 0
        state.loss_sum = state.seconds = 0.0
        return stats

    def _should_stop_early(self, state: TrainingState) -> bool:
        return self.early_stopping is not None and state.stale_epochs >= self.early_stopping
