"""Arrays of data whose values are unknown but whose shape is known: what a known dataset's
loader returns (`(x_train, y_train), _ = mnist.load_data()`). Scripts reshape them, scale them and
read `x_train.shape[1:]` as the model's input shape; all of that works here. Anything that needs
the values (np.unique(y_train), indexing one image) is unknown.
"""

from __future__ import annotations

import math
from typing import Any

from minigrad.errors import SpecError
from minigrad.readers.environment import Function
from minigrad.readers.interp.values import Foreign, Unknown


class DataArray(Foreign):
    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)

    def describe(self) -> str:
        return f"an array of shape {self.shape}"

    def get_attr(self, interp, name, at):
        if name == "shape":
            return self.shape
        if name == "ndim":
            return len(self.shape)
        if name == "size":
            return math.prod(self.shape)
        if name in ("astype", "copy", "clip", "numpy"):
            return Function(f"x.{name}", lambda interp, args, kwargs, at: self)
        if name == "reshape":
            return Function("x.reshape", lambda interp, args, kwargs, at: self.reshape(args, at))
        return Unknown(f"x.{name}", at)

    def reshape(self, args: list, at) -> Any:
        dims = list(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else list(args)
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
            return Unknown("a reshape of the data", at)
        total = math.prod(self.shape)
        if dims.count(-1) == 1:
            known = -math.prod(dims)
            if known <= 0 or total % known:
                raise SpecError(f"reshape{tuple(dims)}: {total:,} values do not fit", at)
            dims[dims.index(-1)] = total // known
        if math.prod(dims) != total or any(d <= 0 for d in dims):
            raise SpecError(f"reshape{tuple(dims)}: the array has {total:,} values "
                            f"({'×'.join(map(str, self.shape))})", at)
        return DataArray(tuple(dims))

    def binary(self, interp, op, other, right, at):
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self   # scaling to [0, 1] and the like keep the shape
        return Unknown("arithmetic on data arrays", at)

    def unary(self, interp, op, at):
        return self

    def get_item(self, interp, key, at):
        keys = key if isinstance(key, tuple) else (key,)
        if keys and keys[0] is Ellipsis and all(k is None for k in keys[1:]):
            return DataArray(self.shape + (1,) * (len(keys) - 1))   # x[..., np.newaxis]
        return Unknown("a part of a data array", at)

    def length(self, interp, at):
        return self.shape[0]

    def truth(self, interp, at):
        return Unknown("the truth value of an array", at)


def _expand_dims(interp, args, kwargs, at):
    array = args[0] if args else None
    axis = args[1] if len(args) > 1 else kwargs.get("axis")
    if not isinstance(array, DataArray) or not isinstance(axis, int) or isinstance(axis, bool):
        return array if isinstance(array, Unknown) else Unknown("expand_dims(...)", at)
    rank = len(array.shape) + 1
    if not -rank <= axis < rank:
        raise SpecError(f"expand_dims: axis {axis} is out of range for {rank} axes", at)
    shape = list(array.shape)
    shape.insert(axis % rank, 1)
    return DataArray(tuple(shape))


expand_dims = Function("expand_dims", _expand_dims)
