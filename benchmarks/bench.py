"""Side-by-side benchmark: minigrad against PyTorch on the CPU, the same models (same weights) at
the same thread count, measured alternately in one process so that a noisy machine affects both
alike.

    CNNCALC_DATA=/work/shared/data python benchmarks/bench.py  # full run: writes results.md
    python benchmarks/bench.py --quick                          # a smoke run (few repeats)

PyTorch is optional (`pip install torch`); without it only minigrad is timed. Real MNIST is read
through CNNCALC_DATA (or --data-dir) for the epoch timings.

OpenBLAS as a user's machine runs it: an environment that sets OPENBLAS_CORETYPE or
OPENBLAS_L2_SIZE (this machine's pins the AVX2 "Haswell" kernel on an AVX-512 CPU, half the GEMM
speed) is dropped from the benchmark's own environment: the script starts itself again without
them, before numpy loads OpenBLAS. The kernel, version and threads are printed and recorded.

What is measured, for the five MNIST-sized presets (training batch: simple-convnet 100, mnist-cnn
32, mnist-cnn-dropout 200, resnet-mini 32, mobilenet-mini 32), at 1 and 2 threads (minigrad's
own, `minigrad.engine.parallel.threads`, with OpenBLAS held at one; PyTorch's set_num_threads):
- a training step (forward, cross-entropy, backward, Adam step), inference at batch 32 and at
  batch 1 (eval mode, no graph: what `cnncalc predict` does). Each repeat times some calls of one
  engine, then as many of the other; the ratio torch_time / minigrad_time per repeat gives
  min / median / max (> 1: minigrad is faster);
- per op, both engines timed op by op (minigrad by wrapping each Function's forward and
  backward, PyTorch by its profiler; rows labelled alike, "conv 2"): an mnist-cnn training step
  on one thread before the speed work (the engine at commit BEFORE, from a git checkout of it),
  now, and in PyTorch; and every call (preset, kind and thread count) that misses its target
  ratio (training 1.0, inference 1.5), at that thread count, so each shortfall shows which op it
  comes from and by how much;
- minor page faults per training step (one thread), each engine in a fresh process, against the
  measured cost of one fault: the share of a step spent faulting in fresh memory;
- one full MNIST epoch of simple-convnet and mnist-cnn with `minigrad.tools.train.Trainer` and the
  same model in a plain PyTorch loop over the same batches, each in a fresh process, with the
  process's peak RSS and page faults per batch.

Every row also gives "others' load": the cores other processes kept busy meanwhile.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import json
import mmap
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides("--removed-env")  # the new process records what it dropped

# E402: these load OpenBLAS (numpy) or import it, so they come after the re-execution above.
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import minigrad  # noqa: E402
import minigrad.engine.functional as F  # noqa: E402
from minigrad import Tensor, no_grad  # noqa: E402
from minigrad.engine.optim import Adam  # noqa: E402
from minigrad.engine.tensor import Function  # noqa: E402
from minigrad.readers import load_spec  # noqa: E402
from minigrad.tools.build import build_model  # noqa: E402

try:
    import torch
    from torch_twin import check_twins_agree, torch_twin
except ImportError:  # the comparison is optional
    torch = None

PRESETS = {"simple-convnet": 100, "mnist-cnn": 32, "mnist-cnn-dropout": 200, "resnet-mini": 32,
           "mobilenet-mini": 32}
INFER_BATCHES = (32, 1)
KINDS = ("train",) + tuple(f"infer b{b}" for b in INFER_BATCHES)
EPOCH_PRESETS = ("simple-convnet", "mnist-cnn")
HERE = Path(__file__).resolve().parent
# At 2 threads, each engine's worker threads spin-wait after a call before they sleep (OpenBLAS's
# for about 0.1 s), taking the core the other engine then needs: PyTorch's resnet-mini step took
# 89 ms right after minigrad's and 23 ms after its own (benchmarks/engine_spin.py). So the engines
# take turns with a pause between them. After it, each engine runs untimed calls for WARM_S before
# its timed ones: the steps after a pause start slow and take about 0.3 s to reach the speed that
# a training loop runs at (resnet-mini at 2 threads, minigrad 42 -> 29 ms over eight steps,
# PyTorch 26 -> 22.5 over four; engine_spin.py), as this VM brings its idle second core back.
SETTLE_S = 0.3
WARM_S = 0.3
BEFORE = "6304245"  # the last commit before the speed work (workspace, BLAS kernel, fused ops)


def openblas() -> dict:
    """threadpoolctl's record of numpy's OpenBLAS: architecture (the kernel), version,
    num_threads (as limited at the moment of the call)."""
    return next((pool for pool in threadpool_info() if pool["internal_api"] == "openblas"),
                {"architecture": "?", "version": "not OpenBLAS", "num_threads": "?"})


def images(batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)


# ---------------------------------------------------------------------------------------------
# Steps: a training step and inference at each batch size, per engine
# ---------------------------------------------------------------------------------------------

def minigrad_calls(model, x, y, infer_inputs: list[np.ndarray]) -> dict:
    optimizer = Adam(model.parameters())

    def train():
        loss = F.cross_entropy(model(Tensor(x)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer(batch):
        def run():
            with no_grad():
                model(Tensor(batch))
        return run

    return {"train": train} | {f"infer b{len(b)}": infer(b) for b in infer_inputs}


def torch_calls(twin, x, y, infer_inputs: list[np.ndarray]) -> dict:
    optimizer = torch.optim.Adam(twin.parameters())
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def train():
        loss = torch.nn.functional.cross_entropy(twin(tx), ty)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer(batch):
        batch = torch.from_numpy(batch)

        def run():
            with torch.no_grad():
                twin(batch)
        return run

    return {"train": train} | {f"infer b{len(b)}": infer(b) for b in infer_inputs}


def minor_faults() -> int:
    """Minor page faults of this process so far: field 10 of /proc/self/stat (the fields after
    the command name in parentheses start at field 3)."""
    with open("/proc/self/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])


def cpu_ticks() -> tuple[int, int, int]:
    """(all CPUs' ticks, their busy ticks, this process's ticks) from /proc: busy is user, nice,
    system, irq, softirq and steal (time the host gave elsewhere); ours is utime + stime, with
    those of the finished child processes (an epoch's)."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:9]]
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(ticks), sum(ticks) - ticks[3] - ticks[4], sum(int(t) for t in fields[11:15])


def others_load(before: tuple[int, int, int], after: tuple[int, int, int]) -> float:
    """Cores kept busy by everything but this process between two cpu_ticks() readings: the noise
    a shared machine adds to a measurement."""
    total, busy, ours = (b - a for a, b in zip(before, after))
    return max(busy - ours, 0) / max(total, 1) * os.cpu_count()


def seconds_per_call(fn, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def calls_for(fn, seconds: float) -> None:
    """Call fn again and again for about `seconds`."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()


def calls_per_repeat(fns, target_s: float) -> int:
    """Calls that take about target_s for the slower engine (at least one)."""
    slowest = max(seconds_per_call(fn, 1) for fn in fns)
    return max(1, round(target_s / slowest))


def engine_threads(threads: int):
    """minigrad's own threads, with OpenBLAS held at one. One thread is OpenBLAS's limit alone, so
    that an engine older than minigrad.engine.parallel runs too (ops_of_engine_at)."""
    if threads == 1:
        return threadpool_limits(1)
    from minigrad.engine import parallel
    return parallel.threads(threads)


def compare(preset: str, batch: int, threads: int, repeats: int, target_s: float) -> dict:
    """Alternate minigrad and torch `repeats` times for each kind of call; times are seconds."""
    minigrad.manual_seed(0)
    model = build_model(load_spec(preset).graph)
    x, y = images(batch)
    infer_inputs = [images(b, seed=1)[0] for b in INFER_BATCHES]
    ours, theirs, twin = minigrad_calls(model, x, y, infer_inputs), {}, None
    row = {"preset": preset, "batch": batch, "threads": threads}
    if torch is not None:
        torch.set_num_threads(threads)
        twin = torch_twin(model)
        row["max_output_difference"] = check_twins_agree(model, twin, infer_inputs[0])
        theirs = torch_calls(twin, x, y, infer_inputs)
    with engine_threads(threads):
        if openblas()["num_threads"] not in (1, "?"):
            raise RuntimeError(f"OpenBLAS runs {openblas()['num_threads']} threads, not 1")
        ticks = cpu_ticks()
        for kind in KINDS:
            training = kind == "train"
            model.train(training)
            if twin is not None:
                twin.train(training)
            fns = [ours[kind]] + ([theirs[kind]] if theirs else [])
            for fn in fns:
                fn()  # warm up: first calls allocate
            calls = calls_per_repeat(fns, target_s)
            measured = {"minigrad": [], "torch": []}
            for _ in range(repeats):
                for name, fn in zip(measured, fns):
                    if threads > 1:
                        time.sleep(SETTLE_S)  # let the other engine's worker threads go idle
                        calls_for(fn, WARM_S)  # and this engine's come back up to speed
                    measured[name].append(seconds_per_call(fn, calls))
            row[kind] = summarize(measured)
        row["others_load"] = others_load(ticks, cpu_ticks())
    return row


def summarize(measured: dict) -> dict:
    """Median ms per call of each engine, and the ratios of the repeats."""
    mine, theirs = measured["minigrad"], measured["torch"]
    result = {"minigrad_ms": 1e3 * statistics.median(mine)}
    if theirs:
        ratios = [t / m for t, m in zip(theirs, mine)]
        result.update(torch_ms=1e3 * statistics.median(theirs),
                      ratio_min=min(ratios), ratio_median=statistics.median(ratios),
                      ratio_max=max(ratios))
    return result


# ---------------------------------------------------------------------------------------------
# The cost of a page fault, and a large GEMM: what this machine gives
# ---------------------------------------------------------------------------------------------

def seconds_per_fault(mib: int = 16, rounds: int = 7) -> float:
    """Median seconds of one minor fault: a fresh anonymous mapping (as malloc gives a large
    array) written once per page, each write faulting in a zeroed page."""
    page = mmap.PAGESIZE
    costs = []
    for _ in range(rounds):
        region = mmap.mmap(-1, mib * 2**20)
        pages = np.frombuffer(region, dtype=np.uint8)
        faults, started = minor_faults(), time.perf_counter()
        pages[::page] = 1
        costs.append((time.perf_counter() - started) / max(minor_faults() - faults, 1))
        del pages
        region.close()
    return statistics.median(costs)


def gemm_gflops(size: int, repeats: int = 5) -> float:
    """GFLOP/s of a size² float32 matrix product on one thread."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    with threadpool_limits(1):
        a @ a
        best = min(seconds_per_call(lambda: a @ a, 1) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


# ---------------------------------------------------------------------------------------------
# Per-op breakdown: each engine's ops timed in one call, labelled alike ("conv 2": the call's
# second convolution) so that the two engines' rows line up
# ---------------------------------------------------------------------------------------------

# minigrad Function class -> the op's name in the tables. The presets multiply only in dropout
# (whose mask is drawn outside the op, so it counts in "the rest").
FUNCTION_KINDS = {"Conv2d": "conv", "DepthwiseConv2d": "conv", "GroupedConv2d": "conv",
                  "BatchNorm": "batch norm", "ReLU": "relu", "ReLU6": "relu6",
                  "MaxPool2d": "max pool", "Linear": "linear", "Reshape": "flatten",
                  "CrossEntropy": "cross-entropy", "Mul": "dropout", "Mean": "global pool",
                  "Add": "add"}
# PyTorch's top-level forward ops -> the same names. aten::add_ at top level is BatchNorm's
# num_batches_tracked counter in these models.
TORCH_KINDS = {"aten::conv2d": "conv", "aten::batch_norm": "batch norm", "aten::add_": "batch norm",
               "aten::relu": "relu", "aten::hardtanh": "relu6", "aten::relu6": "relu6",
               "aten::max_pool2d": "max pool", "aten::linear": "linear", "aten::flatten": "flatten",
               "aten::reshape": "flatten", "aten::view": "flatten",
               "aten::cross_entropy_loss": "cross-entropy", "aten::dropout": "dropout",
               "aten::mean": "global pool", "aten::adaptive_avg_pool2d": "global pool",
               "aten::add": "add"}


class OpTimer:
    """Times every Function's forward (its `apply`) and backward, in this process only, by
    wrapping Function.apply and each subclass's backward while `installed()`.

    Ops are named by kind and order of call ("conv 2": the call's second convolution), so one
    layer's forward and backward share a row. A forward that calls other ops is charged only
    for its own time.
    """

    def __init__(self):
        self.seconds = collections.defaultdict(float)  # (op, "forward" | "backward") -> seconds
        self.shapes: dict[str, tuple[int, ...]] = {}  # op -> output shape
        self.calls_in_step: collections.Counter = collections.Counter()
        self.labels: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Function -> op
        self.inner = [0.0]  # per running forward: seconds spent in the ops it called

    def new_step(self) -> None:
        self.calls_in_step.clear()

    @contextlib.contextmanager
    def installed(self):
        original_apply = Function.__dict__["apply"]  # the classmethod itself, to put back
        originals = {cls: cls.__dict__["backward"] for cls in _function_classes()
                     if "backward" in cls.__dict__}

        def apply(cls, *inputs, **options):
            kind = FUNCTION_KINDS.get(cls.__name__, cls.__name__)
            self.calls_in_step[kind] += 1
            label = f"{kind} {self.calls_in_step[kind]}"
            self.inner.append(0.0)
            started = time.perf_counter()
            result = original_apply.__func__(cls, *inputs, **options)
            elapsed = time.perf_counter() - started
            self.seconds[label, "forward"] += elapsed - self.inner.pop()
            self.inner[-1] += elapsed
            self.shapes.setdefault(label, result.shape)
            if isinstance(result._op, Function):
                self.labels[result._op] = label
            return result

        def timed_backward(backward):
            def wrapper(op, grad):
                started = time.perf_counter()
                grads = backward(op, grad)
                label = self.labels.get(op, type(op).__name__)
                self.seconds[label, "backward"] += time.perf_counter() - started
                return grads
            return wrapper

        Function.apply = classmethod(apply)
        for cls, backward in originals.items():
            cls.backward = timed_backward(backward)
        try:
            yield self
        finally:
            Function.apply = original_apply
            for cls, backward in originals.items():
                cls.backward = backward


def _function_classes() -> list[type]:
    found, pending = [], [Function]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def minigrad_op_ms(model, kind: str, x, y, steps: int, threads: int = 1) -> dict:
    """ms per call of each op's forward and backward, the optimizer and the rest, over `steps`
    calls of `kind` ("train" or "infer bN") on `threads` threads (the model in the matching
    mode)."""
    training = kind == "train"
    model.train(training)
    optimizer = Adam(model.parameters())
    timer, parts = OpTimer(), collections.defaultdict(float)

    def call():
        moments = [time.perf_counter()]
        if not training:
            with no_grad():
                model(Tensor(x))
            moments.append(time.perf_counter())
            return zip(("forward",), moments, moments[1:])
        loss = F.cross_entropy(model(Tensor(x)), y)
        moments.append(time.perf_counter())
        optimizer.zero_grad()
        moments.append(time.perf_counter())
        loss.backward()
        moments.append(time.perf_counter())
        optimizer.step()
        moments.append(time.perf_counter())
        return zip(("forward", "zero_grad", "backward", "optimizer"), moments, moments[1:])

    with engine_threads(threads):
        call()  # warm up: Adam's state, first allocations
        with timer.installed():
            for _ in range(steps):
                timer.new_step()
                for part, start, end in call():
                    parts[part] += end - start
    ms = {key: 1e3 * seconds / steps for key, seconds in timer.seconds.items()}
    ops = [{"op": label, "output": timer.shapes[label], "forward_ms": ms.get((label, "forward"), 0),
            "backward_ms": ms.get((label, "backward"), 0)} for label in timer.shapes]
    step_ms = {part: 1e3 * seconds / steps for part, seconds in parts.items()}
    return {"ops": ops, "step_ms": sum(step_ms.values()),
            "forward_rest_ms": step_ms["forward"] - sum(o["forward_ms"] for o in ops),
            "backward_rest_ms": step_ms.get("backward", 0) - sum(o["backward_ms"] for o in ops),
            "zero_grad_ms": step_ms.get("zero_grad", 0), "optimizer_ms": step_ms.get("optimizer", 0),
            "forward_ms": step_ms["forward"], "backward_ms": step_ms.get("backward", 0)}


def torch_op_ms(twin, kind: str, x, y, steps: int, threads: int = 1) -> dict:
    """The same figures for PyTorch, from its profiler: each top-level forward op is labelled as
    minigrad's are, and each backward node is charged to the forward op that created it (found
    by the autograd sequence number of the op or of any op inside it)."""
    from torch.profiler import ProfilerActivity, profile, record_function
    training = kind == "train"
    twin.train(training)
    call = torch_calls(twin, x, y, [x])["train" if training else f"infer b{len(x)}"]
    torch.set_num_threads(threads)
    call()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            with record_function("one call"):
                call()
    seconds = collections.defaultdict(float)
    order: list[str] = []
    total = 0.0
    for event in profiler.events():
        if event.name != "one call":
            continue
        total += event.cpu_time_total
        counts, by_sequence = collections.Counter(), {}
        for child in event.cpu_children:
            name = child.name
            if name.startswith("autograd::engine::evaluate_function: "):
                label = by_sequence.get(child.sequence_nr, "gradient accumulation")
                seconds[label, "backward"] += child.cpu_time_total
            elif name.startswith("Optimizer.step"):
                seconds["optimizer"] += child.cpu_time_total
            elif name.startswith("Optimizer.zero_grad"):
                seconds["zero_grad"] += child.cpu_time_total
            elif name in TORCH_KINDS:
                op_kind = TORCH_KINDS[name]
                if name == "aten::add_":  # BatchNorm counts its batches before it normalizes
                    label = f"{op_kind} {counts[op_kind] + 1}"
                else:
                    counts[op_kind] += 1
                    label = f"{op_kind} {counts[op_kind]}"
                if label not in order:
                    order.append(label)
                seconds[label, "forward"] += child.cpu_time_total
                pending = [child]
                while pending:
                    inner = pending.pop()
                    if inner.sequence_nr >= 0:
                        by_sequence.setdefault(inner.sequence_nr, label)
                    pending.extend(inner.cpu_children)
            else:
                seconds["other", "forward"] += child.cpu_time_total
    ms = {key: seconds[key] / 1e3 / steps for key in seconds}  # the profiler counts µs
    ops = {label: {"forward_ms": ms.get((label, "forward"), 0),
                   "backward_ms": ms.get((label, "backward"), 0)} for label in order}
    timed = sum(ms.values())
    return {"ops": ops, "step_ms": total / 1e3 / steps, "rest_ms": total / 1e3 / steps - timed,
            "other_forward_ms": ms.get(("other", "forward"), 0),
            "accumulate_ms": ms.get(("gradient accumulation", "backward"), 0),
            "zero_grad_ms": ms.get("zero_grad", 0), "optimizer_ms": ms.get("optimizer", 0)}


TARGETS = {"train": 1.0, "infer b32": 1.5, "infer b1": 1.5}  # the least torch/minigrad ratio


def shortfalls(rows: list[dict]) -> list[tuple[str, str, int]]:
    """(preset, kind, threads) of every call whose median ratio misses its target."""
    return [(row["preset"], kind, row["threads"]) for row in rows
            for kind, target in TARGETS.items() if row[kind].get("ratio_median", target) < target]


def op_comparison(preset: str, batch: int, kind: str, steps: int, threads: int = 1) -> dict:
    """Both engines' per-op ms for one kind of call of `preset` on `threads` threads, the same
    weights and input (torch's figures are None without torch). At 2 threads minigrad runs
    first, then a pause, then torch, as in compare()."""
    minigrad.manual_seed(0)
    model = build_model(load_spec(preset).graph)
    x, y = images(batch if kind == "train" else int(kind.split("b")[-1]))
    twin = torch_twin(model) if torch is not None else None
    mine = minigrad_op_ms(model, kind, x, y, steps, threads)
    time.sleep(SETTLE_S)  # let minigrad's worker threads go idle before torch's turn
    theirs = torch_op_ms(twin, kind, x, y, steps, threads) if twin is not None else None
    return {"preset": preset, "batch": len(x), "kind": kind, "steps": steps, "threads": threads,
            "minigrad": mine, "torch": theirs}


def ops_of_engine_at(ref: str, preset: str, batch: int, steps: int) -> dict:
    """minigrad's per-op figures for a training step of the engine as it was at git `ref`
    ("before"), in a fresh process that imports minigrad from a checkout of that commit."""
    root = HERE.parent
    with tempfile.TemporaryDirectory() as scratch:
        checkout = Path(scratch) / "engine"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "--quiet",
                        str(checkout), ref], check=True)
        try:
            out = subprocess.run([sys.executable, str(HERE / "bench.py"), "--ops-of-this-engine",
                                  f"{preset}:{batch}:{steps}"], check=True, capture_output=True,
                                 text=True, env=os.environ | {"PYTHONPATH": str(checkout)})
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force",
                            str(checkout)], check=True)
    return json.loads(out.stdout.splitlines()[-1]) | {"ref": ref}


# ---------------------------------------------------------------------------------------------
# Training in a fresh process per engine, as a user's would be: a clean peak RSS, and page faults
# that the other engine's allocations (what malloc has kept) do not change
# ---------------------------------------------------------------------------------------------

WORKER_SCRIPT = """
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
import minigrad
from minigrad.tools.build import build_model
from minigrad.tools.data import DataLoader
from minigrad.tools.datasets import load_dataset
from minigrad.readers import load_spec
mode, engine, preset, batch, size, data_dir, here = sys.argv[1:]
batch, size = int(batch), int(size)
if mode == "epoch":  # size: images (0: all 60,000)
    train = load_dataset("mnist", "train", data_dir=data_dir)
    train = train.subset(size) if size else train
    loader = DataLoader(train, batch, shuffle=True)
    batches, steps, images = loader.batches(0), len(loader), len(train)
else:  # "steps": `size` steps on one random batch, after 3 of warm-up
    rng = np.random.default_rng(0)
    one = rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)
    batches, steps, images = [one] * size, size, size * batch
minigrad.manual_seed(0)
model = build_model(load_spec(preset).graph)
if engine == "minigrad":
    import minigrad.engine.functional as F
    from minigrad.engine.optim import Adam
    from minigrad.tools.train import Trainer
    optimizer = Adam(model.parameters())

    def step(x, y):
        logits = model(minigrad.Tensor(x))
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        return loss.item(), logits.data.argmax(1)
else:
    import torch
    sys.path.insert(0, here)
    from torch_twin import torch_twin
    torch.set_num_threads(1)
    twin = torch_twin(model)
    optimizer = torch.optim.Adam(twin.parameters())

    def step(x, y):
        logits = twin(torch.from_numpy(x))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        return loss.item(), logits.argmax(1).numpy()


def minor_faults():
    with open("/proc/self/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])


with threadpool_limits(1):
    if mode == "steps":
        for _ in range(3):  # warm up: Adam's state, the first allocations
            step(*one)
    faults, started = minor_faults(), time.perf_counter()
    if mode == "epoch" and engine == "minigrad":
        stats = Trainer(model, optimizer, loader, 1).fit().history[-1]
        loss, accuracy = stats.loss, stats.accuracy
    else:  # the loop Trainer runs, with its running loss and accuracy
        loss_sum = correct = 0.0
        for x, y in batches:
            loss, predicted = step(x, y)
            loss_sum, correct = loss_sum + loss * len(y), correct + int((predicted == y).sum())
        loss, accuracy = loss_sum / images, correct / images
    seconds, faults = time.perf_counter() - started, minor_faults() - faults
# VmHWM, not getrusage: Linux carries ru_maxrss over exec, so it would report the parent's peak.
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
print(json.dumps({"engine": engine, "preset": preset, "batch": batch, "images": images,
                  "seconds": seconds, "step_ms": 1e3 * seconds / steps, "faults": faults / steps,
                  "loss": loss, "accuracy": accuracy, "peak_rss_mib": peak_kib / 1024}))
"""


def in_fresh_process(mode: str, engine: str, preset: str, batch: int, size: int,
                     data_dir: str = "") -> dict:
    """Train `preset` in a new process on one thread: mode "epoch" (an MNIST epoch of `size`
    images, 0 for all) or "steps" (`size` steps on one random batch, after warm-up)."""
    ticks = cpu_ticks()
    out = subprocess.run([sys.executable, "-c", WORKER_SCRIPT, mode, engine, preset, str(batch),
                          str(size), data_dir, str(HERE)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout) | {"others_load": others_load(ticks, cpu_ticks())}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = f"Python {platform.python_version()}, numpy {np.__version__}"
    if torch is not None:
        versions += f", torch {torch.__version__}"
    return f"{cpu}, {os.cpu_count()} cores; {versions}"


def kernel_line(results: dict) -> str:
    blas = results["openblas"]
    removed = (f"{results['removed_env']} removed from the benchmark's environment"
               if results["removed_env"] else "no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE set")
    return (f"OpenBLAS {blas['version']}, kernel **{blas['architecture']}**, "
            f"held at one thread: minigrad runs a row's threads itself (minigrad.engine.parallel), "
            f"PyTorch by torch.set_num_threads · {removed} · a "
            f"{results['gemm_size']}² float32 GEMM on one thread: "
            f"{results['gemm_gflops']:.0f} GFLOP/s")


def ratio_cells(k: dict) -> list[str]:
    if "torch_ms" not in k:
        return [f"{k['minigrad_ms']:.2f}", "—"]
    return [f"{k['minigrad_ms']:.2f} · {k['torch_ms']:.2f}",
            f"{k['ratio_min']:.2f} / **{k['ratio_median']:.2f}** / {k['ratio_max']:.2f}"]


def by_preset(rows: list[dict]):
    """(preset, its rows: minigrad's, then torch's) for rows from in_fresh_process."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["preset"], []).append(row)
    return grouped.items()


def both(runs: list[dict], field: str, fmt: str) -> str:
    """A cell with each engine's value: "minigrad · torch"."""
    return " · ".join(format(run[field], fmt) for run in runs)


def _ms(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def _op_rows(mine: dict, theirs: dict | None) -> list[tuple[str, str, list]]:
    """(op, output, [minigrad fwd, torch fwd, minigrad bwd, torch bwd]) per op, then the rest,
    zero_grad and the optimizer: the ops in minigrad's order, then any only torch ran."""
    theirs_ops = theirs["ops"] if theirs else {}
    rows = []
    for o in mine["ops"]:
        t = theirs_ops.get(o["op"])
        rows.append((o["op"], "×".join(map(str, o["output"])) or "scalar",
                     [o["forward_ms"], t and t["forward_ms"], o["backward_ms"],
                      t and t["backward_ms"]]))
    for label, t in theirs_ops.items():
        if all(label != o["op"] for o in mine["ops"]):
            rows.append((label, "(torch only)", [None, t["forward_ms"], None, t["backward_ms"]]))
    rest = [mine["forward_rest_ms"], theirs and theirs["other_forward_ms"] + theirs["rest_ms"],
            mine["backward_rest_ms"], theirs and theirs["accumulate_ms"]]
    rows += [("the rest: Python around the ops, gradient sums", "", rest),
             ("zero_grad", "", [mine["zero_grad_ms"], theirs and theirs["zero_grad_ms"], None,
                                None]),
             ("Adam step", "", [mine["optimizer_ms"], theirs and theirs["optimizer_ms"], None,
                                None])]
    return rows


def comparison_table(c: dict) -> list[str]:
    """One preset's call, per op: both engines' ms and minigrad's excess."""
    mine, theirs, training = c["minigrad"], c["torch"], c["kind"] == "train"
    shown = 4 if training else 2  # inference has no backward columns
    header = (["minigrad fwd", "torch fwd", "minigrad bwd", "torch bwd"] if training
              else ["minigrad", "torch"])
    threads = c["threads"]
    lines = ["", f"**{c['preset']}, {'training step' if training else 'inference'} "
                 f"(batch {c['batch']}), {'one thread' if threads == 1 else f'{threads} threads'}"
                 f", per op** (ms per call, mean of {c['steps']} calls, every op timed in both "
                 "engines):", "",
             "| op | output | " + " | ".join(header) + " | minigrad − torch |",
             "| --- | --- |" + " ---: |" * (shown + 1)]
    for op, output, cells in _op_rows(mine, theirs):
        cells = cells[:shown]
        if not any(cells):
            continue
        excess = None if theirs is None else sum(v or 0 for v in cells[0::2]) - sum(
            v or 0 for v in cells[1::2])
        lines.append(f"| {op} | {output} | " + " | ".join(map(_ms, cells)) + f" | {_ms(excess)} |")
    total = None if theirs is None else mine["step_ms"] - theirs["step_ms"]
    lines.append(f"| **the call** | | {mine['step_ms']:.2f} | {_ms(theirs and theirs['step_ms'])} "
                 + "| " * (shown - 2) + f"| {_ms(total)} |")
    return lines


def before_after_table(c: dict) -> list[str]:
    """mnist-cnn's training step per op: the engine before this work, now, and PyTorch."""
    before, after, theirs = c["before"], c["after"]["minigrad"], c["after"]["torch"]
    lines = ["", f"**{c['after']['preset']} training step (batch {c['after']['batch']}), one "
                 f"thread, per op: before** (the engine at commit {before['ref']}, run by this "
                 "benchmark from a checkout of it) **and after**, with PyTorch's (ms per step, "
                 f"mean of {c['after']['steps']} steps, every op timed):", "",
             "| op | output | before fwd | before bwd | after fwd | after bwd | torch fwd | "
             "torch bwd |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    before_rows = {op: cells for op, _, cells in _op_rows(before, None)}
    for op, output, cells in _op_rows(after, theirs):
        was = before_rows.get(op, [None] * 4)
        lines.append(f"| {op} | {output} | {_ms(was[0])} | {_ms(was[2])} | {_ms(cells[0])} | "
                     f"{_ms(cells[2])} | {_ms(cells[1])} | {_ms(cells[3])} |")
    lines.append(f"| **the step** | | {before['step_ms']:.2f} | | {after['step_ms']:.2f} | | "
                 f"{_ms(theirs and theirs['step_ms'])} | |")
    return lines


def markdown(results: dict) -> str:
    command = ("python benchmarks/bench.py" + (" --quick" if results["quick"] else ""))
    if results["data_dir"]:
        command = f"CNNCALC_DATA={results['data_dir']} {command}"
    lines = ["# Benchmark: minigrad vs PyTorch (CPU)", "",
             f"{results['date']} · {results['machine']} · `{command}`", "",
             kernel_line(results), "",
             "Ratio = torch time / minigrad time per call, min / median / max over the repeats "
             "(above 1: minigrad is faster); ms are medians. Inference is eval mode without a "
             "graph, at batch 32 and at batch 1 (`cnncalc predict`). Others' load: the cores "
             "other processes kept busy meanwhile (the machine has "
             f"{os.cpu_count()}; a 2-thread row is only fair near 0).", "",
             "| preset | threads | train batch | train ms (minigrad · torch) | train ratio | "
             "infer b32 ms | infer b32 ratio | infer b1 ms | infer b1 ratio | others' load |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results["steps"]:
        cells = [cell for kind in KINDS for cell in ratio_cells(r[kind])]
        lines.append(f"| {r['preset']} | {r['threads']} | {r['batch']} | " + " | ".join(cells)
                     + f" | {r['others_load']:.2f} |")
    lines += before_after_table(results["before_after"])
    for comparison in results["shortfalls"]:
        lines += comparison_table(comparison)
    cost_ms = 1e3 * results["seconds_per_fault"]
    lines += ["", "Minor page faults of a training step, one thread, each engine in a fresh "
                  f"process (mean over {results['fault_steps']} steps after 3 of warm-up). A "
                  f"fault costs {1e3 * cost_ms:.1f} µs here (a fresh mapping written once per "
                  "page, median); est. ms = faults × that cost, and its share of the step:", "",
              "| preset | batch | faults/step minigrad · torch | est. ms/step | step ms | share |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for preset, runs in by_preset(results["faults"]):
        runs = [r | {"fault_ms": r["faults"] * cost_ms,
                     "share": r["faults"] * cost_ms / r["step_ms"]} for r in runs]
        lines.append(f"| {preset} | {runs[0]['batch']} | {both(runs, 'faults', ',.0f')} | "
                     f"{both(runs, 'fault_ms', '.1f')} | {both(runs, 'step_ms', '.1f')} | "
                     f"{both(runs, 'share', '.0%')} |")
    if results["epochs"]:
        lines += ["", "One MNIST epoch, Adam, one thread, each in a fresh process: minigrad's "
                      "`Trainer` and the same model (same start, same batches) in a plain PyTorch "
                      "loop; loss and accuracy are the epoch's running training figures:", "",
                  "| preset | batch | images | seconds minigrad · torch | peak RSS | faults/batch "
                  "| loss | accuracy | others' load |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for preset, runs in by_preset(results["epochs"]):
            lines.append(f"| {preset} | {runs[0]['batch']} | {runs[0]['images']:,} | "
                         f"{both(runs, 'seconds', '.1f')} | {both(runs, 'peak_rss_mib', ',.0f')} "
                         f"MiB | {both(runs, 'faults', ',.0f')} | {both(runs, 'loss', '.4f')} | "
                         f"{both(runs, 'accuracy', '.4f')} | {both(runs, 'others_load', '.2f')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few repeats, 2,000 "
                        "images for the epoch timings")
    parser.add_argument("--data-dir", default=os.environ.get("CNNCALC_DATA", ""),
                        help="root with mnist/ (default: $CNNCALC_DATA); none skips the epochs")
    parser.add_argument("--out", default=str(HERE / "results.md"), help="markdown report path")
    parser.add_argument("--before", default=BEFORE, help="git commit whose engine gives the "
                        f"per-op 'before' table (default {BEFORE}: the engine before the speed work)")
    parser.add_argument("--removed-env", default="", help=argparse.SUPPRESS)  # set by the re-exec
    parser.add_argument("--ops-of-this-engine", help=argparse.SUPPRESS)  # set by ops_of_engine_at
    args = parser.parse_args()
    if args.ops_of_this_engine:
        preset, batch, steps = args.ops_of_this_engine.split(":")
        minigrad.manual_seed(0)
        model = build_model(load_spec(preset).graph)
        x, y = images(int(batch))
        print(json.dumps(minigrad_op_ms(model, "train", x, y, int(steps))))
        return
    repeats, target_s = (3, 0.02) if args.quick else (9, 0.25)
    blas = openblas()
    print(f"OpenBLAS {blas['version']}, kernel {blas['architecture']}, {blas['num_threads']} "
          f"threads; removed from the environment: {args.removed_env or 'nothing'}", flush=True)
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "machine": machine(), "quick": args.quick, "data_dir": args.data_dir,
               "openblas": blas, "removed_env": args.removed_env, "steps": [], "epochs": []}
    results["gemm_size"] = 1024 if args.quick else 2048
    results["gemm_gflops"] = gemm_gflops(results["gemm_size"])
    results["seconds_per_fault"] = seconds_per_fault()
    for threads in (1, 2):
        for preset, batch in PRESETS.items():
            row = compare(preset, batch, threads, repeats, target_s)
            results["steps"].append(row)
            print(json.dumps(row), flush=True)
    steps = {"train": 3 if args.quick else 20, "infer b32": 3 if args.quick else 30,
             "infer b1": 10 if args.quick else 200}
    results["before_after"] = {
        "before": ops_of_engine_at(args.before, "mnist-cnn", 32, steps["train"]),
        "after": op_comparison("mnist-cnn", 32, "train", steps["train"])}
    results["shortfalls"] = [op_comparison(preset, PRESETS[preset], kind, steps[kind], threads)
                             for preset, kind, threads in shortfalls(results["steps"])]
    for comparison in [results["before_after"], *results["shortfalls"]]:
        print(json.dumps(comparison), flush=True)
    engines = ("minigrad", "torch") if torch is not None else ("minigrad",)
    results["fault_steps"] = 3 if args.quick else 20
    runs = [("faults", "steps", preset, results["fault_steps"]) for preset in PRESETS]
    if args.data_dir:
        runs += [("epochs", "epoch", preset, 2000 if args.quick else 0) for preset in EPOCH_PRESETS]
    results["faults"] = []
    for table, mode, preset, size in runs:
        for engine in engines:
            row = in_fresh_process(mode, engine, preset, PRESETS[preset], size, args.data_dir)
            results[table].append(row)
            print(json.dumps(row), flush=True)
    Path(args.out).write_text(markdown(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
