"""Layers as objects that own their parameters, PyTorch-style (`import minigrad.engine.nn as nn`).

A `Module` notices the `Parameter`s and sub-`Module`s assigned to its attributes, so
`named_parameters()` finds every weight under a dotted name ("0.weight", "3.running_mean"), and
`state_dict()` / `load_state_dict()` save and restore them. Each layer computes with the ops of
`minigrad.engine.functional`; the sizes of its outputs come from there (and so from `minigrad.layers.shapes`).

One file per kind, as in the engine: module.py (Module, Parameter, Sequential), conv.py,
dense.py, norm.py, pool.py, activation.py, resample.py, loss.py, shape.py
(reshapes, merges), graph.py (GraphModel, a model whose layers form a graph), plan.py (how
Sequential and GraphModel run their modules: rewrites that compute the same values with less work).

Every layer also knows the `minigrad.layers` kind it corresponds to (`.layer()`), which is how
`Sequential.summary()` prints the same table as `cnncalc shapes`.
"""

from minigrad.engine.nn.activation import *  # noqa: F401,F403
from minigrad.engine.nn.conv import *  # noqa: F401,F403
from minigrad.engine.nn.dense import *  # noqa: F401,F403
from minigrad.engine.nn.graph import *  # noqa: F401,F403
from minigrad.engine.nn.loss import *  # noqa: F401,F403
from minigrad.engine.nn.module import *  # noqa: F401,F403
from minigrad.engine.nn.norm import *  # noqa: F401,F403
from minigrad.engine.nn.pool import *  # noqa: F401,F403
from minigrad.engine.nn.resample import *  # noqa: F401,F403
from minigrad.engine.nn.shape import *  # noqa: F401,F403
