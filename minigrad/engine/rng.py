"""The one random generator behind dropout masks, weight initialisation and shuffling, so a
single seed makes a whole run repeatable."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Restart the shared generator from `seed`."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _generator
