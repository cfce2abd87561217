"""minigrad: a small tensor autograd engine for learning how CNNs compute and learn.

    from minigrad import Tensor, functional as F, nn, optim

The package has four parts, one folder each:
- `minigrad.engine`: `Tensor` and `no_grad()` (tensor.py, tensor_ops.py, creation.py), the ops
  with their derivatives (one file per kind, gathered as functional.py with PyTorch's names),
  modules (nn/), optimizers and schedules (optim.py, lr_scheduler.py), `gradcheck` and
  `print_graph` / `to_dot`.
- `minigrad.layers`: the layer math, one small definition per layer kind (output shape,
  parameters, receptive field, MACs), the layer graph, its analysis and the summary report.
- `minigrad.readers`: reads a model description — the layer language, pasted PyTorch or Keras
  code (a class, a whole script, a notebook; interpreted, never run) or a preset — into a
  layer graph: `load_spec`, `parse_spec`.
- `minigrad.tools`: the model builder, the training loop, data loaders and datasets, saved model
  files and the classification report.

Names are loaded when first used, so reading a model does not import numpy.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Tensor": "minigrad.engine.tensor", "Function": "minigrad.engine.tensor",
    "no_grad": "minigrad.engine.tensor", "is_grad_enabled": "minigrad.engine.tensor",
    "gradcheck": "minigrad.engine.gradcheck", "GradcheckResult": "minigrad.engine.gradcheck",
    "print_graph": "minigrad.engine.graph", "to_dot": "minigrad.engine.graph",
    "tree": "minigrad.engine.graph", "manual_seed": "minigrad.engine.rng",
    "SpecError": "minigrad.errors", "Network": "minigrad.layers", "analyze": "minigrad.layers",
    "Summary": "minigrad.layers.shapes",
    **{name: "minigrad.engine.creation" for name in (
        "tensor", "zeros", "ones", "full", "empty", "randn", "rand", "randint", "arange",
        "linspace", "eye", "zeros_like", "ones_like", "full_like", "randn_like", "rand_like")},
    **{name: "minigrad.engine.tensor_ops" for name in (
        "cat", "stack", "split", "where", "maximum", "minimum")},
}
_MODULES = {"functional": "minigrad.engine.functional", "nn": "minigrad.engine.nn",
            "optim": "minigrad.engine.optim"}

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
