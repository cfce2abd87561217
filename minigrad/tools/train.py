"""The training loop: epochs of mini-batches, validation, early stopping, the best epoch's weights,
stopping on request (Ctrl-C), and resuming to results identical to an uninterrupted run.

A run is deterministic given its seed: the batch order of every epoch comes from the loader's own
seeded permutation, and every other random draw (dropout masks) from minigrad's one generator,
whose state a checkpoint saves. Resuming restores both and continues at the next batch.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from minigrad.engine import functional as F
from minigrad.engine import rng
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
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TrainingState:
        scalars = json.loads(str(arrays["train/state"]))
        scalars["history"] = [EpochStats(**row) for row in scalars["history"]]
        best = {k[len("train/best/"):]: np.array(v) for k, v in arrays.items()
                if k.startswith("train/best/")}
        return cls(**scalars, best_weights=best or None)


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


class Trainer:
    """Trains `model` with cross-entropy on integer labels.

    loader: a DataLoader over the training set; validation: a dataset evaluated after each epoch
    (optional); early_stopping: stop after this many epochs without a lower val_loss (Keras'
    EarlyStopping(patience)); with validation, the weights of the epoch with the best val_accuracy
    are kept (Keras' save_best_only) and restored at the end.
    """

    def __init__(self, model, optimizer, loader, epochs: int, validation=None,
                 early_stopping: int | None = None):
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        if early_stopping is not None and validation is None:
            raise ValueError("early stopping watches val_loss: it needs a validation set")
        self.model, self.optimizer, self.loader = model, optimizer, loader
        self.epochs, self.validation, self.early_stopping = epochs, validation, early_stopping
        self._stop_requested = False

    def request_stop(self) -> None:
        """Stop after the batch in progress (what Ctrl-C does); fit() then returns the state."""
        self._stop_requested = True

    def fit(self, state: TrainingState | None = None, on_batch=None, on_epoch=None) -> TrainingState:
        """Train from `state` (a fresh run when None) until the last epoch, early stopping, or a
        stop request. Returns the state: `finished` says which.

        on_batch(BatchProgress) after every batch; on_epoch(EpochStats) after every epoch.
        """
        state = state or TrainingState()
        if state.rng_state is not None:
            rng.generator().bit_generator.state = state.rng_state
        self._stop_requested = False
        self.model.train()
        while state.epoch < self.epochs and not state.finished:
            if not self._run_epoch(state, on_batch):
                state.rng_state = rng.generator().bit_generator.state
                return state
            stats = self._end_epoch(state)
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
