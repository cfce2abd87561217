"""The sliding window shared by convolutions and pools, along 1 or 2 spatial axes.

Output size per axis: floor((N + P_before + P_after − D·(K − 1) − 1) / S) + 1 (ceil for PyTorch's
ceil_mode pools, dropping a last window that would start in the padding); 'same' padding is
TensorFlow's (ceil(N/S) outputs, the odd pixel after), which at stride 1 is also PyTorch's
(left = total // 2). The receptive field follows Axis.slide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from minigrad.layers.shapes import effective_kernel, output_size, same_padding
from minigrad.layers.base import Axis, Context, Flow, Layer, dims_text, number, shape_text

Padding = Union[str, tuple[int, ...], tuple[tuple[int, int], ...]]
# "valid", "same", P per axis on both sides, or (before, after) per axis

LABELS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
UNITS = {"L": "position", "H": "row", "W": "column", "D": "slice"}
LAYOUT_WORDS = {("hwc", 1): "L×C", ("chw", 1): "C×L", ("hwc", 2): "H×W×C", ("chw", 2): "C×H×W"}


def labels(rank: int) -> tuple[str, ...]:
    return LABELS.get(rank, tuple(f"X{i}" for i in range(rank)))


def need_grid(ctx: Context, layer: Layer, kind: str, shape: tuple[int, ...],
              rank: int) -> tuple[int, tuple[int, ...]]:
    """(channels, spatial sizes) of a feature map with `rank` spatial axes, else a SpecError."""
    if len(shape) != rank + 1:
        want = LAYOUT_WORDS.get((ctx.layout, rank), f"{rank}-D")
        raise ctx.error(f"{kind} needs a {want} feature map but receives {shape_text(shape)}",
                        layer)
    return ctx.channels(shape), ctx.spatial(shape)


def check_padding(ctx: Context, layer: Layer, padding, rank: int) -> None:
    if padding in ("same", "valid"):
        return
    ok = isinstance(padding, tuple) and len(padding) == rank and (
        all(_natural(p) for p in padding)
        or all(isinstance(p, tuple) and len(p) == 2 and all(_natural(q) for q in p)
               for p in padding))
    if not ok:
        raise ctx.error(f"padding must be 'valid', 'same' or a non-negative integer per axis, "
                        f"got {padding!r}", layer)


def _natural(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def explicit_pads(padding, index: int) -> tuple[int, int]:
    """(before, after) of an explicit padding along axis `index`."""
    p = padding[index]
    return p if isinstance(p, tuple) else (p, p)


def pads_of(padding, size: int, kernel: int, stride: int, dilation: int,
            index: int) -> tuple[int, int]:
    if padding == "same":
        return same_padding(size, kernel, stride, dilation)
    if padding == "valid":
        return 0, 0
    return explicit_pads(padding, index)


def padding_words(padding) -> list[str]:
    if padding == "same":
        return ["same"]
    if padding == "valid":
        return []
    pairs = [p if isinstance(p, tuple) else (p, p) for p in padding]
    if all(a == b for a, b in pairs):
        return [] if all(a == 0 for a, _ in pairs) else [f"pad {dims_text([a for a, _ in pairs])}"]
    return ["pad " + "×".join(f"{a}+{b}" for a, b in pairs)]


def window_words(stride: tuple[int, ...], padding, dilation: tuple[int, ...]) -> list[str]:
    words = []
    if any(s != 1 for s in stride):
        words.append(f"stride {dims_text(stride)}")
    words += padding_words(padding)
    if any(d != 1 for d in dilation):
        words.append(f"dilation {dims_text(dilation)}")
    return words


@dataclass(frozen=True)
class Window:
    sizes: tuple[int, ...]
    axes: tuple[Axis, ...] | None
    explain: list[str]
    notes: list[str]


def slide(ctx: Context, layer: Layer, kind: str, flow: Flow, kernel: tuple[int, ...],
          stride: tuple[int, ...], padding, dilation: tuple[int, ...], ceil: bool) -> Window:
    """Output sizes, new axes, explanation lines and notes of a window over `flow`."""
    rank = len(kernel)
    _, spatial = need_grid(ctx, layer, kind, flow.shape, rank)
    sizes, new_axes, explain, notes = [], [], [], []
    for i, (label, n) in enumerate(zip(labels(rank), spatial)):
        k, s, d = kernel[i], stride[i], dilation[i]
        eff = effective_kernel(k, d)
        before, after = pads_of(padding, n, k, s, d, i)
        if n + before + after < eff:
            what = "kernel" if kind == "conv" else "pool window"
            along = f" along {label}" if rank > 1 else ""
            raise ctx.error(f"{what} {'×'.join(map(str, kernel))}"
                            f"{f' (dilated to {eff})' if d > 1 else ''} is larger than its "
                            f"{'padded ' if before + after else ''}input {n + before + after}"
                            f"{along}", layer)
        out = output_size(n, k, s, (before, after), d, ceil)
        sizes.append(out)
        if flow.axes is not None:
            new_axes.append(flow.axes[i].slide(out, eff, s, before))
        explain.append(size_formula("O" + label, n, k, s, d, padding, before, after, ceil, out))
        span = n + before + after - eff
        if not ceil and span % s:
            left = span % s
            unit = UNITS.get(label, "unit")
            notes.append((f"stride {s} does not divide {n} + {before + after} − {eff} = {span}: "
                          f"the last {f'{left} ' if left > 1 else ''}{{}} of the padded input {{}} "
                          "never covered", unit + "s" * (left > 1), left > 1))
    if len(notes) == 2 and notes[0][0] == notes[1][0]:
        notes = [notes[0][0].format(f"{notes[0][1]} and {notes[1][1]}", "are")]
    else:
        notes = [text.format(units, "are" if plural else "is") for text, units, plural in notes]
    if len(explain) > 1 and len({line.split(" = ", 1)[1] for line in explain}) == 1:
        explain = [" = ".join(line.split(" = ", 1)[0] for line in explain) + " = "
                   + explain[0].split(" = ", 1)[1]]
    axes = tuple(new_axes) if flow.axes is not None else None
    if axes is not None:
        explain += rf_formulas(flow.axes, axes, kernel, stride, dilation)
    return Window(tuple(sizes), axes, explain, notes)


def size_formula(axis_name: str, n: int, k: int, s: int, d: int, padding, before: int,
                 after: int, ceil: bool, out: int) -> str:
    pad = f"2·{before}" if before == after else f"{before} + {after}"
    kernel = f"{k}" if d == 1 else f"{d}·({k} − 1) − 1"
    rounding = "ceil" if ceil else "floor"
    text = f"{axis_name} = {rounding}(({n} + {pad} − {kernel}) / {s}) + 1 = {out}"
    if padding == "same":
        text += f"   ('same': ceil({n}/{s}) = {out}, pad {before} + {after})"
    if ceil and (out - 1) * s >= n + before:
        text += " (last window would start in the padding, dropped)"
    return text


def rf_formulas(axes, new_axes, kernel, stride, dilation) -> list[str]:
    """r_out = r_in + D·(K − 1)·j_in, j_out = j_in·S, per axis (one line when all agree)."""
    rank = len(kernel)
    suffixes = [f"_{label}" for label in labels(rank)] if rank > 1 else [""]
    lines = []
    for suffix, old, new, k, s, d in zip(suffixes, axes, new_axes, kernel, stride, dilation):
        if old.jump is None:
            lines.append(f"r{suffix} = {old.rf} (already the whole input)")
            continue
        grow = f"({k} − 1)" if d == 1 else f"{d}·({k} − 1)"
        lines.append(f"r{suffix} = {old.rf} + {grow}·{old.jump} = {new.rf},  "
                     f"j{suffix} = {old.jump}·{s} = {new.jump},  "
                     f"center{suffix} = {number(new.center)}")
    if rank > 1 and len({line.replace(suffix, "") for line, suffix in zip(lines, suffixes)}) == 1:
        return [lines[0].replace(suffixes[0], "")]
    return lines


def collapse_all(axes: tuple[Axis, ...] | None, size: int = 1) -> tuple[Axis, ...] | None:
    return None if axes is None else tuple(a.collapse(size) for a in axes)
