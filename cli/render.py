"""What cnncalc prints besides model summaries (those are minigrad.layers.report's): the console, the
preset list, padding solutions, errors, training progress, evaluation reports and predictions.
Formatting only: the numbers come from minigrad."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.segment import Segment
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from minigrad.errors import SpecError
from minigrad.text import CONTROL_BUT_NEWLINE, escape, printable, printable_same_width
from minigrad.layers.report import indented
from minigrad.layers.shapes import PaddingSolution
from minigrad.readers.presets import Preset

if TYPE_CHECKING:  # the training types bring numpy; `cnncalc shapes` does without
    from minigrad.tools.metrics import ClassificationReport
    from minigrad.tools.train import BatchProgress, EpochStats

PLOT_HINT = 'pip install "cnncalc[plot]"'

# Tables need about 100 columns; without a terminal rich assumes 80, which would wrap every row.
MIN_WIDTH = 100


class SafeConsole(Console):
    """A rich Console that escapes control characters in everything it prints: a class name or
    path that slipped through unescaped is still shown, not obeyed. Line breaks, and rich's own
    control segments (the progress bar's cursor moves) and styles, pass."""

    def render(self, renderable, options=None):
        for segment in super().render(renderable, options):
            if segment.control or not CONTROL_BUT_NEWLINE.search(segment.text):
                yield segment
            else:
                yield Segment(CONTROL_BUT_NEWLINE.sub(escape, segment.text), segment.style)


def make_console(stderr: bool = False) -> Console:
    """A console at least MIN_WIDTH wide; colour only when writing to a terminal (rich's default).
    Control characters in what it prints are escaped (SafeConsole)."""
    console = SafeConsole(stderr=stderr, highlight=False)
    if console.width < MIN_WIDTH:
        console = SafeConsole(stderr=stderr, highlight=False, width=MIN_WIDTH)
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
    console.print(Text(f"error: {printable(headline)}", style="bold red"), soft_wrap=True)
    if isinstance(error, SpecError):
        for line in error.excerpt():
            console.print(Text(printable_same_width(line)), soft_wrap=True)


def print_note(console: Console, message: str) -> None:
    """A remark that is not an error (e.g. where the test accuracy comes from), in yellow."""
    console.print(Text(f"note: {printable(message)}", style="yellow"), soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# Training: a progress bar per epoch, a line per finished epoch, the loss sparkline.
# ---------------------------------------------------------------------------------------------

SPARK_BARS = "▁▂▃▄▅▆▇█"


SPARK_NOT_FINITE = "×"


def sparkline(values: list[float]) -> str:
    """One block character per value, from ▁ (the smallest) to █ (the largest); a NaN or an
    infinity is drawn as × and the others are scaled among themselves."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return SPARK_NOT_FINITE * len(values)
    low, high = min(finite), max(finite)
    top = len(SPARK_BARS) - 1
    scale = (high - low) / top if high > low and math.isfinite(high - low) else 0

    def bar(v: float) -> str:
        if not math.isfinite(v):
            return SPARK_NOT_FINITE
        return SPARK_BARS[min(top, round((v - low) / scale)) if scale else 0]
    return "".join(bar(v) for v in values)


def not_finite_text(values: list[float], what: str = "the loss") -> str | None:
    """'the loss is NaN from epoch 2 on (…)' when a value is NaN or infinite, else None."""
    first = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
    if first is None:
        return None
    kind = "NaN" if math.isnan(values[first]) else "infinite"
    return (f"{what} is {kind} from epoch {first + 1}: training diverged (a smaller --lr "
            "usually helps)")


def epoch_line(stats: EpochStats, epochs: int) -> Text:
    """'epoch 2/5  loss 0.2140  accuracy 0.9312  val_loss …  val_accuracy …  3.1s'."""
    line = Text()
    line.append(f"epoch {stats.epoch}/{epochs}", style="bold")
    line.append(f"  loss {stats.loss:.4f}  accuracy {stats.accuracy:.4f}")
    if stats.val_loss is not None:
        line.append(f"  val_loss {stats.val_loss:.4f}  val_accuracy {stats.val_accuracy:.4f}")
    line.append(f"  {stats.seconds:.1f}s", style="dim")
    return line


class TrainingProgress:
    """A rich progress bar for the epoch in progress (batches done, running loss and accuracy,
    images per second), replaced by an epoch line when the epoch ends.

        with TrainingProgress(console, epochs) as display:
            trainer.fit(on_batch=display.batch, on_epoch=display.epoch)

    Without a terminal (a pipe, a file) rich draws no bar; the epoch lines are still printed.
    """

    def __init__(self, console: Console, epochs: int):
        self.epochs = epochs
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  accuracy {task.fields[accuracy]:.4f}"),
            TextColumn("{task.fields[speed]:,.0f} img/s"), TimeRemainingColumn(),
            console=console, transient=True, disable=not console.is_terminal)
        self.task = None

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def batch(self, p: BatchProgress) -> None:
        if self.task is None:
            self.task = self.progress.add_task("", total=p.batches, epoch=p.epoch + 1,
                                               epochs=self.epochs, loss=0.0, accuracy=0.0,
                                               speed=0.0)
        self.progress.update(self.task, completed=p.batch, loss=p.loss, accuracy=p.accuracy,
                             speed=p.images_per_second)

    def epoch(self, stats: EpochStats) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
            self.progress.refresh()  # or the finished bar is drawn once more below the line
        self.progress.console.print(epoch_line(stats, self.epochs))

    def say(self, message: str, style: str = "yellow") -> None:
        """A line above the bar (e.g. 'stopping after this batch')."""
        self.progress.console.print(Text(message, style=style))


def print_training_result(console: Console, history: list[EpochStats], test_loss: float,
                          test_accuracy: float, test_name: str) -> None:
    """The test accuracy, then the loss per epoch as a sparkline."""
    console.print()
    console.print(Text.assemble(("test accuracy ", "bold"), (f"{test_accuracy:.4f}", "bold green"),
                                f"  loss {test_loss:.4f}  on {test_name}"))
    losses = [row.loss for row in history]
    if losses:
        console.print(Text.assemble(("loss per epoch ", "bold"), (sparkline(losses), "cyan"),
                                    f"  {losses[0]:.4f} → {losses[-1]:.4f}"))
        diverged = not_finite_text(losses)
        if diverged:
            print_note(console, diverged)


# ---------------------------------------------------------------------------------------------
# Evaluation: per-class report and confusion matrix.
# ---------------------------------------------------------------------------------------------

def classification_table(report: ClassificationReport, title: str) -> Table:
    """scikit-learn's classification_report as a table: a row per class, then accuracy and the
    macro and weighted averages."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_style="bold")
    table.add_column("class", style="bold")
    for name in ("precision", "recall", "f1-score", "support"):
        table.add_column(name, justify="right")
    for s in report.per_class:
        table.add_row(Text(printable(s.name)),
                      f"{s.precision:.4f}", f"{s.recall:.4f}", f"{s.f1:.4f}",
                      f"{s.support:,}")  # Text: a class name is not markup
    total = report.macro_avg.support
    table.add_section()
    table.add_row("accuracy", "", "", f"{report.accuracy:.4f}", f"{total:,}")
    for s in (report.macro_avg, report.weighted_avg):
        table.add_row(s.name, f"{s.precision:.4f}", f"{s.recall:.4f}", f"{s.f1:.4f}",
                      f"{s.support:,}")
    return table


def confusion_table(confusion, class_names: list[str]) -> Table:
    """Rows: the true class; columns: the predicted class, numbered to keep the table narrow.
    The diagonal (correct predictions) is green, mistakes are red, zeros dimmed."""
    table = Table(title="confusion matrix", caption="rows: true class · columns: predicted",
                  box=box.SIMPLE_HEAD, title_style="bold")
    table.add_column("true \\ predicted", style="bold", no_wrap=True)
    for j in range(len(class_names)):
        table.add_column(str(j), justify="right")
    for i, name in enumerate(class_names):
        cells = []
        for j, count in enumerate(confusion[i]):
            style = "dim" if count == 0 else "green" if i == j else "red"
            cells.append(Text(f"{count:,}", style=style))
        table.add_row(Text(name if name == str(i) else f"{i} {printable(name)}"), *cells)
    return table


# ---------------------------------------------------------------------------------------------
# Predictions.
# ---------------------------------------------------------------------------------------------

def print_predictions(console: Console, image: str, top: list[tuple[str, float]]) -> None:
    """The image's name, then its most probable classes with their probabilities."""
    console.print(Text(printable(image), style="bold"))
    top = [(printable(name), probability) for name, probability in top]
    width = max(len(name) for name, _ in top)
    for rank, (name, probability) in enumerate(top, start=1):
        style = "green" if rank == 1 else ""
        console.print(Text(f"  {rank}. {name:<{width}}  {probability * 100:6.2f}%", style=style))
