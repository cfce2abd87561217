"""The ops behind Tensor's methods beyond arithmetic: elementwise functions (exp, log, relu,
sigmoid, tanh, sqrt, abs, clamp, maximum, where), reductions (sum, mean, max, min), shape ops
(reshape, transpose, expand), indexing, and joining (cat, stack, split). Each is a small
`Function`, forward beside backward.

Dimensions follow PyTorch: negative ones count from the end and an out-of-range one raises
IndexError ("Dimension out of range ...") instead of wrapping around.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from minigrad.engine import workspace
from minigrad.engine.tensor import (Function, Tensor, _broadcast_check, _like, as_tensor,
                                    normalize_dim, unbroadcast)

__all__ = ["cat", "stack", "split", "where", "maximum", "minimum"]


# ---------------------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------------------

class Exp(Function):
    """exp(a).  d/da = exp(a)."""

    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        return grad * self.out


class Log(Function):
    """ln(a).  d/da = 1/a."""

    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad):
        return grad / self.a


class ReLU(Function):
    """max(a, 0).  d/da = 1 where a > 0, else 0."""

    def forward(self, a):
        # Results laid out in memory as the input is (a conv's output is filter-major), so
        # that the conv's backward reads the gradient as its (F, N·OH·OW) matrix, uncopied.
        out = workspace.result_like(a)
        # clip with two bounds (the array's method: np.clip's wrappers add 1 µs a call) runs
        # numpy's SIMD loop; np.maximum against a scalar does not
        # (mnist-cnn's 3 MB map: 0.15 against 0.43 ms). Integers have no inf: max(a, 0).
        self.out = (a.clip(0, np.inf, out=out) if a.dtype.kind == "f"
                    else np.maximum(a, 0, out=out))
        return self.out

    def backward(self, grad):
        # The mask (1.0 where out > 0, else 0.0) is read from the output, alive until backward
        # ends anyway, and written into the gradient's own array: no mask array is kept by the
        # graph or made here, which lowers the step's peak memory.
        dx = np.greater(self.out, 0, out=workspace.result_like(self.out, grad.dtype))
        return np.multiply(dx, grad, out=dx)


class Sigmoid(Function):
    """1 / (1 + e^(−a)).  d/da = s·(1 − s)."""

    def forward(self, a):
        # Split by sign so that exp never overflows.
        e = np.exp(-np.abs(a))
        self.out = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        return self.out

    def backward(self, grad):
        return grad * self.out * (1 - self.out)


class Tanh(Function):
    """tanh(a).  d/da = 1 − tanh²(a)."""

    def forward(self, a):
        self.out = np.tanh(a)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


class Sqrt(Function):
    """√a.  d/da = 1 / (2√a)  (infinite at 0, as in PyTorch)."""

    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, grad):
        with np.errstate(divide="ignore"):
            return grad / (2 * self.out)


class Abs(Function):
    """|a|.  d/da = sign(a), which is 0 at a = 0 (PyTorch's choice)."""

    def forward(self, a):
        self.sign = np.sign(a)
        return np.abs(a)

    def backward(self, grad):
        return grad * self.sign


class Clamp(Function):
    """a clipped to [low, high] (either bound may be None).  d/da = 1 where low ≤ a ≤ high (the
    bounds themselves included, as PyTorch), 0 where a was clipped."""

    def forward(self, a, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clamp: at least one of min and max must be given")
        self.inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        return np.clip(a, low, high).astype(a.dtype, copy=False)

    def backward(self, grad):
        return grad * self.inside


class Maximum(Function):
    """Elementwise max(a, b) with broadcasting.  The gradient goes to the larger input; on a tie
    each input gets half of it (as torch.maximum)."""

    combine, wins = staticmethod(np.maximum), staticmethod(np.greater)

    def forward(self, a, b):
        _broadcast_check(self.name.lower(), a, b)
        self.shapes = a.shape, b.shape
        a_share = self.wins(a, b) + 0.5 * (a == b)      # 1 where a wins, ½ on ties, 0 elsewhere
        self.a_share = a_share.astype(np.result_type(a, b), copy=False)
        return self.combine(a, b)

    def backward(self, grad):
        da = unbroadcast(grad * self.a_share, self.shapes[0]) if self.needs_grad[0] else None
        db = unbroadcast(grad * (1 - self.a_share), self.shapes[1]) if self.needs_grad[1] else None
        return da, db


class Minimum(Maximum):
    """Elementwise min(a, b).  The gradient goes to the smaller input; ties split half/half."""

    combine, wins = staticmethod(np.minimum), staticmethod(np.less)


class Where(Function):
    """where(condition, a, b): a where condition holds, else b (all three broadcast together).
    d/da = condition, d/db = not condition."""

    def forward(self, a, b, condition):
        self.condition = np.asarray(condition, dtype=bool)
        try:
            np.broadcast_shapes(self.condition.shape, a.shape, b.shape)
        except ValueError:
            raise ValueError(f"where: shapes {self.condition.shape} (condition), {a.shape} and "
                             f"{b.shape} cannot be broadcast together") from None
        self.shapes = a.shape, b.shape
        return np.where(self.condition, a, b)

    def backward(self, grad):
        da = db = None
        if self.needs_grad[0]:
            da = unbroadcast(np.where(self.condition, grad, 0), self.shapes[0])
        if self.needs_grad[1]:
            db = unbroadcast(np.where(self.condition, 0, grad), self.shapes[1])
        return da, db


def where(condition, input, other) -> Tensor:
    """torch.where(condition, input, other); condition: a boolean array or tensor (e.g. x > 0)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    reference = input if isinstance(input, Tensor) else as_tensor(other)
    return Where.apply(_like(input, reference), _like(other, reference), condition=condition)


def maximum(input, other) -> Tensor:
    """torch.maximum: the elementwise larger of two tensors (or a tensor and a number)."""
    reference = input if isinstance(input, Tensor) else as_tensor(other)
    return Maximum.apply(_like(input, reference), _like(other, reference))


def minimum(input, other) -> Tensor:
    """torch.minimum: the elementwise smaller of two tensors (or a tensor and a number)."""
    reference = input if isinstance(input, Tensor) else as_tensor(other)
    return Minimum.apply(_like(input, reference), _like(other, reference))


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------

def reduction_axes(dim, ndim: int) -> tuple[int, ...]:
    """The sorted axes a reduction over `dim` (None: all; an int or a sequence) covers."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if np.ndim(dim) == 0 else tuple(dim)
    axes = [normalize_dim(d, ndim) for d in dims]
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {dims} lists a dimension more than once")
    return tuple(sorted(axes)) if ndim else ()


def _expand(grad: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert reduced axes (size 1) so grad broadcasts against the input."""
    return grad if keepdims else np.expand_dims(grad, axes)


class Sum(Function):
    """a.sum(dim).  Each input element gets the gradient of the sum it went into."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, reduction_axes(axis, a.ndim), keepdims
        return np.asarray(a.sum(axis=self.axes, keepdims=keepdims))

    def backward(self, grad):
        return np.broadcast_to(_expand(grad, self.axes, self.keepdims), self.shape)


class Mean(Function):
    """a.mean(dim).  Each input element gets grad / (number of elements averaged)."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, reduction_axes(axis, a.ndim), keepdims
        self.count = int(np.prod([a.shape[i] for i in self.axes]))
        return np.asarray(a.mean(axis=self.axes, keepdims=keepdims))

    def backward(self, grad):
        g = _expand(grad, self.axes, self.keepdims) / self.count
        return np.broadcast_to(g, self.shape).astype(grad.dtype, copy=False)


class Max(Function):
    """a.max(dim).  The gradient goes to the first maximum of each reduced group (as PyTorch's
    max(dim) does), so ties never split or duplicate it."""

    pick, reduce = staticmethod(np.argmax), staticmethod(np.max)

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, reduction_axes(axis, a.ndim), keepdims
        kept = [i for i in range(a.ndim) if i not in self.axes]
        moved = np.transpose(a, kept + list(self.axes))
        groups = moved.reshape(moved.shape[:len(kept)] + (-1,))
        self.first = self.pick(groups, axis=-1)
        self.moved_shape, self.order = moved.shape, kept + list(self.axes)
        return np.asarray(self.reduce(a, axis=self.axes, keepdims=keepdims))

    def backward(self, grad):
        g = grad.reshape(self.first.shape)
        groups = np.zeros(self.first.shape + (int(np.prod(self.moved_shape[len(self.first.shape):],
                                                          dtype=np.int64)),), dtype=grad.dtype)
        np.put_along_axis(groups, self.first[..., None], g[..., None], axis=-1)
        moved = groups.reshape(self.moved_shape)
        return np.transpose(moved, np.argsort(self.order))


class Min(Max):
    """a.min(dim).  The gradient goes to the first minimum of each reduced group."""

    pick, reduce = staticmethod(np.argmin), staticmethod(np.min)


class ValuesIndices(NamedTuple):
    """What t.max(dim) / t.min(dim) return, as in PyTorch: the values (a tensor with gradient)
    and the positions along dim (a numpy integer array)."""

    values: Tensor
    indices: np.ndarray


# ---------------------------------------------------------------------------------------------
# Shape ops
# ---------------------------------------------------------------------------------------------

class Reshape(Function):
    """a.reshape(shape) (also view, flatten, squeeze, unsqueeze).  The gradient is reshaped back."""

    def forward(self, a, shape):
        try:
            out = a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {a.shape} ({a.size} elements) into "
                             f"{tuple(shape)}") from None
        self.shape = a.shape
        return out

    def backward(self, grad):
        return grad.reshape(self.shape)


class Transpose(Function):
    """a.transpose(axes): the axes reordered (reversed by default); permute(dims) in PyTorch.
    The gradient is transposed back."""

    def forward(self, a, axes=None):
        if axes is None:
            self.axes = tuple(range(a.ndim))[::-1]
        else:
            self.axes = tuple(normalize_dim(x, a.ndim) for x in axes)
            if sorted(self.axes) != list(range(a.ndim)):
                raise ValueError(f"permute: dims {tuple(axes)} are not an ordering of the "
                                 f"{a.ndim} dimensions of a tensor of shape {a.shape}")
        return np.transpose(a, self.axes)

    def backward(self, grad):
        return np.transpose(grad, np.argsort(self.axes))


class Expand(Function):
    """a.expand(sizes): size-1 dimensions repeated (and new ones added in front) without copying;
    -1 keeps a size.  d/da: the gradient summed over the repeated positions."""

    def forward(self, a, sizes):
        new = len(sizes) - a.ndim
        if new < 0:
            raise ValueError(f"expand: {len(sizes)} sizes {tuple(sizes)} for a tensor of shape "
                             f"{a.shape}: give at least one size per dimension")
        target = tuple(a.shape[i - new] if s == -1 and i >= new else s for i, s in enumerate(sizes))
        for i, size in enumerate(a.shape):
            if size != 1 and target[new + i] != size:
                raise ValueError(f"expand: the size of dimension {i} ({size}) must be 1 or match "
                                 f"the target size {target[new + i]}; target {target}, tensor "
                                 f"{a.shape}")
        if min(target, default=0) < 0:
            raise ValueError(f"expand: -1 is only allowed for existing dimensions, got "
                             f"{tuple(sizes)}")
        self.shape = a.shape
        return np.broadcast_to(a, target)

    def backward(self, grad):
        return unbroadcast(grad, self.shape)


def _index_key(key) -> tuple:
    """An index as numpy reads it: Tensors, lists and ranges become arrays."""
    parts = key if isinstance(key, tuple) else (key,)
    return tuple(np.asarray(p.data if isinstance(p, Tensor) else p)
                 if isinstance(p, (Tensor, list, range, np.ndarray)) else p for p in parts)


class Index(Function):
    """a[key] with ints, slices (with steps), None, Ellipsis, integer arrays (advanced indexing,
    e.g. logits[range(n), y]) and boolean masks, as numpy reads them.

    d/da: the gradient scattered back to the positions read, with np.add.at so a position read
    several times (repeated indices) collects the sum of its gradients."""

    def forward(self, a, key):
        self.shape, self.key = a.shape, _index_key(key)
        return np.asarray(a[self.key])

    def backward(self, grad):
        da = np.zeros(self.shape, dtype=grad.dtype)
        np.add.at(da, self.key, grad)
        return da


# ---------------------------------------------------------------------------------------------
# Joining and splitting
# ---------------------------------------------------------------------------------------------

def _check_list(op: str, arrays) -> None:
    if not arrays:
        raise ValueError(f"{op}: expected a non-empty list of tensors")


class Cat(Function):
    """cat(tensors, dim): joined along an existing dimension; the other sizes must match.
    d/d(each input): its slice of the gradient along dim."""

    def forward(self, *arrays, dim=0):
        _check_list("cat", arrays)
        if arrays[0].ndim == 0:
            raise ValueError("cat: zero-dimensional tensors cannot be concatenated (use stack)")
        self.dim = normalize_dim(dim, arrays[0].ndim)
        first = arrays[0].shape
        for i, a in enumerate(arrays):
            if a.ndim != len(first) or any(n != m for k, (n, m) in enumerate(zip(a.shape, first))
                                           if k != self.dim):
                raise ValueError(f"cat: shapes must match except in dimension {self.dim}, got "
                                 f"{first} and {a.shape} (tensor number {i})")
        self.ends = np.cumsum([a.shape[self.dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=self.dim)

    def backward(self, grad):
        return tuple(np.split(grad, self.ends, axis=self.dim))


class Stack(Function):
    """stack(tensors, dim): joined along a new dimension; all shapes must be equal.
    d/d(input i): the gradient's slice i along dim."""

    def forward(self, *arrays, dim=0):
        _check_list("stack", arrays)
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"stack: expects tensors of equal shape, got {sorted(shapes)}")
        self.dim, self.count = normalize_dim(dim, arrays[0].ndim + 1), len(arrays)
        return np.stack(arrays, axis=self.dim)

    def backward(self, grad):
        return tuple(np.take(grad, i, axis=self.dim) for i in range(self.count))


def cat(tensors, dim: int = 0) -> Tensor:
    """torch.cat: join tensors along an existing dimension."""
    return Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """torch.stack: join equal-shaped tensors along a new dimension."""
    return Stack.apply(*tensors, dim=dim)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """torch.split: an int is the size of each chunk (the last may be smaller); a list gives
    each chunk's size and must add up to the dimension's size. Each chunk is a slice of tensor,
    so gradients flow back through indexing."""
    tensor = as_tensor(tensor)
    dim = normalize_dim(dim, tensor.ndim)
    length = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: chunk size must be positive, got {split_size_or_sections}")
        starts = list(range(0, length, split_size_or_sections)) or [0]
        sizes = [min(split_size_or_sections, length - s) for s in starts]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length or min(sizes, default=0) < 0:
            raise ValueError(f"split: sizes {sizes} must add up to {length}, the size of "
                             f"dimension {dim} of a tensor of shape {tensor.shape}")
        starts = list(np.cumsum([0] + sizes[:-1]))
    before = (slice(None),) * dim
    return tuple(tensor[before + (slice(int(s), int(s) + n),)] for s, n in zip(starts, sizes))
