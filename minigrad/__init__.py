"""minigrad: a small tensor autograd engine for learning how CNNs compute and learn.

    import minigrad
    import minigrad.functional as F

- `minigrad.Tensor`, `minigrad.no_grad()`: arrays that record the ops applied to them, and
  `backward()` to differentiate them.
- `minigrad.functional`: conv2d, pools, linear, activations, softmax, losses (PyTorch names).
- `minigrad.gradcheck`: compare analytic gradients with finite differences.
- `minigrad.print_graph` / `minigrad.to_dot`: see the graph behind a result.
- `minigrad.nn`, `minigrad.optim`: PyTorch-style modules and optimizers; `minigrad.build`: a
  model from any description `cnncalc shapes` reads; `minigrad.data`, `minigrad.datasets`:
  loaders, MNIST / Fashion-MNIST and a synthetic shapes set; `minigrad.train`: the training loop;
  `minigrad.modelfile`: saved models (.npz); `minigrad.metrics`: classification report.
- `minigrad.shapes`: the layer arithmetic (output sizes, parameters, receptive fields, cost);
  `minigrad.spec`: reads model descriptions (layer language, pasted Keras or PyTorch, presets).
"""

from . import functional, nn, optim
from .errors import SpecError
from .gradcheck import GradcheckResult, gradcheck
from .graph import print_graph, to_dot, tree
from .rng import manual_seed
from .layers import Network, analyze
from .shapes import Summary
from .tensor import Function, Tensor, is_grad_enabled, no_grad

__all__ = ["Function", "GradcheckResult", "Network", "SpecError", "Summary", "Tensor", "analyze",
           "functional", "gradcheck", "nn", "optim", "is_grad_enabled", "manual_seed", "no_grad", "print_graph",
           "to_dot", "tree"]
