"""The engine's own threads: large matrix products and copies split into parts that run at once.

numpy lets go of the GIL inside BLAS calls, copies and ufunc loops, so Python threads that each
run one part of a large product or copy run on separate cores. Why not OpenBLAS's own threads:
they cover the products only, and after each product its workers spin for about 0.1 s waiting for
more, holding the second core while im2col, col2im and the pools run on the first. Measured on
2 cores (benchmarks/engine_threads.py): splitting im2col of mnist-cnn's big conv over two threads
takes it from 3.6 to 1.7 ms, but right after a 2-thread OpenBLAS product it takes 3.4 ms. So
while the engine runs threads of its own, OpenBLAS is held at one, and each part's product is a
one-thread call.

    with parallel.threads(2):        # or set_threads(2), from then on
        model(x)

Without either, the engine runs on one thread of its own and OpenBLAS keeps its own setting.
Small work is not split (MIN_PART_VALUES, MIN_PART_MACS): waking the engine's thread costs 25 µs
right after its last part and 0.2-0.3 ms after a millisecond or more idle, as between the convs
of a batch-1 call.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["threads", "set_threads", "get_threads", "parts", "run", "matmul"]

# A part is worth a thread's wake-up only above these sizes. A product split in two gains
# from about 16M multiply-adds on (benchmarks/engine_threads.py: 14.5M 0.81×, 21.7M 1.18×).
MIN_PART_VALUES = 1 << 17   # values copied or combined: 512 kB of float32
MIN_PART_MACS = 1 << 23     # multiply-adds of a product

_threads = 1
_pool: ThreadPoolExecutor | None = None
_part = threading.local()  # .running: this thread is running a part of run(); it splits no more
_blas_limit = None  # the threadpoolctl limit holding OpenBLAS at one thread, once taken


def get_threads() -> int:
    """The number of threads the engine splits its large work over."""
    return _threads


def set_threads(n: int) -> None:
    """Run the engine's large products and copies on n threads (n ≥ 1), from now on. OpenBLAS
    is held at one thread from the first call on: each part of a product is one BLAS call."""
    global _blas_limit
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads must be a positive int, got {n!r}")
    if _blas_limit is None:
        from threadpoolctl import threadpool_limits
        _blas_limit = threadpool_limits(limits=1, user_api="blas")
    _resize_pool(n)


@contextlib.contextmanager
def threads(n: int):
    """set_threads(n) inside a with block; after it, the engine's thread count and OpenBLAS's
    setting are what they were before."""
    global _blas_limit
    before, held_before = _threads, _blas_limit is not None
    set_threads(n)
    try:
        yield
    finally:
        _resize_pool(before)
        if not held_before:
            _blas_limit.restore_original_limits()
            _blas_limit = None


def _resize_pool(n: int) -> None:
    global _threads, _pool
    if n == _threads:
        return
    if _pool is not None:
        _pool.shutdown()
        _pool = None
    if n > 1:
        _pool = ThreadPoolExecutor(n - 1, thread_name_prefix="minigrad")
    _threads = n


def parts(length: int, cost_per_item: int, min_part_cost: int | None = None) -> list[slice]:
    """Split range(length) into at most get_threads() slices that each cost at least
    min_part_cost (default MIN_PART_VALUES): one slice when there is one thread or little work."""
    min_part_cost = MIN_PART_VALUES if min_part_cost is None else min_part_cost
    count = min(_threads, length, length * cost_per_item // min_part_cost)
    if count <= 1 or _in_part():  # the cheap test first: most calls have little work
        return [slice(0, length)]
    bounds = [length * k // count for k in range(count + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def run(work, slices: list[slice]) -> None:
    """work(slice) for every slice, the first on this thread and the rest on the pool; returns
    when all are done (an exception in any part is raised here). Inside a part, parts() and
    matmul() split nothing: a part waiting on the pool it runs on could wait forever, and the
    other threads are busy with their own parts anyway."""
    if len(slices) == 1:
        work(slices[0])
        return
    pending = [_pool.submit(_as_part, work, part) for part in slices[1:]]
    try:
        _as_part(work, slices[0])
    finally:
        for future in pending:
            future.result()


def _as_part(work, part: slice) -> None:
    _part.running = True
    try:
        work(part)
    finally:
        _part.running = False


def _in_part() -> bool:
    return getattr(_part, "running", False)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a (M, K) @ b (K, N) -> (M, N), written into out if given. Split over the threads by
    columns of b (or by rows of a, when those are more): each part is a one-thread BLAS call
    over its own block of out. When K is the longest side (a weight gradient, summed over every
    pixel of the batch) each part sums over its own stretch of K instead, and the parts' sums
    are added: each reads its share of both operands, where a split by columns would read all
    of a twice (simple-convnet's first conv, 25×57600 @ 57600×30: 1.5 ms against 4.1, and 3.0
    on one thread)."""
    m, k = a.shape
    n = b.shape[1]
    if _threads == 1 or m * k * n < 2 * MIN_PART_MACS or _in_part():  # cheap tests first
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    if k > max(m, n):
        return _matmul_by_stretches_of_k(a, b, out)
    by_rows = m > n
    slices = parts(m if by_rows else n, max(1, k * (n if by_rows else m)), MIN_PART_MACS)
    if len(slices) == 1:
        return np.matmul(a, b, out=out)
    if by_rows:
        run(lambda rows: np.matmul(a[rows], b, out=out[rows]), slices)
    else:
        run(lambda columns: np.matmul(a, b[:, columns], out=out[:, columns]), slices)
    return out


def _matmul_by_stretches_of_k(a, b, out):
    stretches = parts(a.shape[1], a.shape[0] * b.shape[1], MIN_PART_MACS)
    if len(stretches) == 1:
        return np.matmul(a, b, out=out)
    sums = {}  # by the stretch's start: each part writes its own entry
    run(lambda part: sums.__setitem__(part.start, np.matmul(a[:, part], b[part])), stretches)
    first, *rest = (sums[part.start] for part in stretches)
    np.copyto(out, first)
    for partial in rest:
        out += partial
    return out
