"""Fully connected layers on the last axis (PyTorch Linear, Keras Dense) and embeddings.

    Dense       (..., N) → (..., U)     params N·U (+ U)       MACs N·U per position
    Embedding   (L,) → (L, D)           params V·D             MACs 0 (a table lookup)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from minigrad.layers.activation import check_activation
from minigrad.layers.base import (
    Axis,
    Context,
    Flow,
    Layer,
    Outcome,
    check_positive,
    dims_text,
    number,
    one_input,
    shape_text,
)
from minigrad.layers.window import collapse_all


@dataclass(frozen=True, kw_only=True)
class Dense(Layer):
    """units: output features; acts on the last axis of any rank. in_features: declared by
    PyTorch code, checked against what arrives."""

    units: int
    bias: bool = True
    activation: str | None = None
    in_features: int | None = None

    type: ClassVar[str] = "dense"
    default_name: ClassVar[str] = "dense"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        check_positive(ctx, self, units=self.units)
        check_activation(ctx, self, self.activation)
        shape = flow.shape
        n_in = shape[-1]
        if self.in_features is not None and self.in_features != n_in:
            origin = ""
            if flow.flattened_from and len(shape) == 1:
                origin = (f" (the flatten before it gives "
                          f"{' · '.join(map(str, flow.flattened_from))} = {n_in:,})")
            raise ctx.error(f"expects {self.in_features:,} input features but receives "
                            f"{n_in:,}{origin}", self, hint=f"set in_features to {n_in}")
        positions = math.prod(shape[:-1])
        weights = n_in * self.units
        params = weights + (self.units if self.bias else 0)
        macs = weights * positions
        notes, axes = [], flow.axes
        if len(shape) == 1:
            axes = collapse_all(axes)
        else:
            if len(shape) > 2:
                notes.append(f"dense on a non-flat input {shape_text(shape)} acts on the last "
                             "axis only; is a flatten missing?")
            if axes is not None and ctx.layout == "chw":  # the last axis is spatial: mix it all
                axes = axes[:-1] + (axes[-1].collapse(self.units),)
        out = shape[:-1] + (self.units,)
        at = f"·{positions}" if positions > 1 else ""
        explain = [
            f"params = {number(n_in)}·{number(self.units)}"
            + (f" + {number(self.units)} = {number(params)}" if self.bias
               else f" = {number(params)} (no bias)"),
            f"MACs = {number(n_in)}·{number(self.units)}{at} = {number(macs)}",
        ]
        if axes is not None:
            explain.append(f"r = {dims_text([a.rf for a in axes])} "
                           "(each unit sees every input it is connected to)")
        description = f"{self.units} units"
        if not self.bias:
            description += ", no bias"
        if self.activation and self.activation != "linear":
            description += f", {self.activation}"
        return Outcome(Flow(out, axes), trainable=params, macs=macs, description=description,
                       explain=tuple(explain), notes=tuple(notes))


@dataclass(frozen=True, kw_only=True)
class Embedding(Layer):
    """A table of num_embeddings vectors of embedding_dim values, looked up for each token id:
    (L,) → (L, embedding_dim). Under Keras' layout the token axis becomes a grid axis (so a Conv1D
    after it has a receptive field in tokens)."""

    num_embeddings: int
    embedding_dim: int

    type: ClassVar[str] = "embedding"
    default_name: ClassVar[str] = "embedding"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        flow = one_input(ctx, self, inputs)
        check_positive(ctx, self, num_embeddings=self.num_embeddings,
                       embedding_dim=self.embedding_dim)
        out = flow.shape + (self.embedding_dim,)
        axes = tuple(Axis(n) for n in flow.shape) if ctx.layout == "hwc" else None
        params = self.num_embeddings * self.embedding_dim
        explain = (f"params = {number(self.num_embeddings)}·{number(self.embedding_dim)} = "
                   f"{number(params)} (one vector per token id)",
                   f"{shape_text(flow.shape)} token ids → {shape_text(out)}")
        return Outcome(Flow(out, axes), trainable=params,
                       description=f"{number(self.num_embeddings)} × {self.embedding_dim}",
                       explain=explain)
