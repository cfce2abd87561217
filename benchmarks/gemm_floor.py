"""How fast could any engine that convolves by im2col + matrix products be on the presets, with
this machine's OpenBLAS? The floor under minigrad's speed, whatever is done around the products.

For each preset and call (a training step, inference at batch 32 and at batch 1) it records
every matrix product minigrad makes (the conv layers' forward, weight-gradient and column-gradient
products, the linear layers' three), by wrapping minigrad.engine.parallel.matmul during one call.
A conv that multiplies by shifts (nine short products, no columns) counts as the one product of
its im2col columns, (F, C·KH·KW) @ (C·KH·KW, N·OH·OW): the same multiply-adds, which one long
product does faster than nine short ones, so the floor stays a floor.
Each product is then timed alone on one thread, in the fastest of its eight layouts (A·B or
(Bᵀ·Aᵀ)ᵀ, each operand row- or column-major), best of 5, and the times are summed.

Depthwise convs (mobilenet-mini) make no product: each output value is 9 multiply-adds of one
channel. Their floor is the cheaper of two numpy forms of those: per kernel offset one multiply
and one add over the output map on contiguous arrays, or one np.einsum over the windows of the
padded map (forward; backward twice that, for dx and dW).

PyTorch's time for the whole call is the median of 20 calls, same weights, one thread. The best
ratio any such engine could reach is torch ms / floor ms; where that is below the issue's target
(training 1.0, inference 1.5), products alone rule the target out here.

    python benchmarks/gemm_floor.py                 # every preset
    python benchmarks/gemm_floor.py resnet-mini     # some

Runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as benchmarks/bench.py does (it restarts itself).
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time

from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import minigrad  # noqa: E402
from bench import KINDS, PRESETS, TARGETS, images, minigrad_calls, torch_calls  # noqa: E402
from conv_products import best_ms  # noqa: E402
from minigrad.engine import parallel  # noqa: E402
from minigrad.engine.conv import Conv2d, DepthwiseConv2d  # noqa: E402
from minigrad.readers import load_spec  # noqa: E402
from minigrad.tools.build import build_model  # noqa: E402
from torch_twin import torch_twin  # noqa: E402

import torch  # noqa: E402


@contextlib.contextmanager
def recorded(products: list, depthwise: list):
    """Note each product's (M, K, N) and each depthwise conv's output shape while inside."""
    matmul, forward = parallel.matmul, DepthwiseConv2d.forward
    by_shifts = Conv2d._forward_by_shifts

    def noting_matmul(a, b, out=None):
        products.append((a.shape[0], a.shape[1], b.shape[1]))
        return matmul(a, b, out=out)

    def noting_shifts(self, bias):
        f, c, kh, kw = self.weight.shape
        products.append((f, c * kh * kw, self.x.shape[0] * self.out_hw[0] * self.out_hw[1]))
        return by_shifts(self, bias)

    def noting_forward(self, x, weight, *args, **options):
        out = forward(self, x, weight, *args, **options)
        depthwise.append((out.shape, self.records_graph))
        return out

    parallel.matmul, DepthwiseConv2d.forward = noting_matmul, noting_forward
    Conv2d._forward_by_shifts = noting_shifts
    try:
        yield
    finally:
        parallel.matmul, DepthwiseConv2d.forward = matmul, forward
        Conv2d._forward_by_shifts = by_shifts


def product_ms(m: int, k: int, n: int) -> float:
    """The fastest of the eight layouts of an (M, K) @ (K, N) product, ms."""
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    best = float("inf")
    for left, right in ((a, b), (b.T, a.T)):  # C = A·B, or Cᵀ = Bᵀ·Aᵀ
        out = np.empty((left.shape[0], right.shape[1]), np.float32)
        for left_order in ("C", "F"):
            for right_order in ("C", "F"):
                x, y = np.asarray(left, order=left_order), np.asarray(right, order=right_order)
                best = min(best, best_ms(lambda: np.matmul(x, y, out=out), repeats=5))
    return best


def depthwise_ms(shape: tuple[int, ...], training: bool) -> float:
    """A 3×3 depthwise conv's 9 multiply-adds per output value in the cheaper of two numpy forms:
    a multiply and an add per kernel offset over contiguous arrays, or one np.einsum over the
    windows of a padded (H, W, N, C) map (the engine's). Forward; training adds dx and dW, as much
    again each."""
    rng = np.random.default_rng(0)
    view, out = rng.random(shape, dtype=np.float32), np.zeros(shape, np.float32)
    weight = rng.random((1, shape[1], 1, 1), dtype=np.float32)
    scratch = np.empty(shape, np.float32)

    def passes():
        for _ in range(9):
            np.multiply(view, weight, out=scratch)
            np.add(out, scratch, out=out)

    n, c, oh, ow = shape
    padded = rng.random((oh + 2, ow + 2, n, c), dtype=np.float32)
    along_h, along_w, along_n, along_c = padded.strides
    windows = np.lib.stride_tricks.as_strided(
        padded, (oh, ow, 3, 3, n, c), (along_h, along_w, along_h, along_w, along_n, along_c))
    kernel = rng.random((3, 3, c, 1), dtype=np.float32)
    result = np.empty((oh, ow, n, c, 1), np.float32)
    einsum_ms = best_ms(lambda: np.einsum("hwijnc,ijck->hwnck", windows, kernel, out=result),
                        repeats=5)
    return min(best_ms(passes, repeats=5), einsum_ms) * (3 if training else 1)


def torch_ms(call, calls: int = 20) -> float:
    call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main(chosen: list[str]) -> None:
    unknown = [name for name in chosen if name not in PRESETS]
    if unknown:
        print(f"gemm_floor.py: no preset {', '.join(unknown)} "
              f"(the presets: {', '.join(PRESETS)})", file=sys.stderr)
        raise SystemExit(2)
    print("One thread; floor = the products alone (and the depthwise convs' multiply-adds), "
          "each at its fastest; ms\n")
    print("| preset | call | products | floor ms | torch ms | best possible ratio | target |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    torch.set_num_threads(1)
    with threadpool_limits(1):
        for preset, batch in PRESETS.items():
            if chosen and preset not in chosen:
                continue
            minigrad.manual_seed(0)
            model = build_model(load_spec(preset).graph)
            x, y = images(batch)
            infer_inputs = [images(32, seed=1)[0], images(1, seed=1)[0]]
            ours = minigrad_calls(model, x, y, infer_inputs)
            twin = torch_twin(model)
            theirs = torch_calls(twin, x, y, infer_inputs)
            for kind in KINDS:
                training = kind == "train"
                model.train(training)
                twin.train(training)
                ours[kind]()  # warm up, so that the recorded call is a steady one
                products, depthwise = [], []
                with recorded(products, depthwise):
                    ours[kind]()
                floor = sum(product_ms(*p) for p in products) + sum(
                    depthwise_ms(shape, graph) for shape, graph in depthwise)
                reference = torch_ms(theirs[kind])
                ratio = reference / floor
                print(f"| {preset} | {kind} | {len(products)}"
                      + (f" + {len(depthwise)} depthwise" if depthwise else "")
                      + f" | {floor:.2f} | {reference:.2f} | "
                      + (f"**{ratio:.2f}**" if ratio < TARGETS[kind] else f"{ratio:.2f}")
                      + f" | {TARGETS[kind]} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
