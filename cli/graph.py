"""`cnncalc graph`: the computation graph of one forward and backward pass of a model."""

from __future__ import annotations

import numpy as np
from rich.table import Table

import minigrad
import minigrad.engine.functional as F
from minigrad import Tensor
from minigrad.tools.build import build_model
from minigrad.layers.shapes import convert_shape
from minigrad.readers import Spec


def one_pass(spec: Spec):
    """Build the model, run one random image through it and a loss; returns (loss, model).

    The loss is cross-entropy against class 0 when the model ends in a vector of classes (a final
    softmax is folded into it, as in training), else the mean of the output.
    """
    summary = spec.analyze()
    minigrad.manual_seed(0)
    model = build_model(spec.network)
    chw = convert_shape(summary.input_shape, spec.network.layout, "chw")
    x = Tensor(np.random.default_rng(0).random((1,) + chw, dtype=np.float32), name="input")
    out = model(x)
    loss = F.cross_entropy(out, np.zeros(1, dtype=np.int64)) if out.ndim == 2 else out.mean()
    return loss, model


def gradient_table(model) -> Table:
    """Each parameter's gradient after backward: shape and mean magnitude."""
    table = Table(title="gradients after loss.backward()", title_style="bold")
    table.add_column("parameter")
    table.add_column("shape", justify="right")
    table.add_column("mean |grad|", justify="right")
    for name, parameter in model.named_parameters():
        grad = parameter.grad
        magnitude = "—" if grad is None else f"{np.abs(grad).mean():.3g}"
        table.add_row(name, "×".join(map(str, parameter.shape)), magnitude)
    return table
