"""Attribute access and operators on traced PyTorch tensors: x.size(0), x.view(x.size(0), -1),
x.permute(0, 2, 3, 1), x + y, x.relu()… Reshapes check the batch axis: `x.view(-1, 400)` where one
sample holds 800 values is the classic bug, reported with both numbers."""

from __future__ import annotations

import math
from typing import Any, Callable

from minigrad import layers as K
from minigrad.errors import SpecError
from minigrad.readers.arguments import unknown_error
from minigrad.readers.environment import Environment, Function
from minigrad.readers.interp.values import Foreign, Unknown
from minigrad.readers.trace import BATCH, SCALAR_OPS, SymTensor


# ---------------------------------------------------------------------------------------------

def tensor_binary(env: Environment, left: Any, op: str, right: Any, at) -> Any:
    """`a + b` on tensors: a merge node for two traced tensors; with a number, the same shape."""
    kind = {"+": "add", "-": "subtract", "*": "multiply"}.get(op)
    if env.traced(left) and env.traced(right):
        if kind is None:
            raise SpecError(f"'{op}' between two tensors is not a layer cnncalc follows", at)
        return merge(env, f"'{op}'", kind, [left, right], None, at)
    tensor = left if isinstance(left, SymTensor) else right
    other = right if tensor is left else left
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        return scalar_op(env, tensor, op, other, tensor is right, at)
    return Unknown(f"a tensor {op} {type(other).__name__}", at)


def scalar_op(env: Environment, tensor: Any, op: str, number, number_first: bool, at) -> Any:
    """`x * 0.5`, `1 - x`: a row of its own, so that a built model computes it too."""
    kind = SCALAR_OPS.get((op, number_first))
    if kind is None or not env.traced(tensor):
        return tensor if kind is not None else Unknown(f"a tensor {op} a number", at)
    layer = K.Elementwise(op=kind, operand=float(number), where=at)
    return env.trace.apply(layer, [tensor], env.functional_name(kind), "torch", functional=True)


def merge(env: Environment, what: str, op: str, tensors: list, dim: Any, at) -> Any:
    if not all(env.traced(t) for t in tensors):
        unknown = next((t for t in tensors if isinstance(t, Unknown)), None)
        return unknown or Unknown(f"the result of {what}(...)", at)
    if op == "concat":
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise SpecError(f"{what}: dim must be an integer, got {dim!r}", at)
        if dim == 0:
            raise SpecError(f"{what}: dim=0 joins along the batch axis, so the samples would "
                            "mix; concatenate channels with dim=1", at)
        axis = dim - 1 if dim > 0 else dim
        layer = K.Merge(op="concat", axis=axis, where=at)
    else:
        layer = K.Merge(op=op, where=at)
    return env.trace.apply(layer, list(tensors), env.functional_name(op if op != "concat" else "cat"),
                           "torch", functional=True)


class TorchTensorMethods:
    """Attribute access and operators on a torch SymTensor (registered in TENSOR_METHODS)."""

    def __init__(self, env: Environment, functional: Callable[[str], Function], methods: set[str]):
        self.env = env
        self.functional = functional   # F.NAME as a tensor method: x.relu(), x.mean(dim)…
        self.function_methods = methods

    def get_attr(self, interp, tensor: SymTensor, name: str, at):
        env = self.env
        batch = BATCH if tensor.trace is not None else tensor.batch
        full = (batch, *tensor.shape)
        if name == "shape":
            return full
        if name == "ndim":
            return len(full)
        if name in ("size", "dim", "ndimension", "numel"):
            def size(interp, args, kwargs, at):
                if name in ("dim", "ndimension"):
                    return len(full)
                if name == "numel":
                    return Unknown("the number of elements in a batch", at)
                if not args:
                    return full
                dim = args[0]
                if not isinstance(dim, int) or not -len(full) <= dim < len(full):
                    raise SpecError(f"x.size({dim!r}): a {len(full)}-D tensor has no such axis", at)
                return full[dim]
            return Function(f"x.{name}", size)
        if name in ("contiguous", "clone", "detach", "to", "cuda", "cpu", "float", "double", "half",
                    "requires_grad_", "type_as"):
            return Function(f"x.{name}", lambda interp, args, kwargs, at: tensor)
        if name in ("view", "reshape"):
            return Function(f"x.{name}", lambda interp, args, kwargs, at:
                            self.reshape(env, tensor, name, args, at))
        if name in ("permute", "transpose", "squeeze", "unsqueeze"):
            return Function(f"x.{name}", lambda interp, args, kwargs, at:
                            self.rearrange(env, tensor, name, args, kwargs, at))
        if name in self.function_methods:
            function = self.functional(name)
            return Function(f"x.{name}", lambda interp, args, kwargs, at:
                            function.call(interp, [tensor, *args], kwargs, at))
        if name in ("add", "sub", "mul", "add_", "mul_"):
            op = {"add": "+", "sub": "-", "mul": "*"}[name.rstrip("_")]
            return Function(f"x.{name}", lambda interp, args, kwargs, at:
                            tensor_binary(env, tensor, op, args[0] if args else None, at))
        return Unknown(f"x.{name}", at)

    def binary(self, interp, tensor, op, other, right, at):
        env = self.env
        return tensor_binary(env, other if right else tensor, op, tensor if right else other, at)

    def unary(self, interp, tensor, op, at):
        return scalar_op(self.env, tensor, "*", -1, False, at) if op == "-" else tensor

    def get_item(self, interp, tensor, key, at):
        """x[:, :, ::4], x[:, -1], x[..., None]: the first entry must keep the whole batch."""
        env = self.env
        if not env.traced(tensor):
            return env.untraced(tensor, "x[...]", at)
        keys = list(key) if isinstance(key, tuple) else [key]
        if any(isinstance(k, Unknown) for k in keys):
            raise unknown_error(next(k for k in keys if isinstance(k, Unknown)), "x[...]", at)
        if Ellipsis in keys:
            i = keys.index(Ellipsis)
            named = sum(1 for k in keys if k is not None and k is not Ellipsis)
            keys[i:i + 1] = [slice(None)] * (len(tensor.shape) + 1 - named)
        if not keys or keys[0] != slice(None):
            raise SpecError("x[...]: indexing the batch axis picks samples; keep it whole with x[:, ...]", at)
        entries = []
        for k in keys[1:]:
            if isinstance(k, slice) and all(v is None or (isinstance(v, int) and not isinstance(v, bool))
                                            for v in (k.start, k.stop, k.step)) and k.step != 0:
                entries.append((k.start, k.stop, k.step))
            elif k is None or (isinstance(k, int) and not isinstance(k, bool)):
                entries.append(k)
            else:
                raise SpecError(f"x[...]: cnncalc follows integer and slice indices, not {k!r}", at)
        return env.trace.apply(K.Slice(index=tuple(entries), where=at), [tensor],
                               env.functional_name("slice"), "torch", functional=True)

    def reshape(self, env: Environment, tensor: SymTensor, method: str, args: list, at) -> Any:
        dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        what = f"x.{method}({', '.join(_dim_text(d) for d in dims)})"
        if not env.traced(tensor):
            return env.untraced(tensor, what, at)
        if not dims:
            raise SpecError(f"{what} needs the new shape", at)
        per_sample, rest = tensor.size, dims[1:]
        for value in rest:
            if isinstance(value, Unknown):
                raise unknown_error(value, what, at)
            if not isinstance(value, int) or isinstance(value, bool) or value == 0 or value < -1:
                raise SpecError(f"{what}: sizes must be positive integers or -1, got {_dim_text(value)}", at)
        if dims.count(-1) > 1:
            raise SpecError(f"{what}: only one size can be -1", at)
        if dims[0] == -1 and -1 not in rest:
            wanted = math.prod(rest)
            if wanted != per_sample:
                shape = " · ".join(map(str, tensor.shape))
                raise SpecError(
                    f"{what}: one sample holds {shape} = {per_sample:,} values but the new shape "
                    f"asks for {wanted:,} per row, so -1 would change the batch size (the classic "
                    f"view bug)", at, hint=f"write x.view(x.size(0), -1) or x.view(-1, {per_sample})")
        elif dims[0] != -1 and not (dims[0] is BATCH or isinstance(dims[0], (int, Unknown))):
            raise SpecError(f"{what}: the first size must be the batch size, such as x.size(0)", at)
        if len(rest) == 1:
            if rest[0] not in (-1, per_sample):
                raise SpecError(f"{what}: one sample holds {per_sample:,} values, not {rest[0]:,}", at,
                                hint=f"use {per_sample} or -1")
            layer = K.Flatten(where=at)
        else:
            layer = K.Reshape(target=tuple(rest), where=at)
        return env.trace.apply(layer, [tensor], env.functional_name(method), "torch", functional=True)

    def rearrange(self, env: Environment, tensor: SymTensor, method: str, args: list, kwargs: dict, at):
        if not env.traced(tensor):
            return env.untraced(tensor, f"x.{method}", at)
        rank = len(tensor.shape) + 1
        dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        dims += list(kwargs.values())
        if not all(isinstance(d, int) and not isinstance(d, bool) and -rank <= d < rank for d in dims) and \
                method != "unsqueeze":
            raise SpecError(f"x.{method}: axes must be integers below {rank}, got {dims!r}", at)
        what = f"x.{method}({', '.join(map(str, dims))})"
        if method in ("permute", "transpose"):
            order = list(range(rank))
            if method == "transpose":
                if len(dims) != 2:
                    raise SpecError(f"{what} takes two axes", at)
                a, b = (d % rank for d in dims)
                order[a], order[b] = order[b], order[a]
            else:
                order = [d % rank for d in dims]
                if sorted(order) != list(range(rank)):
                    raise SpecError(f"{what} must name each of the {rank} axes once", at)
            if order[0] != 0:
                raise SpecError(f"{what} moves the batch axis", at)
            layer = K.Permute(dims=tuple(d - 1 for d in order[1:]), where=at)
        elif method == "squeeze":
            axis = None if not dims else dims[0] % rank
            if axis == 0:
                raise SpecError(f"{what} would remove the batch axis", at)
            layer = K.Squeeze(axis=None if axis is None else axis - 1, where=at)
        else:
            if len(dims) != 1:
                raise SpecError(f"{what} takes one axis", at)
            axis = dims[0] % (rank + 1)
            if axis == 0:
                raise SpecError(f"{what} would put the new axis before the batch axis", at)
            layer = K.Unsqueeze(axis=axis - 1, where=at)
        return env.trace.apply(layer, [tensor], env.functional_name(method), "torch", functional=True)


def _dim_text(value: Any) -> str:
    if value is BATCH:
        return "x.size(0)"
    return value.describe() if isinstance(value, Foreign) else repr(value)


