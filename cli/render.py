"""What cnncalc prints besides model summaries (those are minigrad.report's): the console, the
preset list, padding solutions and errors. Formatting only: the numbers come from minigrad."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from minigrad.errors import SpecError
from minigrad.report import indented
from minigrad.shapes import PaddingSolution
from minigrad.spec.presets import Preset

# Tables need about 100 columns; without a terminal rich assumes 80, which would wrap every row.
MIN_WIDTH = 100


def make_console(stderr: bool = False) -> Console:
    """A console at least MIN_WIDTH wide; colour only when writing to a terminal (rich's default)."""
    console = Console(stderr=stderr, highlight=False)
    if console.width < MIN_WIDTH:
        console = Console(stderr=stderr, highlight=False, width=MIN_WIDTH)
    return console


# ---------------------------------------------------------------------------------------------
# Presets, padding and errors.
# ---------------------------------------------------------------------------------------------

def preset_table(presets: list[Preset]) -> Table:
    table = Table(title="presets", box=box.SIMPLE_HEAD, title_style="bold",
                  caption="show one with: cnncalc shapes NAME")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("format", no_wrap=True)
    table.add_column("description")
    for preset in presets:
        table.add_row(preset.name, preset.format, preset.about)
    return table


def _size_formula(s: PaddingSolution, p: int) -> str:
    """floor((H + 2P − D·(K − 1) − 1) / S) + 1 = O with the numbers written in."""
    window = f"{s.kernel}" if s.dilation == 1 else f"{s.dilation}·({s.kernel} − 1) − 1"
    return f"floor(({s.size} + 2·{p} − {window}) / {s.stride}) + 1 = {s.output}"


def print_padding(console: Console, solution: PaddingSolution) -> None:
    s = solution
    dilated = f", dilation {s.dilation}" if s.dilation != 1 else ""
    console.print(Text(f"size {s.size}, kernel {s.kernel}, stride {s.stride}{dilated} "
                       f"→ output {s.output}", style="bold"))
    console.print()
    if s.symmetric:
        for n, p in enumerate(s.symmetric):
            if n == 0:
                console.print(Text(f"padding P = {p} on each side", style="bold green"))
            else:  # a larger stride can step over the extra padding
                console.print(Text(f"or P = {p}", style="green"))
            console.print(indented(_size_formula(s, p)))
    elif s.total_range:
        console.print(Text(f"no padding P on both sides gives {s.output}; an uneven split does",
                           style="bold yellow"))
    else:  # even without padding the window positions outnumber the wanted output
        console.print(Text(f"no padding gives {s.output}: padding only makes the output larger",
                           style="bold yellow"))
    if s.keras_same:
        before, after = s.keras_same
        console.print(f"Keras/TensorFlow padding='same' (ceil({s.size} / {s.stride}) = {s.output}): "
                      f"{before} before, {after} after")
    if s.total_range:
        low, high = s.total_range
        amount = f"{low}" if low == high else f"{low} to {high}"
        console.print(f"asymmetric padding: a total of {amount} (before + after) gives {s.output}")
    if s.nearest:
        reachable = ", ".join(f"{output} with P = {p}" for output, p in s.nearest)
        console.print(f"nearest outputs with padding on both sides: {reachable}")


def print_error(console: Console, error: SpecError | str) -> None:
    """'error: …' then, when the error has a place, the source line with a caret under it.

    Printed as plain Text without wrapping, so brackets are not read as markup and the caret
    stays under its token.
    """
    headline = error.headline() if isinstance(error, SpecError) else error
    console.print(Text(f"error: {headline}", style="bold red"), soft_wrap=True)
    if isinstance(error, SpecError):
        for line in error.excerpt():
            console.print(Text(line), soft_wrap=True)
