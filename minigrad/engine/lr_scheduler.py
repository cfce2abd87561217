"""Learning-rate schedulers, PyTorch's formulas and call order:

    scheduler = StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        train_one_epoch(...)          # calls opt.step()
        scheduler.step()              # after the optimizer's step, as in PyTorch
        print(scheduler.get_last_lr())

A scheduler writes each parameter group's "lr" (opt.param_groups[i]["lr"]). Building one sets
the lr of step 0 at once (so the first opt.step() already uses it) and remembers each group's
starting lr as group["initial_lr"], the base rate γ₀ of the formulas below; t counts
scheduler.step() calls.

ReduceLROnPlateau differs: it has no formula in t; step(metric) lowers the lr when the metric
stops improving.
"""

from __future__ import annotations

import bisect
import math

from minigrad.engine.optim import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "OneCycleLR", "ReduceLROnPlateau"]


class LRScheduler:
    """What the epoch-based schedulers share: `last_epoch` (t), the base rates, `step()` and
    `get_last_lr()`. A subclass gives `lr_at(base_lr, t)`, the lr of one group at step t."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs a minigrad Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                               "resuming a scheduler (last_epoch != -1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance t by one and set every group's lr to the schedule's value at t."""
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """Each group's lr as this scheduler last set it."""
        return list(self._last_lr)


class StepLR(LRScheduler):
    """γ = γ₀ · gamma^⌊t / step_size⌋: the lr is multiplied by gamma every step_size steps."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """γ = γ₀ · gamma^(number of milestones ≤ t): multiplied by gamma at each milestone (a
    milestone listed twice counts twice, as in PyTorch)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """γ = γ₀ · gamma^t."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** t


class CosineAnnealingLR(LRScheduler):
    """γ = η_min + (γ₀ − η_min) · (1 + cos(π·t / T_max)) / 2

    Half a cosine from γ₀ down to eta_min over T_max steps; past T_max it climbs back, as
    PyTorch's recursive form does (this closed form gives the same numbers).
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t):
        cosine = math.cos(math.pi * t / self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (1 + cosine) / 2


def _per_group(value, optimizer: Optimizer, name: str) -> list[float]:
    """A setting given once for all groups, or as a list with one value per group."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"expected {groups} values for {name}, got {len(value)}")
        return [float(v) for v in value]
    return [float(value)] * groups


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), PyTorch's version, for total_steps steps
    (or epochs × steps_per_epoch); step() after every batch.

    Two phases (three_phase=False):
        0 → pct_start·total − 1:   lr  max_lr/div_factor → max_lr,    momentum max → base
        then → total − 1:          lr  max_lr → initial/final_div_factor, momentum base → max
    three_phase=True: up as above, back down to max_lr/div_factor symmetrically (by step
    2·pct_start·total − 2), then on to the minimum with momentum held at its maximum.

    Within a phase, at fraction p of it, anneal_strategy "cos" gives
    end + (start − end)·(1 + cos(π·p))/2 and "linear" gives start + (end − start)·p.
    With cycle_momentum (the default) the group's momentum (SGD, RMSprop) or β₁ (Adam) follows
    the opposite curve, from max_momentum down to base_momentum and back.
    """

    def __init__(self, optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if total_steps < 1:
            raise ValueError(f"OneCycleLR: total_steps must be >= 1, got {total_steps}")
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.total_steps = total_steps
        self.anneal = _cosine_anneal if anneal_strategy == "cos" else _linear_anneal
        rise = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [(rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (2 * rise, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                            "max_momentum")]
        else:
            self.phases = [(rise, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (total_steps - 1, "max_lr", "min_lr", "base_momentum",
                            "max_momentum")]
        groups = optimizer.param_groups
        for group, peak in zip(groups, _per_group(max_lr, optimizer, "max_lr")):
            if last_epoch == -1:
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            # Adam's β₁ plays the part of momentum, as in PyTorch.
            self.momentum_key = "beta1" if "beta1" in optimizer.defaults else "momentum"
            if self.momentum_key not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: {type(optimizer).__name__} has no momentum to "
                                 "cycle: pass cycle_momentum=False")
            for group, low, high in zip(groups,
                                        _per_group(base_momentum, optimizer, "base_momentum"),
                                        _per_group(max_momentum, optimizer, "max_momentum")):
                if last_epoch == -1:
                    group[self.momentum_key] = high
                group["base_momentum"], group["max_momentum"] = low, high
        super().__init__(optimizer, last_epoch)

    def step(self) -> None:
        t = self.last_epoch + 1
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times, more than total_steps "
                             f"({self.total_steps})")
        self.last_epoch = t
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr_from, lr_to, momentum_from, momentum_to) in \
                    enumerate(self.phases):
                if t <= end_step or i == len(self.phases) - 1:
                    fraction = (t - start_step) / (end_step - start_step)
                    group["lr"] = self.anneal(group[lr_from], group[lr_to], fraction)
                    if self.cycle_momentum:
                        group[self.momentum_key] = self.anneal(group[momentum_from],
                                                               group[momentum_to], fraction)
                    break
                start_step = end_step
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


def _cosine_anneal(start: float, end: float, fraction: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)


def _linear_anneal(start: float, end: float, fraction: float) -> float:
    return (end - start) * fraction + start


class ReduceLROnPlateau:
    """Lower the lr when a metric has stopped improving: step(metric) once per epoch.

    A value improves on the best so far when (mode "min", threshold_mode "rel") it is below
    best·(1 − threshold), ("min", "abs") below best − threshold, and mirrored for "max".
    After more than `patience` steps without improvement, every group's lr becomes
    max(lr·factor, min_lr) (unless that changes it by no more than eps), and the next
    `cooldown` steps do not count as bad ones.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0.0, eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.min_lrs = _per_group(min_lr, optimizer, "min_lr")
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, value: float, best: float) -> bool:
        if self.mode == "min":
            return value < (best * (1 - self.threshold) if self.threshold_mode == "rel"
                            else best - self.threshold)
        return value > (best * (1 + self.threshold) if self.threshold_mode == "rel"
                        else best + self.threshold)

    def step(self, metric: float) -> None:
        value = float(metric)
        self.last_epoch += 1
        if self.is_better(value, self.best):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs in cooldown are not held against the metric
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)
