"""Functions, calls and classes of the pasted code.

`call` dispatches on the kind of value: a pasted function runs its body in a new Scope (with
Python's argument binding), a pasted class makes an Instance and runs its `__init__` (or the
framework base's `init_instance`), framework objects answer through the Foreign protocol.
Calls are bounded twice: by the call depth limit, and by the Python stack the evaluator itself
uses (each level of a pasted call costs the host several frames).
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from minigrad.errors import Where
from minigrad.readers.interp.builtins import Builtin, ExcClass, ExcInstance
from minigrad.readers.interp.limits import CodeError, LimitError
from minigrad.readers.interp.plain import PlainMethod, call_plain_method, describe
from minigrad.readers.interp.scope import Scope, _ControlFlow, _Return, scan_function
from minigrad.readers.interp.values import MISSING, BoundMethod, Foreign, Instance, Unknown, UserClass, UserFunction

FRAME_BUDGET = 4000     # Python frames the interpreter may use above where it was entered
CALL_STEPS = 4          # a call of a pasted function costs as much as a few nodes


class Calls:
    """Mixed into the Interpreter."""

    # -- functions --------------------------------------------------------------------------------
    def make_function(self, name: str, node: Any) -> UserFunction:
        args = node.args
        defaults = [self.eval(d) for d in args.defaults]
        kw_defaults = {a.arg: self.eval(d) for a, d in zip(args.kwonlyargs, args.kw_defaults)
                       if d is not None}
        closure = self.scope if self.scope.kind != "class" else self.scope.parent
        fn = UserFunction(name, node, closure, defaults, kw_defaults)
        if self.scope.kind == "class":
            self.scope.created.append(fn)
        return fn

    def _exec_FunctionDef(self, node: ast.FunctionDef) -> None:
        decorators = [self.eval(d) for d in node.decorator_list]
        value: Any = self.make_function(node.name, node)
        for deco in reversed(decorators):
            value = self._decorate(deco, value, self.where(node))
        self.store_name(node.name, value, node)

    def _decorate(self, deco: Any, value: Any, at: Where) -> Any:
        if type(deco) is Builtin and deco.name in ("staticmethod", "classmethod", "property",
                                                   "setter", "getter", "deleter"):
            return self.call(deco, [value], {}, at)
        if type(deco) in (UserFunction, BoundMethod, UserClass):
            return self.call(deco, [value], {}, at)
        return value  # framework or unknown decorators (torch.no_grad(), functools.wraps…)

    def _call(self, fn: Any, args: list, kwargs: dict, at: Where | None) -> Any:
        t = type(fn)
        if t is UserFunction:
            return self._call_function(fn, args, kwargs, at)
        if t is BoundMethod:
            return self._call_function(fn.function, [fn.receiver, *args], kwargs, at)
        if t is Builtin:
            return fn.fn(self, args, kwargs, at)
        if t is PlainMethod:
            return call_plain_method(self, fn, args, kwargs, at)
        if t is Unknown:
            return fn
        if t is UserClass:
            return self._instantiate(fn, args, kwargs, at)
        if isinstance(fn, Foreign):
            return fn.call(self, args, kwargs, at)
        if t is Instance:
            method = self.class_attr(fn.cls, "__call__", fn)
            if method is not MISSING:
                return self._call(method, args, kwargs, at)
            base = self.foreign_base(fn.cls)
            if base is not None:
                return base.instance_call(self, fn, args, kwargs, at)
        if t is ExcClass:
            return ExcInstance(fn, tuple(args))
        raise CodeError(f"{describe(fn)} is not callable", at, "TypeError")

    def _instantiate(self, cls: UserClass, args: list, kwargs: dict, at: Where | None) -> Instance:
        self.budget.steps += CALL_STEPS
        inst = Instance(cls)
        init = self.class_attr(cls, "__init__", inst)
        if init is not MISSING:
            self._call(init, args, kwargs, at)
            return inst
        base = self.foreign_base(cls)
        if base is not None:
            base.init_instance(self, inst, args, kwargs, at)
        elif any(type(c) is ExcClass for c in self.mro(cls)):
            inst.attrs["args"] = tuple(args)
        elif self.class_lookup(cls, "__dataclass_fields__") is not MISSING:
            self._dataclass_init(cls, inst, args, kwargs, at)
        elif args or kwargs:
            raise CodeError(f"{cls.name}() takes no arguments", at, "TypeError")
        return inst

    def _dataclass_init(self, cls: UserClass, inst: Instance, args: list, kwargs: dict,
                        at: Where | None) -> None:
        """The __init__ that @dataclass writes: fields in order, defaults from the class."""
        fields = [f for c in reversed(self.mro(cls)) if type(c) is UserClass
                  for f in c.namespace.get("__dataclass_fields__", ())]
        fields = list(dict.fromkeys(fields))
        if len(args) > len(fields):
            raise CodeError(f"{cls.name}() takes {len(fields)} arguments but {len(args)} were "
                            "given", at, "TypeError")
        values = dict(zip(fields, args))
        for name, value in kwargs.items():
            if name not in fields or name in values:
                raise CodeError(f"{cls.name}() got an unexpected or repeated argument '{name}'",
                                at, "TypeError")
            values[name] = value
        for name in fields:
            if name not in values:
                default = self.class_lookup(cls, name)
                if default is MISSING:
                    raise CodeError(f"{cls.name}() missing a required argument: '{name}'", at,
                                    "TypeError")
                values[name] = default
        inst.attrs.update((name, values[name]) for name in fields)
        post_init = self.class_attr(cls, "__post_init__", inst)
        if post_init is not MISSING:
            self._call(post_init, [], {}, at)

    def _call_function(self, fn: UserFunction, args: list, kwargs: dict, at: Where | None) -> Any:
        limits = self.limits
        self.budget.steps += CALL_STEPS
        self._depth += 1
        try:
            if self._depth > limits.call_depth:
                raise LimitError(f"calls nest more than {limits.call_depth} deep (the call depth "
                                 f"limit), in {fn.name}", at)
            if self._depth > 8:
                self._check_stack(at)
            node = fn.node
            info = self.function_info(node)
            scope = Scope("function", self._bind(fn, args, kwargs, at), fn.closure)
            scope.locals, scope.globals, scope.nonlocals = info[0], info[1], info[2]
            scope.function = fn
            scope.first_arg = args[0] if args else MISSING
            if info[3]:
                scope.yields = []
            saved, self.scope = self.scope, scope
            try:
                if type(node) is ast.Lambda:
                    return self.eval(node.body)
                self.exec_block(node.body)
            except _Return as r:
                if scope.yields is None:
                    return r.value
            except _ControlFlow:
                raise CodeError("'break' or 'continue' outside a loop", at, "SyntaxError") from None
            finally:
                self.scope = saved
            return scope.yields
        finally:
            self._depth -= 1

    def _check_stack(self, at: Where | None) -> None:
        try:
            sys._getframe(self._frame_cap - 400)
        except ValueError:
            return  # the stack is not that deep
        raise LimitError("calls and expressions nest too deeply for the interpreter (the call "
                         "depth limit)", at)

    def _bind(self, fn: UserFunction, args: list, kwargs: dict, at: Where | None) -> dict:
        """Python's argument binding: positional, defaults, *args, keyword-only, **kwargs."""
        a = fn.node.args
        params = a.posonlyargs + a.args
        n = len(params)
        values: dict = {}
        for p, v in zip(params, args):
            values[p.arg] = v
        if len(args) > n:
            if a.vararg is None:
                raise CodeError(f"{fn.name}() takes {n} positional arguments but {len(args)} "
                                "were given", at, "TypeError")
            values[a.vararg.arg] = tuple(args[n:])
        elif a.vararg is not None:
            values[a.vararg.arg] = ()
        extra: dict = {}
        named = {p.arg for p in a.args} | {p.arg for p in a.kwonlyargs}
        for k, v in kwargs.items():
            if k in named:
                if k in values:
                    raise CodeError(f"{fn.name}() got multiple values for argument '{k}'", at,
                                    "TypeError")
                values[k] = v
            elif a.kwarg is not None:  # (a positional-only name passed by keyword lands here too)
                extra[k] = v
            else:
                raise CodeError(f"{fn.name}() got an unexpected keyword argument '{k}'", at,
                                "TypeError")
        first_default = n - len(fn.defaults)
        for i, p in enumerate(params):
            if p.arg not in values:
                if i >= first_default:
                    values[p.arg] = fn.defaults[i - first_default]
                else:
                    raise CodeError(f"{fn.name}() missing a required argument: '{p.arg}'", at,
                                    "TypeError")
        for p in a.kwonlyargs:
            if p.arg not in values:
                if p.arg not in fn.kw_defaults:
                    raise CodeError(f"{fn.name}() missing a required keyword argument: "
                                    f"'{p.arg}'", at, "TypeError")
                values[p.arg] = fn.kw_defaults[p.arg]
        if a.kwarg is not None:
            values[a.kwarg.arg] = extra
        return values

    def function_info(self, node: Any) -> tuple:
        """(locals, globals, nonlocals, is_generator) of a def or lambda, found once per node."""
        info = self._func_cache.get(node)
        if info is None:
            info = self._func_cache[node] = scan_function(node)
        return info

    def comprehension_locals(self, node: Any) -> frozenset:
        found = self._func_cache.get(node)
        if found is None:
            names = set()
            for gen in node.generators:
                names |= {n.id for n in ast.walk(gen.target) if type(n) is ast.Name}
            found = self._func_cache[node] = frozenset(names)
        return found

    # -- classes ----------------------------------------------------------------------------------
    def _exec_ClassDef(self, node: ast.ClassDef) -> None:
        at = self.where(node)
        decorators = [self.eval(d) for d in node.decorator_list]
        bases = []
        for b in node.bases:
            value = self.eval(b)
            if type(value) in (UserClass, ExcClass) or (isinstance(value, Foreign)
                                                        and value.is_class()):
                bases.append(value)
        for k in node.keywords:  # metaclass=… is evaluated and ignored
            self.eval(k.value)
        parent = self.scope if self.scope.kind != "class" else self.scope.parent
        scope = Scope("class", {"__module__": "__main__", "__qualname__": node.name}, parent)
        scope.created = []
        saved, self.scope = self.scope, scope
        try:
            self.exec_block(node.body)
        finally:
            self.scope = saved
        if any(_is_dataclass_decorator(d) for d in node.decorator_list):
            # @dataclass: the annotated names of the body, in order, are the __init__ fields
            scope.vars["__dataclass_fields__"] = tuple(
                s.target.id for s in node.body
                if type(s) is ast.AnnAssign and type(s.target) is ast.Name)
        cls = UserClass(node.name, tuple(bases), scope.vars, at)
        self.mro(cls)  # made now, while every base's MRO is cached
        for fn in scope.created + [v for v in scope.vars.values() if type(v) is UserFunction]:
            if fn.owner is None:  # methods know their class, for zero-argument super()
                fn.owner = cls
        value: Any = cls
        for deco in reversed(decorators):
            value = self._decorate(deco, value, at)
        self.store_name(node.name, value, node)


def _is_dataclass_decorator(node: ast.expr) -> bool:
    """`@dataclass`, `@dataclasses.dataclass`, `@dataclass(frozen=True)`."""
    if type(node) is ast.Call:
        node = node.func
    return (type(node) is ast.Name and node.id == "dataclass") or \
        (type(node) is ast.Attribute and node.attr == "dataclass")
