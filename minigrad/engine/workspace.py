"""Scratch buffers that outlive one call: the large work arrays of a training step (im2col
columns, their gradient, padded inputs) are taken from here and given back, instead of being
allocated anew by every call.

Why: a conv layer's columns are tens of megabytes, above glibc's mmap threshold, so a fresh
np.empty is mapped, faulted in and zeroed page by page by the kernel, then unmapped again at the
end of the step. That page traffic cost about a quarter of a small CNN's training step; a buffer
kept from the last step is already mapped.

Rules that keep reuse safe:
- Buffers belong to an owner (a persistent object of the op site, e.g. the conv layer's weight
  tensor), so two models, or two layers, never share one. When the owner is garbage collected its
  buffers go with it (weakref.finalize).
- `take` hands a buffer out; it is the caller's alone until `give_back`. A graph that is built
  twice before one backward (two forwards, one summed loss) takes two buffers, never one twice.
  A buffer whose op is dropped without backward is simply garbage collected with the op.
- Per owner and role only the newest shape is kept, so a model run at a new batch size frees the
  old size's buffers instead of keeping both.

Op results (outputs and gradients) become tensors that anyone may hold, so they are never
scratch: `result_array` hands out an array again only once nothing but this module refers to it
(see there), which spares them the page faults too.
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections import OrderedDict

import numpy as np

__all__ = ["take", "give_back", "cached_bytes", "result_array", "result_like", "clear"]

# id(owner) -> {role: [free buffers of the role's newest shape and dtype]}
_free: dict[int, dict[str, list[np.ndarray]]] = {}

# A role needs at most this many free buffers: one per graph alive at once in a plain loop,
# and a second for the step whose forward runs while the last step's graph is still alive.
_KEEP_PER_ROLE = 2


def _forget(owner_id: int) -> None:
    _free.pop(owner_id, None)


def take(owner, role: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of `shape` and `dtype` for `owner`'s `role`: a kept one if there is
    one free, else a new one. Give it back with give_back(owner, role, buffer) when done."""
    shape, dtype = tuple(shape), np.dtype(dtype)
    roles = _free.get(id(owner))
    if roles is None:
        roles = _free[id(owner)] = {}
        weakref.finalize(owner, _forget, id(owner))
    kept = roles.get(role, [])
    if kept and kept[-1].shape == shape and kept[-1].dtype == dtype:
        return kept.pop()
    return np.empty(shape, dtype=dtype)


def give_back(owner, role: str, buffer: np.ndarray) -> None:
    """Return a buffer from take(): it may be handed out again by the next take()."""
    roles = _free.get(id(owner))
    if roles is None:  # the owner was collected meanwhile: the buffer simply goes
        return
    kept = roles.setdefault(role, [])
    if kept and (kept[-1].shape != buffer.shape or kept[-1].dtype != buffer.dtype):
        kept.clear()  # a new batch size or dtype: the old buffers are not wanted any more
    if len(kept) < _KEEP_PER_ROLE:
        kept.append(buffer)


def cached_bytes(owner=None) -> int:
    """Bytes of free buffers kept, for one owner or for all (tests and curious readers)."""
    owners = _free.values() if owner is None else [_free.get(id(owner), {})]
    return sum(b.nbytes for roles in owners for kept in roles.values() for b in kept)


# -- results --------------------------------------------------------------------------------
# Arrays handed out as op results (outputs and gradients, which become tensors that anyone may
# hold), by (shape, dtype), most recently wanted last. One is handed out again only when the
# list here is its last reference: CPython counts references, and every tensor, view (a numpy
# view refers to its base array) or variable that could still see it would be one more.
_results: OrderedDict[tuple, list[np.ndarray]] = OrderedDict()

# Above this many bytes tracked, the least recently wanted shapes are forgotten (their arrays
# then live and die as ordinary arrays), so a model run at many batch sizes does not pile up.
RESULT_BUDGET_BYTES = 256 * 2**20


def result_array(shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array for an op's result: a recycled one that nothing refers to any
    more, else a new one. The op must write every element."""
    key = (tuple(shape), np.dtype(dtype))
    kept = _results.get(key)
    if kept is None:
        kept = _results[key] = []
    _results.move_to_end(key)
    for array in kept:
        if sys.getrefcount(array) == 3:  # the list, `array` here and getrefcount's argument
            return array
    array = np.empty(key[0], dtype=key[1])
    kept.append(array)
    while sum(a.nbytes for arrays in _results.values() for a in arrays) > RESULT_BUDGET_BYTES \
            and len(_results) > 1:
        _results.popitem(last=False)
    return array


def result_like(template: np.ndarray, dtype=None) -> np.ndarray:
    """result_array laid out in memory as template is (np.empty_like's rule): the result of a
    ReLU after a conv stays filter-major, as the conv's output is."""
    dtype = template.dtype if dtype is None else dtype
    if template.flags.c_contiguous:  # the common case, without sorting the strides
        return result_array(template.shape, dtype)
    memory_shape, axes = _memory_layout(template.shape, template.strides)
    return result_array(memory_shape, dtype).transpose(axes)


@functools.lru_cache(maxsize=1024)
def _memory_layout(shape: tuple[int, ...], strides: tuple[int, ...]):
    """The shape of an array's axes in memory order (largest stride first) and the axes that
    view such a C-contiguous array as the given one. Remembered per layout: a step meets the
    same few layouts again and again, and working them out (a sort and an inverse) took 9 µs
    of a call's 11 (mobilenet-mini asks 76 times a step)."""
    in_memory = sorted(range(len(shape)), key=lambda axis: -abs(strides[axis]))
    axes = [0] * len(shape)
    for position, axis in enumerate(in_memory):
        axes[axis] = position
    return tuple(shape[axis] for axis in in_memory), tuple(axes)


def clear() -> None:
    """Forget every kept buffer and result array (e.g. after training, to give the memory back
    before the process ends): arrays still in use live on as ordinary arrays."""
    for roles in _free.values():
        roles.clear()
    _results.clear()
