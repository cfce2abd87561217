"""How fast can the matrix products of one convolution be, whatever the layout? The floor under
minigrad's conv: its forward and backward are three products (out = W·cols, dW = dout·colsᵀ,
dcols = Wᵀ·dout); this times each in every orientation numpy can ask OpenBLAS for, on one thread,
for the convolutions where minigrad trails PyTorch most.

    python benchmarks/conv_products.py      # prints a markdown table

Runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as benchmarks/bench.py does (it restarts itself).
"""

from __future__ import annotations


from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides()

import time  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

# (name, filters F, rows C·KH·KW, columns N·OH·OW) at batch 32
CONVS = [("mnist-cnn conv 2 (32→64, 3×3, 28×28)", 64, 288, 25088),
         ("resnet-mini conv 2 (16→16, 3×3, 28×28)", 16, 144, 25088),
         ("resnet-mini conv 5 (32→32, 3×3, 14×14)", 32, 288, 6272)]


def best_ms(fn, repeats: int = 7) -> float:
    fn()
    calls = max(1, round(0.05 / max(_once(fn), 1e-6)))
    return min(_once(fn, calls) for _ in range(repeats)) * 1e3


def _once(fn, calls: int = 1) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def orientations(f: int, k: int, m: int) -> dict[str, dict[str, callable]]:
    rng = np.random.default_rng(0)
    w, cols, g = (rng.random(shape, dtype=np.float32) for shape in ((f, k), (k, m), (f, m)))
    cols_t, g_t, w_t = np.ascontiguousarray(cols.T), np.ascontiguousarray(g.T), np.ascontiguousarray(w.T)
    return {
        "forward": {"W·cols": lambda: w @ cols, "colsᵀ·Wᵀ": lambda: cols_t @ w.T},
        "dW": {"g·colsᵀ (view)": lambda: g @ cols.T, "g·colsᵀ (copy)": lambda: g @ cols_t,
               "(cols·gᵀ)ᵀ": lambda: cols @ g.T, "gᵀᵀ·colsᵀ": lambda: g_t.T @ cols_t},
        "dcols": {"Wᵀ·g (view)": lambda: w.T @ g, "Wᵀ·g (copy)": lambda: w_t @ g,
                  "(gᵀ·W)ᵀ": lambda: g_t @ w},
    }


def main() -> None:
    blas = next((p for p in threadpool_info() if p["internal_api"] == "openblas"), {})
    print(f"OpenBLAS {blas.get('version', '?')}, kernel {blas.get('architecture', '?')}, one "
          "thread; ms per product (GFLOP/s), best of 7\n")
    print("| convolution | product | orientations | best ms |")
    print("| --- | --- | --- | ---: |")
    with threadpool_limits(1):
        for name, f, k, m in CONVS:
            flops, total = 2 * f * k * m, 0.0
            for product, ways in orientations(f, k, m).items():
                times = {way: best_ms(fn) for way, fn in ways.items()}
                cells = ", ".join(f"{way} {ms:.2f} ({flops / ms / 1e6:.0f})"
                                  for way, ms in times.items())
                total += min(times.values())
                print(f"| {name} | {product} | {cells} | {min(times.values()):.2f} |")
            print(f"| {name} | **all three, best each** | | **{total:.2f}** |")


if __name__ == "__main__":
    main()
