"""Would choosing OpenBLAS's thread count per call help at 2 threads? Times each matrix product the
presets make (their forward products at batch 32, and two at batch 1) on 1 and on 2 OpenBLAS
threads, and split over the engine's own 2 threads (minigrad.engine.parallel.matmul).

    python benchmarks/blas_threads.py      # prints a markdown table

Runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as benchmarks/bench.py does (it restarts itself).
"""

from __future__ import annotations


from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from conv_products import best_ms  # noqa: E402

from minigrad.engine import parallel  # noqa: E402

# (what, M, K, N): an (M, K) @ (K, N) product as the engine calls it
PRODUCTS = [("mnist-cnn conv 2, b32", 64, 288, 25088), ("mnist-cnn conv 1, b32", 32, 9, 25088),
            ("resnet-mini 16-channel conv, b32", 16, 144, 25088),
            ("resnet-mini 32-channel conv, b32", 32, 288, 6272),
            ("mobilenet-mini pointwise 32→64, b32", 64, 32, 1568),
            ("mobilenet-mini pointwise 64→128, b32", 128, 64, 512),
            ("mnist-cnn dense 12544→128, b32", 32, 12544, 128), ("dense 128→10, b32", 32, 128, 10),
            ("mnist-cnn conv 2, b1", 64, 288, 784), ("resnet-mini 16-channel conv, b1", 16, 144, 784)]


def main() -> None:
    blas = next((p for p in threadpool_info() if p["internal_api"] == "openblas"), {})
    print(f"OpenBLAS {blas.get('version', '?')}, kernel {blas.get('architecture', '?')}; ms per "
          "product, best of 7\n")
    print("| product | M×K×N | 1 thread | 2 OpenBLAS threads | speed-up | the engine's 2 threads "
          "| speed-up |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    rng = np.random.default_rng(0)
    for name, m, k, n in PRODUCTS:
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        with threadpool_limits(1):
            one = best_ms(lambda: a @ b)
        with threadpool_limits(2):
            two = best_ms(lambda: a @ b)
        with parallel.threads(2):
            split = best_ms(lambda: parallel.matmul(a, b))
        print(f"| {name} | {m}×{k}×{n} | {one:.3f} | {two:.3f} | {one / two:.2f} | {split:.3f} "
              f"| {one / split:.2f} |")


if __name__ == "__main__":
    main()
