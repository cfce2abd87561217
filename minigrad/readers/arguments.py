"""Binding a framework call's arguments the way the framework does, and reading them as numbers.

`bind(...)` matches positional and keyword arguments against a parameter list written as the
library spells it (`nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, …)`), so a
misspelt keyword gets a "did you mean" hint and a missing one an error, each pointing at the
call. `Args` then reads values as the layer kinds want them (a positive int, a tuple of n ints, a
rate in [0, 1)), turning an Unknown into an error that names where the unknown came from and how
to supply it (`--set NAME=VALUE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from minigrad.errors import SpecError, Where, did_you_mean
from minigrad.readers.interp.values import Foreign, Instance, Unknown, UserClass, UserFunction


@dataclass(frozen=True)
class Signature:
    """A callable's parameters in order; `required` of them first. `ignored`: keyword-only
    options that never change shapes or counts (initialisers, regularisers, device, dtype…)."""

    names: tuple[str, ...]
    required: int = 0
    ignored: frozenset[str] = field(default_factory=frozenset)


def unknown_error(value: Unknown, what: str, at: Where | None) -> SpecError:
    """The model needs a value that cannot be known without running the code."""
    origin = ""
    if value.where is not None and value.where != at:
        origin = f" ({value.reason}, line {value.where.line})"
    elif value.reason:
        origin = f" ({value.reason})"
    if value.name:
        return SpecError(f"{what} needs '{value.name}', which is known only when the code "
                         f"runs{origin}", at, hint=f"pass --set {value.name}=VALUE")
    return SpecError(f"{what} needs a value known only when the code runs{origin}", at,
                     hint="write the number in the code, or pass --set NAME=VALUE for the "
                          "module-level name it comes from")


class Args:
    """The bound arguments of one call, read as layer settings."""

    def __init__(self, what: str, values: dict[str, Any], at: Where | None):
        self.what = what      # 'nn.Conv2d' or 'Conv2D', for messages
        self.values = values
        self.at = at

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key, default)
        if isinstance(value, Unknown):
            raise unknown_error(value, f"{self.what}: {key}", self.at)
        return value

    def error(self, message: str, hint: str | None = None) -> SpecError:
        return SpecError(f"{self.what}: {message}", self.at, hint=hint)

    def integer(self, key: str, default: Any = None, least: int = 1) -> int | None:
        value = self.get(key, default)
        if value is None and default is not None:
            raise self.error(f"{key} must be an integer, got None")
        if value is None:
            return None
        if not _is_int(value) or value < least:
            kind = "a positive integer" if least == 1 else f"an integer ≥ {least}"
            raise self.error(f"{key} must be {kind}, got {_show(value)}")
        return value

    def ints(self, key: str, rank: int, default: Any = None, least: int = 1) -> tuple[int, ...] | None:
        """An int or a tuple/list of `rank` ints (kernel_size=3 → (3, 3))."""
        value = self.get(key, default)
        if value is None:
            return None
        items = (value,) * rank if _is_int(value) else value
        if not isinstance(items, (tuple, list)) or len(items) != rank or not all(
                _is_int(v) and v >= least for v in items):
            what = "positive" if least == 1 else "non-negative"
            raise self.error(f"{key} must be a {what} integer or {rank} of them, got {_show(value)}")
        return tuple(items)

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{key} must be True or False, got {_show(value)}")
        return value

    def number(self, key: str, default: Any = None) -> float | None:
        value = self.get(key, default)
        if value is None and default is not None:
            raise self.error(f"{key} must be a number, got None")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"{key} must be a number, got {_show(value)}")
        return value

    def rate(self, key: str, default: float) -> float:
        value = self.number(key, default)
        if not 0 <= value < 1:
            raise self.error(f"{key} must be in [0, 1), got {value}")
        return float(value)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{key} must be a string, got {_show(value)}")
        return value


def bind(sig: Signature, what: str, args: list, kwargs: dict, at: Where | None) -> Args:
    """Match a call's arguments against `sig` as Python would, with errors pointing at `at`."""
    if len(args) > len(sig.names):
        raise SpecError(f"{what} takes at most {len(sig.names)} positional arguments "
                        f"({', '.join(sig.names)}), got {len(args)}", at)
    values = dict(zip(sig.names, args))
    for key, value in kwargs.items():
        if key in sig.ignored and key not in sig.names:  # a name the signature lists is read
            continue
        if key not in sig.names:
            raise SpecError(f"{what} has no argument '{key}'", at,
                            hint=did_you_mean(key, sig.names + tuple(sig.ignored)))
        if key in values:
            raise SpecError(f"{what} got two values for '{key}'", at)
        values[key] = value
    missing = [name for name in sig.names[:sig.required] if name not in values]
    if missing:
        raise SpecError(f"{what} is missing its argument '{missing[0]}'", at)
    return Args(what, values, at)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    if isinstance(value, Foreign):
        return value.describe()
    if isinstance(value, UserFunction):
        return "a lambda" if value.name == "<lambda>" else f"the function {value.name}"
    if isinstance(value, UserClass):
        return f"the class {value.name}"
    if isinstance(value, Instance):
        return f"a {value.cls.name} object"
    if isinstance(value, int) and abs(value) > 10**15:
        return f"a {len(str(abs(value)))}-digit number" if value.bit_length() < 13000 else "a huge number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
