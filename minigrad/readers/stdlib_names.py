"""The few standard-library and numpy names model scripts compute with: argparse (so
`args.nz` is the default the script declares), collections.OrderedDict, functools.partial, math
and numpy's arithmetic on plain numbers (`int(np.prod(img_shape))`). Everything else a script
imports (os, sys, time, random, matplotlib…) is unknown, and statements using it do nothing.
"""

from __future__ import annotations

import math
from typing import Any

from minigrad.errors import SpecError
from minigrad.readers.data_arrays import expand_dims
from minigrad.readers.environment import Environment, Function, Namespace
from minigrad.readers.interp.values import Foreign, Unknown

_MAX_BITS = 4096


class ArgumentParser(Foreign):
    """argparse.ArgumentParser: remembers each option's default (or a `--set` value)."""

    def __init__(self, env: Environment, overrides: dict[str, Any]):
        self.env = env
        self.overrides = overrides
        self.defaults: dict[str, Any] = {}

    def describe(self) -> str:
        return "argparse.ArgumentParser(...)"

    def get_attr(self, interp, name, at):
        if name == "add_argument":
            return Function("add_argument", self.add_argument)
        if name in ("parse_args", "parse_known_args"):
            def parse(interp, args, kwargs, at):
                namespace = ParsedArguments(self.defaults, self.overrides)
                return (namespace, []) if name == "parse_known_args" else namespace
            return Function(name, parse)
        if name in ("add_argument_group", "add_mutually_exclusive_group"):
            return Function(name, lambda interp, args, kwargs, at: self)
        if name == "set_defaults":
            def set_defaults(interp, args, kwargs, at):
                self.defaults.update(kwargs)
            return Function(name, set_defaults)
        return Unknown(f"parser.{name}", at)

    def add_argument(self, interp, args, kwargs, at):
        flags = [a for a in args if isinstance(a, str)]
        dest = kwargs.get("dest")
        if not isinstance(dest, str):
            long = next((f for f in flags if f.startswith("--")), flags[0] if flags else None)
            if long is None:
                return None
            dest = long.lstrip("-").replace("-", "_")
        if "default" in kwargs:
            default = kwargs["default"]
            if isinstance(default, str) and kwargs.get("type") is not None:
                default = interp.call(kwargs["type"], [default], {}, at)  # argparse converts it
        elif kwargs.get("action") == "store_true":
            default = False
        elif kwargs.get("action") == "store_false":
            default = True
        else:
            default = Unknown(f"the command-line option {flags[0] if flags else dest}", at, dest)
        self.defaults[dest] = default
        return None


class ParsedArguments(Foreign):
    """What parse_args() returns: each option's default, unless `--set NAME=VALUE` gives one."""

    def __init__(self, defaults: dict[str, Any], overrides: dict[str, Any]):
        self.values = {**defaults, **{k: v for k, v in overrides.items() if k in defaults}}

    def describe(self) -> str:
        return "the parsed command-line options"

    def get_attr(self, interp, name, at):
        if name in self.values:
            return self.values[name]
        return Unknown(f"the command-line option {name}", at, name)

    def set_attr(self, interp, name, value, at):
        self.values[name] = value


def _number_function(name: str, fn, arity: int = 1) -> Function:
    """math.ceil, np.sqrt…: plain numbers in, a plain number out; anything else is unknown."""
    def run(interp, args, kwargs, at):
        if kwargs or len(args) != arity or not all(_is_number(a) for a in args):
            return next((a for a in args if isinstance(a, Unknown)), None) or Unknown(f"{name}(...)", at)
        if any(isinstance(a, int) and a.bit_length() > _MAX_BITS for a in args):
            raise SpecError(f"{name}(...): the number is too large (over {_MAX_BITS} bits)", at)
        try:
            return fn(*args)
        except (ValueError, OverflowError, ZeroDivisionError) as error:
            raise SpecError(f"{name}(...): {error}", at) from None
    return Function(name, run)


def _prod(name: str) -> Function:
    def run(interp, args, kwargs, at):
        values = args[0] if args else None
        if isinstance(values, Unknown):
            return values
        if not isinstance(values, (list, tuple)) or not all(_is_number(v) for v in values):
            return Unknown(f"{name}(...)", at)
        result = 1
        for value in values:
            result *= value
            if isinstance(result, int) and result.bit_length() > _MAX_BITS:
                raise SpecError(f"{name}(...): the product is too large (over {_MAX_BITS} bits)", at)
        return result
    return Function(name, run)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _math_members(prefix: str) -> dict[str, Any]:
    members: dict[str, Any] = {name: _number_function(f"{prefix}.{name}", getattr(math, name))
                               for name in ("ceil", "floor", "sqrt", "log", "log2", "log10", "exp",
                                            "fabs")}
    members.update({"pi": math.pi, "e": math.e, "prod": _prod(f"{prefix}.prod"),
                    "pow": _number_function(f"{prefix}.pow", math.pow, 2)})
    return members


def _ordered_dict(interp, args, kwargs, at):
    if not args:
        return dict(kwargs)
    items = interp.iterate(args[0], at) if not isinstance(args[0], dict) else list(args[0].items())
    if isinstance(items, Unknown):
        return items
    result = {}
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise SpecError("OrderedDict takes (key, value) pairs", at)
        result[item[0]] = item[1]
    return result


class Partial(Foreign):
    """functools.partial(fn, *args, **kwargs); `cls` is functools.partial itself, for
    `type(norm_layer) == functools.partial` (pix2pix code tests it)."""

    def __init__(self, cls: Any, fn: Any, args: list, kwargs: dict):
        self.cls, self.fn, self.args, self.kwargs = cls, fn, args, kwargs

    def describe(self) -> str:
        return "functools.partial(...)"

    def type_of(self, interp, at):
        return self.cls

    def get_attr(self, interp, name, at):
        values = {"func": self.fn, "args": tuple(self.args), "keywords": dict(self.kwargs)}
        return values[name] if name in values else Unknown(f"partial.{name}", at)

    def call(self, interp, args, kwargs, at):
        return interp.call(self.fn, [*self.args, *args], {**self.kwargs, **kwargs}, at)


def stdlib_modules(env: Environment, overrides: dict[str, Any]) -> dict[str, Any]:
    def make_partial(interp, args, kwargs, at):
        if not args:
            raise SpecError("functools.partial needs a function", at)
        return Partial(partial, args[0], list(args[1:]), kwargs)
    partial = Function("functools.partial", make_partial)
    argparse = Namespace(env, "argparse", {
        "ArgumentParser": Function("argparse.ArgumentParser",
                                   lambda interp, args, kwargs, at: ArgumentParser(env, overrides))})
    numpy = Namespace(env, "numpy", lambda: {**_math_members("np"), "product": _prod("np.prod"),
                                             "expand_dims": expand_dims, "newaxis": None})
    return {
        "argparse": argparse,
        "collections": Namespace(env, "collections", {"OrderedDict": Function("OrderedDict", _ordered_dict)}),
        "functools": Namespace(env, "functools", {"partial": partial}),
        "math": Namespace(env, "math", lambda: _math_members("math")),
        "numpy": numpy,
    }
