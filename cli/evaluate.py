"""`cnncalc evaluate`: a saved model's accuracy, loss, per-class precision / recall / F1 and
confusion matrix on a dataset's test split (by default the dataset it was trained on)."""

from __future__ import annotations

import math

from rich.text import Text

from minigrad.tools.data import DataError
from minigrad.tools.datasets import load_dataset, rich_progress
from minigrad.tools.metrics import classification_report
from minigrad.tools.modelfile import load_model
from minigrad.layers.report import shape_text, strict_json
from minigrad.tools.train import evaluate

from . import render


def run_evaluate(model_path: str, dataset: str | None, data_dir: str | None, as_json: bool,
                 out, err) -> None:
    loaded = load_model(model_path)
    name = dataset or loaded.meta.get("dataset")
    if not name:
        raise DataError(f"{model_path} does not say which dataset it was trained on: "
                        "name one with --dataset")
    with rich_progress(err) as progress:
        test = load_dataset(name, "test", data_dir, progress=progress)
    if test.sample_shape != tuple(loaded.input_chw):
        raise DataError(f"{name} images are {shape_text(test.sample_shape)} (C×H×W) but the "
                        f"model takes {shape_text(loaded.input_chw)}")
    classes = loaded.classes
    if test.num_classes > len(classes):
        raise DataError(f"{name} has {test.num_classes} classes but the model knows "
                        f"{len(classes)}")
    if list(test.classes) != classes[:test.num_classes]:
        render.print_note(err, f"{name}'s class names differ from those the model was trained "
                               f"with ({', '.join(map(render.printable, classes))}); the report "
                               "uses the model's")

    result = evaluate(loaded.model, test)
    scores = classification_report(test.y, result.predictions, classes)
    if as_json:
        print(strict_json({"model": str(model_path), "dataset": name, "samples": len(test),
                           "loss": result.loss, **scores.to_dict()},
                          lambda message: render.print_note(err, message)))
        return
    # Text, not markup: a path may contain brackets.
    out.print(Text.assemble((render.printable(str(model_path)), "bold"),
                            f" on {len(test):,} {render.printable(str(name))} test images"))
    if not math.isfinite(result.loss):
        render.print_note(err, f"the loss is {result.loss}: the model's outputs overflow")
    out.print(Text.assemble("accuracy ", (f"{result.accuracy:.4f}", "bold green"),
                            f"  loss {result.loss:.4f}"))
    out.print()
    out.print(render.classification_table(scores, "per class"))
    out.print(render.confusion_table(scores.confusion, classes))
