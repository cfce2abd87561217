"""A bounded interpreter for pasted model code, over Python's `ast`.

The pasted code is never executed by Python: no exec, eval, compile, import of it, nor
`ast.literal_eval`. `parse_source` turns the text into a tree (refusing what is too big or too
deep to walk safely) and `Interpreter` walks it:

    tree = parse_source(text)
    interp = Interpreter(tree, text, importer=tables.import_module, overrides={"nz": 100})
    interp.run()
    interp.globals["model"]

Framework names come from the `importer(module_name, where)` callback (values that are `Foreign`
objects or `Unknown`); everything else the code can reach is plain data or a value of values.py.
See limits.py for the bounds and values.py for the value model.
"""

from __future__ import annotations

import ast
import warnings
from typing import Any

from minigrad.errors import SpecError, Where
from minigrad.readers.interp.builtins import Builtin, ExcClass, ExcInstance, SuperProxy
from minigrad.readers.interp.interpreter import Interpreter, source_lines
from minigrad.readers.interp.limits import CodeError, LimitError, Limits
from minigrad.readers.interp.values import (MISSING, BoundMethod, Foreign, Instance, Unknown, UserClass,
                     UserFunction)

__all__ = ["parse_source", "parse_override", "source_lines", "Interpreter", "Limits",
           "LimitError", "CodeError", "Unknown", "Foreign", "Instance", "UserClass",
           "UserFunction", "BoundMethod", "MISSING", "Builtin", "ExcClass", "ExcInstance",
           "SuperProxy"]


def parse_source(text: str, limits: Limits = Limits()) -> ast.Module:
    """The syntax tree of pasted code, or a SpecError naming why it cannot be read."""
    if not isinstance(text, str):
        raise TypeError("parse_source takes text; decoding bytes is the reader's job")
    if len(text) > limits.source_chars:
        raise LimitError(f"the pasted code has {len(text):,} characters, more than "
                         f"{limits.source_chars:,} (the source size limit)")
    try:
        with warnings.catch_warnings():  # SyntaxWarnings of pasted code are not ours to print
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename="<pasted code>")
    except SyntaxError as e:
        line = e.lineno or 1
        col = e.offset if e.offset and e.offset > 0 else 1
        message = (e.msg or "invalid syntax").split("\n")[0]
        if "integer string conversion" in message:
            message = "a number literal has more than 4,300 digits"
        raise CodeError(f"pasted code is not valid Python: {message}", Where(line, col),
                        "SyntaxError") from None
    except (RecursionError, MemoryError):
        raise LimitError(f"expression nested too deeply for the parser (the nesting depth limit "
                         f"is {limits.nesting_depth} levels)", Where(1, 1)) from None
    except ValueError as e:  # e.g. null bytes, on older Pythons
        raise CodeError(f"pasted code is not valid Python: {str(e)[:200]}", None,
                        "SyntaxError") from None
    _check_depth(tree, limits.nesting_depth)
    return tree


def _check_depth(tree: ast.AST, limit: int) -> None:
    """Refuses trees nested deeper than `limit`, walking them without recursion (the walk is
    iterative because the tree can be deeper than Python's own recursion limit)."""
    leaves = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.cmpop, ast.unaryop,
              ast.boolop, ast.alias, ast.arg)
    node_type = ast.AST
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        depth += 1
        for field in node._fields:
            value = getattr(node, field, None)
            children = value if type(value) is list else (value,)
            for child in children:
                if not isinstance(child, node_type):
                    continue
                if depth > limit:
                    line = getattr(child, "lineno", None) or getattr(node, "lineno", None)
                    raise LimitError(f"expression nested too deeply: more than {limit} levels "
                                     "(the nesting depth limit)", Where(line, 1) if line else None)
                if not isinstance(child, leaves):
                    stack.append((child, depth))


def parse_override(text: str) -> tuple[str, Any]:
    """`--set NAME=VALUE`: the name and the value. VALUE is a literal (a number, maybe negative,
    a string, True/False/None, or a tuple / list / dict / set of those), evaluated by the
    interpreter; a bare word is taken as a string (shells eat quotes: `--set act=relu`)."""
    name, sep, value_text = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise SpecError(f"--set takes NAME=VALUE, not {text[:60]!r}")
    value_text = value_text.strip()
    if value_text.isidentifier() and value_text not in ("True", "False", "None"):
        return name, value_text
    try:
        tree = parse_source(value_text)
    except SpecError as e:
        raise SpecError(f"--set {name}: the value is not a literal ({e.message})") from None
    if len(tree.body) != 1 or type(tree.body[0]) is not ast.Expr:
        raise SpecError(f"--set {name}: the value must be one literal")
    allowed = (ast.Expr, ast.Constant, ast.UnaryOp, ast.USub, ast.UAdd, ast.Tuple, ast.List,
               ast.Dict, ast.Set, ast.Load)
    for node in ast.walk(tree.body[0]):
        if type(node) not in allowed:
            raise SpecError(f"--set {name}: the value must be a literal (a number, string, "
                            "True/False/None, or a tuple or list of those)")
    probe = Interpreter(tree, value_text, importer=_no_imports)
    return name, probe._guarded(lambda: probe.eval(tree.body[0].value))


def _no_imports(name: str, at: Where) -> Any:
    return Unknown(f"import {name}", at)
