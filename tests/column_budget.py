"""Convolution builds its im2col columns a block of images at a time (CACHE_COLUMN_BYTES each),
and keeps them for backward when the batch is one block; a conv of few channels multiplies by
shifts, a block of images at a time too (SHIFTED_BLOCK_BYTES of sums): tests run both ways."""

import contextlib

import minigrad.engine.conv as conv

BUDGETS = [None, 1]  # the default budgets (one block here), and one image per block


@contextlib.contextmanager
def column_budget(budget):
    saved = conv.CACHE_COLUMN_BYTES, conv.COLUMN_BUDGET_BYTES, conv.SHIFTED_BLOCK_BYTES
    if budget is not None:
        conv.CACHE_COLUMN_BYTES = conv.COLUMN_BUDGET_BYTES = conv.SHIFTED_BLOCK_BYTES = budget
    try:
        yield
    finally:
        conv.CACHE_COLUMN_BYTES, conv.COLUMN_BUDGET_BYTES, conv.SHIFTED_BLOCK_BYTES = saved
