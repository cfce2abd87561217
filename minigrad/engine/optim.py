"""Optimizers: SGD (momentum, dampening, Nesterov), Adam and AdamW (with AMSGrad), RMSprop
(centred, momentum) and Adagrad, following the algorithms in PyTorch's torch.optim documentation.

    opt = Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(model(Tensor(x)), y).backward()
        opt.step()

Parameter groups, as in PyTorch: instead of tensors, pass dicts, each with its own settings
(missing ones fall back to the optimizer's arguments):

    SGD([{"params": model[0].parameters(), "lr": 0.1},
         {"params": model[2].parameters(), "weight_decay": 1e-4}], lr=0.01, momentum=0.9)

`opt.param_groups` is that list of dicts; a learning-rate scheduler changes their "lr". With a
single group, `opt.lr` (and every other setting) reads and writes that group's value.

Notation in the docstrings: θ a parameter, g its gradient, γ the learning rate, λ the weight decay.
Weight decay is coupled L2 (g ← g + λθ before the update) except in AdamW, which shrinks θ itself
(θ ← θ − γλθ). With maximize=True, g ← −g first. Parameters whose .grad is None are skipped,
state and all. Updates happen in place on param.data in its own dtype: hyperparameters are kept
as Python floats, which numpy never lets widen a float32 array to float64.

state_dict() is a flat dict of numpy arrays (npz-ready, loadable with allow_pickle=False):
"step" (the number of step() calls) and each parameter's buffers as "state.<index>.<buffer>",
e.g. "state.0.exp_avg", the index counting parameters across all groups. With one group the
hyperparameters are 0-d arrays ("lr", "momentum", ...), as checkpoints have always had them;
settings added later (dampening, amsgrad, centered, maximize) appear only when not at their
default, so older checkpoints keep loading. With several groups they are "group.<g>.<name>",
plus "group.<g>.params", the number of parameters in group g.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from minigrad.engine import workspace
from minigrad.engine.tensor import Tensor

FLAGS = ("nesterov", "amsgrad", "centered", "maximize")


def _coerce(name: str, value) -> bool | float:
    return bool(value) if name in FLAGS else float(value)


def _validate(hyperparameters: dict) -> None:
    """The checks torch.optim makes, with the same meaning: rates, decays and eps are >= 0,
    Adam's betas and dampening lie in [0, 1], and Nesterov needs momentum and no dampening."""
    for name, value in hyperparameters.items():
        if name in FLAGS:
            continue
        if name in ("beta1", "beta2"):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"invalid {name}: {value} (must be in [0, 1))")
        elif name == "dampening":
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"invalid dampening: {value} (must be in [0, 1])")
        elif not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"invalid {name}: {value} (must be a finite number >= 0)")
    if hyperparameters.get("nesterov") and (hyperparameters["momentum"] <= 0.0
                                            or hyperparameters.get("dampening", 0.0) != 0.0):
        raise ValueError("nesterov momentum requires a momentum > 0 and zero dampening")


class Optimizer:
    """What every optimizer shares: the parameter groups and their hyperparameters, per-parameter
    state buffers, the step count, weight decay, and saving / loading all of it.

    A subclass gives `_new_state(param, group)` (its zero-initialised buffers) and
    `_update(param, grad, state, group)` (its rule, changing param and the buffers in place).
    """

    # Settings added after checkpoints were first written, with their defaults: a single-group
    # state_dict() leaves them out while they are at the default (see the module docstring).
    _LATER_OPTIONS: dict[str, bool | float] = {}
    # AdamW: weight decay shrinks θ directly instead of being added to the gradient.
    _decoupled_weight_decay = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], **defaults):
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors (e.g. model.parameters()), "
                            "not a single Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        defaults = {name: _coerce(name, v) for name, v in defaults.items()}
        _validate(defaults)
        self.defaults = defaults
        self.param_groups: list[dict] = []
        self.params: list[Tensor] = []
        self.state: list[dict[str, np.ndarray]] = []
        self.step_count = 0
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group: {"params": tensors, and any setting that differs from the defaults}.
        Adam's "betas" may be given as a pair, as in PyTorch."""
        if not isinstance(group, dict):
            raise TypeError(f"parameter group {len(self.param_groups)} must be a dict like "
                            f"{{'params': [...], 'lr': 0.1}}, got {type(group).__name__}: "
                            "give either tensors or dicts, not both")
        group = dict(group)
        if "betas" in group:
            group["beta1"], group["beta2"] = group.pop("betas")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"parameter group {len(self.param_groups)}: unknown setting(s) "
                             f"{', '.join(unknown)} for {type(self).__name__} (it has "
                             f"{', '.join(self.defaults)})")
        if "params" not in group or isinstance(group["params"], Tensor):
            raise TypeError(f"parameter group {len(self.param_groups)} needs 'params': an "
                            "iterable of Tensors")
        params = list(group["params"])
        if not params:
            raise ValueError(f"parameter group {len(self.param_groups)} has an empty parameter "
                             "list")
        seen = {id(p) for p in self.params}
        for p in params:
            i = len(self.params)
            if not isinstance(p, Tensor) or not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"parameter {i} must be a floating-point Tensor, got {p!r}")
            if id(p) in seen:
                raise ValueError(f"parameter {i} appears more than once in the parameter list")
            seen.add(id(p))
        settings = {**self.defaults, **{name: _coerce(name, v) for name, v in group.items()
                                        if name != "params"}}
        _validate(settings)
        group = {"params": params, **settings}
        self.param_groups.append(group)
        self.params += params
        self.state += [self._new_state(p.data, group) for p in params]

    # -- `opt.lr` and friends: the single group's settings ------------------------------------
    def __getattr__(self, name: str):
        defaults = self.__dict__.get("defaults", {})
        if name in defaults:
            return self._single_group(name)[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in self.__dict__.get("defaults", {}):
            value = _coerce(name, value)
            group = self._single_group(name)
            _validate({**{k: group[k] for k in self.defaults}, name: value})
            group[name] = value
        else:
            object.__setattr__(self, name, value)

    def _single_group(self, name: str) -> dict:
        if len(self.param_groups) != 1:
            raise AttributeError(f"{type(self).__name__} has {len(self.param_groups)} parameter "
                                 f"groups, each with its own {name!r}: use "
                                 f"opt.param_groups[i][{name!r}]")
        return self.param_groups[0]

    def __repr__(self) -> str:
        def options(group):
            return ", ".join(f"{n}={group[n]}" for n in self.defaults)
        if len(self.param_groups) == 1:
            return f"{type(self).__name__}({len(self.params)} parameters, " \
                   f"{options(self.param_groups[0])})"
        lines = [f"  group {g}: {len(group['params'])} parameters, {options(group)}"
                 for g, group in enumerate(self.param_groups)]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    # -- the update -----------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Forget the gradients (set to None, as PyTorch does), so the next backward() starts
        afresh instead of adding to them."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.step_count += 1
        i = 0
        for group in self.param_groups:
            for p in group["params"]:
                state, i = self.state[i], i + 1
                if p.grad is None:
                    continue
                grad = np.asarray(p.grad, dtype=p.dtype)
                if grad.shape != p.shape:
                    raise ValueError(f"parameter {i - 1}: gradient shape {grad.shape} does not "
                                     f"match the parameter's shape {p.shape}")
                if group.get("maximize"):
                    grad = -grad  # a new array: p.grad stays as it was
                decay = group["weight_decay"]
                if decay and self._decoupled_weight_decay:
                    p.data *= 1 - group["lr"] * decay              # θ ← θ − γλθ
                elif decay:
                    grad = grad + decay * p.data                   # g ← g + λθ
                self._update(p.data, grad, state, group)

    def _new_state(self, param: np.ndarray, group: dict) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict) -> None:
        raise NotImplementedError

    # -- saving and loading ---------------------------------------------------------------------
    def _saved_settings(self) -> list[tuple[str, int, str]]:
        """(state_dict key, group index, setting name) for every hyperparameter saved."""
        if len(self.param_groups) == 1:
            group = self.param_groups[0]
            return [(name, 0, name) for name in self.defaults
                    if not (name in self._LATER_OPTIONS
                            and group[name] == self._LATER_OPTIONS[name])]
        return [(f"group.{g}.{name}", g, name)
                for g in range(len(self.param_groups)) for name in self.defaults]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of everything needed to continue exactly: hyperparameters as 0-d arrays, the
        step count, and every parameter's buffers as "state.<index>.<buffer>"."""
        out = {key: np.array(self.param_groups[g][name])
               for key, g, name in self._saved_settings()}
        if len(self.param_groups) > 1:
            for g, group in enumerate(self.param_groups):
                out[f"group.{g}.params"] = np.array(len(group["params"]), dtype=np.int64)
        out["step"] = np.array(self.step_count, dtype=np.int64)
        for i, state in enumerate(self.state):
            for name, buffer in state.items():
                out[f"state.{i}.{name}"] = buffer.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what state_dict() gave (also after a trip through np.savez / np.load).

        The keys must be exactly this optimizer's (same kind, same groups and number of
        parameters, same momentum setting) and every array must have the shape and kind
        (float / int / bool) of the one it replaces; otherwise ValueError naming the key.
        Nothing changes on error.
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
        for g, group in enumerate(self.param_groups):
            key = f"group.{g}.params"
            if key in loaded and int(loaded[key]) != len(group["params"]):
                raise ValueError(f"optimizer state {key!r}: group {g} had {int(loaded[key])} "
                                 f"parameters, this optimizer's has {len(group['params'])}")
        new_settings = [{k: group[k] for k in self.defaults} for group in self.param_groups]
        for key, g, name in self._saved_settings():
            new_settings[g][name] = _coerce(name, loaded[key].item())
        for settings in new_settings:
            _validate(settings)
        for group, settings in zip(self.param_groups, new_settings):
            group.update(settings)
        self.step_count = int(loaded["step"])
        for i, param_state in enumerate(self.state):
            for name in param_state:
                param_state[name] = loaded[f"state.{i}.{name}"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum μ and dampening d (PyTorch's form):

        b ← g on the first step, then b ← μ·b + (1 − d)·g
        g ← g + μ·b  if nesterov, else  g ← b
        θ ← θ − γ·g
    """

    _LATER_OPTIONS = {"dampening": 0.0, "maximize": False}

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay, dampening=dampening, maximize=maximize)

    def _new_state(self, param, group):
        if not group["momentum"]:
            return {}
        state = {"momentum_buffer": np.zeros_like(param)}
        if group["dampening"]:
            # Without dampening, μ·0 + g already gives b = g on the first step; with it, the
            # first step must be told apart.
            state["step"] = np.array(0, dtype=np.int64)
        return state

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        if momentum:
            buffer = state["momentum_buffer"]
            if "step" in state and state["step"] == 0:
                buffer[...] = grad
            else:
                buffer[...] = momentum * buffer + (1 - group["dampening"]) * grad
            if "step" in state:
                state["step"] += 1
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= group["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with bias correction:

        m ← β₁·m + (1 − β₁)·g          v ← β₂·v + (1 − β₂)·g²
        m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)
        θ ← θ − γ·m̂ / (√v̂ + ε)

    With amsgrad=True, v̂ uses the largest v so far (v_max ← max(v_max, v)), so the step never
    grows back when gradients shrink. t counts this parameter's own updates (steps where it had
    a gradient), as in PyTorch.
    """

    _LATER_OPTIONS = {"amsgrad": False, "maximize": False}

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 maximize: bool = False):
        beta1, beta2 = betas
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)

    def _new_state(self, param, group):
        state = {"step": np.array(0, dtype=np.int64),
                 "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    # Elements per block of the update: a block of each array (θ, g, m, v and a scratch, 1 MB
    # each in float32) stays in the cache through the rule's dozen numpy passes, so memory is
    # streamed about once per array instead of once per operator (measured: 10-15% faster than
    # whole arrays on a 1.6M-weight dense layer; much smaller blocks pay numpy's call overhead).
    # The only scratch is one block, where whole arrays needed temporaries of a layer's size.
    BLOCK = 262144

    def _update(self, param, grad, state, group):
        state["step"] += 1
        t = int(state["step"])
        grad = np.ascontiguousarray(grad)
        arrays = [param, grad, state["exp_avg"], state["exp_avg_sq"]]
        if group["amsgrad"]:
            arrays.append(state["max_exp_avg_sq"])
        if not all(a.flags.c_contiguous for a in arrays):  # a strided parameter: all at once
            self._rule(*arrays[:4], arrays[4:], np.empty_like(param), t, group)
            return
        flat = [a.reshape(-1) for a in arrays]  # views, so the blocks update the arrays
        # the scratch is the optimizer's, shared by its parameters and kept between steps
        scratch = workspace.take(self, "adam scratch", (min(self.BLOCK, param.size),),
                                 param.dtype)
        for start in range(0, param.size, self.BLOCK):
            block = [a[start:start + self.BLOCK] for a in flat]
            self._rule(*block[:4], block[4:], scratch[:len(block[0])], t, group)
        workspace.give_back(self, "adam scratch", scratch)

    @staticmethod
    def _rule(param, grad, m, v, max_v, scratch, t, group):
        """Adam's rule, in place on param, m, v (and max_v: [v_max] with amsgrad, else [])."""
        beta1, beta2 = group["beta1"], group["beta2"]
        m *= beta1
        m += np.multiply(grad, 1 - beta1, out=scratch)          # m ← β₁·m + (1 − β₁)·g
        v *= beta2
        np.multiply(grad, math.sqrt(1 - beta2), out=scratch)
        v += np.square(scratch, out=scratch)                    # v ← β₂·v + (1 − β₂)·g²
        if max_v:
            v = np.maximum(max_v[0], v, out=max_v[0])
        # m̂ / (√v̂ + ε) = m / (1 − β₁ᵗ) / (√v / √(1 − β₂ᵗ) + ε)
        denominator = np.sqrt(v, out=scratch)
        denominator *= 1 / math.sqrt(1 - beta2 ** t)
        denominator += group["eps"]
        step = np.divide(m, denominator, out=scratch)
        step *= group["lr"] / (1 - beta1 ** t)
        param -= step                                           # θ ← θ − γ·m̂ / (√v̂ + ε)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): before Adam's step,
    θ ← θ − γλθ, instead of adding λθ to the gradient (where Adam's scaling would shrink it).
    PyTorch's default λ is 0.01."""

    _decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), PyTorch's form:

        s ← α·s + (1 − α)·g²
        centred only:  a ← α·a + (1 − α)·g,  s̃ = s − a²  (else s̃ = s)
        u = g / (√s̃ + ε)
        b ← μ·b + u,  u ← b      (only with momentum μ > 0)
        θ ← θ − γ·u
    """

    _LATER_OPTIONS = {"centered": False, "maximize": False}

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                         weight_decay=weight_decay, centered=centered, maximize=maximize)

    def _new_state(self, param, group):
        state = {"square_avg": np.zeros_like(param)}
        if group["momentum"]:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        s = state["square_avg"]
        s[...] = alpha * s + (1 - alpha) * grad * grad
        if group["centered"]:
            a = state["grad_avg"]
            a[...] = alpha * a + (1 - alpha) * grad
            update = grad / (np.sqrt(s - a * a) + group["eps"])
        else:
            update = grad / (np.sqrt(s) + group["eps"])
        if group["momentum"]:
            buffer = state["momentum_buffer"]
            buffer[...] = group["momentum"] * buffer + update
            update = buffer
        param -= group["lr"] * update


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): each coordinate's step shrinks with its gradient history.

        s ← s + g²
        θ ← θ − γ·g / (√s + ε)
    """

    def __init__(self, params, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, eps=eps, weight_decay=weight_decay)

    def _new_state(self, param, group):
        return {"sum": np.zeros_like(param)}

    def _update(self, param, grad, state, group):
        s = state["sum"]
        s += grad * grad
        param -= group["lr"] * grad / (np.sqrt(s) + group["eps"])


# name -> (class and its fixed settings, default learning rate). RMSprop's default here is Keras'
# 1e-3: the class keeps PyTorch's 1e-2, which is often too large for a CNN from scratch.
_OPTIMIZERS = {
    "sgd": ((SGD, {}), 0.01),
    "momentum": ((SGD, {"momentum": 0.9}), 0.01),
    "adam": ((Adam, {}), 1e-3),
    "adamw": ((AdamW, {}), 1e-3),
    "rmsprop": ((RMSprop, {}), 1e-3),
    "adagrad": ((Adagrad, {}), 1e-2),
}
OPTIMIZER_NAMES = tuple(_OPTIMIZERS)


def make_optimizer(name: str, params: Iterable[Tensor], lr: float | None = None,
                   weight_decay: float | None = None) -> Optimizer:
    """The optimizer called `name` (sgd, momentum, adam, adamw, rmsprop, adagrad; "momentum" is
    SGD with momentum 0.9), with learning rate `lr` and weight decay `weight_decay`, or that
    optimizer's usual defaults when None (AdamW's decay is decoupled, 0.01 by default; the
    others add λθ to the gradient, 0 by default, as torch.optim does)."""
    key = name.lower()
    if key not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZER_NAMES)}")
    (kind, fixed), default_lr = _OPTIMIZERS[key]
    options = dict(fixed, lr=default_lr if lr is None else lr)
    if weight_decay is not None:
        options["weight_decay"] = weight_decay
    return kind(params, **options)


# torch.optim.lr_scheduler's place: optim.lr_scheduler.StepLR(opt, ...). Imported last, as it
# builds on Optimizer.
from minigrad.engine import lr_scheduler  # noqa: E402,F401
