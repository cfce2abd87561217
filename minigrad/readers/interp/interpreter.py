"""The interpreter: statements, names and the entry points.

It walks the tree of the pasted code and never runs it: no exec, eval or compile. The work is
shared by mixins, one job each: expressions.py evaluates expression nodes, operations.py applies
operators to values, classes.py does attribute lookup on pasted classes, calls.py calls things;
this file executes statements, resolves names in scopes (scope.py) and holds the state.

Errors of the pasted code are `CodeError`s; bounds trip `LimitError`s. The Python stack is
watched too: the evaluator recurses over the tree, so `call()` and `run()` raise the host's
recursion limit to a fixed budget above where they were entered, and a nested call that would go
past it is a LimitError (a RecursionError, should one still happen, becomes one as well).
"""

from __future__ import annotations

import ast
import re
import sys
from typing import Any, Callable

from minigrad.errors import SpecError, Where
from minigrad.readers.interp.builtins import BUILTINS, ExcClass, ExcInstance
from minigrad.readers.interp.calls import FRAME_BUDGET, Calls
from minigrad.readers.interp.classes import ClassOps
from minigrad.readers.interp.expressions import EVAL_TABLE, Expressions
from minigrad.readers.interp.limits import Budget, CodeError, LimitError, Limits
from minigrad.readers.interp.operations import Operations
from minigrad.readers.interp.plain import describe, display
from minigrad.readers.interp.scope import _BREAK, _CONTINUE, Scope, _Break, _Continue, _ControlFlow, _Return
from minigrad.readers.interp.values import MISSING, Instance, Unknown, UserClass

HANDLER_STEPS = 20      # an error caught by `except` costs as much as a few nodes
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(source: str) -> list[str]:
    """The lines as Python's tokenizer counts them: \\n, \\r\\n and a lone \\r end a line;
    nothing else (not U+2028, not form feed) does. `Where.line` indexes this list."""
    return _LINE_BREAK.split(source)


class Interpreter(Calls, ClassOps, Operations, Expressions):
    """Runs a parsed module. See the package docstring for the public contract."""

    _eval_table = EVAL_TABLE

    def __init__(self, tree: ast.Module, source: str, *,
                 importer: Callable[[str, Where], Any],
                 overrides: dict[str, Any] | None = None, limits: Limits = Limits()):
        self.tree, self.source, self.importer = tree, source, importer
        self.limits = limits
        self.budget = Budget(limits)
        self.overrides = dict(overrides or {})
        self.globals: dict = {"__name__": "__main__", "__file__": "pasted_code.py",
                              "__doc__": None, **self.overrides}
        self.scope = Scope("module", self.globals, None)
        self.star_modules: list = []
        self._lines = source_lines(source)
        self._where_cache: dict = {}
        self._col_tables: dict = {}
        self._func_cache: dict = {}
        self._mro_cache: dict = {}
        self._skipped_names: dict = {}
        self._depth = 0
        self._active = False
        self._frame_cap = 0
        self._handling: list = []  # errors being handled by `except` blocks (for bare `raise`)
        self._exec_table = {getattr(ast, n[6:]): getattr(Interpreter, n) for n in dir(Interpreter)
                            if n.startswith("_exec_") and hasattr(ast, n[6:])}

    # -- entry points -----------------------------------------------------------------------------
    def run(self) -> None:
        """Executes the module body."""
        def body():
            try:
                self.exec_block(self.tree.body)
            except _Return:
                raise CodeError("'return' outside a function", None, "SyntaxError") from None
            except _ControlFlow:
                raise CodeError("'break' or 'continue' outside a loop", None,
                                "SyntaxError") from None
        self._guarded(body)

    def call(self, fn: Any, args: list, kwargs: dict, at: Where | None) -> Any:
        """Calls any value: a pasted function, method or class, a framework object, a builtin."""
        if self._active:
            return self._call(fn, args, kwargs, at)
        return self._guarded(lambda: self._call(fn, args, kwargs, at))

    def _guarded(self, body: Callable) -> Any:
        if self._active:
            return body()
        self._active = True
        old_limit = sys.getrecursionlimit()
        self._frame_cap = _stack_depth() + FRAME_BUDGET
        sys.setrecursionlimit(max(old_limit, self._frame_cap + 300))
        self.budget.start()
        try:
            return body()
        except RecursionError:
            raise LimitError("the code nests calls and expressions too deeply for the interpreter "
                             "(the call depth limit)", None) from None
        finally:
            self.budget.stop()
            sys.setrecursionlimit(old_limit)
            self._active = False

    # -- places -----------------------------------------------------------------------------------
    def where(self, node: Any) -> Where | None:
        """1-based line and column (in characters, not the parser's UTF-8 bytes) of a node."""
        found = self._where_cache.get(node)
        if found is None:
            line = getattr(node, "lineno", None)
            if line is None:
                return None
            col = self._char_col(line, node.col_offset)
            end = node.end_col_offset if node.end_lineno == line else None
            end_col = self._char_col(line, end) if end is not None else \
                len(self._lines[line - 1]) + 1 if line <= len(self._lines) else col + 1
            found = self._where_cache[node] = Where(line, col, max(end_col - col, 1))
        return found

    def _char_col(self, line: int, byte_offset: int) -> int:
        table = self._col_tables.get(line, MISSING)
        if table is MISSING:
            # once per line: None when the line is ASCII, else the character index of each
            # UTF-8 byte offset (a long line holds many nodes; do not re-encode it for each)
            text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
            table = None
            if not text.isascii():
                table = [i for i, ch in enumerate(text) for _ in range(len(ch.encode("utf-8")))]
                table.append(len(text))
            self._col_tables[line] = table
        if table is None:
            return byte_offset + 1
        return table[min(byte_offset, len(table) - 1)] + 1

    # -- names ------------------------------------------------------------------------------------
    def new_scope(self, kind: str, parent: Scope | None) -> Scope:
        return Scope(kind, {}, parent)

    def lookup(self, name: str, node: Any) -> Any:
        scope = self.scope
        s = scope
        while s.kind != "module":
            if s.kind == "class":
                if name in s.vars:
                    return s.vars[name]
            else:
                if name in s.globals:
                    break
                if name in s.vars:
                    return s.vars[name]
                if s is scope and name in s.locals:
                    raise CodeError(f"local variable '{name}' is used before it is assigned",
                                    self.where(node), "UnboundLocalError")
            s = s.parent
        if name in self.globals:
            return self.globals[name]
        at = self.where(node)
        self.budget.steps += len(self.star_modules)  # each star-imported module is asked
        for module in self.star_modules:
            value = self.get_attr(module, name, at)
            if not isinstance(value, Unknown):
                return value
        if name in BUILTINS:
            return BUILTINS[name]
        return Unknown(f"{name} is not defined", at, name)

    def store_name(self, name: str, value: Any, node: Any) -> None:
        scope = self.scope
        kind = scope.kind
        if kind == "module" or (kind != "class" and name in scope.globals):
            self._store_global(name, value)
        elif kind != "class" and name in scope.nonlocals:
            s = scope.parent
            while s is not None and s.kind != "module" and not (s.kind == "function"
                                                                and name in s.locals):
                s = s.parent
            (s.vars if s is not None else self.globals)[name] = value
        else:
            scope.vars[name] = value

    def _store_global(self, name: str, value: Any) -> None:
        if name in self.overrides:
            return  # `--set NAME=VALUE` wins over the code's own module-level assignment
        if type(value) is Unknown and value.name != name:
            # the nearest module-level name is the one `--set NAME=VALUE` can fix
            value = Unknown(value.reason, value.where, name)
        self.globals[name] = value

    def delete_name(self, name: str, node: Any) -> None:
        scope = self.scope
        target = self.globals if scope.kind == "module" or name in scope.globals else scope.vars
        if name in self.overrides and target is self.globals:
            return
        if target.pop(name, MISSING) is MISSING:
            raise CodeError(f"name '{name}' is not defined", self.where(node), "NameError")

    def assign(self, target: ast.expr, value: Any, node: Any) -> None:
        t = type(target)
        if t is ast.Name:
            self.store_name(target.id, value, target)
        elif t is ast.Attribute:
            self.set_attr(self.eval(target.value), target.attr, value, self.where(target))
        elif t is ast.Subscript:
            obj = self.eval(target.value)
            self.set_item(obj, self.eval(target.slice), value, self.where(target))
        elif t in (ast.Tuple, ast.List):
            self._unpack(target, value)
        elif t is ast.Starred:
            raise CodeError("a starred assignment target must be in a list or tuple",
                            self.where(target), "SyntaxError")
        else:
            raise CodeError("cannot assign to this expression", self.where(target), "SyntaxError")

    def _unpack(self, target: ast.Tuple | ast.List, value: Any) -> None:
        at = self.where(target)
        items = self.iterate(value, at)
        elts = target.elts
        if isinstance(items, Unknown):
            for e in elts:
                self.assign(e.value if type(e) is ast.Starred else e, items, e)
            return
        stars = [i for i, e in enumerate(elts) if type(e) is ast.Starred]
        if not stars:
            if len(items) != len(elts):
                raise CodeError(f"cannot unpack {len(items)} values into {len(elts)} names", at,
                                "ValueError")
            for e, v in zip(elts, items):
                self.assign(e, v, e)
            return
        i = stars[0]
        after = len(elts) - i - 1
        if len(items) < len(elts) - 1:
            raise CodeError(f"not enough values to unpack ({len(items)})", at, "ValueError")
        for e, v in zip(elts[:i], items[:i]):
            self.assign(e, v, e)
        self.assign(elts[i].value, list(items[i:len(items) - after]), elts[i])
        for e, v in zip(elts[i + 1:], items[len(items) - after:]):
            self.assign(e, v, e)

    # -- statements -------------------------------------------------------------------------------
    def exec_block(self, body: list) -> None:
        budget = self.budget
        table = self._exec_table
        for stmt in body:
            budget.steps += 1
            if budget.steps >= budget.next_check:
                budget.check(self.where(stmt))
            method = table.get(type(stmt))
            if method is None:
                raise CodeError(f"{type(stmt).__name__} statements are not supported",
                                self.where(stmt), "SyntaxError")
            method(self, stmt)

    def _exec_Expr(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def _exec_Pass(self, node) -> None:
        return None

    _exec_Global = _exec_Nonlocal = _exec_Assert = _exec_Pass  # scoping is static; asserts ignored

    def _exec_Assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.assign(target, value, node)

    def _exec_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # annotations are never evaluated
            self.assign(node.target, self.eval(node.value), node)

    def _exec_AugAssign(self, node: ast.AugAssign) -> None:
        from minigrad.readers.interp.expressions import OPERATORS
        target, op, at = node.target, OPERATORS[type(node.op)], self.where(node)
        if type(target) is ast.Name:
            current = self.lookup(target.id, target)
            value = self._inplace(op, current, self.eval(node.value), at)
            self.store_name(target.id, value, target)
        elif type(target) is ast.Attribute:
            obj = self.eval(target.value)
            current = self.get_attr(obj, target.attr, self.where(target))
            value = self._inplace(op, current, self.eval(node.value), at)
            self.set_attr(obj, target.attr, value, at)
        elif type(target) is ast.Subscript:
            obj = self.eval(target.value)
            key = self.eval(target.slice)
            current = self.get_item(obj, key, at)
            self.set_item(obj, key, self._inplace(op, current, self.eval(node.value), at), at)
        else:
            raise CodeError("cannot assign to this expression", at, "SyntaxError")

    def _inplace(self, op: str, current: Any, value: Any, at: Where) -> Any:
        """`list += x` extends the same list (other names for it see the change)."""
        if type(current) is list and op in ("+", "*"):
            if op == "+":
                items = self.iterate(value, at)
                if isinstance(items, Unknown):
                    return items
                self.budget.check_length(len(current) + len(items), at)
                current.extend(items)
                return current
            result = self.binary("*", current, value, at)
            if type(result) is list:
                current[:] = result
                return current
            return result
        return self.binary(op, current, value, at)

    def _exec_If(self, node: ast.If) -> None:
        truth = self.truth(self.eval(node.test), self.where(node.test))
        if isinstance(truth, Unknown):
            # neither branch: the code depends on what cannot be known
            self._skip_blocks(node, node.body + node.orelse, truth)
            return
        self.exec_block(node.body if truth else node.orelse)

    def _exec_For(self, node: ast.For) -> None:
        at = self.where(node)
        items = self.loop_items(self.eval(node.iter), self.where(node.iter))
        if isinstance(items, Unknown):
            self._skip_blocks(node, [node], items)
            return
        limit, count, budget = self.limits.loop_iterations, 0, self.budget
        for item in items:
            count += 1
            budget.steps += 1
            if count > limit:
                raise LimitError(f"a loop runs more than {limit:,} iterations (the loop "
                                 "iteration limit)", at)
            self.assign(node.target, item, node)
            try:
                self.exec_block(node.body)
            except _Break:
                return
            except _Continue:
                pass
        self.exec_block(node.orelse)

    def _exec_While(self, node: ast.While) -> None:
        at = self.where(node)
        limit, count = self.limits.loop_iterations, 0
        while True:
            truth = self.truth(self.eval(node.test), self.where(node.test))
            if isinstance(truth, Unknown):
                self._skip_blocks(node, node.body + node.orelse, truth)
                return
            if not truth:
                break
            count += 1
            if count > limit:
                raise LimitError(f"a loop runs more than {limit:,} iterations (the loop "
                                 "iteration limit)", at)
            try:
                self.exec_block(node.body)
            except _Break:
                return
            except _Continue:
                pass
        self.exec_block(node.orelse)

    def _skip_blocks(self, owner: Any, body: list, cause: Unknown) -> None:
        """Statements skipped because they depend on an unknown: every name they would assign
        is unknown afterwards, so a count kept in a loop over data is not taken as its start
        value (`correct = 0; for x, y in loader: correct += …`). The names are found once per
        statement (`owner`), since a loop may skip the same block many times."""
        found = self._skipped_names.get(owner)
        if found is None:
            found = self._skipped_names[owner] = _assigned_names(body)
        budget = self.budget
        budget.steps += 1 + len(found)
        if budget.steps >= budget.next_check:
            budget.check(self.where(owner))
        for name, node in found:
            self.store_name(name, Unknown(f"{name}, set in code that depends on {cause.reason}",
                                          self.where(node), name), node)

    def _exec_Break(self, node) -> None:
        raise _BREAK

    def _exec_Continue(self, node) -> None:
        raise _CONTINUE

    def _exec_Return(self, node: ast.Return) -> None:
        raise _Return(None if node.value is None else self.eval(node.value))

    def _exec_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._delete(target)

    def _delete(self, target) -> None:
        t = type(target)
        if t is ast.Name:
            self.delete_name(target.id, target)
        elif t is ast.Subscript:
            self.del_item(self.eval(target.value), self.eval(target.slice), self.where(target))
        elif t is ast.Attribute:
            self.del_attr(self.eval(target.value), target.attr, self.where(target))
        elif t in (ast.Tuple, ast.List):
            for e in target.elts:
                self._delete(e)

    def _exec_Raise(self, node: ast.Raise) -> None:
        at = self.where(node)
        if node.exc is None:
            if self._handling:
                raise self._handling[-1]
            raise CodeError("the code re-raises, but no exception is being handled", at,
                            "RuntimeError")
        exc = self.eval(node.exc)
        if node.cause is not None:
            self.eval(node.cause)
        if type(exc) in (ExcClass, UserClass):
            exc = self.call(exc, [], {}, at)
        if type(exc) is ExcInstance:
            name, args = exc.cls.name, exc.args
        elif type(exc) is Instance:
            name, args = exc.cls.name, exc.attrs.get("args", ())
        elif isinstance(exc, Unknown):
            raise CodeError(f"the code raises an exception ({exc.reason})", at, "Exception",
                            exc_value=exc)
        else:
            raise CodeError(f"the code raises {describe(exc)}, which is not an exception", at,
                            "TypeError")
        detail = ""
        if type(args) is tuple and args:
            detail = ": " + ", ".join(display(a, 200) if type(a) is str else
                                      display(a, 200, True) for a in args[:3])[:200]
        raise CodeError(f"the code raises {name}{detail}", at, name, exc_value=exc)

    def _exec_Try(self, node) -> None:
        try:
            self._try_body(node)
        except LimitError:
            raise
        except (SpecError, _ControlFlow):
            if node.finalbody:
                self.exec_block(node.finalbody)
            raise
        if node.finalbody:
            self.exec_block(node.finalbody)

    _exec_TryStar = _exec_Try

    def _try_body(self, node) -> None:
        try:
            self.exec_block(node.body)
        except LimitError:
            raise
        except SpecError as error:
            self.budget.steps += HANDLER_STEPS
            for handler in node.handlers:
                if handler.type is not None:
                    if not self.exception_matches(error, self.eval(handler.type)):
                        continue
                if handler.name:
                    value = error.exc_value if isinstance(error, CodeError) and \
                        error.exc_value is not None else ExcInstance(
                            BUILTINS.get(getattr(error, "exc_name", ""), BUILTINS["Exception"]),
                            (error.message,))
                    self.store_name(handler.name, value, handler)
                self._handling.append(error)
                try:
                    self.exec_block(handler.body)
                finally:
                    self._handling.pop()
                    if handler.name:  # Python unbinds `as e` at the end of the handler
                        self.scope.vars.pop(handler.name, None)
                return
            raise
        self.exec_block(node.orelse)

    def _exec_With(self, node: ast.With) -> None:
        for item in node.items:
            manager = self.eval(item.context_expr)
            at = self.where(item.context_expr)
            if type(manager) is Instance:
                enter = self.class_attr(manager.cls, "__enter__", manager)
                if enter is not MISSING:
                    manager = self.call(enter, [], {}, at)
            if item.optional_vars is not None:
                self.assign(item.optional_vars, manager, item.optional_vars)
        self.exec_block(node.body)

    def _exec_AsyncFunctionDef(self, node) -> None:
        value = Unknown(f"the async function {node.name}", self.where(node))
        self.store_name(node.name, value, node)

    def _exec_AsyncFor(self, node) -> None:
        return None

    _exec_AsyncWith = _exec_AsyncFor

    # -- imports ----------------------------------------------------------------------------------
    def _exec_Import(self, node: ast.Import) -> None:
        at = self.where(node)
        for alias in node.names:
            if alias.asname:
                self.store_name(alias.asname, self.importer(alias.name, at), node)
            else:
                top = alias.name.split(".")[0]
                self.store_name(top, self.importer(top, at), node)

    def _exec_ImportFrom(self, node: ast.ImportFrom) -> None:
        at = self.where(node)
        if node.module == "__future__":
            return
        if node.level or not node.module:
            for alias in node.names:
                if alias.name != "*":
                    name = alias.asname or alias.name
                    value = Unknown(f"{name}, imported from a local module", at)
                    self.store_name(name, value, node)
            return
        module = self.importer(node.module, at)
        for alias in node.names:
            if alias.name == "*":
                new = all(m is not module for m in self.star_modules)
                if not isinstance(module, Unknown) and new:
                    if len(self.star_modules) >= 50:
                        raise LimitError("the code star-imports more than 50 modules", at)
                    self.star_modules.append(module)
            else:
                value = self.get_attr(module, alias.name, at)
                self.store_name(alias.asname or alias.name, value, node)

    def _exec_Match(self, node) -> None:
        raise CodeError("match statements are not supported", self.where(node), "SyntaxError")


def _stack_depth() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


def _assigned_names(body: list) -> list:
    """(name, statement) for each name the statements would bind, not looking into nested
    functions, classes and comprehensions (their names are their own). Only names themselves
    count: `self.fc = …` or `d[k] = …` in a skipped block leave `self` and `d` as they are."""
    found = []
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        targets: list = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        while targets:
            target = targets.pop()
            if isinstance(target, ast.Name):
                found.append((target.id, node))
            elif isinstance(target, (ast.Tuple, ast.List)):
                targets.extend(target.elts)
            elif isinstance(target, ast.Starred):
                targets.append(target.value)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return found
