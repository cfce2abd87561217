"""Fold nested blocks into one row each, as torchinfo's `depth` does: with depth 1, ResNet's
`layer1.0.conv1`, `layer1.0.bn1`, … become one row `layer1` with their summed parameters and
MACs and the block's output shape (its last row's)."""

from __future__ import annotations

from dataclasses import replace

from minigrad.layers.shapes import Row, Summary


def fold(summary: Summary, depth: int) -> Summary:
    """Rows named deeper than `depth` dotted levels, merged into their block's row."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    groups: dict[str, list[Row]] = {}
    for row in summary.rows:
        parts = row.name.split(".")
        if len(parts) > depth:
            groups.setdefault(".".join(parts[:depth]), []).append(row)
    if not groups:
        return summary
    block_of = {row.name: key for key, rows in groups.items() for row in rows}
    last = {rows[-1].name: key for key, rows in groups.items()}
    folded: list[Row] = []
    for row in summary.rows:
        key = block_of.get(row.name)
        if key is None:
            inputs = tuple(dict.fromkeys(block_of.get(n, n) for n in row.inputs))
            folded.append(replace(row, inputs=inputs))
        elif row.name in last:
            folded.append(_block_row(key, groups[key], block_of))
    return replace(summary, rows=tuple(replace(r, index=i) for i, r in enumerate(folded)))


def _block_row(name: str, rows: list[Row], block_of: dict[str, str]) -> Row:
    members = {r.name for r in rows}
    inputs = tuple(dict.fromkeys(block_of.get(n, n) for r in rows for n in r.inputs if n not in members))
    notes = tuple(dict.fromkeys(f"{r.name}: {note}" for r in rows for note in r.notes))
    out = rows[-1]
    return replace(out, name=name, type="block", description=f"{len(rows)} layers folded",
                   params=sum(r.params for r in rows),
                   trainable_params=sum(r.trainable_params for r in rows),
                   buffers=sum(r.buffers for r in rows), macs=sum(r.macs for r in rows),
                   inputs=inputs, notes=notes, explain=())
