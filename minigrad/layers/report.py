"""How a model summary looks: the rich table that `cnncalc shapes` and `model.summary()` print,
Keras' summary text, JSON, CSV and Markdown.

Rendering only: every number shown comes from a `Summary` and its `Row`s (minigrad.layers.shapes); this
module formats them and never computes layer arithmetic of its own.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from minigrad.layers.shapes import Row, Summary
from minigrad.text import printable

LAYOUT_LABELS = {"hwc": "H×W×C", "chw": "C×H×W"}


# ---------------------------------------------------------------------------------------------
# Small text pieces shared by the table, Markdown and the explanations.
# ---------------------------------------------------------------------------------------------

def shape_text(shape: tuple[int, ...], sep: str = "×") -> str:
    return sep.join(str(d) for d in shape)


def _axes_text(values) -> str:
    """(5, 5) -> '5', (3, 5) -> '3×5', (7,) -> '7'; a None entry (the whole input) shows as '—'."""
    texts = ["—" if v is None else str(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "×".join(texts)


def field_text(row: Row) -> str:
    """Receptive field as 'size / jump', e.g. '5 / 1', '3×5 / 1×2', '32 / —'; 'n/a' when it is
    unknown (the notes say why), '—' when there is no pixel grid."""
    if row.rf_unknown:
        return "n/a"
    if row.receptive_field is None:
        return "—"
    return f"{_axes_text(row.receptive_field)} / {_axes_text(row.jump)}"


def from_text(row: Row) -> str:
    """The rows that feed this one, e.g. 'conv2d, conv2d_2'."""
    return ", ".join(map(printable, row.inputs))


def layer_kind(row: Row) -> str:
    """The row's type and description, e.g. 'conv 32 filters 3×3, same, relu'."""
    if not row.description or row.description == row.type:
        return row.type
    first, _, rest = row.description.partition(" ")
    if rest and row.type.startswith(first):  # 'maxpool' + 'max 2×2' reads as 'maxpool 2×2'
        return f"{row.type} {rest}"
    return f"{row.type} {row.description}"


def bytes_text(count: int) -> str:
    """Bytes in binary units (1 KiB = 1024 B), e.g. '6.20 MiB'."""
    value, unit = float(count), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{count} B" if unit == "B" else f"{value:.2f} {unit}"


def _count(value: int) -> Text:
    """A count with thousands separators; zeros dimmed so the layers that cost stand out."""
    return Text(f"{value:,}", style="dim" if value == 0 else "")


def indented(line: str) -> Padding:
    """A line indented by four; if it wraps, the continuation keeps the indent."""
    return Padding(Text(line), (0, 0, 0, 4), expand=False)


# ---------------------------------------------------------------------------------------------
# The rich table (default output).
# ---------------------------------------------------------------------------------------------

def summary_title(name: str, summary: Summary) -> str:
    return f"{printable(name)} · {LAYOUT_LABELS[summary.layout]}"


def summary_table(summary: Summary, title: str) -> Table:
    # No outer edge or padding and two-line headers: in a 100-column terminal every column but
    # the layer's is as narrow as its numbers, so the layer descriptions rarely wrap.
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  show_footer=True, title_style="bold", footer_style="bold")
    graph = not summary.is_chain
    table.add_column("#", justify="right", no_wrap=True)
    # a graph's "from" column takes room from the layer column, so 100 columns still hold the numbers
    table.add_column("layer (type)", footer="total", min_width=18 if graph else 24)
    if graph:  # only where a row is not fed by the row above it: the branches and merges
        table.add_column("from", max_width=24)
    table.add_column("output\nshape", no_wrap=True)
    table.add_column("params", f"{summary.total_params:,}", justify="right", no_wrap=True)
    table.add_column("receptive\nfield / jump", justify="right", no_wrap=True)
    table.add_column("MACs", f"{summary.total_macs:,}", justify="right", no_wrap=True)
    previous: tuple[str, ...] = ()
    for row in summary.rows:
        layer = Text()  # spans, not a base style, so the description is dim and not bold
        layer.append(printable(row.name), style="bold")
        if layer_kind(row) != row.name:
            layer.append("\n" + layer_kind(row), style="dim")
        source = "" if row.inputs == previous else from_text(row)
        cells = [str(row.index), layer] + ([source] if graph else [])
        table.add_row(*cells, shape_text(row.output_shape), _count(row.params),
                      field_text(row), _count(row.macs))
        previous = (row.name,)
    return table


def totals_grid(summary: Summary) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("params", f"{summary.total_params:,} total · {summary.trainable_params:,} "
                           f"trainable · {summary.non_trainable_params:,} non-trainable")
    if summary.buffers:
        grid.add_row("buffers", f"{summary.buffers:,} (running statistics: PyTorch keeps them "
                                "outside model.parameters())")
    grid.add_row("compute", f"{summary.total_macs:,} MACs · {summary.total_flops:,} FLOPs "
                            "(2 per MAC) per sample")
    grid.add_row("memory", f"{bytes_text(summary.param_bytes)} parameters · "
                           f"{bytes_text(summary.activation_bytes)} activations per sample "
                           "(float32; 1 KiB = 1024 bytes)")
    return grid


def note_lines(summary: Summary) -> list[str]:
    """Every row note as 'row N (name): note', and where a receptive field becomes unknown, why
    (once, at the row where it happens)."""
    unknown = {row.name: row.rf_unknown for row in summary.rows}
    lines = []
    for row in summary.rows:
        lines += [f"row {row.index} ({printable(row.name)}): {note}" for note in row.notes]
        if row.rf_unknown and all(unknown.get(name) != row.rf_unknown for name in row.inputs):
            lines.append(f"row {row.index} ({printable(row.name)}): no receptive field from here on: "
                         f"{row.rf_unknown}")
    return lines


def print_warnings(console: Console, summary: Summary) -> None:
    """'warning: row N (name): note' in yellow; a wrapped note stays right of 'warning:'."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold yellow")
    grid.add_column(style="yellow")
    for line in note_lines(summary):
        grid.add_row("warning:", line)
    if grid.rows:
        console.print(grid)


def print_explanations(console: Console, summary: Summary) -> None:
    """One block per layer: its heading, then its formulas with the numbers filled in.

    The formulas are too wide for a table cell, so they follow the table; wrapped lines stay
    indented under their layer.
    """
    console.print(Text("How each number comes about", style="bold underline"))
    for row in summary.layers:
        console.print()
        heading = Text()
        heading.append(f"{row.index:>2}  {printable(row.name)}", style="bold")
        kind = "" if layer_kind(row) == row.name else f"  {layer_kind(row)}"
        heading.append(f"{kind}  → {shape_text(row.output_shape)}", style="dim")
        console.print(heading)
        for line in row.explain:
            console.print(indented(line))


def print_summary(console: Console, summary: Summary, name: str, explain: bool) -> None:
    console.print(summary_table(summary, summary_title(name, summary)))
    console.print()
    console.print(totals_grid(summary))
    if note_lines(summary):
        console.print()
        print_warnings(console, summary)
    if explain:
        console.print()
        print_explanations(console, summary)


# ---------------------------------------------------------------------------------------------
# Keras 2's model.summary() text, character for character.
# ---------------------------------------------------------------------------------------------

# Keras' class for a row type; "{d}" is the number of spatial axes (Conv1D, Conv2D).
KERAS_CLASSES = {"input": "InputLayer", "conv": "Conv{d}D", "maxpool": "MaxPooling{d}D",
                 "avgpool": "AveragePooling{d}D", "globalavgpool": "GlobalAveragePooling{d}D",
                 "globalmaxpool": "GlobalMaxPooling{d}D", "flatten": "Flatten", "dense": "Dense",
                 "dropout": "Dropout", "batchnorm": "BatchNormalization",
                 "activation": "Activation", "prelu": "PReLU", "embedding": "Embedding",
                 "layernorm": "LayerNormalization", "groupnorm": "GroupNormalization",
                 "reshape": "Reshape", "permute": "Permute", "identity": "Identity",
                 "add": "Add", "subtract": "Subtract", "multiply": "Multiply",
                 "average": "Average", "maximum": "Maximum", "minimum": "Minimum",
                 "concat": "Concatenate"}
KERAS_LINE_LENGTH = 65
KERAS_COLUMN_ENDS = [int(KERAS_LINE_LENGTH * p) for p in (0.45, 0.85, 1.0)]  # [29, 55, 65]
# A functional model's summary is wider and adds the "Connected to" column.
KERAS_GRAPH_LINE_LENGTH = 98
KERAS_GRAPH_COLUMN_ENDS = [int(KERAS_GRAPH_LINE_LENGTH * p) for p in (0.33, 0.55, 0.67, 1.0)]
KERAS_BREAKS = ("),", "},", "],", "',")


def keras_class(row: Row) -> str:
    """Keras' class name for a row: Conv2D for a conv on images, Conv1D on signals."""
    name = KERAS_CLASSES.get(row.type)
    if name is None:
        return "".join(part.capitalize() for part in row.type.split("_"))
    rank = len(row.receptive_field) if row.receptive_field else max(len(row.output_shape) - 1, 1)
    return name.format(d=rank if rank in (1, 2, 3) else 2)


def _keras_row(fields: list[str], ends: list[int] = KERAS_COLUMN_ENDS) -> list[str]:
    """Lay out one row the way Keras 2.9-2.11's print_row does.

    Each column is cut to its width, less the two spaces that separate it from the next column
    (the last column has none); inside that piece, a break right after '),', '},', '],' or "',"
    is preferred. What is left over goes on the next line. Every line starts with a space and
    is padded to the column end, so a first column that overflows pushes the others right, as
    in Keras.
    """
    left = list(fields)
    lines = []
    while any(left):
        line = ""
        for col, text in enumerate(left):
            start = ends[col - 1] if col else 0
            gap = 0 if col == len(ends) - 1 else 2
            cut = ends[col] - start - gap
            breaks = [text[:cut].find(mark) + len(mark) for mark in KERAS_BREAKS
                      if mark in text[:cut]]
            if breaks:
                cut = min(breaks)
            if col == 0:
                line += " "
            line += text[:cut] + " " * gap
            left[col] = text[cut:]
            line = line.ljust(ends[col])
        lines.append(line)
    return lines


def keras_summary(summary: Summary) -> list[str]:
    """The lines Keras prints for a Sequential model of these layers (shapes in H×W×C), or for a
    functional model (with its input layers and the "Connected to" column) when the layers do
    not form a chain."""
    summary = summary.in_layout("hwc")  # Keras is channels-last
    if not summary.is_chain:
        return _keras_functional(summary)
    width = KERAS_LINE_LENGTH
    lines = ['Model: "sequential"', "_" * width]
    lines += _keras_row(["Layer (type)", "Output Shape", "Param #"])
    lines.append("=" * width)
    for row in summary.layers:  # Keras does not list the input layer of a Sequential model
        lines += _keras_row([f"{printable(row.name)} ({keras_class(row)})",
                             str((None, *row.output_shape)), str(row.params)])
        lines.append(" " * width)
    return lines + _keras_totals(summary, width)


def _keras_functional(summary: Summary) -> list[str]:
    """Keras 2's summary of a functional model: every layer, inputs included, and the inbound
    layers of each as 'name[0][0]'."""
    width, ends = KERAS_GRAPH_LINE_LENGTH, KERAS_GRAPH_COLUMN_ENDS
    lines = ['Model: "model"', "_" * width]
    lines += _keras_row(["Layer (type)", "Output Shape", "Param #", "Connected to"], ends)
    lines.append("=" * width)
    for row in summary.rows:
        shape = str((None, *row.output_shape))
        if row.type == "input":
            shape = f"[{shape}]"
        lines += _keras_row([f"{printable(row.name)} ({keras_class(row)})", shape, str(row.params),
                             str([f"{printable(name)}[0][0]" for name in row.inputs])], ends)
        lines.append(" " * width)
    return lines + _keras_totals(summary, width)


def _keras_totals(summary: Summary, width: int) -> list[str]:
    return ["=" * width,
            f"Total params: {summary.total_params:,}",
            f"Trainable params: {summary.trainable_params:,}",
            f"Non-trainable params: {summary.non_trainable_params:,}",
            "_" * width]


# ---------------------------------------------------------------------------------------------
# Machine-readable formats.
# ---------------------------------------------------------------------------------------------

CSV_COLUMNS = ("index", "name", "type", "output_shape", "params", "trainable_params",
               "non_trainable_params", "receptive_field", "jump", "rf_center", "macs")


def json_text(summary: Summary, warn=None) -> str:
    return strict_json(summary.to_dict(), warn)


def strict_json(data, warn=None, indent: int | None = 2) -> str:
    """JSON that every parser reads: no NaN or Infinity (which json.dumps writes by default and
    JSON does not have). A float that is not finite is written as null, and `warn` (by default a
    note on stderr) is told which ones; strings are ASCII with control characters escaped."""
    where: list[str] = []

    def clean(value, path: str):
        if isinstance(value, float) and not math.isfinite(value):
            where.append(f"{path} ({value})")
            return None
        if isinstance(value, dict):
            return {key: clean(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    text = json.dumps(clean(data, ""), indent=indent, allow_nan=False)
    if where:
        shown = ", ".join(p.lstrip(".") for p in where[:3]) + (" …" if len(where) > 3 else "")
        message = (f"{len(where)} value{'s' if len(where) > 1 else ''} not finite, written as "
                   f"null: {shown}")
        if warn is None:
            print(f"note: {message}", file=sys.stderr)
        else:
            warn(message)
    return text


def csv_text(summary: Summary) -> str:
    """One line per row; pairs are written HxW, a jump of the whole input as '-'. Graphs add a
    'from' column (the input rows, space-separated), PyTorch models with buffers a 'buffers'
    column."""
    def pair(value):
        return "" if value is None else "x".join("-" if v is None else str(v) for v in value)

    graph, buffers = not summary.is_chain, bool(summary.buffers)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS + ("from",) * graph + ("buffers",) * buffers)
    for row in summary.rows:
        writer.writerow([row.index, printable(row.name), row.type, shape_text(row.output_shape, "x"),
                         row.params, row.trainable_params, row.non_trainable_params,
                         pair(row.receptive_field), pair(row.jump), pair(row.rf_center), row.macs]
                        + [" ".join(map(printable, row.inputs))] * graph + [row.buffers] * buffers)
    return out.getvalue().rstrip("\n")


def markdown_text(summary: Summary, name: str) -> str:
    """A GitHub table with the rich table's columns, then a line of totals."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    graph = not summary.is_chain
    lines = [f"**{cell(summary_title(name, summary))}**", "",
             "| # | layer (type) | " + "from | " * graph
             + "output shape | params | receptive field (size / jump) | MACs |",
             "|--:|:--|" + ":--|" * graph + ":--|--:|--:|--:|"]
    for row in summary.rows:
        kind = layer_kind(row)
        name = printable(row.name)
        layer = name if kind == row.name else f"{name} ({kind})"
        source = f"{cell(from_text(row))} | " if graph else ""
        lines.append(f"| {row.index} | {cell(layer)} | {source}{shape_text(row.output_shape)} | "
                     f"{row.params:,} | {field_text(row)} | {row.macs:,} |")
    lines += ["", f"**Total params:** {summary.total_params:,} "
                  f"(trainable {summary.trainable_params:,}, non-trainable "
                  f"{summary.non_trainable_params:,})"
                  + (f" · **buffers:** {summary.buffers:,}" if summary.buffers else "")
                  + f" · **MACs:** {summary.total_macs:,} · "
                  f"**FLOPs:** {summary.total_flops:,} · **memory (float32):** "
                  f"{bytes_text(summary.param_bytes)} parameters, "
                  f"{bytes_text(summary.activation_bytes)} activations per sample"]
    return "\n".join(lines)
