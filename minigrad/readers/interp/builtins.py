"""The builtins pasted code can use, and the interpreter's own small value classes.

Each builtin is a `Builtin`: a name and a Python function `(interp, args, kwargs, at)` of ours,
which the pasted code can call but whose host function object it never sees (getting an
attribute of a Builtin gives only `__name__`). Builtin types (`int`, `list`…) are Builtins with a
`pytype`, so `isinstance(x, int)` and `type(x) is int` work. Exceptions are `ExcClass` values:
names that `raise` and `except` understand; nothing of Python's exception machinery is exposed.

Whatever could touch the host (open, input, exec, eval, __import__, globals…) is an Unknown.
"""

from __future__ import annotations

from typing import Any, Callable

from minigrad.errors import Where
from minigrad.readers.interp.limits import ELEMENTS_PER_STEP, CodeError
from minigrad.readers.interp.plain import PLAIN_TYPES, check_key, display, format_value
from minigrad.readers.interp.values import MISSING, Foreign, Instance, Unknown, UserClass, UserFunction


class Builtin:
    """A builtin function or type of the pasted code's world."""

    __slots__ = ("name", "fn", "pytype")

    def __init__(self, name: str, fn: Callable, pytype: type | None = None):
        self.name, self.fn, self.pytype = name, fn, pytype

    def __repr__(self) -> str:
        return f"<builtin {self.name}>"


class ExcClass:
    """A builtin exception class (ValueError…): `raise` it, `except` it, subclass it."""

    __slots__ = ("name", "base")

    def __init__(self, name: str, base: ExcClass | None):
        self.name, self.base = name, base

    def chain(self) -> list[str]:
        out, c = [], self
        while c is not None:
            out.append(c.name)
            c = c.base
        return out

    def __repr__(self) -> str:
        return f"<exception class {self.name}>"


class ExcInstance:
    """`ValueError("msg")`: an exception object of the pasted code."""

    __slots__ = ("cls", "args")

    def __init__(self, cls: ExcClass, args: tuple):
        self.cls, self.args = cls, args


class SuperProxy:
    """`super()` / `super(C, self)`: attribute lookup starts after `owner` in the receiver's MRO."""

    __slots__ = ("owner", "receiver")

    def __init__(self, owner: UserClass, receiver: Any):
        self.owner, self.receiver = owner, receiver


class ListIterator:
    """`iter(list)`, for `next(it)`."""

    __slots__ = ("items", "pos")

    def __init__(self, items: list):
        self.items, self.pos = items, 0


# -- exceptions ---------------------------------------------------------------------------------
_EXC_TREE = {
    "BaseException": None, "Exception": "BaseException", "SystemExit": "BaseException",
    "KeyboardInterrupt": "BaseException", "GeneratorExit": "BaseException",
    "ArithmeticError": "Exception", "ZeroDivisionError": "ArithmeticError",
    "OverflowError": "ArithmeticError", "FloatingPointError": "ArithmeticError",
    "LookupError": "Exception", "IndexError": "LookupError", "KeyError": "LookupError",
    "ValueError": "Exception", "UnicodeError": "ValueError", "TypeError": "Exception",
    "AttributeError": "Exception", "NameError": "Exception", "UnboundLocalError": "NameError",
    "RuntimeError": "Exception", "NotImplementedError": "RuntimeError",
    "RecursionError": "RuntimeError", "AssertionError": "Exception", "ImportError": "Exception",
    "ModuleNotFoundError": "ImportError", "StopIteration": "Exception", "OSError": "Exception",
    "FileNotFoundError": "OSError", "FileExistsError": "OSError", "PermissionError": "OSError",
    "EOFError": "Exception", "MemoryError": "Exception", "Warning": "Exception",
    "UserWarning": "Warning", "DeprecationWarning": "Warning", "RuntimeWarning": "Warning",
    "FutureWarning": "Warning",
}
EXCEPTIONS: dict[str, ExcClass] = {}
for _name, _base in _EXC_TREE.items():
    EXCEPTIONS[_name] = ExcClass(_name, EXCEPTIONS[_base] if _base else None)
EXCEPTIONS["IOError"] = EXCEPTIONS["EnvironmentError"] = EXCEPTIONS["OSError"]


# -- helpers ------------------------------------------------------------------------------------
def _arity(name: str, args: list, kwargs: dict, lo: int, hi: int, at: Where,
           keywords: tuple = ()) -> None:
    bad = [k for k in kwargs if k not in keywords]
    if bad:
        raise CodeError(f"{name}() got an unexpected keyword argument '{bad[0]}'", at, "TypeError")
    if not lo <= len(args) <= hi:
        raise CodeError(f"{name}() takes {lo}..{hi} arguments ({len(args)} given)", at, "TypeError")


def _work(interp, n: int, at: Where) -> None:
    """Builtins that loop in Python over items (min, sum, map…) cost one step per item."""
    interp.budget.charge(n * ELEMENTS_PER_STEP, at)


def _first_unknown(values) -> Unknown | None:
    for v in values:
        if isinstance(v, Unknown):
            return v
    return None


def _plain_call(fn, args, at: Where, what: str):
    try:
        return fn(*args)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError) as e:
        raise CodeError(f"{what}: {type(e).__name__}: {e}", at, type(e).__name__) from None


def _convert(pytype: type):
    """int(x), float(x), str(x), bool(x), complex(x): plain values only, sizes bounded."""
    def convert(interp, args, kwargs, at):
        name = pytype.__name__
        _arity(name, args, kwargs, 0, 2 if pytype is int else 1, at, ("base",) if pytype is int else ())
        if not args:
            return pytype()
        x = args[0]
        if isinstance(x, Unknown):
            return x
        if pytype is bool:
            return interp.truth(x, at)
        if pytype is str:
            return display(x, interp.limits.container_length, False, at, interp.budget)
        if type(x) not in PLAIN_TYPES:
            return Unknown(f"{name}({_short(x)})", at)
        if type(x) is str and len(x) > 5000:
            raise CodeError(f"{name}() of a string of {len(x):,} characters is refused "
                            "(at most 5,000)", at, "ValueError")
        if pytype is float and type(x) is int and x.bit_length() > 1024:
            raise CodeError(f"float() of an integer of {x.bit_length():,} bits: too large for a "
                            "float", at, "OverflowError")
        rest = list(args[1:]) + [kwargs[k] for k in kwargs]
        result = _plain_call(pytype, [x, *rest], at, f"{name}()")
        interp.budget.check_value(result, at)
        return result
    return convert


def _short(x) -> str:
    from minigrad.readers.interp.plain import describe
    return describe(x)


def _container(pytype: type):
    def build(interp, args, kwargs, at):
        _arity(pytype.__name__, args, kwargs if pytype is not dict else {}, 0, 1, at)
        if pytype is dict:
            result: dict = {}
            if args:
                src = args[0]
                if isinstance(src, Unknown):
                    return src
                if type(src) is dict:
                    _work(interp, len(src), at)
                    result.update(src)
                else:
                    items = interp.iterate(src, at)
                    if isinstance(items, Unknown):
                        return items
                    _work(interp, len(items), at)
                    for pair in items:
                        pair = interp.iterate(pair, at)
                        if isinstance(pair, Unknown):
                            return pair
                        if len(pair) != 2:
                            raise CodeError("dict() needs pairs", at, "ValueError")
                        check_key(pair[0], at)
                        result[pair[0]] = pair[1]
            result.update(kwargs)
            return result
        if not args:
            return pytype()
        items = interp.iterate(args[0], at)
        if isinstance(items, Unknown):
            return items
        if pytype in (set, frozenset):
            _work(interp, len(items), at)
            for x in items:
                check_key(x, at)
        return _plain_call(pytype, [items], at, f"{pytype.__name__}()")
    return build


# -- the builtins -------------------------------------------------------------------------------
def _range(interp, args, kwargs, at):
    _arity("range", args, kwargs, 1, 3, at)
    if (u := _first_unknown(args)) is not None:
        return u
    if any(type(a) not in (int, bool) for a in args):
        raise CodeError("range() takes integers", at, "TypeError")
    return _plain_call(range, args, at, "range()")


def _len(interp, args, kwargs, at):
    _arity("len", args, kwargs, 1, 1, at)
    return interp.length(args[0], at)


def _minmax(which: str):
    def minmax(interp, args, kwargs, at):
        _arity(which, args, kwargs, 1, 10**6, at, ("key", "default"))
        items = args if len(args) > 1 else interp.iterate(args[0], at)
        if isinstance(items, Unknown):
            return items
        if not items:
            if "default" in kwargs:
                return kwargs["default"]
            raise CodeError(f"{which}() of an empty sequence", at, "ValueError")
        _work(interp, len(items), at)
        key = kwargs.get("key")
        keys = items if key is None else [interp.call(key, [x], {}, at) for x in items]
        best = 0
        for i in range(1, len(items)):
            better = interp.compare("<" if which == "min" else ">", keys[i], keys[best], at)
            better = interp.truth(better, at)
            if isinstance(better, Unknown):
                return better
            if better:
                best = i
        return items[best]
    return minmax


def _sum(interp, args, kwargs, at):
    _arity("sum", args, kwargs, 1, 2, at, ("start",))
    total = args[1] if len(args) > 1 else kwargs.get("start", 0)
    items = interp.iterate(args[0], at)
    if isinstance(items, Unknown):
        return items
    _work(interp, len(items), at)
    for x in items:
        total = interp.binary("+", total, x, at)
    return total


def _abs(interp, args, kwargs, at):
    _arity("abs", args, kwargs, 1, 1, at)
    x = args[0]
    if type(x) in (int, float, bool, complex):
        return abs(x)
    if isinstance(x, Unknown):
        return x
    return Unknown(f"abs({_short(x)})", at)


def _round(interp, args, kwargs, at):
    _arity("round", args, kwargs, 1, 2, at, ("ndigits",))
    rest = args[1:] or list(kwargs.values())
    if (u := _first_unknown([args[0], *rest])) is not None:
        return u
    if type(args[0]) not in (int, float, bool) or any(type(r) not in (int, bool, type(None)) for r in rest):
        return Unknown(f"round({_short(args[0])})", at)
    return _plain_call(round, [args[0], *rest], at, "round()")


def _iterate_all(interp, args, at):
    out = []
    for a in args:
        items = interp.iterate(a, at)
        if isinstance(items, Unknown):
            return items
        out.append(items)
    return out


def _zip(interp, args, kwargs, at):
    _arity("zip", args, kwargs, 0, 100, at, ("strict",))
    lists = _iterate_all(interp, args, at)
    if isinstance(lists, Unknown):
        return lists
    _work(interp, sum(map(len, lists)), at)
    return list(zip(*lists))


def _enumerate(interp, args, kwargs, at):
    _arity("enumerate", args, kwargs, 1, 2, at, ("start",))
    items = interp.iterate(args[0], at)
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if isinstance(items, Unknown) or isinstance(start, Unknown):
        return items if isinstance(items, Unknown) else start
    if type(start) not in (int, bool):
        raise CodeError("enumerate() start must be an integer", at, "TypeError")
    _work(interp, len(items), at)
    return [(start + i, x) for i, x in enumerate(items)]


def _reversed(interp, args, kwargs, at):
    _arity("reversed", args, kwargs, 1, 1, at)
    items = interp.iterate(args[0], at)
    return items if isinstance(items, Unknown) else items[::-1]


def _sorted(interp, args, kwargs, at):
    _arity("sorted", args, kwargs, 1, 1, at, ("key", "reverse"))
    items = interp.iterate(args[0], at)
    reverse = interp.truth(kwargs.get("reverse", False), at)
    key = kwargs.get("key")
    for v in (items, reverse, key):
        if isinstance(v, Unknown):
            return v
    return interp.sorted_values(list(items), key, bool(reverse), at)


def _any_all(which: str):
    def any_all(interp, args, kwargs, at):
        _arity(which, args, kwargs, 1, 1, at)
        items = interp.iterate(args[0], at)
        if isinstance(items, Unknown):
            return items
        _work(interp, len(items), at)
        unknown = None
        for x in items:
            t = interp.truth(x, at)
            if isinstance(t, Unknown):
                unknown = unknown or t
            elif t == (which == "any"):
                return t
        return unknown if unknown is not None else which == "all"
    return any_all


def _map(interp, args, kwargs, at):
    _arity("map", args, kwargs, 2, 100, at)
    lists = _iterate_all(interp, args[1:], at)
    if isinstance(lists, Unknown):
        return lists
    _work(interp, sum(map(len, lists)), at)
    return [interp.call(args[0], list(xs), {}, at) for xs in zip(*lists)]


def _filter(interp, args, kwargs, at):
    _arity("filter", args, kwargs, 2, 2, at)
    items = interp.iterate(args[1], at)
    if isinstance(items, Unknown):
        return items
    _work(interp, len(items), at)
    out = []
    for x in items:
        t = interp.truth(x if args[0] is None else interp.call(args[0], [x], {}, at), at)
        if isinstance(t, Unknown):
            return t
        if t:
            out.append(x)
    return out


def _isinstance(interp, args, kwargs, at):
    _arity("isinstance", args, kwargs, 2, 2, at)
    return interp.is_instance(args[0], args[1], at)


def _issubclass(interp, args, kwargs, at):
    _arity("issubclass", args, kwargs, 2, 2, at)
    return interp.is_subclass(args[0], args[1], at)


def _getattr(interp, args, kwargs, at):
    _arity("getattr", args, kwargs, 2, 3, at)
    if isinstance(args[1], Unknown):
        return args[1]
    if type(args[1]) is not str:
        raise CodeError("getattr(): attribute name must be a string", at, "TypeError")
    try:
        return interp.get_attr(args[0], args[1], at)
    except CodeError as e:
        if len(args) == 3 and e.exc_name == "AttributeError":
            return args[2]
        raise


def _hasattr(interp, args, kwargs, at):
    _arity("hasattr", args, kwargs, 2, 2, at)
    try:
        value = _getattr(interp, args, {}, at)
    except CodeError as e:
        if e.exc_name == "AttributeError":
            return False
        raise
    return value if isinstance(value, Unknown) else True


def _setattr(interp, args, kwargs, at):
    _arity("setattr", args, kwargs, 3, 3, at)
    if type(args[1]) is str:
        interp.set_attr(args[0], args[1], args[2], at)
    return None


def _arith(name: str, fn):
    def arith(interp, args, kwargs, at):
        _arity(name, args, kwargs, 2, 3, at)
        if (u := _first_unknown(args)) is not None:
            return u
        if name == "pow" and len(args) == 2:
            return interp.binary("**", args[0], args[1], at)
        if name == "divmod":
            return (interp.binary("//", args[0], args[1], at), interp.binary("%", args[0], args[1], at))
        if any(type(a) not in (int, bool) for a in args):
            raise CodeError("pow() with a modulus takes integers", at, "TypeError")
        for a in args:
            interp.budget.check_value(a, at)
        return _plain_call(fn, args, at, name)
    return arith


def _print(interp, args, kwargs, at):
    return None


def _super(interp, args, kwargs, at):
    _arity("super", args, kwargs, 0, 2, at)
    return interp.make_super(args, at)


def _type(interp, args, kwargs, at):
    _arity("type", args, kwargs, 1, 1, at)
    x = args[0]
    if isinstance(x, Instance):
        return x.cls
    if isinstance(x, Unknown):
        return x
    if isinstance(x, ExcInstance):
        return x.cls
    if isinstance(x, Foreign):
        return x.type_of(interp, at)
    for b in BUILTINS.values():
        if isinstance(b, Builtin) and b.pytype is type(x):
            return b
    return Unknown(f"type({_short(x)})", at)


def _iter(interp, args, kwargs, at):
    _arity("iter", args, kwargs, 1, 1, at)
    items = interp.iterate(args[0], at)
    return items if isinstance(items, Unknown) else ListIterator(list(items))


def _next(interp, args, kwargs, at):
    _arity("next", args, kwargs, 1, 2, at)
    it = args[0]
    if isinstance(it, ListIterator):
        if it.pos < len(it.items):
            it.pos += 1
            return it.items[it.pos - 1]
        if len(args) == 2:
            return args[1]
        raise CodeError("StopIteration: the iterator is exhausted", at, "StopIteration")
    return it if isinstance(it, Unknown) else Unknown(f"next({_short(it)})", at)


def _repr(interp, args, kwargs, at):
    _arity("repr", args, kwargs, 1, 1, at)
    return format_value(interp, args[0], "", "r", at)


def _chr_ord(name: str, fn):
    def conv(interp, args, kwargs, at):
        _arity(name, args, kwargs, 1, 1, at)
        if isinstance(args[0], Unknown):
            return args[0]
        if type(args[0]) not in (int, bool, str):
            raise CodeError(f"{name}() of {_short(args[0])}", at, "TypeError")
        return _plain_call(fn, args, at, f"{name}()")
    return conv


def _callable(interp, args, kwargs, at):
    _arity("callable", args, kwargs, 1, 1, at)
    x = args[0]
    if isinstance(x, (Unknown, Foreign)):
        return Unknown(f"callable({_short(x)})", at)
    if isinstance(x, Instance):
        return interp.class_lookup(x.cls, "__call__") is not MISSING or \
            interp.foreign_base(x.cls) is not None
    return isinstance(x, (UserFunction, UserClass, Builtin, ExcClass)) or type(x).__name__ in (
        "BoundMethod", "PlainMethod")


def _format(interp, args, kwargs, at):
    _arity("format", args, kwargs, 1, 2, at)
    spec = args[1] if len(args) > 1 else ""
    if isinstance(spec, Unknown):
        return spec
    return format_value(interp, args[0], spec, "", at)


def _slice(interp, args, kwargs, at):
    _arity("slice", args, kwargs, 1, 3, at)
    return slice(*args)


def _marker(kind: str):
    """staticmethod / classmethod / property called as functions: mark a pasted function."""
    def mark(interp, args, kwargs, at):
        _arity(kind, args, kwargs, 1, 4 if kind == "property" else 1, at)
        fn = args[0]
        if isinstance(fn, UserFunction):
            return UserFunction(fn.name, fn.node, fn.closure, fn.defaults, fn.kw_defaults,
                                fn.owner, kind)
        return fn
    return mark


def _unknown(name: str):
    def unknown(interp, args, kwargs, at):
        return Unknown(f"the result of {name}(...) (pasted code never touches files, input or "
                       "the host)", at)
    return unknown


BUILTINS: dict[str, Any] = {}
for _t in (int, float, str, bool, complex):
    BUILTINS[_t.__name__] = Builtin(_t.__name__, _convert(_t), _t)
for _t in (list, tuple, dict, set, frozenset):
    BUILTINS[_t.__name__] = Builtin(_t.__name__, _container(_t), _t)
BUILTINS.update({
    "range": Builtin("range", _range, range),
    "slice": Builtin("slice", _slice, slice),
    "bytes": Builtin("bytes", _unknown("bytes"), bytes),
    "object": Builtin("object", lambda i, a, k, at: Unknown("object()", at), object),
    "NoneType": Builtin("NoneType", lambda i, a, k, at: None, type(None)),
    "len": Builtin("len", _len), "min": Builtin("min", _minmax("min")),
    "max": Builtin("max", _minmax("max")), "sum": Builtin("sum", _sum),
    "abs": Builtin("abs", _abs), "round": Builtin("round", _round), "zip": Builtin("zip", _zip),
    "enumerate": Builtin("enumerate", _enumerate), "reversed": Builtin("reversed", _reversed),
    "sorted": Builtin("sorted", _sorted), "any": Builtin("any", _any_all("any")),
    "all": Builtin("all", _any_all("all")), "map": Builtin("map", _map),
    "filter": Builtin("filter", _filter), "isinstance": Builtin("isinstance", _isinstance),
    "issubclass": Builtin("issubclass", _issubclass), "getattr": Builtin("getattr", _getattr),
    "hasattr": Builtin("hasattr", _hasattr), "setattr": Builtin("setattr", _setattr),
    "divmod": Builtin("divmod", _arith("divmod", divmod)), "pow": Builtin("pow", _arith("pow", pow)),
    "print": Builtin("print", _print), "super": Builtin("super", _super),
    "type": Builtin("type", _type), "iter": Builtin("iter", _iter), "next": Builtin("next", _next),
    "repr": Builtin("repr", _repr), "chr": Builtin("chr", _chr_ord("chr", chr)),
    "ord": Builtin("ord", _chr_ord("ord", ord)), "callable": Builtin("callable", _callable),
    "format": Builtin("format", _format),
    "staticmethod": Builtin("staticmethod", _marker("staticmethod")),
    "classmethod": Builtin("classmethod", _marker("classmethod")),
    "property": Builtin("property", _marker("property")),
    "None": None, "True": True, "False": False, "Ellipsis": ..., "NotImplemented": Unknown("NotImplemented"),
})
for _name in ("open", "input", "exit", "quit", "exec", "eval", "compile", "__import__", "globals",
              "locals", "vars", "dir", "id", "hash", "help", "breakpoint", "memoryview",
              "bytearray", "delattr"):
    BUILTINS[_name] = Builtin(_name, _unknown(_name))
BUILTINS.update(EXCEPTIONS)
