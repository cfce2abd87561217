"""Write tests/engine_goldens/losses.npz: PyTorch's losses and gradients (float64) for every
loss of minigrad.engine.loss and every option, on fixed random inputs.

Run by hand (never in the default test run), with torch 2.13.0 installed:

    python tests/engine_goldens/make_losses.py

For each configuration "<name>" the file holds "<name>.options" (a JSON text: the loss's name
and its keyword options other than arrays), the arrays "<name>.input", "<name>.target",
optionally "<name>.weight" / "<name>.pos_weight", "<name>.upstream" (the gradient fed to
backward: random for reduction='none', 1 otherwise), and torch's "<name>.output",
"<name>.grad_input" and, for float targets, "<name>.grad_target".
tests/test_losses.py replays each configuration with minigrad and compares to 1e-10.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("losses.npz")
SEED = 20251201


def class_problem(rng, shape, ignore=None, ignore_rate=0.0):
    """Logits of `shape` (N, K, ...) and integer labels, some set to `ignore`."""
    logits = rng.standard_normal(shape) * 2
    target_shape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    target = rng.integers(0, shape[1] if len(shape) > 1 else shape[0], size=target_shape)
    if ignore is not None:
        target = np.where(rng.random(target_shape) < ignore_rate, ignore, target)
    return logits, target


# name -> (loss, input shape, options); "weight" / "pos_weight" True means a random array.
CONFIGS = {
    "ce_basic": ("cross_entropy", (5, 4), {}),
    "ce_weight": ("cross_entropy", (6, 3), {"weight": True}),
    "ce_ignore": ("cross_entropy", (8, 4), {"ignore_index": -100}),
    "ce_ignore_custom_weight": ("cross_entropy", (8, 4), {"ignore_index": 2, "weight": True}),
    "ce_smoothing": ("cross_entropy", (5, 4), {"label_smoothing": 0.1}),
    "ce_smoothing_weight_ignore": ("cross_entropy", (9, 5), {"label_smoothing": 0.2,
                                                             "weight": True, "ignore_index": -1}),
    "ce_sum": ("cross_entropy", (5, 4), {"reduction": "sum"}),
    "ce_sum_weight_ignore": ("cross_entropy", (7, 3), {"reduction": "sum", "weight": True,
                                                       "ignore_index": 0}),
    "ce_none": ("cross_entropy", (5, 4), {"reduction": "none"}),
    "ce_none_weight_smoothing": ("cross_entropy", (6, 4), {"reduction": "none", "weight": True,
                                                           "label_smoothing": 0.3}),
    "ce_kd": ("cross_entropy", (3, 4, 2, 3), {}),
    "ce_kd_all_options": ("cross_entropy", (2, 3, 4), {"weight": True, "ignore_index": 1,
                                                       "label_smoothing": 0.15,
                                                       "reduction": "sum"}),
    "ce_kd_none": ("cross_entropy", (2, 5, 3), {"reduction": "none", "weight": True}),
    "ce_one_sample": ("cross_entropy", (6,), {}),
    "nll_basic": ("nll_loss", (5, 4), {}),
    "nll_weight_ignore": ("nll_loss", (8, 3), {"weight": True, "ignore_index": 1}),
    "nll_none": ("nll_loss", (5, 4), {"reduction": "none"}),
    "nll_kd_sum_weight": ("nll_loss", (2, 3, 2, 2), {"reduction": "sum", "weight": True}),
    "bce_mean": ("binary_cross_entropy", (4, 3), {}),
    "bce_weight_none": ("binary_cross_entropy", (4, 3), {"weight": True, "reduction": "none"}),
    "bce_sum": ("binary_cross_entropy", (2, 3, 2), {"reduction": "sum"}),
    "bcel_mean": ("binary_cross_entropy_with_logits", (4, 3), {}),
    "bcel_pos_weight": ("binary_cross_entropy_with_logits", (4, 3), {"pos_weight": True}),
    "bcel_weight_pos_weight_none": ("binary_cross_entropy_with_logits", (3, 4),
                                    {"weight": True, "pos_weight": True, "reduction": "none"}),
    "bcel_large_logits_sum": ("binary_cross_entropy_with_logits", (5, 2), {"reduction": "sum",
                                                                           "scale": 40.0}),
    "l1_mean": ("l1_loss", (3, 4), {}),
    "l1_none": ("l1_loss", (2, 3, 2), {"reduction": "none"}),
    "smooth_l1_mean": ("smooth_l1_loss", (4, 5), {}),
    "smooth_l1_beta_none": ("smooth_l1_loss", (4, 5), {"beta": 0.5, "reduction": "none"}),
    "smooth_l1_beta0_sum": ("smooth_l1_loss", (3, 3), {"beta": 0.0, "reduction": "sum"}),
    "huber_mean": ("huber_loss", (4, 5), {}),
    "huber_delta_none": ("huber_loss", (4, 5), {"delta": 2.0, "reduction": "none"}),
    "huber_delta_sum": ("huber_loss", (3, 3), {"delta": 0.3, "reduction": "sum"}),
    "mse_mean": ("mse_loss", (3, 4), {}),
    "mse_sum": ("mse_loss", (2, 3, 2), {"reduction": "sum"}),
    "mse_none": ("mse_loss", (5,), {"reduction": "none"}),
}


def main() -> None:
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(SEED)
    out = {}
    for name, (loss, shape, options) in CONFIGS.items():
        options = dict(options)
        scale = options.pop("scale", 2.0)
        arrays = {}
        if loss in ("cross_entropy", "nll_loss"):
            ignore = options.get("ignore_index", -100)
            x, target = class_problem(rng, shape, ignore, 0.3 if "ignore_index" in options else 0)
            if loss == "nll_loss":
                x = torch.log_softmax(torch.tensor(x), dim=1 if len(shape) > 1 else 0).numpy()
            k = shape[1] if len(shape) > 1 else shape[0]
            if options.get("weight"):
                arrays["weight"] = rng.uniform(0.2, 2.0, size=k)
        else:
            x = rng.standard_normal(shape) * scale
            target = rng.standard_normal(shape)
            if loss == "binary_cross_entropy":
                x = rng.uniform(0.02, 0.98, size=shape)
            if loss.startswith("binary"):
                target = rng.uniform(0, 1, size=shape)
            if options.get("weight"):
                arrays["weight"] = rng.uniform(0.2, 2.0, size=shape[-1:])
            if options.get("pos_weight"):
                arrays["pos_weight"] = rng.uniform(0.5, 3.0, size=shape[-1:])
        kwargs = {k: v for k, v in options.items() if k not in arrays}
        x_t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        float_target = target.dtype.kind == "f"
        t_t = torch.tensor(target, requires_grad=float_target)
        extra = {k: torch.tensor(v, dtype=torch.float64) for k, v in arrays.items()}
        result = getattr(F, loss)(x_t, t_t, **kwargs, **extra)
        upstream = (rng.standard_normal(result.shape) if options.get("reduction") == "none"
                    else np.ones(result.shape))
        result.backward(torch.tensor(upstream))
        record = {"input": x, "target": target, "upstream": upstream,
                  "output": result.detach().numpy(), "grad_input": x_t.grad.numpy(), **arrays}
        if float_target:
            record["grad_target"] = t_t.grad.numpy()
        out[f"{name}.options"] = np.array(json.dumps({"loss": loss, **kwargs}))
        out.update({f"{name}.{key}": np.asarray(value) for key, value in record.items()})
    np.savez_compressed(OUT, **out)
    print(f"wrote {len(CONFIGS)} configurations to {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
