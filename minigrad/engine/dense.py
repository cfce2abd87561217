"""The fully connected layer, flatten and the embedding table."""

from __future__ import annotations

import numpy as np

from minigrad.engine import parallel, workspace
from minigrad.engine.tensor import Function, Tensor, as_tensor

__all__ = ["linear", "flatten", "embedding", "Linear", "Embedding"]


class Linear(Function):
    """x: (..., in), weight: (out, in), bias: (out,) -> (..., out).

    forward:  y = x @ Wᵀ + b
    backward: dx = dy @ W,  dW = dyᵀ @ x,  db = Σ dy
    """

    def forward(self, x, weight, bias=None):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input {x.shape} has {x.shape[-1] if x.ndim else 0} features "
                             f"but weight {weight.shape} expects {weight.shape[-1]}")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias shape {bias.shape} does not match weight "
                             f"{weight.shape} (expected ({weight.shape[0]},))")
        self.x, self.weight = x, weight
        out = parallel.matmul(x.reshape(-1, x.shape[-1]), weight.T).reshape(x.shape[:-1] + (-1,))
        if bias is not None:
            out += bias
        return out

    def backward(self, grad):
        x2 = self.x.reshape(-1, self.x.shape[-1])
        g2 = grad.reshape(-1, grad.shape[-1])
        dx = None
        if self.needs_grad[0]:  # dx and dW are megabytes: recycled, not mapped anew
            dx = parallel.matmul(g2, self.weight, out=workspace.result_array(
                x2.shape, np.result_type(g2, self.weight))).reshape(self.x.shape)
        dw = None
        if self.needs_grad[1]:
            dw = parallel.matmul(g2.T, x2, out=workspace.result_array(self.weight.shape,
                                                                      np.result_type(g2, x2)))
        if len(self.needs_grad) == 3:
            return dx, dw, (g2.sum(axis=0) if self.needs_grad[2] else None)
        return dx, dw


def linear(x, weight, bias=None) -> Tensor:
    """Fully connected layer. x: (..., in), weight: (out, in), bias: (out,) -> (..., out)."""
    return Linear.apply(*((x, weight) if bias is None else (x, weight, bias)))


def flatten(x, start_dim: int = 1) -> Tensor:
    """Merge every axis from start_dim on: (N, C, H, W) -> (N, C·H·W)."""
    x = as_tensor(x)
    return x.reshape(x.shape[:start_dim] + (-1,))


class Embedding(Function):
    """indices: integers of any shape (...), weight: (num_embeddings, dim) -> (..., dim).

    forward:  out[...] = weight[indices[...]], a row lookup
    backward: dweight[k] = Σ of the upstream rows of every position whose index is k
              (np.add.at, so a repeated index accumulates); the padding_idx row gets none
    """

    def forward(self, indices, weight, *, padding_idx=None):
        if weight.ndim != 2:
            raise ValueError(f"embedding: weight must be (num_embeddings, dim), got shape "
                             f"{weight.shape}")
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"embedding: indices must be integers, got {indices.dtype} "
                             f"(shape {indices.shape})")
        num = weight.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= num):
            raise ValueError(f"embedding: indices must be in [0, {num}), got "
                             f"{indices.min()}..{indices.max()} (weight {weight.shape})")
        self.indices, self.weight_shape, self.padding_idx = indices, weight.shape, padding_idx
        return weight[indices]

    def backward(self, grad):
        dweight = np.zeros(self.weight_shape, dtype=grad.dtype)
        np.add.at(dweight, self.indices, grad)
        if self.padding_idx is not None:
            dweight[self.padding_idx] = 0
        return None, dweight


def embedding(indices, weight, padding_idx=None) -> Tensor:
    """Look up rows of weight: integer indices (...) -> (..., dim). padding_idx (negative counts
    from the end, as PyTorch): that row's lookups get no gradient."""
    indices = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    weight = as_tensor(weight)
    if padding_idx is not None:
        num = weight.shape[0]
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx must be within [-{num}, {num}), got "
                             f"{padding_idx}")
        padding_idx %= num
    return Embedding.apply(Tensor(indices), weight, padding_idx=padding_idx)
