"""Record PyTorch's outputs and gradients for the Tensor API expressions (tests/test_tensor_api.py).

Run by hand (torch is not needed by the tests):  python tests/engine_goldens/make_tensor_api.py
Writes tests/engine_goldens/tensor_api.npz: the fixed float64 inputs, and for expression i its
source text, torch's output, a random upstream gradient and torch's gradient for every input.
Each expression is written once and evaluated by both libraries, which share these names.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

EXPRESSIONS = [
    # indexing: ints, slices with steps, None, Ellipsis, repeated integer arrays, masks
    "x[0]", "x[:, 1]", "x[1:, ::2]", "x[None, ..., 1]", "x[[0, 2, 2], [1, 3, 3]]",
    "x[range(3), labels]", "x[x > 0]", "x[[2, 0, 2]]", "m[:, [1, 1, 0], 2:]", "m[..., -1][0]",
    # joining and splitting
    "cat([x, y], dim=1)", "cat([x, y, x], dim=-2)", "stack([x, y], dim=1)",
    "x.split(3, dim=1)[1]", "split(x, [1, 2], dim=0)[1]",
    # elementwise choices, with ties and values on the clamp bounds
    "where(x > y, x, y)", "where(x > 0, x, 0.0)", "maximum(t, u)", "minimum(t, u)",
    "t.clamp(-0.5, 0.5)", "t.clamp(min=0.0)", "t.clip(max=0.0)", "t.abs()", "(x * x + 1).sqrt()",
    "x.pow(3)",
    # reductions with dim= / keepdim=
    "t.min(dim=1).values", "t.max(dim=0, keepdim=True).values", "x.max()",
    "x.sum(dim=1, keepdim=True)",
    "m.mean(dim=(0, 2))", "x.var(dim=1)", "x.var(dim=0, unbiased=False)", "x.std()",
    "x.var(1, correction=0, keepdim=True)", "m.std(dim=-1, keepdim=True)",
    # shape ops
    "m.permute(2, 0, 1)", "m.transpose(0, 2)", "x.transpose(0, 1)", "x.view(2, 6)", "x.T",
    "m[:, :1].squeeze(1)", "m[:, :1].squeeze()", "x.unsqueeze(1).expand(3, 2, 4)",
    "z.expand(3, -1)", "m.flatten(1)", "m.flatten()",
    # softmax along a dim
    "x.softmax(dim=1)", "x.log_softmax(0)",
]
OUT = Path(__file__).with_name("tensor_api.npz")


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    grid = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])     # ties, zeros and exact clamp bounds
    return {
        "x": rng.standard_normal((3, 4)), "y": rng.standard_normal((3, 4)),
        "z": rng.standard_normal(4), "m": rng.standard_normal((2, 3, 4)),
        "t": rng.choice(grid, (3, 4)), "u": rng.choice(grid, (3, 4)),
        "labels": np.array([2, 0, 3]),
    }


def names_in(expression: str, arrays: dict) -> list[str]:
    """The inputs an expression reads, in a fixed order."""
    words = set(re.findall(r"[A-Za-z_]+", expression))
    return [name for name in arrays if name in words]


def main() -> None:
    import torch

    arrays = inputs()
    namespace = {"cat": torch.cat, "stack": torch.stack, "split": torch.split,
                 "where": torch.where, "maximum": torch.maximum, "minimum": torch.minimum}
    record = {"expressions": np.array(EXPRESSIONS), **{f"in_{k}": v for k, v in arrays.items()}}
    for i, expression in enumerate(EXPRESSIONS):
        tensors = {k: torch.tensor(v, requires_grad=v.dtype.kind == "f") for k, v in arrays.items()}
        out = eval(expression, {**namespace, **tensors})
        upstream = np.random.default_rng(i).standard_normal(tuple(out.shape))
        out.backward(torch.tensor(upstream))
        record[f"out_{i}"], record[f"upstream_{i}"] = out.detach().numpy(), upstream
        for name in names_in(expression, arrays):
            if tensors[name].grad is not None:
                record[f"grad_{i}_{name}"] = tensors[name].grad.numpy()
    np.savez_compressed(OUT, **record)
    print(f"wrote {len(EXPRESSIONS)} expressions to {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
