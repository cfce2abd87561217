"""Optimizers: SGD (with momentum and Nesterov), Adam, RMSprop and Adagrad, following the
algorithms in PyTorch's torch.optim documentation.

    opt = Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(model(Tensor(x)), y).backward()
        opt.step()

Notation in the docstrings: θ a parameter, g its gradient, γ the learning rate, λ the weight decay.
Every optimizer here uses coupled L2 weight decay, as torch.optim does: g ← g + λθ before the
update (AdamW's decoupled form is not here). Parameters whose .grad is None are skipped, state and
all. Updates happen in place on param.data in its own dtype: hyperparameters are kept as Python
floats, which numpy never lets widen a float32 array to float64.

state_dict() is a flat dict of numpy arrays (npz-ready, loadable with allow_pickle=False):
hyperparameters as 0-d arrays ("lr", "momentum", ...), "step" (the number of step() calls), and
each parameter's buffers as "state.<index>.<buffer>", e.g. "state.0.exp_avg".
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from minigrad.engine.tensor import Tensor


def _validate(hyperparameters: dict) -> None:
    """The checks torch.optim makes, with the same meaning: rates, decays and eps are >= 0,
    Adam's betas lie in [0, 1), and Nesterov needs momentum."""
    for name, value in hyperparameters.items():
        if name == "nesterov":
            continue
        if name in ("beta1", "beta2"):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"invalid {name}: {value} (must be in [0, 1))")
        elif not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"invalid {name}: {value} (must be a finite number >= 0)")
    if hyperparameters.get("nesterov") and hyperparameters["momentum"] <= 0.0:
        raise ValueError("nesterov momentum requires a momentum > 0")


class Optimizer:
    """What every optimizer shares: the parameter list, hyperparameters (as attributes, e.g.
    `opt.lr`, which may be changed between steps), per-parameter state buffers, the step count,
    weight decay, and saving / loading all of it.

    A subclass gives `_new_state(param)` (its zero-initialised buffers) and
    `_update(param, grad, state)` (its rule, changing param and the buffers in place).
    """

    def __init__(self, params: Iterable[Tensor], **hyperparameters):
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors (e.g. model.parameters()), "
                            "not a single Tensor")
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        seen = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"parameter {i} must be a floating-point Tensor, got {p!r}")
            if id(p) in seen:
                raise ValueError(f"parameter {i} appears more than once in the parameter list")
            seen.add(id(p))
        hyperparameters = {name: bool(v) if name == "nesterov" else float(v)
                           for name, v in hyperparameters.items()}
        _validate(hyperparameters)
        self._hyperparameter_names = tuple(hyperparameters)
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self.step_count = 0
        self.state: list[dict[str, np.ndarray]] = [self._new_state(p.data) for p in self.params]

    def __repr__(self) -> str:
        options = ", ".join(f"{n}={getattr(self, n)}" for n in self._hyperparameter_names)
        return f"{type(self).__name__}({len(self.params)} parameters, {options})"

    def zero_grad(self) -> None:
        """Forget the gradients (set to None, as PyTorch does), so the next backward() starts
        afresh instead of adding to them."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.step_count += 1
        for i, (p, state) in enumerate(zip(self.params, self.state)):
            if p.grad is None:
                continue
            grad = np.asarray(p.grad, dtype=p.dtype)
            if grad.shape != p.shape:
                raise ValueError(f"parameter {i}: gradient shape {grad.shape} does not match the "
                                 f"parameter's shape {p.shape}")
            if self.weight_decay:
                grad = grad + self.weight_decay * p.data  # a new array: p.grad stays as it was
            self._update(p.data, grad, state)

    def _new_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    # -- saving and loading ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of everything needed to continue exactly: hyperparameters as 0-d arrays, the
        step count, and every parameter's buffers as "state.<index>.<buffer>"."""
        out = {name: np.array(getattr(self, name)) for name in self._hyperparameter_names}
        out["step"] = np.array(self.step_count, dtype=np.int64)
        for i, state in enumerate(self.state):
            for name, buffer in state.items():
                out[f"state.{i}.{name}"] = buffer.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what state_dict() gave (also after a trip through np.savez / np.load).

        The keys must be exactly this optimizer's (same kind, same number of parameters, same
        momentum setting) and every array must have the shape and kind (float / int / bool) of
        the one it replaces; otherwise ValueError naming the key. Nothing changes on error.
        """
        current = self.state_dict()
        missing = sorted(current.keys() - state.keys())
        unexpected = sorted(state.keys() - current.keys())
        if missing or unexpected:
            problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
                       ([f"unexpected {', '.join(unexpected)}"] if unexpected else [])
            raise ValueError(f"optimizer state does not match this {type(self).__name__}: "
                             + "; ".join(problems))
        loaded = {}
        for key, expected in current.items():
            value = np.asarray(state[key])
            if value.shape != expected.shape:
                raise ValueError(f"optimizer state {key!r}: expected shape {expected.shape}, "
                                 f"got {value.shape}")
            if value.dtype.kind != expected.dtype.kind:
                raise ValueError(f"optimizer state {key!r}: expected {expected.dtype.kind!r} "
                                 f"({expected.dtype}) values, got {value.dtype}")
            loaded[key] = np.array(value, dtype=expected.dtype)  # a copy: never alias the caller's
        hyperparameters = {name: loaded[name].item() for name in self._hyperparameter_names}
        _validate(hyperparameters)
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self.step_count = int(loaded["step"])
        for i, param_state in enumerate(self.state):
            for name in param_state:
                param_state[name] = loaded[f"state.{i}.{name}"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's form, no dampening):

        b ← μ·b + g            (b starts at 0, so the first step gives b = g)
        g ← g + μ·b  if nesterov, else  g ← b
        θ ← θ − γ·g
    """

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay)

    def _new_state(self, param):
        return {"momentum_buffer": np.zeros_like(param)} if self.momentum else {}

    def _update(self, param, grad, state):
        if self.momentum:
            buffer = state["momentum_buffer"]
            buffer[...] = self.momentum * buffer + grad
            grad = grad + self.momentum * buffer if self.nesterov else buffer
        param -= self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias correction:

        m ← β₁·m + (1 − β₁)·g          v ← β₂·v + (1 − β₂)·g²
        m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)
        θ ← θ − γ·m̂ / (√v̂ + ε)

    t counts this parameter's own updates (steps where it had a gradient), as in PyTorch.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        beta1, beta2 = betas
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay)

    def _new_state(self, param):
        return {"step": np.array(0, dtype=np.int64),
                "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}

    def _update(self, param, grad, state):
        state["step"] += 1
        t = int(state["step"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # In place, as PyTorch does: a dense layer's moments are millions of numbers, and each
        # full pass over them costs about a millisecond.
        m *= self.beta1
        m += (1 - self.beta1) * grad                       # m ← β₁·m + (1 − β₁)·g
        v *= self.beta2
        v += (1 - self.beta2) * np.square(grad)            # v ← β₂·v + (1 − β₂)·g²
        # m̂ / (√v̂ + ε) = m / (1 − β₁ᵗ) / (√v / √(1 − β₂ᵗ) + ε)
        denominator = np.sqrt(v, out=np.empty_like(v))  # an array even for 0-d parameters
        denominator *= 1 / math.sqrt(1 - self.beta2 ** t)
        denominator += self.eps
        np.divide(m, denominator, out=denominator)
        denominator *= self.lr / (1 - self.beta1 ** t)
        param -= denominator                               # θ ← θ − γ·m̂ / (√v̂ + ε)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), PyTorch's uncentred form:

        s ← α·s + (1 − α)·g²
        u = g / (√s + ε)
        b ← μ·b + u,  u ← b      (only with momentum μ > 0)
        θ ← θ − γ·u
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                         weight_decay=weight_decay)

    def _new_state(self, param):
        state = {"square_avg": np.zeros_like(param)}
        if self.momentum:
            state["momentum_buffer"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state):
        s = state["square_avg"]
        s[...] = self.alpha * s + (1 - self.alpha) * grad * grad
        update = grad / (np.sqrt(s) + self.eps)
        if self.momentum:
            buffer = state["momentum_buffer"]
            buffer[...] = self.momentum * buffer + update
            update = buffer
        param -= self.lr * update


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): each coordinate's step shrinks with its gradient history.

        s ← s + g²
        θ ← θ − γ·g / (√s + ε)
    """

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, eps=eps, weight_decay=weight_decay)

    def _new_state(self, param):
        return {"sum": np.zeros_like(param)}

    def _update(self, param, grad, state):
        s = state["sum"]
        s += grad * grad
        param -= self.lr * grad / (np.sqrt(s) + self.eps)


# name -> (build(params, lr), default learning rate). RMSprop's default here is Keras' 1e-3: the
# class keeps PyTorch's 1e-2, which is often too large for a CNN from scratch.
_OPTIMIZERS = {
    "sgd": (lambda params, lr: SGD(params, lr=lr), 0.01),
    "momentum": (lambda params, lr: SGD(params, lr=lr, momentum=0.9), 0.01),
    "adam": (lambda params, lr: Adam(params, lr=lr), 1e-3),
    "rmsprop": (lambda params, lr: RMSprop(params, lr=lr), 1e-3),
    "adagrad": (lambda params, lr: Adagrad(params, lr=lr), 1e-2),
}
OPTIMIZER_NAMES = tuple(_OPTIMIZERS)


def make_optimizer(name: str, params: Iterable[Tensor], lr: float | None = None) -> Optimizer:
    """The optimizer called `name` (sgd, momentum, adam, rmsprop, adagrad; "momentum" is SGD with
    momentum 0.9), with learning rate `lr`, or that optimizer's usual default when lr is None."""
    key = name.lower()
    if key not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZER_NAMES)}")
    build, default_lr = _OPTIMIZERS[key]
    return build(params, default_lr if lr is None else lr)
