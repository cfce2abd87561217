"""Convolution builds its im2col columns for the whole batch at once, or one slice of the batch
at a time when they would exceed a memory budget: tests run both paths."""

import contextlib

import minigrad.engine.conv as conv

BUDGETS = [None, 1]  # the default budget (one block here), and one image per block


@contextlib.contextmanager
def column_budget(budget):
    saved = conv.COLUMN_BUDGET_BYTES
    if budget is not None:
        conv.COLUMN_BUDGET_BYTES = budget
    try:
        yield
    finally:
        conv.COLUMN_BUDGET_BYTES = saved
