"""The `cnncalc` command line: reads the options, asks minigrad for the numbers, hands them to
render.py. Errors in a model description, the data, a model file, an image or an option end
with a one-line message and exit status 2, never a traceback.

One error boundary (`Boundary.invoke`) wraps every command: an exception that is not one of
those expected errors is a bug in cnncalc, not bad input. It ends with "internal error, please
report: <type>: <message>" on stderr and exit status 70 (EX_SOFTWARE); the traceback is shown
only with the global `--debug` option or CNNCALC_DEBUG=1.
"""

from __future__ import annotations

import math
import os
import re
import sys
import traceback
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from typer.core import TyperGroup

import minigrad
from minigrad.errors import SpecError
from minigrad.layers import bounds, report
from minigrad.layers.depth import fold
from minigrad.layers.shapes import solve_padding
from minigrad.readers import (MAX_SOURCE_BYTES, ReadOptions, decode_source, load_spec, parse_spec,
                              preset_list)
from minigrad.readers.interp import parse_override

from . import render
from .limits import CORES, MAX_BATCH_SIZE, MAX_EPOCHS, MAX_LIMIT, MAX_SEED

# The commands that train, evaluate or draw import numpy and the engine; they are imported in
# the command itself, so `cnncalc shapes` starts without them.

INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug in cnncalc, not bad input (which exits with 2)
DEBUG_VARIABLE = "CNNCALC_DEBUG"


def _undecodable(arg: str) -> str | None:
    """The first byte of an argument that was not UTF-8 (Python keeps it as a lone surrogate)."""
    for char in arg:
        if "\udc80" <= char <= "\udcff":
            return f"0x{ord(char) - 0xDC00:02x}"
        if "\ud800" <= char <= "\udfff":
            return f"U+{ord(char):04X}"
    return None


class Boundary(TyperGroup):
    """The one error boundary of every command (see the module's docstring)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        for number, arg in enumerate(args, start=1):
            byte = _undecodable(arg)
            if byte is not None:
                shown = arg[:40].encode("utf-8", "backslashreplace").decode("ascii", "replace")
                raise typer.BadParameter(f"not UTF-8 text: byte {byte} cannot be decoded "
                                         f"({shown!r}); pass file names and text as UTF-8",
                                         ctx=ctx, param_hint=f"argument {number}")
        return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        # usage errors, exit statuses and Ctrl-C are typer's; a closed pipe (`… | head`) too
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as error:  # noqa: BLE001 - this is the boundary
            debug = bool(ctx.params.get("debug")) or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
            internal_error(error, debug)


def internal_error(error: BaseException, debug: bool) -> NoReturn:
    """A bug: one line (the traceback first under --debug) and exit status 70."""
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    message = " ".join(str(error).split())
    if len(message) > 200:
        message = message[:199] + "…"
    print(f"internal error, please report: {type(error).__name__}: {message}"
          + ("" if debug else f" (run with --debug or {DEBUG_VARIABLE}=1 for the traceback)"),
          file=sys.stderr)
    raise typer.Exit(INTERNAL_ERROR)


app = typer.Typer(
    cls=Boundary,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    help="See every layer of a CNN: its output shape, parameters, receptive field and cost, "
         "with the arithmetic when you ask for it. Train one with minigrad, evaluate it and "
         "classify images with it.",
)


def at_most(limit: int, why: str):
    """An option callback: values above `limit` are refused with the reason, before any work."""
    def check(value: int | None) -> int | None:
        if value is not None and value > limit:
            shown = bounds.power_of_ten(limit) if limit >= 10**6 else f"{limit:,}"
            raise typer.BadParameter(f"must be at most {shown} ({why}), got {value:,}")
        return value
    return check


SIZE_LIMIT = at_most(bounds.MAX_DIMENSION, "cnncalc's ceiling for one size")


@app.callback()
def global_options(
    debug: Annotated[bool, typer.Option(
        "--debug", help=f"Show the traceback of an internal error (a bug in cnncalc, exit status "
                        f"70); the same as {DEBUG_VARIABLE}=1.")] = False,
) -> None:
    """See every layer of a CNN: its output shape, parameters, receptive field and cost, with the
    arithmetic when you ask for it. Train one with minigrad, evaluate it and classify images
    with it."""


class SourceFormat(str, Enum):
    dsl = "dsl"
    code = "code"
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
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise typer.BadParameter(f"expected whole numbers separated by x or commas, such as "
                                 f"28x28x1 or 3,32,32; got {shown!r}", param_hint="'--input'")
    try:
        return tuple(bounds.check_written_size(v, "the size") for v in re.split(r"[x×X,]", compact))
    except SpecError as error:
        raise typer.BadParameter(error.message, param_hint="'--input'") from None


MODEL_HELP = ("Which model of the code to show, by variable or class name (when a script builds "
              "several, e.g. a generator and a discriminator).")
SET_HELP = ("Give a module-level name of the code a value, NAME=VALUE (repeatable), for values the "
            "code reads from data or the command line: --set num_classes=5.")


def read_options(model: str | None, settings: list[str] | None) -> ReadOptions:
    """--model and --set as the code reader takes them; a bad --set is a usage error."""
    overrides = {}
    for text in settings or []:
        try:
            name, value = parse_override(text)
        except SpecError as error:
            raise typer.BadParameter(error.message, param_hint="'--set'") from None
        overrides[name] = value
    return ReadOptions(model, overrides)


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
    model: Annotated[str | None, typer.Option("--model", metavar="NAME", help=MODEL_HELP,
                                              show_default=False)] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", metavar="NAME=VALUE", help=SET_HELP,
                                                       show_default=False)] = None,
    depth: Annotated[int | None, typer.Option(
        "--depth", min=1, metavar="N", help="Fold blocks nested deeper than N levels "
        "(layer1.0.conv1 is level 3) into one row each, as torchinfo's depth does.",
        show_default=False)] = None,
    list_presets: Annotated[bool, typer.Option(
        "--list", help="List the preset models and exit.")] = False,
) -> None:
    """Show every layer's output shape, parameters, receptive field and cost.

    Examples:

    * `cnncalc shapes mnist-cnn --explain`
    * `cnncalc shapes model.py --input 3x32x32`
    * `cnncalc shapes dcgan.py --model netD --set nc=1`
    * `cnncalc shapes resnet.py --input 3x32x32 --depth 2`
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

    options = read_options(model, settings)
    try:
        if spec == "-":
            data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)   # never more than a spec can be
            loaded = parse_spec(decode_source(data, "standard input"), fmt, shape, options)
        else:
            loaded = load_spec(spec, fmt, shape, options)
        summary = loaded.analyze()
    except SpecError as error:
        fail(error)
    title = "stdin" if spec == "-" else loaded.name
    if loaded.model_name:
        title += f" · {loaded.model_name}"
    if depth is not None:
        summary = fold(summary, depth)
    summary = summary.in_layout(layout.value if layout else summary.layout)
    notes = render.make_console(stderr=True)
    for note in loaded.notes:
        notes.print(f"note: {note}", markup=False, highlight=False)

    if output_format is OutputFormat.table and style is Style.table:
        report.print_summary(console, summary, title, explain)
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
        text = report.markdown_text(summary, title)
    print(text)
    report.print_warnings(render.make_console(stderr=True), summary)


# every padding from P to P + S/2 can give the same output: `pad` lists them, so the stride is
# bounded to keep the answer short (real networks stride by 1 to 32; a ViT's patches by 16 or 32)
MAX_PAD_STRIDE = 256


@app.command(no_args_is_help=True)
def pad(
    *,  # keyword-only, so the options can be listed in the order the formula reads them
    size: Annotated[int, typer.Option(callback=SIZE_LIMIT,
                                      help="Input size along one axis (height or width).")],
    kernel: Annotated[int, typer.Option(callback=SIZE_LIMIT,
                                        help="Kernel (or pool window) size.")],
    stride: Annotated[int, typer.Option(
        callback=at_most(MAX_PAD_STRIDE, "longer strides list too many paddings"),
        help="Stride.")] = 1,
    dilation: Annotated[int, typer.Option(callback=SIZE_LIMIT,
                                          help="Dilation: spacing between kernel taps.")] = 1,
    output: Annotated[int, typer.Option(callback=SIZE_LIMIT,
                                        help="The output size you want.")],
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


# ---------------------------------------------------------------------------------------------
# Training, evaluating and predicting.
# ---------------------------------------------------------------------------------------------

class TextOrJson(str, Enum):
    text = "text"
    json = "json"


class Init(str, Enum):
    auto = "auto"
    he = "he"
    glorot = "glorot"


class Schedule(str, Enum):
    none = "none"
    step = "step"
    cosine = "cosine"
    onecycle = "onecycle"
    plateau = "plateau"


class OptimizerName(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"
    adamw = "adamw"
    rmsprop = "rmsprop"
    adagrad = "adagrad"


DATASET_HELP = ("shapes (synthetic triangles, squares and circles; no download), mnist, "
                "fashion-mnist, or a .npz file with arrays x and y (and optionally x_test, "
                "y_test, classes).")
DATA_DIR_HELP = ("Where mnist/ and fashion-mnist/ are (downloaded there when missing); by "
                 "default $CNNCALC_DATA, else ~/.cache/cnncalc.")
THREADS_HELP = ("Threads the engine splits its large matrix products and copies over, at most the "
                "number of cores. One is fastest for small models and on a busy machine; more "
                "can help large ones, but may change results in the last digits. [default: 1]")
MAX_FILTER_PADDING = 100      # `cnncalc filter` pads a 3x3 kernel: more only adds zeros
MAX_FILTER_STRIDE = 100
MAX_TOP = 1_000


@contextmanager
def reported_errors():
    """Turn the errors bad input can cause into 'error: …' and exit status 2."""
    from minigrad.tools.data import DataError
    from minigrad.tools.modelfile import ModelFileError

    from .filtering import KernelError
    from .images import ImageError
    from .plots import PlotError
    from .train import TrainError
    try:
        yield
    except SpecError as error:
        fail(error)
    except (DataError, ModelFileError, ImageError, KernelError, PlotError, TrainError) as error:
        fail(str(error))
    except OSError as error:  # e.g. --save into a directory that cannot be written
        where = f"{error.filename}: " if error.filename else ""
        fail(f"{where}{error.strerror or error}")


def _writable_target(path: str | None, option: str) -> None:
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise typer.BadParameter(f"no directory {Path(path).parent} to save {path} in",
                                 param_hint=f"'{option}'")


@app.command()
def train(
    spec: Annotated[str | None, typer.Argument(
        help=SPEC_HELP + " Without one: a small CNN (two convs) sized to the data. A model "
             "without an input line takes the data's shape.", metavar="SPEC",
        show_default=False)] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", "-d", help=DATASET_HELP + " [default: shapes]",
        show_default=False)] = None,
    data_dir: Annotated[str | None, typer.Option(
        "--data-dir", metavar="DIR", help=DATA_DIR_HELP, show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option(
        min=1, callback=at_most(MAX_EPOCHS, "a sane number of epochs"),
        help="Passes over the training data. With --resume: the new total. "
                    "[default: 5]", show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", "-b", min=1, callback=at_most(MAX_BATCH_SIZE, "a sane batch size"),
        help="Images per step. [default: 32]",
        show_default=False)] = None,
    optimizer: Annotated[OptimizerName | None, typer.Option(
        help="momentum is SGD with momentum 0.9; adamw is Adam with decoupled weight decay. "
             "[default: adam]", show_default=False)] = None,
    lr: Annotated[float | None, typer.Option(
        help="Learning rate; by default the optimizer's usual one (sgd "
                                     "and momentum 0.01, adam, adamw and rmsprop 0.001, adagrad "
                                     "0.01). With --scheduler: where the schedule starts (the "
                                     "peak of onecycle).",
        show_default=False)] = None,
    weight_decay: Annotated[float | None, typer.Option(
        "--weight-decay", metavar="λ",
        help="Weight decay: adamw shrinks every weight by lr·λ per step (decoupled; default "
             "0.01); the others add λ·weight to its gradient, L2 as torch.optim does (default 0).",
        show_default=False)] = None,
    scheduler: Annotated[Schedule | None, typer.Option(
        help="How the learning rate changes: step (×0.1 after every third of the epochs), cosine "
             "(down to 0 over the run), onecycle (up and down again over every batch), plateau "
             "(×0.1 after 2 epochs without a lower val_loss). [default: none]",
        show_default=False)] = None,
    val_split: Annotated[float | None, typer.Option(
        "--val-split",
        help="Hold out this fraction of the training images to validate on after each epoch "
             "(val_loss, val_accuracy); with --save the best epoch's weights are kept. "
             "[default: 0.1 with --early-stopping, else 0 (off)]", show_default=False)] = None,
    early_stopping: Annotated[int | None, typer.Option(
        "--early-stopping", metavar="PATIENCE", min=1,
        callback=at_most(MAX_EPOCHS, "a sane patience"),
        help="Stop after PATIENCE epochs without a lower val_loss.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, callback=at_most(MAX_SEED, "numpy's seed range"),
        help="Seed for the initial weights, shuffling, dropout and the validation split: "
                    "the same seed gives the same run. [default: 0]", show_default=False)] = None,
    init: Annotated[Init | None, typer.Option(
        help="Initial weights: auto is He (Kaiming) uniform for layers followed by relu and "
             "Glorot uniform (Keras' default) otherwise; he or glorot use one everywhere. "
             "[default: auto]", show_default=False)] = None,
    threads: Annotated[int | None, typer.Option(
        min=1, callback=at_most(CORES, "the number of cores"), help=THREADS_HELP,
        show_default=False)] = None,
    augment: Annotated[bool, typer.Option(
        "--augment", help="Change every training batch a little, drawn from the seed: shift "
                          "each image by up to 2 pixels (zero fill) and mirror half of them "
                          "left-right where the dataset allows it (fashion-mnist and shapes; "
                          "not mnist, as a flipped 2 is not a 2, nor .npz files). "
                          "[default: off]", show_default=False)] = False,
    limit: Annotated[int | None, typer.Option(
        min=1, callback=at_most(MAX_LIMIT, "more images than any dataset"),
        help="Train on the first N training images only (quick runs).",
        metavar="N", show_default=False)] = None,
    save: Annotated[str | None, typer.Option(
        metavar="PATH", help="Save the trained model (.npz) here; Ctrl-C saves its checkpoint "
                             "here too.", show_default=False)] = None,
    resume: Annotated[str | None, typer.Option(
        metavar="PATH", help="Continue an interrupted run from its checkpoint, with its model, "
                             "data and settings; --epochs may extend it.",
        show_default=False)] = None,
    output_format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", help="text: the model table, progress bars and a summary; json: one "
                               "JSON object at the end (progress goes to stderr).")
    ] = TextOrJson.text,
    plot: Annotated[str | None, typer.Option(
        metavar="PNG", help="Save the loss and accuracy per epoch (training and validation) as "
                            f"a PNG picture here; needs matplotlib ({render.PLOT_HINT}).",
        show_default=False)] = None,
) -> None:
    """Train a model on a dataset and report its test accuracy.

    Shows the model, a progress bar per epoch (loss, accuracy, images/s), a line per epoch, then
    the accuracy on the test set and the loss per epoch. Ctrl-C stops after the current batch and
    saves a checkpoint (to --save's path or cnncalc-checkpoint.npz) with the command to resume
    it; the resumed run ends exactly where an uninterrupted one would (exit status 130 for the
    interrupted run). A final softmax in the model is folded into the cross-entropy loss.

    Examples:

    * `cnncalc train` (a small CNN on synthetic shapes, under a minute)
    * `cnncalc train simple-convnet --dataset mnist --epochs 2 --save mnist.npz`
    * `cnncalc train 'conv 8 3x3 relu; maxpool 2; flatten; dense 10' -d fashion-mnist`
    """
    from . import train as training
    from .plots import require_matplotlib

    as_json = output_format is TextOrJson.json
    out, err = render.make_console(), render.make_console(stderr=True)
    if resume is not None:
        from_checkpoint = {"SPEC": spec, "--dataset": dataset, "--batch-size": batch_size,
                           "--optimizer": optimizer, "--lr": lr, "--val-split": val_split,
                           "--early-stopping": early_stopping, "--seed": seed, "--limit": limit,
                           "--init": init, "--augment": augment or None,
                           "--weight-decay": weight_decay, "--scheduler": scheduler}
        conflicting = [name for name, value in from_checkpoint.items() if value is not None]
        if conflicting:
            raise typer.BadParameter(f"a resumed run takes its model, data and settings from "
                                     f"the checkpoint; drop {', '.join(conflicting)}",
                                     param_hint="'--resume'")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise typer.BadParameter(f"must be a finite positive number, got {lr}", param_hint="'--lr'")
    if weight_decay is not None and not (math.isfinite(weight_decay) and 0 <= weight_decay < 1):
        raise typer.BadParameter(f"must be at least 0 and below 1, got {weight_decay}",
                                 param_hint="'--weight-decay'")
    if val_split is not None and not 0 <= val_split < 1:
        raise typer.BadParameter(f"must be at least 0 and less than 1, got {val_split}",
                                 param_hint="'--val-split'")
    if val_split is None:
        val_split = 0.1 if early_stopping is not None else 0.0
    if early_stopping is not None and val_split == 0:
        raise typer.BadParameter("early stopping watches val_loss: give --val-split > 0",
                                 param_hint="'--early-stopping'")
    _writable_target(save, "--save")
    _writable_target(plot, "--plot")

    with reported_errors():
        if plot is not None:  # say so now, not after the training
            require_matplotlib("--plot")
        if resume is not None:
            settings, checkpoint = training.open_checkpoint(resume, epochs, data_dir, save,
                                                            threads)
        else:
            settings, checkpoint = training.Settings(
                spec=spec, dataset=dataset or "shapes", data_dir=data_dir, epochs=epochs or 5,
                batch_size=batch_size or 32,
                optimizer=(optimizer or OptimizerName.adam).value, lr=lr, val_split=val_split,
                early_stopping=early_stopping, seed=0 if seed is None else seed, limit=limit,
                save=save, threads=threads or 1, init=(init or Init.auto).value,
                augment=augment, weight_decay=weight_decay,
                scheduler=(scheduler or Schedule.none).value), None
        try:
            status = training.run_training(settings, checkpoint, as_json, out, err, plot)
        except KeyboardInterrupt:
            render.print_error(err, "aborted: no checkpoint saved")
            status = training.INTERRUPTED
    if status:
        raise typer.Exit(status)


@app.command(no_args_is_help=True)
def evaluate(
    model: Annotated[str, typer.Argument(help="A model file saved by cnncalc train --save.",
                                         metavar="MODEL", show_default=False)],
    dataset: Annotated[str | None, typer.Option(
        "--dataset", "-d", help=DATASET_HELP + " [default: the model's own]",
        show_default=False)] = None,
    data_dir: Annotated[str | None, typer.Option(
        "--data-dir", metavar="DIR", help=DATA_DIR_HELP, show_default=False)] = None,
    threads: Annotated[int, typer.Option(
        min=1, callback=at_most(CORES, "the number of cores"), help=THREADS_HELP,
        show_default=False)] = 1,
    output_format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", help="text: rich tables; json: one JSON object.")] = TextOrJson.text,
) -> None:
    """Measure a saved model on a test set: accuracy, loss, per-class precision, recall, F1 and
    support (as scikit-learn's classification_report), and the confusion matrix.

    Example: `cnncalc evaluate mnist.npz`
    """
    from . import train as training
    from .evaluate import run_evaluate

    out, err = render.make_console(), render.make_console(stderr=True)
    with reported_errors(), training.threads_limited(threads):
        run_evaluate(model, dataset, data_dir, output_format is TextOrJson.json, out, err)


@app.command(no_args_is_help=True)
def predict(
    model: Annotated[str, typer.Argument(help="A model file saved by cnncalc train --save.",
                                         metavar="MODEL", show_default=False)],
    images: Annotated[list[str], typer.Argument(
        help="PNG, JPEG or PGM files (PNG and JPEG need Pillow: pip install 'cnncalc[images]').",
        metavar="IMAGE...", show_default=False)],
    top: Annotated[int, typer.Option(
        min=1, callback=at_most(MAX_TOP, "a sane number of classes to show"),
        help="How many classes to show per image.")] = 3,
    output_format: Annotated[TextOrJson, typer.Option(
        "--format", "-f", help="text or json.")] = TextOrJson.text,
) -> None:
    """Show the most probable classes of images under a saved model.

    Each image is converted like the training data: greyscale, resized to the model's input
    (Lanczos), pixels / 255. MNIST-like models expect a light figure on a dark background:
    images are not inverted, so invert a black-on-white drawing first.

    Example: `cnncalc predict mnist.npz digit.png`
    """
    from .predict import run_predict

    out, err = render.make_console(), render.make_console(stderr=True)
    with reported_errors():
        run_predict(model, images, top, output_format is TextOrJson.json, out, err)


@app.command(no_args_is_help=True)
def graph(
    spec: Annotated[str, typer.Argument(help=SPEC_HELP, metavar="SPEC", show_default=False)],
    input_shape: Annotated[str | None, typer.Option(
        "--input", "-i", metavar="SHAPE",
        help="Input shape in the model's own layout, as for `cnncalc shapes`.")] = None,
    dot: Annotated[bool, typer.Option(
        "--dot", help="Print Graphviz DOT text instead (e.g. | dot -Tpng -o graph.png).")] = False,
) -> None:
    """Show the computation graph of one forward and backward pass.

    Runs one random image through the model (built as `cnncalc train` builds it) and a loss,
    prints the graph minigrad recorded (each op, its output shape, the tensors that require
    grad), then calls backward() and lists every parameter's gradient.

    Example: `cnncalc graph shapes-cnn`
    """
    from .graph import gradient_table, one_pass

    with reported_errors():
        loss, model = one_pass(load_spec(spec, None, parse_shape(input_shape) if input_shape else None))
    if dot:
        print(minigrad.to_dot(loss), end="")
        return
    console = render.make_console()
    console.print(minigrad.tree(loss))
    loss.backward()
    console.print(gradient_table(model))


class ExportTarget(str, Enum):
    pytorch = "pytorch"
    keras = "keras"
    layers = "layers"
    onnx = "onnx"


@app.command("export", no_args_is_help=True)
def export_model(
    source: Annotated[str, typer.Argument(
        help=SPEC_HELP + " Or a model file saved by cnncalc train --save (.npz): exported with "
             "its trained weights.", metavar="SOURCE", show_default=False)],
    target: Annotated[ExportTarget, typer.Option(
        "--to", help="pytorch: an nn.Module; keras: a Sequential or functional model; layers: "
                     "the layer language; onnx: an .onnx file (trained model files only).",
        show_default=False)],
    out: Annotated[str | None, typer.Option(
        "--out", "-o", metavar="FILE", help="Write the code here (and, for a trained model, its "
        "weights beside it as FILE_weights.npz) instead of printing it.", show_default=False)] = None,
    name: Annotated[str, typer.Option(
        help="The class or model name in the code.")] = "Net",
    input_shape: Annotated[str | None, typer.Option(
        "--input", "-i", metavar="SHAPE",
        help="Input shape in the model's own layout, as for `cnncalc shapes`.")] = None,
    source_format: Annotated[SourceFormat | None, typer.Option(
        "--from", help="Read SOURCE as this format instead of guessing it from the text.",
        show_default=False)] = None,
    model: Annotated[str | None, typer.Option("--model", metavar="NAME", help=MODEL_HELP,
                                              show_default=False)] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", metavar="NAME=VALUE", help=SET_HELP,
                                                       show_default=False)] = None,
) -> None:
    """Write a model as PyTorch or Keras code, in the layer language, or (trained) as ONNX.

    The code computes what the source computes: TF 'same' padding becomes explicit padding in
    PyTorch, ceil_mode pools become what computes the same in Keras, BatchNorm's eps and momentum
    are converted, and a flatten lays features out in the source's order. What a target cannot
    express exactly is a warning (on stderr) and a comment at that line.

    Examples:

    * `cnncalc export mnist-cnn --to pytorch`
    * `cnncalc export net.py --to keras --out net_keras.py`
    * `cnncalc export model.npz --to onnx --out model.onnx`
    """
    from .export import run_export

    if not name.isidentifier():
        raise typer.BadParameter(f"{name!r} is not a Python name", param_hint="'--name'")
    _writable_target(out, "--out")
    shape = parse_shape(input_shape) if input_shape is not None else None
    options = read_options(model, settings)
    fmt = source_format.value if source_format else None

    def spec():
        if source == "-":
            data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
            return parse_spec(decode_source(data, "standard input"), fmt, shape, options)
        return load_spec(source, fmt, shape, options)

    with reported_errors():
        run_export(source, target.value, out, name, spec, render.make_console(),
                   render.make_console(stderr=True))


@app.command("filter", no_args_is_help=True)
def filter_image(
    image: Annotated[str, typer.Argument(
        help="A PNG, JPEG or PGM file; read as greyscale 0..255.", metavar="IMAGE",
        show_default=False)],
    kernel: Annotated[str, typer.Option(
        help="sharpen, blur (3x3 box, each weight 1/9), edge (Laplacian-style, 8 in the "
             "middle), emboss, or 3 rows of 3 numbers: 'a,b,c;d,e,f;g,h,i'.",
        show_default=False)],
    out: Annotated[str, typer.Option(
        metavar="PNG", help="Save the input and the output side by side here.",
        show_default=False)],
    stride: Annotated[int, typer.Option(
        min=1, callback=at_most(MAX_FILTER_STRIDE, "a 3x3 kernel needs no longer stride"),
        help="Stride.")] = 1,
    padding: Annotated[int, typer.Option(
        min=0, callback=at_most(MAX_FILTER_PADDING, "more only adds zeros around the image"),
        help="Zero padding on each side.")] = 0,
) -> None:
    """Apply a 3x3 kernel to an image with minigrad's conv2d and save both side by side.

    Prints the input and output sizes, the output-size formula with the numbers filled in, and
    the kernel. The output is clipped to 0..255. Needs matplotlib, and Pillow for PNG and JPEG
    (pip install "cnncalc[plot]").

    Example: `cnncalc filter digit.png --kernel edge --padding 1 --out edges.png`
    """
    from .filtering import run_filter

    _writable_target(out, "--out")
    with reported_errors():
        run_filter(image, kernel, stride, padding, out, render.make_console())


@app.command(no_args_is_help=True)
def visualize(
    model: Annotated[str, typer.Argument(help="A model file saved by cnncalc train --save.",
                                         metavar="MODEL", show_default=False)],
    out: Annotated[str, typer.Option(metavar="PNG", help="Save the picture here.",
                                     show_default=False)],
    image: Annotated[str | None, typer.Option(
        metavar="IMAGE", help="Show the feature maps of this image, converted as predict "
                              "converts it. [default: the first test image of the model's "
                              "dataset]", show_default=False)] = None,
    data_dir: Annotated[str | None, typer.Option(
        "--data-dir", metavar="DIR", help=DATA_DIR_HELP, show_default=False)] = None,
) -> None:
    """Draw a saved model's first conv layer: its filters and the feature maps of one image.

    Each filter's weights are scaled to their own range; the feature maps are the layer's
    output after its activation. Without --image the first test image of the model's dataset is
    used (never downloaded: a synthetic shape stands in when it is missing). Needs matplotlib
    (pip install "cnncalc[plot]").

    Example: `cnncalc visualize mnist.npz --out filters.png`
    """
    from .visualize import run_visualize

    _writable_target(out, "--out")
    with reported_errors():
        run_visualize(model, out, image, data_dir, render.make_console(),
                      render.make_console(stderr=True))


def main() -> None:
    app()
