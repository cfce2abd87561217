"""Side-by-side benchmark: minigrad against PyTorch on the CPU, the same models at the same
thread count, measured alternately in one process so that a noisy machine affects both alike.

    python benchmarks/bench.py            # the full run; writes benchmarks/results.md
    python benchmarks/bench.py --quick    # a smoke run (few repeats, a slice of an epoch)

PyTorch is optional (`pip install torch`); without it only minigrad is timed. Real MNIST is read
through CNNCALC_DATA (or --data-dir) for the epoch timings.

What is measured, per preset (simple-convnet batch 100, mnist-cnn batch 32, mnist-cnn-dropout
batch 200), for 1 and 2 threads:
- a training step: forward, cross-entropy, backward, Adam step; and inference: a forward pass in
  eval mode without a graph. Each repeat times `steps` of one, then `steps` of the other; the
  ratio torch_time / minigrad_time per repeat gives min / median / max (> 1: minigrad is faster).
- the conv layers' GFLOP/s (forward and backward), against a large float32 GEMM on one core;
- one full MNIST epoch of simple-convnet and mnist-cnn with `minigrad.tools.train.Trainer`, with their
  peak RSS, and the peak RSS of mnist-cnn steps at batch 1024 with and without the im2col column
  budget (each in a fresh process).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import minigrad
import minigrad.engine.functional as F
from minigrad import Tensor, no_grad
from minigrad.engine import nn
from minigrad.tools.build import build_model
from minigrad.engine.optim import Adam
from minigrad.readers import load_spec

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None

PRESETS = {"simple-convnet": 100, "mnist-cnn": 32, "mnist-cnn-dropout": 200}
HERE = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------
# The same model in PyTorch, with minigrad's weights
# ---------------------------------------------------------------------------------------------

def torch_twin(model: nn.Sequential):
    """A torch.nn.Sequential that computes what the minigrad model computes (same weights)."""
    layers = []
    for module in model:
        if isinstance(module, nn.Conv2d):
            padding = module.padding
            if isinstance(padding, tuple) and isinstance(padding[0], tuple):  # uneven: pad first
                (top, bottom), (left, right) = padding
                layers.append(torch.nn.ZeroPad2d((left, right, top, bottom)))
                padding = 0
            conv = torch.nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                                   module.stride, padding, module.dilation,
                                   bias=module.bias is not None)
            conv.weight.data = torch.from_numpy(module.weight.data.copy())
            if module.bias is not None:
                conv.bias.data = torch.from_numpy(module.bias.data.copy())
            layers.append(conv)
        elif isinstance(module, nn.Linear):
            linear = torch.nn.Linear(module.in_features, module.out_features,
                                     bias=module.bias is not None)
            linear.weight.data = torch.from_numpy(module.weight.data.copy())
            if module.bias is not None:
                linear.bias.data = torch.from_numpy(module.bias.data.copy())
            layers.append(linear)
        elif isinstance(module, nn.MaxPool2d):
            layers.append(torch.nn.MaxPool2d(module.kernel_size, module.stride, module.padding,
                                             ceil_mode=module.ceil_mode))
        elif isinstance(module, nn.ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(module, nn.Dropout):
            layers.append(torch.nn.Dropout(module.p))
        elif isinstance(module, nn.Flatten):
            layers.append(torch.nn.Flatten(module.start_dim))
        else:
            raise ValueError(f"no PyTorch twin for {type(module).__name__}")
    return torch.nn.Sequential(*layers)


def check_twins_agree(model, twin, x) -> float:
    """Largest difference between the two models' eval-mode outputs (a sanity check)."""
    model.eval()
    twin.eval()
    with no_grad():
        ours = model(Tensor(x)).data
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    model.train()
    twin.train()
    return float(np.abs(ours - theirs).max())


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------

def minigrad_runner(model, x, y):
    optimizer = Adam(model.parameters())

    def train_step():
        loss = F.cross_entropy(model(Tensor(x)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer():
        model.eval()
        with no_grad():
            model(Tensor(x))
        model.train()

    return train_step, infer


def torch_runner(twin, x, y):
    optimizer = torch.optim.Adam(twin.parameters())
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        loss = loss_fn(twin(tx), ty)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer():
        twin.eval()
        with torch.no_grad():
            twin(tx)
        twin.train()

    return train_step, infer


def seconds_per_call(fn, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def compare(preset: str, batch: int, threads: int, repeats: int, steps: int) -> dict:
    """Alternate minigrad and torch `repeats` times; times are seconds per step."""
    minigrad.manual_seed(0)
    model = build_model(load_spec(preset).network)
    rng = np.random.default_rng(0)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    ours = dict(zip(("train", "infer"), minigrad_runner(model, x, y)))
    theirs = None
    result = {"preset": preset, "batch": batch, "threads": threads}
    if torch is not None:
        torch.set_num_threads(threads)
        twin = torch_twin(model)
        result["max_output_difference"] = check_twins_agree(model, twin, x)
        theirs = dict(zip(("train", "infer"), torch_runner(twin, x, y)))
    with threadpool_limits(threads):
        for kind in ("train", "infer"):
            ours[kind]()  # warm up: first calls allocate
            if theirs:
                theirs[kind]()
            mine, torch_times = [], []
            for _ in range(repeats):
                mine.append(seconds_per_call(ours[kind], steps))
                if theirs:
                    torch_times.append(seconds_per_call(theirs[kind], steps))
            result[kind] = {"minigrad_ms": 1e3 * statistics.median(mine),
                            "images_per_s": batch / statistics.median(mine)}
            if theirs:
                ratios = [t / m for t, m in zip(torch_times, mine)]
                result[kind].update(torch_ms=1e3 * statistics.median(torch_times),
                                    ratio_min=min(ratios), ratio_median=statistics.median(ratios),
                                    ratio_max=max(ratios))
    return result


# ---------------------------------------------------------------------------------------------
# Conv GFLOP/s against a large GEMM
# ---------------------------------------------------------------------------------------------

def gemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    with threadpool_limits(1):
        a @ a
        best = min(seconds_per_call(lambda: a @ a, 1) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def time_conv(module: nn.Conv2d, x: np.ndarray, first: bool, repeats: int) -> tuple[float, float]:
    """Best seconds of one conv layer's forward, and of its backward alone, on one thread."""
    inp = Tensor(x, requires_grad=not first)  # a first layer needs no dX

    def forward():
        return F.conv2d(inp, module.weight, module.bias, module.stride, module.padding,
                        module.dilation)

    with threadpool_limits(1):
        grad = np.ones(forward().shape, dtype=np.float32)
        forward_s = min(seconds_per_call(forward, 1) for _ in range(repeats))
        both = min(seconds_per_call(lambda: forward().backward(grad), 1) for _ in range(repeats))
    return forward_s, max(both - forward_s, 1e-9)


def conv_gflops(preset: str, batch: int, repeats: int) -> list[dict]:
    """Forward and backward GFLOP/s of each conv layer of a preset, one thread."""
    summary = load_spec(preset).analyze()
    minigrad.manual_seed(0)
    model = build_model(load_spec(preset).network)
    rng = np.random.default_rng(0)
    x = Tensor(rng.random((batch, 1, 28, 28), dtype=np.float32))
    rows, first = [], True
    conv_rows = [r for r in summary.layers if r.type == "conv"]
    with threadpool_limits(1), no_grad():
        activations = x
        convs = []
        for module in model:
            if isinstance(module, nn.Conv2d):
                convs.append((module, activations))
            activations = module(activations)
    for (module, inp), row in zip(convs, conv_rows):
        forward_s, backward_s = time_conv(module, inp.data, first, repeats)
        flops = 2 * row.macs * batch
        # backward does dW (as much work as forward) and, except for a first layer, dX (as much)
        backward_flops = flops * (1 if first else 2)
        rows.append({"preset": preset, "layer": row.name, "forward_gflops": flops / forward_s / 1e9,
                     "backward_gflops": backward_flops / backward_s / 1e9})
        first = False
    return rows


# ---------------------------------------------------------------------------------------------
# A full MNIST epoch, in a fresh process for a clean peak RSS
# ---------------------------------------------------------------------------------------------

EPOCH_SCRIPT = """
import json, sys, time
from threadpoolctl import threadpool_limits
import minigrad
from minigrad.tools.build import build_model
from minigrad.tools.data import DataLoader
from minigrad.tools.datasets import load_dataset
from minigrad.engine.optim import Adam
from minigrad.readers import load_spec
from minigrad.tools.train import Trainer
preset, batch, limit, data_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
train = load_dataset("mnist", "train", data_dir=data_dir or None)
if limit:
    train = train.subset(limit)
minigrad.manual_seed(0)
model = build_model(load_spec(preset).network)
with threadpool_limits(1):
    started = time.perf_counter()
    Trainer(model, Adam(model.parameters()), DataLoader(train, batch, shuffle=True), 1).fit()
    seconds = time.perf_counter() - started
# VmHWM, not getrusage: Linux carries ru_maxrss over exec, so it would report the parent's peak.
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps({"preset": preset, "batch": batch, "images": len(train), "seconds": seconds,
                  "peak_rss_mib": peak_kib / 1024}))
"""


MEMORY_SCRIPT = """
import json, sys
import numpy as np
from threadpoolctl import threadpool_limits
import minigrad, minigrad.engine.conv as conv
from minigrad import Tensor
from minigrad.tools.build import build_model
from minigrad.engine.optim import Adam
from minigrad.readers import load_spec
batch, budget = int(sys.argv[1]), int(sys.argv[2])
if budget:
    conv.COLUMN_BUDGET_BYTES = budget
minigrad.manual_seed(0)
model = build_model(load_spec("mnist-cnn").network)
optimizer = Adam(model.parameters())
x = np.random.default_rng(0).random((batch, 1, 28, 28), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, batch)
with threadpool_limits(1):
    for _ in range(2):
        loss = F.cross_entropy(model(Tensor(x)), y)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps({"batch": batch, "budget_mib": (budget or conv.COLUMN_BUDGET_BYTES) / 2**20,
                  "peak_rss_mib": peak_kib / 1024}))
"""


def batch_memory(batch: int, budget: int = 0) -> dict:
    """Peak RSS of mnist-cnn training steps at a large batch (budget 0: the library's own)."""
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(batch), str(budget)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def epoch(preset: str, batch: int, limit: int, data_dir: str) -> dict:
    out = subprocess.run([sys.executable, "-c", EPOCH_SCRIPT, preset, str(batch), str(limit),
                          data_dir], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = f"Python {platform.python_version()}, numpy {np.__version__}"
    if torch is not None:
        versions += f", torch {torch.__version__}"
    return f"{cpu}, {os.cpu_count()} cores; {versions}"


def markdown(results: dict) -> str:
    lines = ["# Benchmark: minigrad vs PyTorch (CPU)", "",
             f"{results['date']} · {results['machine']} · `python benchmarks/bench.py"
             f"{' --quick' if results['quick'] else ''}`", "",
             "Ratio = torch time / minigrad time per step, min / median / max over the repeats "
             "(above 1: minigrad is faster).", "",
             "| preset | batch | threads | train ms (minigrad · torch) | train ratio | "
             "infer ms (minigrad · torch) | infer ratio | train images/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results["steps"]:
        cells = []
        for kind in ("train", "infer"):
            k = r[kind]
            if "torch_ms" in k:
                cells += [f"{k['minigrad_ms']:.1f} · {k['torch_ms']:.1f}",
                          f"{k['ratio_min']:.2f} / **{k['ratio_median']:.2f}** / {k['ratio_max']:.2f}"]
            else:
                cells += [f"{k['minigrad_ms']:.1f}", "—"]
        lines.append(f"| {r['preset']} | {r['batch']} | {r['threads']} | " + " | ".join(cells)
                     + f" | {r['train']['images_per_s']:,.0f} |")
    lines += ["", f"Conv layers, one thread (a {results['gemm_size']}² float32 GEMM here: "
                  f"{results['gemm_gflops']:.0f} GFLOP/s):", "",
              "| preset | layer | forward GFLOP/s | backward GFLOP/s |", "| --- | --- | ---: | ---: |"]
    for r in results["conv"]:
        lines.append(f"| {r['preset']} | {r['layer']} | {r['forward_gflops']:.1f} | "
                     f"{r['backward_gflops']:.1f} |")
    lines += ["", "Training steps of mnist-cnn at batch 1024, peak RSS (fresh process):", "",
              "| im2col column budget | peak RSS |", "| ---: | ---: |"]
    for r in results["memory"]:
        budget = f"{r['budget_mib']:.0f} MiB" if r["budget_mib"] < 2**20 else "unbounded"
        lines.append(f"| {budget} | {r['peak_rss_mib']:,.0f} MiB |")
    if results["epochs"]:
        lines += ["", "One MNIST epoch with `minigrad.tools.train.Trainer` (Adam, one thread, fresh "
                      "process):", "", "| preset | batch | images | seconds | peak RSS |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for r in results["epochs"]:
            lines.append(f"| {r['preset']} | {r['batch']} | {r['images']:,} | {r['seconds']:.1f} "
                         f"| {r['peak_rss_mib']:.0f} MiB |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few repeats, 2,000 "
                        "images for the epoch timings")
    parser.add_argument("--data-dir", default=os.environ.get("CNNCALC_DATA", ""),
                        help="root with mnist/ (default: $CNNCALC_DATA); none skips the epochs")
    parser.add_argument("--out", default=str(HERE / "results.md"), help="markdown report path")
    args = parser.parse_args()
    repeats, steps = (3, 2) if args.quick else (9, 10)
    results = {"date": datetime.date.today().isoformat(), "machine": machine(),
               "quick": args.quick, "steps": [], "conv": [], "epochs": []}
    for threads in (1, 2):
        for preset, batch in PRESETS.items():
            row = compare(preset, batch, threads, repeats, steps)
            results["steps"].append(row)
            print(json.dumps(row), flush=True)
    results["gemm_size"] = 1024 if args.quick else 2048
    results["gemm_gflops"] = gemm_gflops(results["gemm_size"])
    for preset, batch in PRESETS.items():
        results["conv"] += conv_gflops(preset, batch, 2 if args.quick else 5)
    results["memory"] = [batch_memory(1024), batch_memory(1024, budget=2**40)]
    if args.data_dir:
        for preset in ("simple-convnet", "mnist-cnn"):
            row = epoch(preset, PRESETS[preset], 2000 if args.quick else 0, args.data_dir)
            results["epochs"].append(row)
            print(json.dumps(row), flush=True)
    Path(args.out).write_text(markdown(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
