"""Losses: each compares a prediction with a target, element by element or class by class, and
reduces the result as PyTorch does: reduction="mean" (the default), "sum", or "none" (one loss
per element or per sample, for a weighted sum of your own).

Class-index losses (cross_entropy, nll_loss) take scores of shape (N, K) or (N, K, d1, ...) —
K classes along axis 1, as PyTorch — and integer targets (N,) or (N, d1, ...). Their "mean" is
PyTorch's weighted mean: the sum of the losses divided by the sum of the class weights of the
targets that are not ignore_index (N·d1·... without weights).

Elementwise losses (mse_loss, l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy,
binary_cross_entropy_with_logits) take a prediction and a target of the same shape; both get a
gradient.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine.activation import _log_softmax
from minigrad.engine.tensor import Function, Tensor, as_tensor

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "CrossEntropy"]

REDUCTIONS = ("mean", "sum", "none")


def _check_options(op: str, scores: np.ndarray, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {', '.join(REDUCTIONS)}, got "
                         f"{reduction!r}")
    if not np.issubdtype(scores.dtype, np.floating):
        # An integer array would give an integer (truncated) loss and no gradient.
        raise ValueError(f"{op}: input must be floating point, got {scores.dtype} (convert "
                         "it, e.g. x.astype(np.float32))")


def _reduce(elements: np.ndarray, reduction: str, dtype) -> np.ndarray:
    if reduction == "none":
        return elements.astype(dtype, copy=False)
    total = elements.mean() if reduction == "mean" else elements.sum()
    return np.asarray(total, dtype=dtype)


def _spread(grad: np.ndarray, reduction: str, shape: tuple[int, ...]) -> np.ndarray:
    """The upstream gradient of the reduced loss, as the gradient of each element's loss."""
    if reduction == "none":
        return grad
    count = int(np.prod(shape)) if reduction == "mean" else 1
    return np.broadcast_to(grad / count, shape)


# ---------------------------------------------------------------------------------------------
# Class-index losses
# ---------------------------------------------------------------------------------------------

class _ClassIndexLoss(Function):
    """What cross_entropy and nll_loss share: checking the shapes, moving the class axis last
    so every sample is one row of an (M, K) table, the class weights of the targets, and the
    weighted-mean denominator."""

    op = ""

    def _rows(self, scores, target, weight, ignore_index, reduction):
        _check_options(self.op, scores, reduction)
        self.input_shape = scores.shape
        if scores.ndim == 1:  # one sample (K,) with a scalar target, as PyTorch allows
            if target.shape != ():
                raise ValueError(f"{self.op}: input of shape {scores.shape} is one sample: "
                                 f"target must be one label (shape ()), got shape {target.shape}")
            scores, target = scores[None], np.reshape(target, (1,))
            self.out_shape = ()
        elif scores.ndim >= 2:
            self.out_shape = (scores.shape[0],) + scores.shape[2:]
        else:
            raise ValueError(f"{self.op}: input must be (N, K) or (N, K, d1, ...), got shape "
                             f"{scores.shape}")
        if not np.issubdtype(target.dtype, np.integer) or \
                target.shape != (scores.shape[0],) + scores.shape[2:]:
            raise ValueError(f"{self.op}: target must be integer class labels of shape "
                             f"{(scores.shape[0],) + scores.shape[2:]} for input of shape "
                             f"{scores.shape}, got shape {target.shape} of {target.dtype}")
        k = scores.shape[1]
        target = target.reshape(-1)
        keep = target != ignore_index
        everything_kept = keep.all()  # the usual case: no masking copies
        labels = target if everything_kept else target[keep]
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(f"{self.op}: labels must be in [0, {k}) or ignore_index "
                             f"({ignore_index}), got {labels.min()}..{labels.max()}")
        if weight is None:
            self.class_weight = None
        else:
            weight = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
            if weight.shape != (k,):
                raise ValueError(f"{self.op}: weight must have one value per class, shape "
                                 f"({k},), got {weight.shape}")
            self.class_weight = weight.astype(scores.dtype)
        self.scores_shape, self.reduction = scores.shape, reduction
        self.rows = np.arange(target.size)
        # Ignored samples point at class 0 with weight 0.
        self.target = target if everything_kept else np.where(keep, target, 0)
        self.keep = keep
        sample_weight = keep.astype(scores.dtype)
        if self.class_weight is not None:
            sample_weight *= self.class_weight[self.target]
        self.sample_weight = sample_weight
        self.weight_sum = sample_weight.sum()  # the denominator of "mean"
        return scores if scores.ndim == 2 else np.moveaxis(scores, 1, -1).reshape(-1, k)

    def _reduce(self, elements: np.ndarray, dtype) -> np.ndarray:
        if self.reduction == "none":
            return elements.reshape(self.out_shape).astype(dtype, copy=False)
        total = elements.sum()
        if self.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan
                total = total / self.weight_sum
        return np.asarray(total, dtype=dtype)

    def _sample_grads(self, grad: np.ndarray) -> np.ndarray:
        """d(reduced loss)/d(each sample's loss) times the upstream gradient, shape (M,)."""
        if self.reduction == "none":
            return grad.reshape(-1)
        if self.reduction == "sum":
            return np.full(self.rows.size, grad, dtype=grad.dtype)
        return np.full(self.rows.size, grad / self.weight_sum, dtype=grad.dtype)

    def _unrows(self, d: np.ndarray) -> np.ndarray:
        """(M, K) back to the input's layout, the class axis at 1."""
        if len(self.scores_shape) == 2:
            return d.reshape(self.input_shape)  # (1, K) back to (K,) for a single sample
        n, k, *rest = self.scores_shape
        return np.moveaxis(d.reshape((n, *rest, k)), -1, 1)


class CrossEntropy(_ClassIndexLoss):
    """logits (N, K, ...) and integer targets -> −log softmax(logits)[target], weighted by the
    target's class weight w_y; ignore_index samples give 0.

    With label smoothing ε the target is a mixture: (1 − ε) on the labelled class and ε/K on
    every class, so each sample's loss is −Σ_k c_k·log p_k with
        c_k = (1 − ε)·w_y·[k = y] + (ε/K)·w_k.
    forward:  through log-sum-exp, so logits of ±1000 give a finite loss
    backward: d loss/d logit_j = p_j·Σ_k c_k − c_j  (= p − one_hot(y) without weights or ε)
    """

    op = "cross_entropy"

    def forward(self, logits, target, weight=None, ignore_index=-100, reduction="mean",
                label_smoothing=0.0):
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        z = self._rows(logits, target, weight, ignore_index, reduction)
        k = z.shape[1]
        log_probs = _log_softmax(z, axis=1)
        self.log_probs, self.smoothing = log_probs, label_smoothing
        elements = -(1 - label_smoothing) * self.sample_weight * log_probs[self.rows, self.target]
        if label_smoothing:
            spread = (log_probs.sum(axis=1) if self.class_weight is None
                      else log_probs @ self.class_weight)
            elements -= (label_smoothing / k) * self.keep * spread
        return self._reduce(elements, logits.dtype)

    def backward(self, grad):
        g = self._sample_grads(grad)
        k, eps = self.log_probs.shape[1], self.smoothing
        on_target = (1 - eps) * g * self.sample_weight                   # g·(1 − ε)·w_y
        total = on_target.copy()                                         # g·Σ_k c_k
        if eps:
            class_weight = np.ones(k) if self.class_weight is None else self.class_weight
            smooth = (eps / k) * g * self.keep                           # g·ε/K per unit weight
            total += smooth * class_weight.sum()
        d = np.exp(self.log_probs)
        d *= total[:, None]
        d[self.rows, self.target] -= on_target
        if eps:
            d -= smooth[:, None] * class_weight[None, :]
        return self._unrows(d.astype(grad.dtype, copy=False)), None


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of integer class labels under softmax(input) along axis 1 (see
    CrossEntropy). input: (N, K) or (N, K, d1, ...); target: (N,) or (N, d1, ...)."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    return CrossEntropy.apply(input, Tensor(target), weight=weight, ignore_index=ignore_index,
                              reduction=reduction, label_smoothing=label_smoothing)


class NLL(_ClassIndexLoss):
    """log-probabilities (N, K, ...) and integer targets -> −w_y·input[target] (0 for
    ignore_index).  d/d input = −w_y at the target class, 0 elsewhere."""

    op = "nll_loss"

    def forward(self, log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
        rows = self._rows(log_probs, target, weight, ignore_index, reduction)
        self.k = rows.shape[1]
        return self._reduce(-self.sample_weight * rows[self.rows, self.target], log_probs.dtype)

    def backward(self, grad):
        d = np.zeros((self.rows.size, self.k), dtype=grad.dtype)
        d[self.rows, self.target] = -self._sample_grads(grad) * self.sample_weight
        return self._unrows(d), None


def nll_loss(input, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer class labels, input being log-probabilities (e.g.
    log_softmax's output): cross_entropy = nll_loss(log_softmax(x, dim=1))."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    return NLL.apply(input, Tensor(target), weight=weight, ignore_index=ignore_index,
                         reduction=reduction)


# ---------------------------------------------------------------------------------------------
# Elementwise losses
# ---------------------------------------------------------------------------------------------

class _ElementwiseLoss(Function):
    """What the elementwise losses share: input and target of one shape, the reduction, and the
    backward pass. A subclass gives `elementwise(x, t, **options)`, returning the loss of every
    element and its two local derivatives d loss/dx and d loss/dt."""

    op = ""

    def forward(self, input, target, reduction="mean", **options):
        _check_options(self.op, input, reduction)
        if input.shape != target.shape:
            raise ValueError(f"{self.op}: input shape {input.shape} does not match target shape "
                             f"{target.shape}")
        target = target.astype(input.dtype, copy=False)
        elements, self.d_input, self.d_target = self.elementwise(input, target, **options)
        self.reduction, self.shape = reduction, input.shape
        return _reduce(elements, reduction, input.dtype)

    def backward(self, grad):
        g = _spread(grad, self.reduction, self.shape)
        needs_input, needs_target = self.needs_grad
        d_input = (g * self.d_input).astype(grad.dtype, copy=False) if needs_input else None
        d_target = (g * self.d_target).astype(grad.dtype, copy=False) if needs_target else None
        return d_input, d_target

    def elementwise(self, x, t, **options):
        raise NotImplementedError


def _elementwise(cls, input, target, reduction, **options) -> Tensor:
    return cls.apply(as_tensor(input), as_tensor(target), reduction=reduction, **options)


class SquaredError(_ElementwiseLoss):
    """(x − t)².  d/dx = 2(x − t), d/dt = −2(x − t)."""

    op = "mse_loss"

    def elementwise(self, x, t):
        diff = x - t
        return diff * diff, 2 * diff, -2 * diff


class AbsoluteError(_ElementwiseLoss):
    """|x − t|.  d/dx = sign(x − t) (0 where x = t, as PyTorch), d/dt = −sign(x − t)."""

    op = "l1_loss"

    def elementwise(self, x, t):
        diff = x - t
        return np.abs(diff), np.sign(diff), -np.sign(diff)


class SmoothL1(_ElementwiseLoss):
    """With z = |x − t|: ½z²/β where z < β, else z − ½β (β = 0 gives |x − t|).
    d/dx = (x − t)/β where z < β, else sign(x − t); d/dt = −d/dx."""

    op = "smooth_l1_loss"

    def elementwise(self, x, t, beta=1.0):
        if beta < 0:
            raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
        diff = x - t
        z = np.abs(diff)
        inside = z < beta
        safe_beta = beta if beta > 0 else 1.0  # with β = 0 nothing is inside
        loss = np.where(inside, 0.5 * diff * diff / safe_beta, z - 0.5 * beta)
        d = np.where(inside, diff / safe_beta, np.sign(diff))
        return loss, d, -d


class Huber(_ElementwiseLoss):
    """With z = |x − t|: ½z² where z < δ, else δ·(z − ½δ).
    d/dx = x − t where z < δ, else δ·sign(x − t); d/dt = −d/dx."""

    op = "huber_loss"

    def elementwise(self, x, t, delta=1.0):
        if delta <= 0:
            raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
        diff = x - t
        inside = np.abs(diff) < delta
        loss = np.where(inside, 0.5 * diff * diff, delta * (np.abs(diff) - 0.5 * delta))
        d = np.where(inside, diff, delta * np.sign(diff))
        return loss, d, -d


def _weights(op: str, weight, shape: tuple[int, ...], dtype, name: str = "weight"):
    """An optional weight array that must broadcast to the input's shape without growing it."""
    if weight is None:
        return None
    weight = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    try:
        fits = np.broadcast_shapes(weight.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: {name} of shape {weight.shape} does not broadcast to the input's "
                         f"shape {shape}")
    return weight


class BinaryCrossEntropy(_ElementwiseLoss):
    """Probabilities x in [0, 1], targets t -> −w·(t·log x + (1 − t)·log(1 − x)), each log
    clamped at −100 as in PyTorch (so x = 0 or 1 gives a finite loss).
    d/dx = w·(x − t) / max(x(1 − x), 1e-12), d/dt = w·(log(1 − x) − log x) (clamped logs)."""

    op = "binary_cross_entropy"

    def elementwise(self, x, t, weight=None):
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError("binary_cross_entropy: input must be probabilities in [0, 1] (for "
                             "raw scores use binary_cross_entropy_with_logits)")
        weight = _weights(self.op, weight, x.shape, x.dtype)
        with np.errstate(divide="ignore"):
            log_x, log_1mx = np.maximum(np.log(x), -100), np.maximum(np.log1p(-x), -100)
        loss = -(t * log_x + (1 - t) * log_1mx)
        d_x = (x - t) / np.maximum(x * (1 - x), 1e-12)
        d_t = log_1mx - log_x
        if weight is not None:
            loss, d_x, d_t = loss * weight, d_x * weight, d_t * weight
        return loss, d_x, d_t


class BinaryCrossEntropyWithLogits(_ElementwiseLoss):
    """Scores x (logits), targets t -> −w·(p·t·log σ(x) + (1 − t)·log(1 − σ(x))), p the
    pos_weight (broadcast along the last axis: one per class). Computed without σ, which
    overflows: with softplus(y) = log(1 + eʸ) = max(y, 0) + log(1 + e^(−|y|)),
        loss = w·((1 − t)·x + L·softplus(−x)),   L = 1 + (p − 1)·t
    d/dx = w·(L·σ(x) − p·t), d/dt = w·(−x + (p − 1)·softplus(−x))."""

    op = "binary_cross_entropy_with_logits"

    def elementwise(self, x, t, weight=None, pos_weight=None):
        weight = _weights(self.op, weight, x.shape, x.dtype)
        pos_weight = _weights(self.op, pos_weight, x.shape, x.dtype, "pos_weight")
        softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        e = np.exp(-np.abs(x))
        sigmoid = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        if pos_weight is None:
            loss = (1 - t) * x + softplus_neg
            d_x, d_t = sigmoid - t, -x
        else:
            scale = 1 + (pos_weight - 1) * t
            loss = (1 - t) * x + scale * softplus_neg
            d_x = scale * sigmoid - pos_weight * t
            d_t = -x + (pos_weight - 1) * softplus_neg
        if weight is not None:
            loss, d_x, d_t = loss * weight, d_x * weight, d_t * weight
        return loss, d_x, d_t


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Squared differences (see SquaredError); the shapes must match exactly."""
    return _elementwise(SquaredError, input, target, reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """Absolute differences (see AbsoluteError)."""
    return _elementwise(AbsoluteError, input, target, reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Quadratic below beta, absolute above (see SmoothL1)."""
    return _elementwise(SmoothL1, input, target, reduction, beta=beta)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Quadratic below delta, delta-scaled absolute above (see Huber); equals delta times
    smooth_l1_loss with beta = delta."""
    return _elementwise(Huber, input, target, reduction, delta=delta)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities (see BinaryCrossEntropy)."""
    return _elementwise(BinaryCrossEntropy, input, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed stably from the logits (see
    BinaryCrossEntropyWithLogits)."""
    return _elementwise(BinaryCrossEntropyWithLogits, input, target, reduction, weight=weight,
                        pos_weight=pos_weight)
