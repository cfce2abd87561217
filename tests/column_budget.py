"""Convolution builds its im2col columns a block of images at a time (CACHE_COLUMN_BYTES each),
and keeps them for backward when the batch is one block; a conv of few channels on a large map
multiplies by shifts instead, a block of images at a time too (SHIFTED_BLOCK_BYTES of sums).
Tests run every way: the default budgets (one block here; the tests' small maps by columns),
and one image per block with every few-channel conv by shifts, whatever its map's size."""

import contextlib

import minigrad.engine.conv as conv

BUDGETS = [None, 1]

_SETTINGS = ("CACHE_COLUMN_BYTES", "COLUMN_BUDGET_BYTES", "SHIFTED_BLOCK_BYTES",
             "SHIFTED_MIN_PIXELS")


@contextlib.contextmanager
def column_budget(budget):
    saved = {name: getattr(conv, name) for name in _SETTINGS}
    if budget is not None:
        for name in _SETTINGS:
            setattr(conv, name, budget)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(conv, name, value)
