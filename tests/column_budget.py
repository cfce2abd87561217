"""Convolution builds its im2col columns a block of images at a time (CACHE_COLUMN_BYTES each),
and keeps them for backward when the batch is one block: tests run both paths."""

import contextlib

import minigrad.engine.conv as conv

BUDGETS = [None, 1]  # the default budget (one block here), and one image per block


@contextlib.contextmanager
def column_budget(budget):
    saved = conv.CACHE_COLUMN_BYTES, conv.COLUMN_BUDGET_BYTES
    if budget is not None:
        conv.CACHE_COLUMN_BYTES = conv.COLUMN_BUDGET_BYTES = budget
    try:
        yield
    finally:
        conv.CACHE_COLUMN_BYTES, conv.COLUMN_BUDGET_BYTES = saved
