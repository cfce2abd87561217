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
- Only scratch goes through here: nothing that becomes a Tensor the user can hold (an op's
  output or an input's gradient) is ever a workspace buffer.
- Per owner and role only the newest shape is kept, so a model run at a new batch size frees the
  old size's buffers instead of keeping both.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["take", "give_back", "cached_bytes"]

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
