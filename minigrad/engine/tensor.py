"""Tensor and the autograd machinery: every op is a small `Function` whose forward rule and local
derivative sit side by side, working on numpy arrays.

How it works, in brief:
- An op's `apply` runs `forward` on the input arrays and, when gradients are wanted, remembers
  itself on the result (`tensor._op`), so every result knows the op that made it and its inputs.
- `backward()` orders the graph topologically (iteratively: no recursion limit), then walks it from
  the output, asking each op for the gradients of its inputs and summing them where a tensor was
  used more than once.
- After backward the graph is freed (ops drop their cached arrays) unless `retain_graph=True`.

The arithmetic ops live here; the others behind Tensor's methods (elementwise functions,
reductions, shape ops, indexing, joining) in tensor_ops.py. Tensor's methods take PyTorch's
names and arguments (dim=, keepdim=) and accept numpy's (axis=, keepdims=) too.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any

import numpy as np

from minigrad.engine import workspace

_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Inside this block no graph is recorded: results never require grad."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


class _Freed:
    """Stands in for the op of a result whose graph an earlier backward() freed."""

    name = "freed"


FREED = _Freed()


class Function:
    """One differentiable op. Subclasses write `forward(*arrays, **options) -> array` and
    `backward(grad) -> one gradient per input` (None for an input that needs none), caching on
    `self` whatever backward needs, as the layers of "Deep Learning from Scratch" do.

    `self.needs_grad[i]` says whether input i wants a gradient, so an expensive gradient (such as
    a first conv layer's dX) can be skipped.
    """

    def __init__(self, inputs: tuple[Tensor, ...]):
        self.inputs = inputs
        self.needs_grad = tuple([t.requires_grad for t in inputs])
        # Whether apply() will keep this op for backward: if not, forward need cache nothing.
        self.records_graph = _grad_enabled and True in self.needs_grad
        # Set by Tensor.backward: True when the graph is freed after this op's backward, which
        # may then overwrite what forward cached instead of allocating.
        self.last_use = False

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *arrays: np.ndarray, **options) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    def release(self) -> None:
        """Drop the inputs and everything forward cached, once backward no longer needs them."""
        needs_grad = self.needs_grad
        self.__dict__.clear()
        self.inputs, self.needs_grad = (), needs_grad

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor:
        # Lists, not generators, and the result built by Tensor._result: a batch-1 call of a
        # small model is mostly Python like this (an op that returns its input: 4.0 -> 2.1 µs,
        # medians of alternating runs).
        tensors = tuple([x if isinstance(x, Tensor) else Tensor(x) for x in inputs])
        op = cls(tensors)
        out = op.forward(*[t.data for t in tensors], **options)
        if op.records_graph:
            return Tensor._result(out, op)
        return Tensor._result(out)


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate them.

    data: the numpy array; grad: the gradient after backward() (leaves, and tensors that called
    retain_grad()); requires_grad: whether gradients flow to it.
    Python numbers and lists become float32; numpy arrays keep their dtype (float64 stays float64,
    integer class labels stay integers).
    """

    __array_ufunc__ = None  # make numpy defer `array + tensor` to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is not None:
            array = np.asarray(data, dtype=dtype)
        elif isinstance(data, (np.ndarray, np.generic)):
            array = np.asarray(data)
        else:
            array = np.asarray(data, dtype=np.float32)
        if requires_grad and not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"only floating-point tensors can require grad, got {array.dtype}")
        self.data: np.ndarray = array
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._op: Function | _Freed | None = None
        self._retain_grad = False
        self.name = name  # shown in graph renderings, e.g. "conv1.weight"

    @classmethod
    def _result(cls, out, op: Function | None = None) -> Tensor:
        """The tensor of an op's output `out` (an array, or a numpy scalar), recording `op` as its
        maker when given. What __init__ does, without its conversions: forward has already
        made the array in its dtype."""
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if op is not None and out.dtype.kind != "f":
            raise ValueError(f"only floating-point tensors can require grad, got {out.dtype}")
        result = cls.__new__(cls)
        result.data, result.grad, result.requires_grad = out, None, op is not None
        result._op, result._retain_grad, result.name = op, False, None
        return result

    # -- basic facts ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def op(self) -> Function | None:
        """The op that made this tensor (None for a leaf or a freed graph)."""
        return self._op if isinstance(self._op, Function) else None

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        return self.data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """np.asarray(t) gives t's numbers, as for a PyTorch tensor."""
        return np.array(self.data, dtype=dtype, copy=copy)

    def detach(self) -> Tensor:
        """The same data, cut off from the graph."""
        return Tensor(self.data, dtype=self.dtype)

    def retain_grad(self) -> Tensor:
        """Keep .grad on this intermediate result after backward (leaves always keep theirs)."""
        self._retain_grad = True
        return self

    def __repr__(self) -> str:
        op = f", op={self._op.name}" if self._op is not None else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        if self.size <= 8:
            body = np.array2string(self.data, precision=4, separator=", ")
            return f"Tensor({body}, dtype={self.dtype}{grad}{op})"
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{grad}{op})"

    # -- backward -------------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, summed into leaf.grad.

        grad: the upstream gradient, an array of self's shape; defaults to 1 for a scalar.
        retain_graph: keep the graph (and the ops' caches) for another backward.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of "
                               "the computation has requires_grad=True")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() on a non-scalar tensor of shape {self.shape} needs "
                                   "a gradient of that shape: call backward(grad)")
            grad = np.ones_like(self.data)
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward(): gradient shape {grad.shape} does not match the tensor's "
                             f"shape {self.shape}")
        order = _topological_order(self)
        grads: dict[int, np.ndarray] = {id(self): grad}
        for tensor in order:
            g = grads.pop(id(tensor), None)
            if g is None:
                continue
            if tensor._op is None or tensor._retain_grad:
                _accumulate(tensor, g)
            op = tensor._op
            if op is None:
                continue
            op.last_use = not retain_graph
            input_grads = op.backward(g)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, needs, pg in zip(op.inputs, op.needs_grad, input_grads):
                if not needs or pg is None:
                    continue
                if pg.shape != parent.shape:
                    raise AssertionError(f"{op.name}.backward gave a gradient of shape {pg.shape} "
                                         f"for an input of shape {parent.shape}")
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg
            if not retain_graph:
                tensor._op = FREED
                op.release()

    # -- operators ------------------------------------------------------------------------------
    def __add__(self, other): return Add.apply(self, _like(other, self))
    def __radd__(self, other): return Add.apply(_like(other, self), self)
    def __sub__(self, other): return Sub.apply(self, _like(other, self))
    def __rsub__(self, other): return Sub.apply(_like(other, self), self)
    def __mul__(self, other): return Mul.apply(self, _like(other, self))
    def __rmul__(self, other): return Mul.apply(_like(other, self), self)
    def __truediv__(self, other): return Div.apply(self, _like(other, self))
    def __rtruediv__(self, other): return Div.apply(_like(other, self), self)
    def __pow__(self, other): return Pow.apply(self, _like(other, self))
    def __rpow__(self, other): return Pow.apply(_like(other, self), self)
    def __matmul__(self, other): return MatMul.apply(self, _like(other, self))
    def __rmatmul__(self, other): return MatMul.apply(_like(other, self), self)
    def __neg__(self): return Neg.apply(self)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other): return self.data < _raw(other)
    def __le__(self, other): return self.data <= _raw(other)
    def __gt__(self, other): return self.data > _raw(other)
    def __ge__(self, other): return self.data >= _raw(other)
    def __eq__(self, other): return self.data == _raw(other)
    def __ne__(self, other): return self.data != _raw(other)
    __hash__ = object.__hash__

    # -- indexing and conversions -----------------------------------------------------------------
    def __getitem__(self, key): return _ops.Index.apply(self, key=key)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def _one_element(self, kind: str):
        if self.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python {kind}, this "
                             f"one has shape {self.shape}")
        return self.data.item()

    def __float__(self) -> float: return float(self._one_element("scalars"))
    def __int__(self) -> int: return int(self._one_element("scalars"))

    def __bool__(self) -> bool:
        if self.size != 1:
            amount = "no values" if self.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self.data.item())

    def item(self):
        if self.size != 1:
            raise RuntimeError(f"a Tensor with {self.size} elements cannot be converted to Scalar")
        return self.data.item()

    def tolist(self): return self.data.tolist()

    # -- in-place updates -------------------------------------------------------------------------
    def _in_place(self, update, other=None) -> Tensor:
        """Change self.data in place, as PyTorch's `t += x`, `t.add_(x)`, `t.zero_()` do.

        Allowed on tensors that do not require grad, and on leaves that do inside `no_grad()`
        (the optimizer step `p -= lr * p.grad`). A leaf that requires grad outside no_grad
        raises PyTorch's RuntimeError. Stricter than PyTorch: minigrad does not record in-place
        ops, so they are refused on results of the graph (their arrays may be cached for
        backward) and with an operand that requires grad (its gradient would be lost).
        """
        if self.requires_grad and not self.is_leaf:
            raise RuntimeError("minigrad does not record in-place ops on the results of a "
                               "computation that requires grad: write `x = x + 1` instead of "
                               "`x += 1`")
        if self.requires_grad and _grad_enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")
        if isinstance(other, Tensor) and other.requires_grad and _grad_enabled:
            raise RuntimeError("minigrad does not record in-place ops, so the gradient of an "
                               "operand that requires grad would be lost: write `a = a + b` "
                               "instead of `a += b`")
        update(self.data, _raw(other))
        return self

    def add_(self, other): return self._in_place(lambda d, o: np.add(d, o, out=d), other)
    def sub_(self, other): return self._in_place(lambda d, o: np.subtract(d, o, out=d), other)
    def mul_(self, other): return self._in_place(lambda d, o: np.multiply(d, o, out=d), other)
    def div_(self, other): return self._in_place(lambda d, o: np.divide(d, o, out=d), other)
    def copy_(self, src): return self._in_place(lambda d, o: np.copyto(d, o), src)
    def fill_(self, value): return self._in_place(lambda d, o: np.copyto(d, o), value)
    def zero_(self): return self.fill_(0)
    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    # -- methods (PyTorch's dim=/keepdim=; numpy's axis=/keepdims= accepted too) ---------------
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.Sum.apply(self, axis=dim_or_axis(dim, axis), keepdims=_keep(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _ops.Mean.apply(self, axis=dim_or_axis(dim, axis), keepdims=_keep(keepdim, keepdims))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """max() and max(axis=...): the largest values (a tensor). max(dim) as PyTorch: the pair
        (values, indices). max(other_tensor): the elementwise maximum."""
        return self._extreme(_ops.Max, np.argmax, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """Like max: min(), min(axis=...), min(dim) -> (values, indices), min(other_tensor)."""
        return self._extreme(_ops.Min, np.argmin, dim, keepdim, axis, keepdims)

    def _extreme(self, op, position, dim, keepdim, axis, keepdims):
        if isinstance(dim, Tensor):
            return (_ops.maximum if op is _ops.Max else _ops.minimum)(self, dim)
        if dim is None:
            return op.apply(self, axis=axis, keepdims=_keep(keepdim, keepdims))
        dim = normalize_dim(dim, self.ndim)  # one int, as in PyTorch
        values = op.apply(self, axis=dim, keepdims=_keep(keepdim, keepdims))
        return _ops.ValuesIndices(values, self._position(position, dim, _keep(keepdim, keepdims)))

    def _position(self, position, dim, keepdim):
        if dim is None:
            return position(self.data)
        if self.ndim == 0:
            return np.zeros((), dtype=np.int64)
        return position(self.data, axis=normalize_dim(dim, self.ndim), keepdims=keepdim)

    def argmax(self, dim=None, keepdim=False):
        """Positions of the maxima (numpy integers, no gradient); over the flattened tensor
        when dim is None."""
        return self._position(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._position(np.argmin, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        """Variance: Σ(x − mean)² / (N − correction). PyTorch's default is the unbiased
        estimate (correction=1, also with axis=); unbiased=False or correction=0 divides by N."""
        if unbiased is not None and correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        if correction is None:
            correction = 1 if unbiased is None else int(unbiased)
        axes = _ops.reduction_axes(dim_or_axis(dim, axis), self.ndim)
        count = int(np.prod([self.shape[i] for i in axes]))
        centred = self - self.mean(axes, keepdim=True)
        squares = (centred * centred).sum(axes, keepdim=_keep(keepdim, keepdims))
        return squares / max(count - correction, 0)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis,
                        keepdims=keepdims).sqrt()

    def reshape(self, *shape): return _ops.Reshape.apply(self, shape=_shape_arg(shape))
    view = reshape

    def transpose(self, *dims):
        """transpose(dim0, dim1) swaps two dimensions (PyTorch, also on a matrix, where numpy
        would read (0, 1) as "keep the order"); transpose() reverses them and transpose(*axes) or
        transpose(axes_tuple) with one axis per dimension reorders them (numpy)."""
        swap = len(dims) == 2
        dims = _shape_arg(dims)
        if swap:
            order = list(range(self.ndim))
            first, second = (normalize_dim(d, self.ndim) for d in dims)
            order[first], order[second] = order[second], order[first]
            dims = tuple(order)
        return _ops.Transpose.apply(self, axes=dims or None)

    def permute(self, *dims): return _ops.Transpose.apply(self, axes=_shape_arg(dims))
    def expand(self, *sizes): return _ops.Expand.apply(self, sizes=_shape_arg(sizes))

    def squeeze(self, dim=None):
        """Drop size-1 dimensions: all of them, or only `dim` (an int or a tuple) where it is 1."""
        axes = _ops.reduction_axes(dim, self.ndim)
        shape = [n for i, n in enumerate(self.shape) if not (i in axes and n == 1)]
        return self.reshape(shape)

    def unsqueeze(self, dim):
        shape = list(self.shape)
        shape.insert(normalize_dim(dim, self.ndim + 1), 1)
        return self.reshape(shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = normalize_dim(start_dim, self.ndim), normalize_dim(end_dim, self.ndim)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def split(self, split_size_or_sections, dim=0):
        return _ops.split(self, split_size_or_sections, dim)

    def softmax(self, dim):
        from minigrad.engine.functional import softmax  # functional imports this module
        return softmax(self, normalize_dim(dim, self.ndim))

    def log_softmax(self, dim):
        from minigrad.engine.functional import log_softmax
        return log_softmax(self, normalize_dim(dim, self.ndim))

    def clamp(self, min=None, max=None): return _ops.Clamp.apply(self, low=min, high=max)
    clip = clamp
    def pow(self, exponent): return self ** exponent
    def sqrt(self): return _ops.Sqrt.apply(self)
    def abs(self): return _ops.Abs.apply(self)
    def exp(self): return _ops.Exp.apply(self)
    def log(self): return _ops.Log.apply(self)
    def relu(self): return _ops.ReLU.apply(self)
    def sigmoid(self): return _ops.Sigmoid.apply(self)
    def tanh(self): return _ops.Tanh.apply(self)

    @property
    def T(self) -> Tensor:
        return self.transpose()


def as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _like(other, tensor: Tensor) -> Tensor:
    """A plain number or array next to a tensor takes the tensor's float dtype (no float64 creep)."""
    if isinstance(other, Tensor):
        return other
    array = np.asarray(other)
    if not isinstance(other, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
        array = array.astype(tensor.dtype if np.issubdtype(tensor.dtype, np.floating)
                             else np.float32)
    return Tensor(array)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def normalize_dim(dim: int, ndim: int) -> int:
    """dim as an index from the front; negative dims count from the end. Out of range raises
    PyTorch's IndexError rather than wrapping around (a 0-d tensor accepts 0 and -1)."""
    dim = operator.index(dim)
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], "
                         f"but got {dim})")
    return dim % ndim if ndim else 0


def dim_or_axis(dim, axis):
    """PyTorch's dim= or numpy's axis= (not both)."""
    if dim is not None and axis is not None:
        raise TypeError("give dim or axis, not both")
    return axis if dim is None else dim


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


def _shape_arg(args: tuple) -> tuple:
    """Accept both t.reshape(2, 3) and t.reshape((2, 3))."""
    return tuple(args[0]) if len(args) == 1 and not np.isscalar(args[0]) else tuple(args)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors from root back to the leaves, each after every tensor that uses it."""
    order, visited = [], set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, children_done = stack.pop()
        if children_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        if tensor._op is FREED:
            raise RuntimeError("backward() through a graph that an earlier backward() freed: "
                               "pass retain_graph=True to the first backward() to go through "
                               "it twice")
        stack.append((tensor, True))
        if tensor._op is not None:
            for parent in tensor._op.inputs:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def _accumulate(tensor: Tensor, grad: np.ndarray) -> None:
    """Sum a gradient into tensor.grad, which always owns its array (no aliasing between tensors)."""
    if tensor.grad is None:
        tensor.grad = np.array(grad, dtype=tensor.dtype, copy=True)
    else:
        tensor.grad += grad


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient back to the shape of an input that numpy broadcast to grad.shape."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    summed = grad.sum(axis=tuple(range(extra))) if extra else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and summed.shape[i] != 1)
    return summed.sum(axis=axes, keepdims=True) if axes else summed


def _broadcast_check(op: str, a: np.ndarray, b: np.ndarray) -> None:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


# ---------------------------------------------------------------------------------------------
# Elementwise arithmetic (numpy broadcasting; each gradient summed back to its input's shape)
# ---------------------------------------------------------------------------------------------

class Add(Function):
    """a + b -> broadcast shape.  d/da = 1, d/db = 1."""

    def forward(self, a, b):
        _broadcast_check("add", a, b)
        self.shapes = a.shape, b.shape
        return _same_shapes_recycled(np.add, a, b)  # a residual sum

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(Function):
    """a - b.  d/da = 1, d/db = -1."""

    def forward(self, a, b):
        _broadcast_check("sub", a, b)
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])


class Mul(Function):
    """a * b.  d/da = b, d/db = a."""

    def forward(self, a, b):
        _broadcast_check("mul", a, b)
        self.a, self.b = a, b
        return _same_shapes_recycled(np.multiply, a, b)

    def backward(self, grad):
        da = (unbroadcast(_same_shapes_recycled(np.multiply, grad, self.b), self.a.shape)
              if self.needs_grad[0] else None)
        db = (unbroadcast(_same_shapes_recycled(np.multiply, grad, self.a), self.b.shape)
              if self.needs_grad[1] else None)
        return da, db


def _same_shapes_recycled(ufunc, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ufunc(a, b), into a recycled result array (workspace.py) when a and b have one shape:
    a residual sum or a dropout mask's product is megabytes, whose fresh pages were faulted in
    every step (resnet-mini 755 faults a step, mnist-cnn-dropout 780). Broadcasts as numpy
    does otherwise."""
    if a.shape == b.shape and a.ndim:
        return ufunc(a, b, out=workspace.result_like(a, np.result_type(a, b)))
    return ufunc(a, b)


class Div(Function):
    """a / b.  d/da = 1/b, d/db = -a/b²."""

    def forward(self, a, b):
        _broadcast_check("div", a, b)
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        da = unbroadcast(grad / self.b, self.a.shape) if self.needs_grad[0] else None
        db = unbroadcast(-grad * self.a / (self.b * self.b), self.b.shape) if self.needs_grad[1] else None
        return da, db


class Pow(Function):
    """a ** b.  d/da = b·a^(b−1), d/db = a^b·ln a."""

    def forward(self, a, b):
        _broadcast_check("pow", a, b)
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, grad):
        da = unbroadcast(grad * self.b * self.a ** (self.b - 1), self.a.shape) if self.needs_grad[0] else None
        db = unbroadcast(grad * self.out * np.log(self.a), self.b.shape) if self.needs_grad[1] else None
        return da, db


class Neg(Function):
    """-a.  d/da = -1."""

    def forward(self, a):
        return -a

    def backward(self, grad):
        return -grad


class MatMul(Function):
    """a @ b: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands as numpy treats them.

    d/da = grad @ bᵀ, d/db = aᵀ @ grad (batch axes summed back when they were broadcast).
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least one dimension, got shapes "
                             f"{a.shape} and {b.shape}")
        k_a, k_b = a.shape[-1], (b.shape[-2] if b.ndim > 1 else b.shape[0])
        if k_a != k_b:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                             f"({k_a} columns vs {k_b} rows)")
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        a = self.a[None, :] if self.a.ndim == 1 else self.a          # (n=1, k)
        b = self.b[:, None] if self.b.ndim == 1 else self.b          # (k, m=1)
        g = grad  # put back the axes numpy dropped for 1-D operands: m first, then n
        if self.b.ndim == 1:
            g = np.expand_dims(g, -1)
        if self.a.ndim == 1:
            g = np.expand_dims(g, -2)
        da = db = None
        if self.needs_grad[0]:
            da = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape).reshape(self.a.shape)
        if self.needs_grad[1]:
            db = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape).reshape(self.b.shape)
        return da, db


# The shape, indexing, joining and reduction ops live in tensor_ops.py, which builds on Function
# above: imported last, as a module, so that either file can be imported first.
from minigrad.engine import tensor_ops as _ops  # noqa: E402
