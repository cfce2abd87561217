"""The sliding window shared by convolutions (Conv, DepthwiseConv, SeparableConv) and pools, along
1 to 3 spatial axes: output sizes, receptive fields, description words and --explain lines; also
the axis names and the feature-map check every spatial kind uses.

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

Padding = Union[str, int, tuple[int, ...], tuple[tuple[int, int], ...]]
# "valid", "same", P on both sides (for every axis or per axis), or (before, after) per axis

LABELS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
UNITS = {"L": "position", "H": "row", "W": "column", "D": "slice"}


def labels(rank: int) -> tuple[str, ...]:
    """Names of the spatial axes in explain lines: L for 1-D, H and W for 2-D, D H W for 3-D."""
    return LABELS.get(rank, tuple(f"X{i}" for i in range(rank)))


def layout_words(ctx: Context, rank: int) -> str:
    """H×W×C (channels last) or C×H×W (channels first) for `rank` spatial axes."""
    names = labels(rank)
    return "×".join(("C", *names) if ctx.layout == "chw" else (*names, "C"))


def need_grid(ctx: Context, layer: Layer, kind: str, shape: tuple[int, ...],
              ranks: int | tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """(channels, spatial sizes) of a feature map with `ranks` spatial axes (one number or the
    numbers allowed), else a SpecError naming what arrived."""
    ranks = (ranks,) if isinstance(ranks, int) else ranks
    if len(shape) - 1 not in ranks:
        words = [layout_words(ctx, r) for r in ranks]
        want = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        raise ctx.error(f"{kind} needs a {want} feature map but receives {shape_text(shape)}",
                        layer)
    return ctx.channels(shape), ctx.spatial(shape)


def refuse_strided_same(ctx: Context, layer: Layer, padding, stride: tuple[int, ...]) -> None:
    """PyTorch allows padding='same' only at stride 1."""
    if ctx.rules == "torch" and padding == "same" and any(s != 1 for s in stride):
        raise ctx.error("padding='same' is not supported for strided convolutions "
                        "(PyTorch refuses it too)", layer)


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
    """The description's words for a window's stride, padding and dilation (none when plain)."""
    words = []
    if any(s != 1 for s in stride):
        words.append(f"stride {dims_text(stride)}")
    words += padding_words(padding)
    if any(d != 1 for d in dilation):
        words.append(f"dilation {dims_text(dilation)}")
    return words


def kernel_text(kernel: tuple[int, ...]) -> str:
    """3×3 for a 2-D window; "size 3" for a 1-D one, so "64 filters size 3" reads as words."""
    return shape_text(kernel) if len(kernel) > 1 else f"size {kernel[0]}"


def activation_words(activation: str | None) -> list[str]:
    """An inline activation as a description word (none for "linear")."""
    return [activation] if activation and activation != "linear" else []


@dataclass(frozen=True)
class Window:
    """A sliding window over every spatial axis: output sizes, new axes, explain lines, notes."""

    sizes: tuple[int, ...]
    axes: tuple[Axis, ...] | None
    explain: list[str]
    notes: list[str]


def slide(ctx: Context, layer: Layer, kind: str, flow: Flow, kernel: tuple[int, ...],
          stride: tuple[int, ...], padding, dilation: tuple[int, ...], ceil: bool = False,
          what: str = "kernel") -> Window:
    """Output sizes, new axes, explanation lines and notes of a window over `flow`; `kind`
    names the layer in a shape error, `what` the window in a size error."""
    rank = len(kernel)
    _, spatial = need_grid(ctx, layer, kind, flow.shape, rank)
    sizes, new_axes, explain, notes = [], [], [], []
    for i, (label, n) in enumerate(zip(labels(rank), spatial)):
        k, s, d = kernel[i], stride[i], dilation[i]
        eff = effective_kernel(k, d)
        before, after = pads_of(padding, n, k, s, d, i)
        if n + before + after < eff:
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
    explain = merge_sizes(explain)
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


def merge_sizes(lines: list[str]) -> list[str]:
    """['OH = … = 5', 'OW = … = 5'] → ['OH = OW = … = 5'] when every axis computes alike."""
    if len(lines) > 1 and len({line.split(" = ", 1)[1] for line in lines}) == 1:
        return [" = ".join(line.split(" = ", 1)[0] for line in lines) + " = "
                + lines[0].split(" = ", 1)[1]]
    return lines


def rf_formulas(axes, new_axes, kernel, stride, dilation) -> list[str]:
    """r_out = r_in + D·(K − 1)·j_in, j_out = j_in·S, per axis (one line when all agree)."""
    names = labels(len(kernel))
    lines = []
    for label, old, new, k, s, d in zip(names, axes, new_axes, kernel, stride, dilation):
        if old.jump is None:
            lines.append(f"r_{label} = {old.rf} (already the whole input)")
            continue
        grow = f"({k} − 1)" if d == 1 else f"{d}·({k} − 1)"
        lines.append(f"r_{label} = {old.rf} + {grow}·{old.jump} = {new.rf},  "
                     f"j_{label} = {old.jump}·{s} = {new.jump},  "
                     f"center_{label} = {number(new.center)}")
    return merge_axes(lines, names)


def merge_axes(lines: list[str], names) -> list[str]:
    """['r_H = …', 'r_W = …'] → ['r = …'] when the lines only differ in their axis label (always
    for one axis)."""
    plain = {line.replace(f"_{label}", "") for line, label in zip(lines, names)}
    return [plain.pop()] if len(plain) == 1 else lines


def collapse_all(axes: tuple[Axis, ...] | None, size: int = 1) -> tuple[Axis, ...] | None:
    return None if axes is None else tuple(a.collapse(size) for a in axes)
