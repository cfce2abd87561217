"""Neural-network ops, PyTorch-style (`import minigrad.engine.functional as F`): NCHW layout, conv
weights (F, C, KH, KW), linear weights (out, in).

This module only gathers the ops; each lives, forward beside backward, in the file of its kind:
conv.py (convolutions), pool.py, norm.py, dense.py (linear, flatten, embedding), activation.py
(activations, dropout, softmax), resample.py (upsample, pad, pixel shuffle), loss.py. Conv and the pools are fused primitives with hand-written backward passes:
decomposing them into elementwise ops would be 100-300x slower on numpy.
"""

from minigrad.engine.activation import *  # noqa: F401,F403
from minigrad.engine.conv import *  # noqa: F401,F403
from minigrad.engine.dense import *  # noqa: F401,F403
from minigrad.engine.loss import *  # noqa: F401,F403
from minigrad.engine.norm import *  # noqa: F401,F403
from minigrad.engine.pool import *  # noqa: F401,F403
from minigrad.engine.resample import *  # noqa: F401,F403
