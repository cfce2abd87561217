"""Two threads two ways: a training step of each preset with OpenBLAS's own threads (products
only) against the engine's threads (minigrad/engine/parallel.py: the products, im2col, col2im and
max pooling split, OpenBLAS held at one), and on one thread, alternating in one process. First,
why: im2col of mnist-cnn's big conv on one thread and split over two, alone and right after a
2-thread OpenBLAS product (whose workers then spin on the second core). Then where splitting a
product starts to pay (parallel.MIN_PART_MACS): conv products of growing width, whole on one
thread and split over two, with the main thread busy for a while between calls, as in a model.

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


def main() -> None:
    im2col_after_a_product()
    split_break_even()
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
