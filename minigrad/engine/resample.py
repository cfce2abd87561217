"""Resampling ops: upsampling, padding and pixel shuffle, forward beside backward."""

from __future__ import annotations

__all__: list[str] = []
