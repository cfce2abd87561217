"""Central finite differences, written independently of minigrad.engine.gradcheck, for the
gradient tests: the oracle every op's backward is compared with."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor

EPS = 1e-6


def numeric_grads(fn, arrays, upstream, wrt=None, eps=EPS):
    """Central differences of sum(fn(*arrays) * upstream) with respect to arrays[i], i in wrt
    (every array when None). fn takes Tensors; it is evaluated under no_grad on copies of the
    arrays, in their own dtypes (float64 for the checks)."""
    arrays = [np.array(a, copy=True) for a in arrays]

    def objective() -> float:
        with mg.no_grad():
            out = fn(*[Tensor(a, dtype=a.dtype) for a in arrays])
        return float(np.sum(np.asarray(out.data, dtype=np.float64) * upstream))

    grads = []
    for i in range(len(arrays)) if wrt is None else wrt:
        a = arrays[i]
        g = np.zeros(a.shape, dtype=np.float64)
        for idx in np.ndindex(a.shape):
            original = a[idx]
            a[idx] = original + eps
            plus = objective()
            a[idx] = original - eps
            minus = objective()
            a[idx] = original
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads
