"""Tensor and the autograd machinery: every op is a small `Function` whose forward rule and local
derivative sit side by side, working on numpy arrays.

How it works, in brief:
- An op's `apply` runs `forward` on the input arrays and, when gradients are wanted, remembers
  itself on the result (`tensor._op`), so every result knows the op that made it and its inputs.
- `backward()` orders the graph topologically (iteratively: no recursion limit), then walks it from
  the output, asking each op for the gradients of its inputs and summing them where a tensor was
  used more than once.
- After backward the graph is freed (ops drop their cached arrays) unless `retain_graph=True`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

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
        self.needs_grad = tuple(t.requires_grad for t in inputs)

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
        tensors = tuple(as_tensor(x) for x in inputs)
        op = cls(tensors)
        out = op.forward(*(t.data for t in tensors), **options)
        requires_grad = _grad_enabled and any(op.needs_grad)
        result = Tensor(out, requires_grad=requires_grad, dtype=out.dtype)
        if requires_grad:
            result._op = op
        return result


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

    def item(self) -> float:
        return self.data.item()

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

    # -- methods --------------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return Sum.apply(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return Mean.apply(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return Max.apply(self, axis=axis, keepdims=keepdims)
    def reshape(self, *shape): return Reshape.apply(self, shape=_shape_arg(shape))
    def transpose(self, *axes): return Transpose.apply(self, axes=_shape_arg(axes) or None)
    def exp(self): return Exp.apply(self)
    def log(self): return Log.apply(self)
    def relu(self): return ReLU.apply(self)
    def sigmoid(self): return Sigmoid.apply(self)
    def tanh(self): return Tanh.apply(self)

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


def _shape_arg(args: tuple) -> tuple:
    """Accept both t.reshape(2, 3) and t.reshape((2, 3))."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


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
        return a + b

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
        return a * b

    def backward(self, grad):
        da = unbroadcast(grad * self.b, self.a.shape) if self.needs_grad[0] else None
        db = unbroadcast(grad * self.a, self.b.shape) if self.needs_grad[1] else None
        return da, db


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


# ---------------------------------------------------------------------------------------------
# Unary elementwise functions
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
        self.positive = a > 0
        return np.maximum(a, 0, dtype=a.dtype)

    def backward(self, grad):
        return grad * self.positive


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


# ---------------------------------------------------------------------------------------------
# Reductions and shape ops
# ---------------------------------------------------------------------------------------------

def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _expand(grad: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert reduced axes (size 1) so grad broadcasts against the input."""
    return grad if keepdims else np.expand_dims(grad, axes)


class Sum(Function):
    """a.sum(axis).  Each input element gets the gradient of the sum it went into."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        return np.asarray(a.sum(axis=self.axes, keepdims=keepdims))

    def backward(self, grad):
        return np.broadcast_to(_expand(grad, self.axes, self.keepdims), self.shape)


class Mean(Function):
    """a.mean(axis).  Each input element gets grad / (number of elements averaged)."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        self.count = int(np.prod([a.shape[i] for i in self.axes]))
        return np.asarray(a.mean(axis=self.axes, keepdims=keepdims))

    def backward(self, grad):
        g = _expand(grad, self.axes, self.keepdims) / self.count
        return np.broadcast_to(g, self.shape).astype(grad.dtype, copy=False)


class Max(Function):
    """a.max(axis).  The gradient goes to the first maximum of each reduced group (as PyTorch's
    max(dim) does), so ties never split or duplicate it."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = a.shape, _axes(axis, a.ndim), keepdims
        kept = [i for i in range(a.ndim) if i not in self.axes]
        moved = np.transpose(a, kept + list(self.axes))
        groups = moved.reshape(moved.shape[:len(kept)] + (-1,))
        self.first = groups.argmax(axis=-1)
        self.moved_shape, self.order = moved.shape, kept + list(self.axes)
        return np.asarray(a.max(axis=self.axes, keepdims=keepdims))

    def backward(self, grad):
        g = grad.reshape(self.first.shape)
        groups = np.zeros(self.first.shape + (int(np.prod(self.moved_shape[len(self.first.shape):],
                                                          dtype=np.int64)),), dtype=grad.dtype)
        np.put_along_axis(groups, self.first[..., None], g[..., None], axis=-1)
        moved = groups.reshape(self.moved_shape)
        return np.transpose(moved, np.argsort(self.order))


class Reshape(Function):
    """a.reshape(shape).  The gradient is reshaped back."""

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
    """a.transpose(axes) (reversed axes by default).  The gradient is transposed back."""

    def forward(self, a, axes=None):
        self.axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(x % a.ndim for x in axes)
        return np.transpose(a, self.axes)

    def backward(self, grad):
        return np.transpose(grad, np.argsort(self.axes))
