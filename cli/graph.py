"""`cnncalc graph`: the computation graph of one forward and backward pass of a model."""

from __future__ import annotations

import numpy as np
from rich.table import Table

import minigrad
import minigrad.engine.functional as F
from minigrad import Tensor, layers
from minigrad.engine.nn.plan import as_written
from minigrad.tools.build import build_model
from minigrad.layers.shapes import convert_shape
from minigrad.readers import Spec


def one_pass(spec: Spec):
    """Build the model, run one random sample through it and a loss; returns (loss, model).

    The loss is cross-entropy against class 0 when the model ends in a vector of classes (a final
    softmax is folded into it, as in training), else the mean of the output (summed over the
    outputs of a model with several). Token ids for an embedding are drawn below its vocabulary.
    """
    summary = spec.analyze()
    minigrad.manual_seed(0)
    model = build_model(spec.graph)
    rng = np.random.default_rng(0)
    # a graph model takes the inputs its outputs need; a chain its one input
    nodes = list(getattr(model, "input_shapes", {0: None}))
    inputs = [Tensor(sample(rng, spec, summary, index), name=summary.rows[index].name)
              for index in nodes]
    with as_written():  # the ops the code wrote, in its order (no rewrites: nn/plan.py)
        outputs = model(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    if len(outputs) == 1 and outputs[0].ndim == 2:
        return F.cross_entropy(outputs[0], np.zeros(1, dtype=np.int64)), model
    loss = outputs[0].mean()
    for out in outputs[1:]:
        loss = loss + out.mean()
    return loss, model


def sample(rng, spec: Spec, summary, index: int) -> np.ndarray:
    """One random sample for input node `index`: pixels in [0, 1), or token ids below the
    vocabulary of the embedding that reads it."""
    shape = (1,) + convert_shape(summary.rows[index].output_shape, spec.layout, "chw")
    vocabulary = next((node.layer.num_embeddings for node in spec.graph.nodes
                       if isinstance(node.layer, layers.Embedding) and index in node.inputs), None)
    if vocabulary:
        return rng.integers(0, vocabulary, shape)
    return rng.random(shape, dtype=np.float32)


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
