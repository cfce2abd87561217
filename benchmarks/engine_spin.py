"""Why bench.py pauses between the engines at 2 threads: after a call, an engine's worker threads
spin-wait for more work before they sleep, and while they spin they hold the second core that
the other engine's next call needs. Times one resnet-mini training step of each engine (batch 32,
2 threads) right after its own step, right after the other engine's, and after a pause. Then why
bench.py warms each engine up after that pause: the steps that follow a pause, one by one (the
second core of this VM takes a few hundred ms of work to come back up to speed).

    python benchmarks/engine_spin.py      # prints two markdown tables

Runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as benchmarks/bench.py does (it restarts itself).
"""

from __future__ import annotations

import time

from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import minigrad  # noqa: E402
from bench import images, minigrad_calls, torch_calls  # noqa: E402
from minigrad.engine import parallel  # noqa: E402
from minigrad.readers import load_spec  # noqa: E402
from minigrad.tools.build import build_model  # noqa: E402
from torch_twin import torch_twin  # noqa: E402

PAUSES_S = (0.0, 0.02, 0.1, 0.3)


def main() -> None:
    torch.set_num_threads(2)
    minigrad.manual_seed(0)
    model = build_model(load_spec("resnet-mini").graph)
    x, y = images(32)
    engines = {"minigrad": minigrad_calls(model, x, y, [])["train"],
               "torch": torch_calls(torch_twin(model), x, y, [])["train"]}
    print("resnet-mini training step, batch 32, 2 threads: ms, median of 7\n")
    print("| engine | after its own step | " +
          " | ".join(f"{p:g} s after the other's" for p in PAUSES_S) + " |")
    print("| --- | ---: |" + " ---: |" * len(PAUSES_S))
    with threadpool_limits(2):
        for step in engines.values():
            step()
        for name, step in engines.items():
            other = next(fn for other_name, fn in engines.items() if other_name != name)
            cells = [after(step, step, 0.0)] + [after(other, step, p) for p in PAUSES_S]
            print(f"| {name} | " + " | ".join(f"{ms:.1f}" for ms in cells) + " |")
    steps_after_a_pause(engines)


def steps_after_a_pause(engines: dict, steps: int = 10, repeats: int = 9) -> None:
    print("\nThe steps after a 0.3 s pause, one by one, 2 threads (minigrad's own, OpenBLAS at "
          "one; PyTorch's): ms, median of 9\n")
    print("| engine | " + " | ".join(str(k + 1) for k in range(steps)) + " |")
    print("| --- |" + " ---: |" * steps)
    with parallel.threads(2):
        for name, step in engines.items():
            times = np.empty((repeats, steps))
            for repeat in range(repeats):
                time.sleep(0.3)
                for k in range(steps):
                    started = time.perf_counter()
                    step()
                    times[repeat, k] = time.perf_counter() - started
            print(f"| {name} | " + " | ".join(f"{1e3 * ms:.1f}" for ms in np.median(times, axis=0))
                  + " |")


def after(first, timed, pause_s: float, repeats: int = 7) -> float:
    """Median ms of `timed` called pause_s after `first`."""
    times = []
    for _ in range(repeats):
        first()
        time.sleep(pause_s)
        started = time.perf_counter()
        timed()
        times.append(time.perf_counter() - started)
    return 1e3 * float(np.median(times))


if __name__ == "__main__":
    main()
