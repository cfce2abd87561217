"""The `cnncalc` command line: reads the options, asks minigrad for the numbers, hands them to
render.py. Errors in a model description end with a message and exit status 2, never a traceback.
"""

from __future__ import annotations

import re
import sys
from enum import Enum
from typing import Annotated, NoReturn

import typer

from minigrad import report
from minigrad.errors import SpecError
from minigrad.shapes import solve_padding
from minigrad.spec import load_spec, parse_spec, preset_list

from . import render

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    help="See every layer of a CNN: its output shape, parameters, receptive field and cost, "
         "with the arithmetic when you ask for it.",
)


class SourceFormat(str, Enum):
    dsl = "dsl"
    keras = "keras"
    pytorch = "pytorch"


class Style(str, Enum):
    table = "table"
    keras = "keras"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class Layout(str, Enum):
    hwc = "hwc"
    chw = "chw"


SPEC_HELP = ("The model: a preset name (see --list), a file, the layers as text "
             "(e.g. 'input 28x28x1; conv 32 3x3; flatten; dense 10') or - to read standard input.")


def fail(error: SpecError | str) -> NoReturn:
    """Report a problem with the model or the numbers on stderr and exit with status 2."""
    render.print_error(render.make_console(stderr=True), error)
    raise typer.Exit(2)


_SHAPE = re.compile(r"\d+(?:[x×X,]\d+)*")


def parse_shape(text: str) -> tuple[int, ...]:
    """'28x28x1', '3,32,32' or '784' -> a tuple of ints; the analysis checks rank and sign."""
    compact = re.sub(r"\s+", "", text)
    if not _SHAPE.fullmatch(compact):
        raise typer.BadParameter(f"expected whole numbers separated by x or commas, such as "
                                 f"28x28x1 or 3,32,32; got {text!r}", param_hint="'--input'")
    return tuple(int(v) for v in re.split(r"[x×X,]", compact))


def display_name(spec: str, origin: str) -> str:
    """What the title calls the model: the preset's name, the file, stdin or 'inline model'."""
    if spec == "-":
        return "stdin"
    if origin.startswith("preset "):
        return origin.removeprefix("preset ")
    return "inline model" if origin == "inline" else origin


@app.command(no_args_is_help=True)
def shapes(
    spec: Annotated[str | None, typer.Argument(help=SPEC_HELP, metavar="SPEC",
                                               show_default=False)] = None,
    input_shape: Annotated[str | None, typer.Option(
        "--input", "-i", metavar="SHAPE",
        help="Use this input shape, in the model's own layout: H x W x C for the layer language "
             "and Keras (28x28x1), C x H x W for PyTorch (3x224x224); commas work too.")] = None,
    source_format: Annotated[SourceFormat | None, typer.Option(
        "--from", help="Read SPEC as this format instead of guessing it from the text.",
        show_default=False)] = None,
    explain: Annotated[bool, typer.Option(
        "--explain", "-e",
        help="Show each layer's formulas with the numbers filled in.")] = False,
    style: Annotated[Style, typer.Option(
        help="table: cnncalc's own table; keras: exactly what Keras 2's model.summary() "
             "prints (always H x W x C, as Keras is channels-last).")] = Style.table,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Print a table for people, or json, csv or markdown for "
                               "other programs and documents.")] = OutputFormat.table,
    layout: Annotated[Layout | None, typer.Option(
        help="Show 3-D shapes as H x W x C (hwc) or C x H x W (chw); by default in the "
             "model's own layout.", show_default=False)] = None,
    list_presets: Annotated[bool, typer.Option(
        "--list", help="List the preset models and exit.")] = False,
) -> None:
    """Show every layer's output shape, parameters, receptive field and cost.

    Examples:

    * `cnncalc shapes mnist-cnn --explain`
    * `cnncalc shapes model.py --input 3x32x32`
    * `cnncalc shapes 'input 28x28x1; conv 8 3x3; flatten; dense 10' -f json`
    """
    console = render.make_console()
    if list_presets:
        console.print(render.preset_table(preset_list()))
        return
    if spec is None:
        raise typer.BadParameter("none given; name a preset (see --list), a file, layer text "
                                 "or - for standard input", param_hint="SPEC")
    if style is Style.keras and output_format is not OutputFormat.table:
        raise typer.BadParameter("keras is a table style; it cannot be combined with "
                                 f"--format {output_format.value}", param_hint="'--style'")
    shape = parse_shape(input_shape) if input_shape is not None else None
    fmt = source_format.value if source_format else None

    try:
        loaded = parse_spec(sys.stdin.read(), fmt, shape) if spec == "-" else load_spec(spec, fmt, shape)
        summary = loaded.analyze()
    except SpecError as error:
        fail(error)
    summary = summary.in_layout(layout.value if layout else summary.layout)

    if output_format is OutputFormat.table and style is Style.table:
        report.print_summary(console, summary, display_name(spec, loaded.origin), explain)
        return
    # Everything else is read by programs or pasted into documents: stdout carries only the
    # requested text, and warnings about the layers go to stderr.
    if style is Style.keras:
        text = "\n".join(report.keras_summary(summary))
    elif output_format is OutputFormat.json:
        text = report.json_text(summary)
    elif output_format is OutputFormat.csv:
        text = report.csv_text(summary)
    else:
        text = report.markdown_text(summary, display_name(spec, loaded.origin))
    print(text)
    report.print_warnings(render.make_console(stderr=True), summary)


@app.command(no_args_is_help=True)
def pad(
    *,  # keyword-only, so the options can be listed in the order the formula reads them
    size: Annotated[int, typer.Option(help="Input size along one axis (height or width).")],
    kernel: Annotated[int, typer.Option(help="Kernel (or pool window) size.")],
    stride: Annotated[int, typer.Option(help="Stride.")] = 1,
    dilation: Annotated[int, typer.Option(help="Dilation: spacing between kernel taps.")] = 1,
    output: Annotated[int, typer.Option(help="The output size you want.")],
) -> None:
    """Find the padding that turns an input size into the output size you want.

    Shows the padding P on each side (all of them when several work) with the output-size
    formula filled in, Keras' 'same' split and the range for uneven padding; when no padding
    works, the nearest outputs that padding can reach.

    Example: `cnncalc pad --size 28 --kernel 3 --stride 2 --output 14`
    """
    try:
        solution = solve_padding(size, kernel, stride, output, dilation)
    except ValueError as error:
        fail(str(error))
    render.print_padding(render.make_console(), solution)


def main() -> None:
    app()
