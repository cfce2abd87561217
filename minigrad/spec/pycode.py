"""What the Keras and PyTorch readers share: pasted Python read with `ast` and never run.

Only literal arguments are evaluated: numbers, strings, booleans, None, tuples and lists of
those, and + - * / // and unary minus on numbers (so `128 * 5 * 5` works). Anything that would
need running code (a call, a variable, an attribute) is refused with its place in the text:

    line 4, col 30: only numbers, strings and tuples are accepted as arguments,
                    not a call to os.system

A constructor's arguments are matched against a `Signature` written as the library spells it,
so an unknown keyword gets a "did you mean" hint and too many positional arguments an error.
"""

from __future__ import annotations

import ast
import operator
import re
import warnings
from dataclasses import dataclass, field
from typing import Mapping

from ..errors import SpecError, Where, did_you_mean

# Larger numbers are typos, and an int of thousands of digits cannot even be printed in an error.
_LIMIT = 10**15
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv}


def dotted_name(node: ast.AST) -> str | None:
    """'tf.keras.layers.Conv2D' for a chain of names and attributes, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def last_name(node: ast.AST) -> str | None:
    """The class or function without its module path: tf.keras.layers.Conv2D -> 'Conv2D'."""
    name = dotted_name(node)
    return name.rsplit(".", 1)[-1] if name else None


def snippet(node: ast.AST, limit: int = 40) -> str:
    """Short source-like text for a node in messages: 'model.compile(...)', 'for x in y:'."""
    if isinstance(node, ast.Expr):
        node = node.value
    if isinstance(node, ast.Call):
        arguments = "..." if node.args or node.keywords else ""
        return f"{_shorten(ast.unparse(node.func), limit)}({arguments})"
    return _shorten(ast.unparse(node).splitlines()[0], limit)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe(node: ast.AST) -> str:
    """What a refused argument is, for 'only numbers ... are accepted as arguments, not ...'."""
    if isinstance(node, ast.Call):
        return f"a call to {_shorten(ast.unparse(node.func), 40)}"
    if isinstance(node, ast.Name):
        return f"the name '{node.id}'"
    if isinstance(node, ast.Constant):
        return f"a {type(node.value).__name__} value"
    return f"'{_shorten(ast.unparse(node), 40)}'"


def is_docstring(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def is_import(node: ast.AST) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom))


@dataclass(frozen=True)
class Signature:
    """The arguments a constructor or function takes, named as the library names them.

    positional: in the library's order (each may also be given by keyword); the first `required`
    of them must be given. keywords: accepted only by keyword. fixed: parameters accepted only at
    these values (e.g. groups=1), first value shown in the error. refs: dotted names accepted as
    the value of a parameter and what they stand for (tf.nn.relu -> 'relu'). raw: parameters whose
    node is kept unevaluated because it holds layers.
    """

    positional: tuple[str, ...] = ()
    required: int = 0
    keywords: tuple[str, ...] = ()
    fixed: Mapping[str, tuple] = field(default_factory=dict)
    refs: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    raw: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return self.positional + self.keywords


@dataclass(frozen=True)
class Arg:
    value: object
    node: ast.AST


class Code:
    """Pasted Python, parsed (never run), with positions in the units `Where` uses."""

    def __init__(self, text: str):
        # ast columns are UTF-8 byte offsets into the line; Where counts characters.
        self.lines = re.split(r"\r\n|\r|\n", text)
        try:
            with warnings.catch_warnings():  # e.g. SyntaxWarning for '\d' in a string
                warnings.simplefilter("ignore")
                self.tree = ast.parse(text)
        except SyntaxError as error:
            raise SpecError(f"pasted code is not valid Python: {error.msg}",
                            Where(error.lineno or 1, max(error.offset or 1, 1))) from None
        except (RecursionError, MemoryError):
            raise SpecError("pasted code is nested too deeply to read") from None
        except ValueError as error:  # e.g. a NUL byte
            raise SpecError(f"pasted code cannot be read: {error}") from None

    def where(self, node: ast.AST) -> Where:
        """The node's first line, from its column to its end (or to the end of that line)."""
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        encoded = line.encode("utf-8")
        col = len(encoded[:node.col_offset].decode("utf-8", errors="replace"))
        if node.end_lineno == node.lineno:
            end = len(encoded[:node.end_col_offset].decode("utf-8", errors="replace"))
        else:
            end = len(line.rstrip())
        return Where(node.lineno, col + 1, max(end - col, 1))

    def read_statements(self, handle) -> None:
        """Pass each top-level statement to handle(statement); nesting too deep is a SpecError."""
        for statement in self.tree.body:
            try:
                handle(statement)
            except RecursionError:
                raise SpecError("this statement is nested too deeply to read",
                                self.where(statement)) from None

    def not_model(self, node: ast.stmt) -> SpecError:
        return SpecError(f"'{snippet(node)}' is not a layer definition; paste only the model",
                         self.where(node))

    # -- literal arguments ------------------------------------------------------------------
    def literal(self, node: ast.AST, refs: Mapping[str, object] | None = None):
        """The value of a literal argument (lists become tuples); refuses anything else."""
        if isinstance(node, ast.Constant) and (node.value is None
                                               or isinstance(node.value, (bool, int, float, str))):
            return self._in_range(node.value, node)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.literal(element, refs) for element in node.elts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self._number(node.operand, refs)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = self._number(node.left, refs), self._number(node.right, refs)
            try:
                value = _OPERATORS[type(node.op)](left, right)
            except (ZeroDivisionError, OverflowError) as error:
                raise SpecError(f"cannot compute '{snippet(node)}': {error}",
                                self.where(node)) from None
            return self._in_range(value, node)
        name = dotted_name(node)
        if refs and name in refs:
            return refs[name]
        raise SpecError("only numbers, strings and tuples are accepted as arguments, not "
                        + describe(node), self.where(node))

    def _number(self, node: ast.AST, refs) -> int | float:
        value = self.literal(node, refs)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"arithmetic works on numbers only, not {value!r}", self.where(node))
        return value

    def _in_range(self, value, node: ast.AST):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LIMIT:
            raise SpecError("number too large", self.where(node))
        return value

    # -- binding a call's arguments ---------------------------------------------------------
    def bind(self, call: ast.Call, sig: Signature, what: str, skip: int = 0) -> Args:
        """Match CALL's arguments (after the first `skip` positional ones) to SIG.

        `what` names the callee in messages ('Conv2D', 'F.max_pool2d').
        """
        positional = call.args[skip:]
        for node in positional:
            if isinstance(node, ast.Starred):
                raise SpecError(f"{what}: *{ast.unparse(node.value)} cannot be read without "
                                "running the code; write the arguments out", self.where(node))
        if len(positional) > len(sig.positional):
            count = len(sig.positional)
            raise SpecError(f"{what} takes at most {count} positional argument"
                            f"{'' if count == 1 else 's'}", self.where(positional[count]))
        nodes = dict(zip(sig.positional, positional))
        for keyword in call.keywords:
            if keyword.arg is None:
                raise SpecError(f"{what}: **{ast.unparse(keyword.value)} cannot be read without "
                                "running the code; write the arguments out", self.where(keyword))
            if keyword.arg not in sig.names:
                raise SpecError(f"unknown argument '{keyword.arg}' for {what}", self.where(keyword),
                                did_you_mean(keyword.arg, sig.names))
            if keyword.arg in nodes:
                raise SpecError(f"{what} got two values for '{keyword.arg}'", self.where(keyword))
            nodes[keyword.arg] = keyword.value
        missing = [name for name in sig.positional[:sig.required] if name not in nodes]
        if missing:
            raise SpecError(f"{what} needs {' and '.join(missing)}", self.where(call))
        given = {}
        for key, node in nodes.items():
            value = node if key in sig.raw else self.literal(node, sig.refs.get(key))
            allowed = sig.fixed.get(key)
            # Compare types too: True == 1 and 1.0 == 1, but groups=True is not groups=1.
            if allowed is not None and not any(type(value) is type(a) and value == a
                                               for a in allowed):
                raise SpecError(f"{what}: only {key}={allowed[0]!r} is supported, not {value!r}",
                                self.where(node))
            given[key] = Arg(value, node)
        return Args(self, what, call, given)


@dataclass(frozen=True)
class Args:
    """A call's arguments by parameter name, with typed getters that point at the bad value."""

    code: Code
    what: str
    call: ast.Call
    given: Mapping[str, Arg]

    def __contains__(self, key: str) -> bool:
        return key in self.given

    def value(self, key: str, default=None):
        return self.given[key].value if key in self.given else default

    def node(self, key: str) -> ast.AST:
        return self.given[key].node

    def error(self, key: str | None, message: str, hint: str | None = None) -> SpecError:
        """A problem with one argument (at its value), or with the whole call when KEY is None."""
        node = self.call if key is None else self.given[key].node
        return SpecError(f"{self.what}: {message}", self.code.where(node), hint)

    def positive(self, key: str, default: int | None = None) -> int | None:
        """A positive whole number."""
        value = self.value(key, default)
        if key in self and not _is_int(value, 1):
            raise self.error(key, f"{key} must be a positive whole number, got {value!r}")
        return value

    def pair(self, key: str, default=None, zero_ok: bool = False,
             none_ok: bool = False) -> tuple[int, int] | None:
        """A size given as one number or two (rows, columns): 3 -> (3, 3). None only if none_ok."""
        if key not in self:
            return default
        value = self.value(key)
        if value is None and none_ok:
            return None
        least = 0 if zero_ok else 1
        if _is_int(value, least):
            return (value, value)
        if isinstance(value, tuple) and len(value) == 2 and all(_is_int(v, least) for v in value):
            return value
        kind = "non-negative" if zero_ok else "positive"
        raise self.error(key, f"{key} must be a {kind} whole number or a pair like (3, 3), "
                              f"got {value!r}")

    def flag(self, key: str, default: bool) -> bool:
        value = self.value(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"{key} must be True or False, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.value(key, default)
        if key in self and not isinstance(value, str):
            raise self.error(key, f"{key} must be a string, got {value!r}")
        return value

    def rate(self, key: str, default: float | None = None) -> float:
        """A dropout probability in [0, 1)."""
        value = self.value(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise self.error(key, f"{key} must be a number in [0, 1), got {value!r}")
        return float(value)


def _is_int(value, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least
