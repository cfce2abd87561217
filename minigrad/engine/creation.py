"""Tensor constructors with PyTorch's names and conventions: sizes as `zeros(2, 3)` or
`zeros((2, 3))`, float32 by default, `dtype=` and `requires_grad=` keywords. The random ones draw
from the shared generator (minigrad.engine.rng), so `manual_seed` makes them repeatable."""

from __future__ import annotations

import numpy as np

from minigrad.engine.rng import generator
from minigrad.engine.tensor import Tensor

__all__ = ["tensor", "zeros", "ones", "full", "empty", "randn", "rand", "randint", "arange",
           "linspace", "eye", "zeros_like", "ones_like", "full_like", "randn_like", "rand_like"]

DEFAULT_FLOAT = np.float32


def _size(size: tuple) -> tuple[int, ...]:
    """zeros(2, 3), zeros((2, 3)) and zeros([2, 3]) all mean the shape (2, 3)."""
    if len(size) == 1 and not np.isscalar(size[0]):
        size = tuple(size[0])
    return tuple(int(n) for n in size)


def _make(array: np.ndarray, dtype, requires_grad: bool) -> Tensor:
    return Tensor(array, requires_grad=requires_grad, dtype=dtype or array.dtype)


def _inferred_dtype(value) -> np.dtype:
    """PyTorch's choice for Python data: bools stay bool, integers become int64, any float makes
    the default float32. numpy arrays keep their dtype."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype
    kind = np.asarray(value).dtype.kind
    return {"b": np.dtype(bool), "i": np.dtype(np.int64), "u": np.dtype(np.int64)}.get(
        kind, np.dtype(DEFAULT_FLOAT))


def tensor(data, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """torch.tensor: a new tensor holding a COPY of data (a list, number, array or Tensor)."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, dtype=dtype or _inferred_dtype(data), copy=True)
    return Tensor(array, requires_grad=requires_grad, dtype=array.dtype)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_size(size), dtype=dtype or DEFAULT_FLOAT), dtype, requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_size(size), dtype=dtype or DEFAULT_FLOAT), dtype, requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uninitialised memory, as torch.empty: fill it before reading it."""
    return _make(np.empty(_size(size), dtype=dtype or DEFAULT_FLOAT), dtype, requires_grad)


def full(size, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """Every element fill_value; the dtype follows it (int -> int64, float -> float32)."""
    dtype = dtype or _inferred_dtype(fill_value)
    return _make(np.full(_size((size,)), fill_value, dtype=dtype), dtype, requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    dtype = np.dtype(dtype or DEFAULT_FLOAT)
    return _make(generator().standard_normal(_size(size), dtype=dtype), dtype, requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    dtype = np.dtype(dtype or DEFAULT_FLOAT)
    return _make(generator().random(_size(size), dtype=dtype), dtype, requires_grad)


def randint(low, high=None, size=None, *, dtype=None) -> Tensor:
    """torch.randint(high, size) or randint(low, high, size): integers in [low, high), int64."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: give a size, e.g. randint(10, (2, 3))")
    values = generator().integers(low, high, size=_size((size,)))
    return Tensor(values, dtype=dtype or np.int64)


def arange(start, end=None, step=1, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below end (arange(n): 0 .. n−1). Integers unless any argument is
    a float, as torch."""
    if end is None:
        start, end = 0, start
    floating = any(isinstance(v, (float, np.floating)) for v in (start, end, step))
    dtype = dtype or (DEFAULT_FLOAT if floating else np.int64)
    return _make(np.arange(start, end, step, dtype=dtype), dtype, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """steps evenly spaced values from start to end, both included."""
    return _make(np.linspace(start, end, steps, dtype=dtype or DEFAULT_FLOAT), dtype, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """The n×m identity matrix (n×n by default)."""
    return _make(np.eye(n, m, dtype=dtype or DEFAULT_FLOAT), dtype, requires_grad)


def zeros_like(input: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return ones(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return randn(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def rand_like(input: Tensor, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return rand(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
