"""Two threads two ways: a training step of each preset with OpenBLAS's own threads (products
only) against the engine's threads (minigrad/engine/parallel.py: the products, im2col, col2im and
max pooling split, OpenBLAS held at one), and on one thread, alternating in one process. First,
why: im2col of mnist-cnn's big conv on one thread and split over two, alone and right after a
2-thread OpenBLAS product (whose workers then spin on the second core). Then where splitting a
product starts to pay (parallel.MIN_PART_MACS): conv products of growing width, whole on one
thread and split over two, with the main thread busy for a while between calls, as in a model.
Last, where a two-thread training step's time goes: the work split over both threads, the wait
for the second thread (its late start and its longer part), and the work that runs on one.

    python benchmarks/engine_threads.py      # prints a markdown table

Runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as benchmarks/bench.py does (it restarts itself).
"""

from __future__ import annotations

import time

from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import minigrad  # noqa: E402
from bench import PRESETS, SETTLE_S, images, minigrad_calls  # noqa: E402
from minigrad.engine import parallel  # noqa: E402
from minigrad.engine.conv import im2col  # noqa: E402
from minigrad.readers import load_spec  # noqa: E402
from minigrad.tools.build import build_model  # noqa: E402

SETTINGS = {"one thread": lambda: parallel.threads(1),
            "OpenBLAS's 2 threads": lambda: threadpool_limits(2),
            "the engine's 2 threads": lambda: parallel.threads(2)}
REPEATS, CALLS = 7, 3


def im2col_after_a_product() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((32, 32, 28, 28), dtype=np.float32)           # mnist-cnn's conv 2 input
    columns = np.empty((32 * 9, 32 * 28 * 28), dtype=np.float32)
    weights = rng.random((288, 64), dtype=np.float32)
    grad = rng.random((64, 32 * 28 * 28), dtype=np.float32)

    def fill():
        im2col(x, (3, 3), (1, 1), (1, 1), (28, 28), ((1, 1), (1, 1)), out=columns)

    def product():
        with threadpool_limits(2):
            weights @ grad                                       # conv 2's dcols product

    print("im2col of mnist-cnn's conv 2 (batch 32), ms, median of 15\n")
    print("| im2col on | call after call | right after a 2-thread OpenBLAS product |")
    print("| --- | ---: | ---: |")
    for threads in (1, 2):
        cells = []
        for before in (None, product):
            times = []
            with parallel.threads(threads):
                time.sleep(SETTLE_S)  # the last block's OpenBLAS workers stop spinning
                fill()
                for _ in range(15):
                    if before is not None:
                        before()
                    started = time.perf_counter()
                    fill()
                    times.append(time.perf_counter() - started)
            cells.append(f"{1e3 * np.median(times):.2f}")
        print(f"| the engine's {threads} thread{'s' if threads > 1 else ''} | " + " | ".join(cells)
              + " |")
    print()


def busy(seconds: float) -> None:
    """Keep this thread busy, as the ops between two products do (a sleep would let the cores
    idle, and waking them is slower than waking the engine's thread)."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def split_break_even() -> None:
    rng = np.random.default_rng(0)
    weights = rng.random((64, 288), dtype=np.float32)                # mnist-cnn's conv 2, forward
    print("A conv product (64×288 @ 288×pixels), whole on one thread and split over the engine's "
          "two, with 0.3 ms of other work between calls: µs, median of 150\n")
    print("| multiply-adds | one thread | split in two | gain |")
    print("| ---: | ---: | ---: | ---: |")
    with parallel.threads(2):
        for pixels in (392, 784, 1176, 1568, 2352, 3136):
            cols = rng.random((288, pixels), dtype=np.float32)
            out = np.empty((64, pixels), dtype=np.float32)
            halves = [slice(0, pixels // 2), slice(pixels // 2, pixels)]
            whole, split = [], []
            for _ in range(150):
                for times, work in ((whole, lambda: np.matmul(weights, cols, out=out)),
                                    (split, lambda: parallel.run(lambda part: np.matmul(
                                        weights, cols[:, part], out=out[:, part]), halves))):
                    busy(3e-4)
                    started = time.perf_counter()
                    work()
                    times.append(time.perf_counter() - started)
            one, two = 1e6 * np.median(whole), 1e6 * np.median(split)
            print(f"| {64 * 288 * pixels / 1e6:.1f}M | {one:.0f} | {two:.0f} | {one / two:.2f} |")
    print()


def time_on_two_threads() -> None:
    """Each training step at 2 threads, split into: the parts run at once (the main thread's
    share), the main thread's wait for the other's (from its own part's end), and the rest,
    which runs on one thread. parallel.run is wrapped to time its calls."""
    print("Training steps on the engine's 2 threads, ms per step (median of 5 × 4 steps)\n")
    print("| preset | batch | step | splits | split work | waiting for the second thread "
          "(of which its late start) | on one thread |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    run = parallel.run
    for preset, batch in PRESETS.items():
        minigrad.manual_seed(0)
        model = build_model(load_spec(preset).graph)
        x, y = images(batch)
        step = minigrad_calls(model, x, y, [])["train"]
        totals = {}

        def timed_run(work, slices):
            if len(slices) == 1:
                return run(work, slices)
            started, main_done, worker_started = time.perf_counter(), [], []

            def part(share):
                if share is slices[0]:  # the main thread's
                    work(share)
                    main_done.append(time.perf_counter())
                else:
                    worker_started.append(time.perf_counter())
                    work(share)

            run(part, slices)
            done = time.perf_counter()
            for key, value in (("splits", 1), ("split", main_done[0] - started),
                               ("wait", done - main_done[0]),
                               ("late", min(worker_started) - started)):
                totals[key] = totals.get(key, 0) + value

        rows = []
        with parallel.threads(2):
            parallel.run = timed_run
            try:
                for _ in range(3):
                    step()
                for _ in range(5):
                    totals.clear()
                    started = time.perf_counter()
                    for _ in range(4):
                        step()
                    rows.append({"step": (time.perf_counter() - started) / 4,
                                 **{k: v / 4 for k, v in totals.items()}})
            finally:
                parallel.run = run
        med = {k: float(np.median([r.get(k, 0) for r in rows])) for k in rows[0] | rows[-1]}
        alone = med["step"] - med.get("split", 0) - med.get("wait", 0)
        print(f"| {preset} | {batch} | {1e3 * med['step']:.1f} | {med.get('splits', 0):.0f} | "
              f"{1e3 * med.get('split', 0):.1f} | {1e3 * med.get('wait', 0):.2f} "
              f"({1e3 * med.get('late', 0):.2f}) | {1e3 * alone:.1f} |", flush=True)
    print()


def main() -> None:
    im2col_after_a_product()
    split_break_even()
    time_on_two_threads()
    print("Training step, ms, median of 7 repeats of 3 steps (settings alternating)\n")
    print("| preset | batch | " + " | ".join(SETTINGS) + " |")
    print("| --- | ---: |" + " ---: |" * len(SETTINGS))
    for preset, batch in PRESETS.items():
        minigrad.manual_seed(0)
        model = build_model(load_spec(preset).graph)
        x, y = images(batch)
        step = minigrad_calls(model, x, y, [])["train"]
        times = {name: [] for name in SETTINGS}
        for _ in range(REPEATS):
            for name, setting in SETTINGS.items():
                with setting():
                    time.sleep(SETTLE_S)  # OpenBLAS's workers from the last setting go idle
                    step()
                    started = time.perf_counter()
                    for _ in range(CALLS):
                        step()
                    times[name].append((time.perf_counter() - started) / CALLS)
        print(f"| {preset} | {batch} | " +
              " | ".join(f"{1e3 * np.median(t):.1f}" for t in times.values()) + " |", flush=True)


if __name__ == "__main__":
    main()
