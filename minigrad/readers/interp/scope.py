"""Scopes and control flow of the interpreter.

A `Scope` is one namespace: the module, a class body, a function call or a comprehension. A
function's local names are found by scanning its body once (`scan_function`), as Python's
compiler does, so `global`, `nonlocal`, closures and "used before assignment" work.
`break`, `continue` and `return` travel as small exceptions.
"""

from __future__ import annotations

import ast
from typing import Any

from minigrad.readers.interp.values import MISSING, UserFunction


class _ControlFlow(Exception):
    pass


class _Break(_ControlFlow):
    pass


class _Continue(_ControlFlow):
    pass


class _Return(_ControlFlow):
    def __init__(self, value):
        self.value = value


_BREAK, _CONTINUE = _Break(), _Continue()


class Scope:
    """One namespace. kind: "module", "class", "function" or "comp" (a comprehension).
    For functions and comprehensions, `locals` are the names assigned in the body."""

    __slots__ = ("kind", "vars", "parent", "locals", "globals", "nonlocals", "function",
                 "first_arg", "yields", "created")

    def __init__(self, kind: str, vars: dict, parent: Scope | None):
        self.kind, self.vars, self.parent = kind, vars, parent
        self.locals: frozenset | set = frozenset()
        self.globals: frozenset | set = frozenset()
        self.nonlocals: frozenset | set = frozenset()
        self.function: UserFunction | None = None
        self.first_arg: Any = MISSING
        self.yields: list | None = None
        self.created: list | None = None  # functions defined in a class body (their owner)


def scan_function(node: Any) -> tuple:
    """The names a function assigns (its locals), declares global / nonlocal, and whether it
    yields. Nested functions, classes and comprehensions are other scopes: only their names,
    defaults, decorators and first iterables belong to this one."""
    args = node.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    params += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    local, globals_, nonlocals = set(params), set(), set()
    generator = False
    stack = list(node.body) if type(node) is not ast.Lambda else [node.body]
    while stack:
        n = stack.pop()
        t = type(n)
        if t in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            local.add(n.name)
            stack.extend(n.decorator_list)
            if t is ast.ClassDef:
                stack.extend(n.bases)
            else:
                stack.extend(n.args.defaults + [d for d in n.args.kw_defaults if d is not None])
            continue
        if t is ast.Lambda:
            stack.extend(n.args.defaults + [d for d in n.args.kw_defaults if d is not None])
            continue
        if t in (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp):
            stack.append(n.generators[0].iter)
            local.update(w.target.id for w in ast.walk(n) if type(w) is ast.NamedExpr)
            continue
        if t is ast.Name and type(n.ctx) is not ast.Load:
            local.add(n.id)
        elif t is ast.Global:
            globals_.update(n.names)
        elif t is ast.Nonlocal:
            nonlocals.update(n.names)
        elif t in (ast.Import, ast.ImportFrom):
            local.update((a.asname or a.name.split(".")[0]) for a in n.names if a.name != "*")
        elif t is ast.ExceptHandler and n.name:
            local.add(n.name)
        elif t in (ast.Yield, ast.YieldFrom):
            generator = True
        stack.extend(ast.iter_child_nodes(n))
    local -= globals_ | nonlocals
    return frozenset(local), frozenset(globals_), frozenset(nonlocals), generator
