"""Write tests/engine_goldens/optim.npz: what torch.optim and torch.optim.lr_scheduler do
(float64) with fixed parameters, gradients and metric values.

Run by hand (never in the default test run), with torch 2.13.0 installed:

    python tests/engine_goldens/make_optim.py

Shared arrays: "param.<i>" (three parameters: (3, 4), (5,) and a 0-d one) and "grads.<i>"
(20 gradients of each, stacked). Optimizers: for each configuration "optim.<name>", a JSON text
".options" ({"optimizer", "options", "groups" or null, "skip"}: with "skip" k, parameter 1 has no
gradient on every k-th step) and the parameters after 20 steps, ".final.<i>".
Schedulers: for each "sched.<name>", a JSON text ".options" ({"scheduler", "options",
"optimizer", "optimizer_options", "lrs" of the two groups, "metrics" for ReduceLROnPlateau})
and ".lr" (31 × 2: the lrs after construction and after each of 30 steps), plus ".momentum"
(the momentum or β₁ of each group) for OneCycleLR.
tests/test_optim_schedules.py replays everything with minigrad and compares to 1e-10.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("optim.npz")
STEPS, SCHEDULE_STEPS = 20, 30
SHAPES = [(3, 4), (5,), ()]

# name -> (torch.optim class, options, groups (lists of parameter indices with settings) or
# None for one group of all parameters, skip).
OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.1}, None, 0),
    "sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}, None, 0),
    "sgd_dampening": ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}, None, 0),
    "sgd_nesterov_decay": ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True,
                                   "weight_decay": 0.01}, None, 0),
    "sgd_maximize_skip": ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}, None, 3),
    "adam": ("Adam", {"lr": 0.01}, None, 0),
    "adam_decay_betas": ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1}, None,
                         0),
    "adam_amsgrad": ("Adam", {"lr": 0.01, "amsgrad": True}, None, 0),
    "adam_maximize_skip": ("Adam", {"lr": 0.01, "maximize": True}, None, 4),
    "adamw": ("AdamW", {"lr": 0.01, "weight_decay": 0.1}, None, 0),
    "adamw_default_decay": ("AdamW", {"lr": 0.01}, None, 0),
    "adamw_amsgrad_skip": ("AdamW", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.05}, None, 3),
    "rmsprop": ("RMSprop", {"lr": 0.01}, None, 0),
    "rmsprop_centered": ("RMSprop", {"lr": 0.01, "centered": True}, None, 0),
    "rmsprop_momentum": ("RMSprop", {"lr": 0.01, "momentum": 0.5}, None, 0),
    "rmsprop_all": ("RMSprop", {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.7,
                                "weight_decay": 0.01}, None, 0),
    "adagrad": ("Adagrad", {"lr": 0.1, "weight_decay": 0.01}, None, 0),
    "sgd_two_groups": ("SGD", {"lr": 0.05, "momentum": 0.9},
                       [{"params": [0], "lr": 0.1, "weight_decay": 0.01},
                        {"params": [1, 2]}], 0),
    "adam_two_groups": ("Adam", {"lr": 0.01},
                        [{"params": [0, 2], "weight_decay": 0.1},
                         {"params": [1], "lr": 0.03, "betas": (0.5, 0.9)}], 0),
    "adamw_two_groups": ("AdamW", {"lr": 0.01, "weight_decay": 0.2},
                         [{"params": [1], "lr": 0.05, "weight_decay": 0.0},
                          {"params": [0, 2]}], 0),
    "rmsprop_two_groups": ("RMSprop", {"lr": 0.01, "momentum": 0.3},
                           [{"params": [2], "centered": True}, {"params": [0, 1], "lr": 0.02,
                                                                "weight_decay": 0.05}], 0),
}

METRICS = [1.0, 0.9, 0.85, 0.86, 0.849, 0.85, 0.87, 0.8, 0.8, 0.8, 0.8, 0.79, 0.7999, 0.81, 0.6,
           0.6, 0.6, 0.6, 0.6, 0.6, 0.5, 0.55, 0.56, 0.57, 0.58, 0.59, 0.4, 0.41, 0.42, 0.43]

# name -> (scheduler, options, optimizer, optimizer options); two groups, lr 0.1 and 0.05.
SCHEDULERS = {
    "step": ("StepLR", {"step_size": 7, "gamma": 0.5}, "SGD", {}),
    "multistep": ("MultiStepLR", {"milestones": [5, 12, 12, 20], "gamma": 0.3}, "SGD", {}),
    "exponential": ("ExponentialLR", {"gamma": 0.9}, "SGD", {}),
    "cosine": ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}, "SGD", {}),
    "cosine_short": ("CosineAnnealingLR", {"T_max": 7}, "SGD", {}),
    "onecycle_sgd": ("OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": 30}, "SGD",
                     {"momentum": 0.9}),
    "onecycle_linear_three_phase": ("OneCycleLR", {"max_lr": 0.8, "total_steps": 30,
                                                   "anneal_strategy": "linear",
                                                   "three_phase": True, "div_factor": 10.0,
                                                   "final_div_factor": 100.0, "pct_start": 0.4,
                                                   "base_momentum": 0.8, "max_momentum": 0.9},
                                    "SGD", {"momentum": 0.9}),
    "onecycle_adam": ("OneCycleLR", {"max_lr": 0.01, "epochs": 3, "steps_per_epoch": 10,
                                     "pct_start": 0.25}, "Adam", {}),
    "onecycle_no_momentum": ("OneCycleLR", {"max_lr": 0.3, "total_steps": 30,
                                            "cycle_momentum": False, "three_phase": True},
                             "Adagrad", {}),
    "plateau_min_rel": ("ReduceLROnPlateau", {"patience": 2, "cooldown": 1, "min_lr": 0.004,
                                              "factor": 0.5}, "SGD", {}),
    "plateau_max_abs": ("ReduceLROnPlateau", {"mode": "max", "threshold_mode": "abs",
                                              "threshold": 0.05, "patience": 1, "factor": 0.3,
                                              "min_lr": [0.0, 0.01]}, "SGD", {}),
    "plateau_min_abs_default": ("ReduceLROnPlateau", {"threshold_mode": "abs", "patience": 0},
                                "SGD", {}),
}


def problem() -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(20251201)
    params = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [rng.standard_normal((STEPS,) + shape) for shape in SHAPES]
    return params, grads


def main() -> None:
    import torch

    params, grads = problem()
    out = {f"param.{i}": p for i, p in enumerate(params)}
    out.update({f"grads.{i}": g for i, g in enumerate(grads)})
    for name, (cls, options, groups, skip) in OPTIMIZERS.items():
        tensors = [torch.tensor(p, requires_grad=True) for p in params]
        spec = tensors if groups is None else [
            {**group, "params": [tensors[i] for i in group["params"]]} for group in groups]
        opt = getattr(torch.optim, cls)(spec, **options)
        for step in range(STEPS):
            opt.zero_grad()
            for i, t in enumerate(tensors):
                if not (i == 1 and skip and step % skip == 0):
                    t.grad = torch.tensor(grads[i][step])
            opt.step()
        out[f"optim.{name}.options"] = np.array(json.dumps(
            {"optimizer": cls, "options": options, "groups": groups, "skip": skip}))
        for i, t in enumerate(tensors):
            out[f"optim.{name}.final.{i}"] = t.detach().numpy().copy()

    for name, (cls, options, optimizer, optimizer_options) in SCHEDULERS.items():
        weights = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
        lrs = [0.1, 0.05]
        opt = getattr(torch.optim, optimizer)(
            [{"params": [w], "lr": lr} for w, lr in zip(weights, lrs)], **optimizer_options)
        scheduler = getattr(torch.optim.lr_scheduler, cls)(opt, **options)
        momentum_key = "betas" if optimizer == "Adam" else "momentum"

        def momenta():
            return [g[momentum_key][0] if momentum_key == "betas" else g.get(momentum_key, 0.0)
                    for g in opt.param_groups]
        history, momentum = [scheduler.get_last_lr()], [momenta()]
        for step in range(SCHEDULE_STEPS):
            opt.step()
            if cls == "ReduceLROnPlateau":
                scheduler.step(METRICS[step])
            else:
                scheduler.step()
            history.append(scheduler.get_last_lr())
            momentum.append(momenta())
        out[f"sched.{name}.options"] = np.array(json.dumps(
            {"scheduler": cls, "options": options, "optimizer": optimizer,
             "optimizer_options": optimizer_options, "lrs": lrs, "metrics": METRICS}))
        out[f"sched.{name}.lr"] = np.array(history, dtype=np.float64)
        if cls == "OneCycleLR":
            out[f"sched.{name}.momentum"] = np.array(momentum, dtype=np.float64)
    np.savez_compressed(OUT, **out)
    print(f"wrote {len(OPTIMIZERS)} optimizers and {len(SCHEDULERS)} schedulers to {OUT} "
          f"({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
