"""The fully connected layer and flatten."""

from __future__ import annotations

from minigrad.engine.tensor import Function, Tensor, as_tensor

__all__ = ["linear", "flatten", "Linear"]


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
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, grad):
        x2 = self.x.reshape(-1, self.x.shape[-1])
        g2 = grad.reshape(-1, grad.shape[-1])
        dx = grad @ self.weight if self.needs_grad[0] else None
        dw = g2.T @ x2 if self.needs_grad[1] else None
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
