"""Loss modules, PyTorch's names: each holds its options and calls the loss of minigrad.engine.loss."""

from __future__ import annotations

__all__: list[str] = []
