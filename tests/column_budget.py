"""Convolution builds its im2col columns for the whole batch at once, or one slice of the batch
at a time when they would exceed a memory budget: tests run both paths."""

import contextlib

import minigrad.engine.functional as F

BUDGETS = [None, 1]  # the default budget (one block here), and one image per block


@contextlib.contextmanager
def column_budget(budget):
    saved = F.COLUMN_BUDGET_BYTES
    if budget is not None:
        F.COLUMN_BUDGET_BYTES = budget
    try:
        yield
    finally:
        F.COLUMN_BUDGET_BYTES = saved
