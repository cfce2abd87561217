"""Resampling modules: upsampling, padding and pixel shuffle."""

from __future__ import annotations

__all__: list[str] = []
