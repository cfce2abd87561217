"""Receptive fields through random small graphs (residual adds, concatenations, strided shortcuts,
pools) against brute-force dependency propagation.

The oracle never calls the code under test: for a unit (h, w) of any node it walks the graph
backwards and collects the set of input pixels (h, w) the unit depends on, window tap by window
tap, through every branch of every merge. Padding pixels are followed back with the same index
formula as real ones (as the receptive-field recurrence counts them), so a unit's field is the
extent of that set: size max − min + 1, centre (max + min) / 2; the jump is how far the field of
the next unit along an axis has moved.

The precise property, as google-research/receptive_field defines fields through merges:
- a node has a field exactly when no merge on its way from the input joins branches whose
  brute-force fields (of unit (0, 0)) have different centres or different jumps along an axis;
  then the field, jump and centre are the brute-force ones (the largest branch field at a merge),
  and the field moves by exactly one jump from unit to unit (checked on unit (1, 1));
- otherwise rf_unknown says that the branches disagree, from that merge on.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from minigrad.layers import Conv, Input, LayerGraph, Merge, Node, Pool, analyze_graph


def tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's documented 'SAME' padding (pad_before = total // 2)."""
    span = d * (k - 1) + 1
    total = max(span - (s if n % s == 0 else n % s), 0)
    return total // 2, total - total // 2


def windows(n: int, k: int, s: int, before: int, after: int, d: int = 1) -> int | None:
    """How many windows fit, placing them one at a time along the padded input."""
    span = d * (k - 1) + 1
    count, start = 0, -before
    while start + span - 1 <= n - 1 + after:
        count, start = count + 1, start + s
    return count or None


@dataclass
class Op:
    kind: str                        # input, window, merge
    inputs: tuple[int, ...] = ()
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    before: tuple[int, int] = (0, 0)


class Builder:
    """Nodes of the graph being drawn, with the oracle's description of each."""

    def __init__(self, draw, layout: str, rules: str, h: int, w: int, c: int):
        self.draw, self.layout, self.rules = draw, layout, rules
        shape = (h, w, c) if layout == "hwc" else (c, h, w)
        self.nodes = [Node(None, Input(shape=shape))]
        self.ops = [Op("input")]
        self.sizes = [(h, w)]
        self.channels = [c]

    def add(self, layer, op: Op, size, channels) -> int:
        self.nodes.append(Node(None, layer, op.inputs))
        self.ops.append(op)
        self.sizes.append(size)
        self.channels.append(channels)
        return len(self.nodes) - 1

    def window(self, src: int, filters: int | None, stride=None, keep_size=False) -> int | None:
        """A conv (filters given) or a pool on node src; None when it does not fit. keep_size:
        padding that keeps the size at stride 1 ('same', or K // 2 on both sides), so that
        branches of equal total stride usually meet."""
        draw = self.draw
        kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        if stride is None:
            stride = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
        dilation = (1, 1)
        if filters is not None and stride == (1, 1):
            dilation = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
        same_ok = self.rules == "keras" or (filters is not None and stride == (1, 1))
        choices = (["explicit"] if keep_size else ["valid", "explicit"]) + ["same"] * same_ok
        padding = draw(st.sampled_from(choices))
        if padding == "explicit":
            padding = tuple(k // 2 if keep_size else draw(st.integers(0, k // 2)) for k in kernel)
        size, before = [], []
        for axis, n in enumerate(self.sizes[src]):
            k, s, d = kernel[axis], stride[axis], dilation[axis]
            pads = (tf_same(n, k, s, d) if padding == "same" else (0, 0) if padding == "valid"
                    else (padding[axis],) * 2)
            count = windows(n, k, s, *pads, d)
            if count is None:
                return None
            size.append(count)
            before.append(pads[0])
        op = Op("window", (src,), kernel, stride, dilation, tuple(before))
        if filters is None:
            layer = Pool(mode=draw(st.sampled_from(["max", "avg"])), kernel=kernel,
                         stride=stride, padding=padding)
            return self.add(layer, op, tuple(size), self.channels[src])
        layer = Conv(filters=filters, kernel=kernel, stride=stride, padding=padding,
                     dilation=dilation)
        return self.add(layer, op, tuple(size), filters)

    def branch(self, src: int, keep_channels: bool, least: int, stride=None) -> int:
        """least–2 windows from src (0: an identity shortcut). With a block stride, the first
        window has it and every window keeps the size otherwise."""
        node = src
        for step in range(self.draw(st.integers(least, 2))):
            conv = self.draw(st.booleans())
            filters = (self.channels[node] if keep_channels else self.draw(st.integers(1, 3)))
            planned = None if stride is None else stride if step == 0 else (1, 1)
            made = self.window(node, filters if conv else None, planned, stride is not None)
            node = node if made is None else made
        return node


@st.composite
def graphs(draw):
    layout, rules = draw(st.sampled_from([("hwc", "keras"), ("chw", "torch")]))
    b = Builder(draw, layout, rules, draw(st.integers(3, 12)), draw(st.integers(3, 12)),
                draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(1, 5))):
        src = draw(st.integers(0, len(b.nodes) - 1))
        kind = draw(st.sampled_from(["conv", "pool", "residual", "residual", "concat"]))
        if kind in ("conv", "pool"):
            b.window(src, draw(st.integers(1, 3)) if kind == "conv" else None)
            continue
        stride = draw(st.one_of(st.none(), st.sampled_from([(1, 1), (2, 2), (1, 2)])))
        left = b.branch(src, kind == "residual", 1, stride)
        right = b.branch(src, kind == "residual", 0 if stride in (None, (1, 1)) else 1, stride)
        if left == right or b.sizes[left] != b.sizes[right]:
            continue
        if kind == "residual" and b.channels[left] != b.channels[right]:
            continue
        op = "add" if kind == "residual" else "concat"
        merge = Merge(op=op, axis=0 if layout == "chw" else -1)
        channels = b.channels[left] + (b.channels[right] if op == "concat" else 0)
        b.add(merge, Op("merge", (left, right)), b.sizes[left], channels)
    return b


def depends_on(ops: list[Op], node: int, units: set) -> set:
    """Input pixels that the units (h, w) of `node` depend on, tap by tap, branch by branch."""
    op = ops[node]
    if op.kind == "input":
        return units
    if op.kind == "merge":
        return set().union(*(depends_on(ops, i, units) for i in op.inputs))
    (kh, kw), (sh, sw), (dh, dw), (bh, bw) = op.kernel, op.stride, op.dilation, op.before
    taps = {(i * sh - bh + a * dh, j * sw - bw + t * dw)
            for i, j in units for a in range(kh) for t in range(kw)}
    return depends_on(ops, op.inputs[0], taps)


def field(ops, node, unit):
    pixels = depends_on(ops, node, {unit})
    hs, ws = [p[0] for p in pixels], [p[1] for p in pixels]
    return (min(hs), max(hs)), (min(ws), max(ws))


def geometry(ops, node):
    """Per axis: (size, jump, centre) of the brute-force field of unit (0, 0)."""
    base = field(ops, node, (0, 0))
    moved = (field(ops, node, (1, 0))[0], field(ops, node, (0, 1))[1])
    return tuple((hi - lo + 1, m_lo - lo, (lo + hi) / 2)
                 for (lo, hi), (m_lo, _) in zip(base, moved))


def disagree(ops, node) -> bool:
    """A merge whose branches' fields differ in jump or centre along some axis."""
    op = ops[node]
    if op.kind != "merge":
        return False
    shapes = [geometry(ops, i) for i in op.inputs]
    return any(len({(g[axis][1], g[axis][2]) for g in shapes}) > 1 for axis in (0, 1))


@settings(max_examples=4 * settings().max_examples)  # merges need many draws; still ~5 s
@given(graphs())
def test_fields_through_graphs_equal_brute_force(b):
    graph = LayerGraph(tuple(b.nodes), b.layout, b.rules)
    note(repr([(n.layer, n.inputs) for n in graph.nodes]))
    summary = analyze_graph(graph)
    unknown = []
    for index, (row, op) in enumerate(zip(summary.rows, b.ops)):
        where = f"row {index} ({row.type})"
        assert row.inputs == tuple(summary.rows[i].name for i in op.inputs), where
        spatial = row.output_shape[:2] if b.layout == "hwc" else row.output_shape[1:]
        assert spatial == b.sizes[index], where
        bad = disagree(b.ops, index) or any(unknown[i] for i in op.inputs)
        unknown.append(bad)
        if bad:
            event("misaligned merge")
            assert row.rf_unknown and row.rf_unknown.startswith("branches disagree"), where
            assert row.receptive_field is None and row.jump is None, where
            continue
        if op.kind == "merge":
            event("aligned merge")
        assert row.rf_unknown is None, where
        want = geometry(b.ops, index)
        assert row.receptive_field == tuple(g[0] for g in want), where
        assert row.jump == tuple(g[1] for g in want), where
        assert row.rf_center == tuple(g[2] for g in want), where
        # one field per layer: unit (1, 1) sees the same extent, moved by one jump per axis
        (h0, h1), (w0, w1) = field(b.ops, index, (0, 0))
        (jh, jw) = row.jump
        assert field(b.ops, index, (1, 1)) == ((h0 + jh, h1 + jh), (w0 + jw, w1 + jw)), where
