"""Plain data: what counts as it, its methods (an allow-list), and how it is shown as text.

Methods of plain values are run by calling the real method on the real value, but only for the
(type, name) pairs listed here, never a dunder, and with sizes checked before (for methods that
can grow a value a lot: `center`, `replace`, `join`…) and after. That is how `'a'.upper()` works
while `().__class__.__base__` is refused by name.

`display` is our own `repr`/`str`: bounded in length and depth, and it never calls a method of
a non-plain value (a framework object is shown by its `describe()`).
"""

from __future__ import annotations

import re
import string
from typing import Any

from minigrad.errors import Where
from minigrad.readers.interp.limits import CodeError, LimitError
from minigrad.readers.interp.values import BoundMethod, Foreign, Instance, Unknown, UserClass, UserFunction

ATOMS = (int, float, complex, str, bytes, bool, type(None))
CONTAINERS = (tuple, list, dict, set, frozenset, range)
PLAIN_TYPES = frozenset(ATOMS + CONTAINERS + (slice, type(Ellipsis)))

_STR = ("capitalize casefold count endswith find index isalnum isalpha isascii isdecimal isdigit "
        "isidentifier islower isnumeric isspace istitle isupper lower lstrip partition "
        "removeprefix removesuffix rfind rindex rpartition rsplit rstrip split splitlines "
        "startswith strip swapcase title upper encode")
METHODS: dict[type, frozenset] = {
    str: frozenset(_STR.split() + ["center", "ljust", "rjust", "zfill", "expandtabs", "replace",
                                   "join", "format"]),
    bytes: frozenset("decode count endswith startswith find index hex lower upper strip "
                     "split".split()),
    list: frozenset("append extend insert pop remove index count reverse sort copy clear".split()),
    dict: frozenset("get items keys values update setdefault pop popitem copy clear".split()),
    set: frozenset("add update discard remove pop union intersection difference "
                   "symmetric_difference issubset issuperset isdisjoint copy clear".split()),
    frozenset: frozenset("union intersection difference issubset issuperset copy".split()),
    tuple: frozenset(["index", "count"]),
    int: frozenset(["bit_length", "conjugate"]),
    bool: frozenset(["bit_length", "conjugate"]),
    float: frozenset(["is_integer", "conjugate", "as_integer_ratio"]),
    complex: frozenset(["conjugate"]),
    range: frozenset(["index", "count"]),
}
DATA_ATTRS: dict[type, frozenset] = {
    complex: frozenset(["real", "imag"]), int: frozenset(["real", "imag"]),
    float: frozenset(["real", "imag"]), range: frozenset(["start", "stop", "step"]),
    slice: frozenset(["start", "stop", "step"]),
}
# methods that may store an Unknown (or take one as a plain argument) without becoming unknown
_STORES = {(list, "append"), (list, "insert"), (list, "index"), (list, "count"), (list, "remove"),
           (dict, "setdefault"), (dict, "get"), (dict, "pop"), (dict, "update"), (set, "add"),
           (set, "discard"), (tuple, "index"), (tuple, "count")}


_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))


# methods that do not scan their whole value (the others cost a step per 8 items)
_CHEAP = frozenset("append add get setdefault startswith endswith bit_length conjugate "
                   "is_integer as_integer_ratio discard clear popitem".split())


class PlainMethod:
    """`value.name` for an allow-listed method of a plain value, ready to be called."""

    __slots__ = ("obj", "name")

    def __init__(self, obj, name: str):
        self.obj, self.name = obj, name

    def __repr__(self) -> str:
        return f"<method {type(self.obj).__name__}.{self.name}>"


def plain_attr(value, name: str, at: Where) -> Any:
    """The attribute `name` of a plain value: a PlainMethod, a data attribute, or an error."""
    t = type(value)
    if name.startswith("__"):
        raise CodeError(f"the attribute {name} of a {t.__name__} is not available to pasted code",
                        at, "AttributeError")
    if name in METHODS.get(t, ()):
        return PlainMethod(value, name)
    if name in DATA_ATTRS.get(t, ()):
        return getattr(value, name)
    raise CodeError(f"'{t.__name__}' object has no attribute '{name}'", at, "AttributeError")


_NESTED = (tuple, list, dict, set, frozenset)
DATA_SIZE = 4_000_000  # items of nested data that one comparison or hash may visit


def check_key(key, at: Where, budget=None) -> None:
    """Hashing a deeply nested tuple recurses in C without a guard, and a tuple that holds
    the same tuple twice, 60 times over, hashes 2**60 items: refuse such keys first."""
    if type(key) in (tuple, frozenset):
        check_data(key, at, budget)


def _children(value):
    return (*value.keys(), *value.values()) if type(value) is dict else value


def check_data(value, at: Where, budget=None) -> None:
    """Refuses nested data that Python would walk too deeply (a C stack overflow when hashing)
    or too long (shared sublists: `a = [a, a]` sixty times is tiny in memory but 2**60 items to
    compare). Walks each distinct container once, without recursion."""
    if type(value) not in _NESTED:
        return
    sizes: dict = {}      # id -> items below a finished container, counted with repeats
    active: set = set()   # ids being walked (seeing one again is a cycle)
    stack = [(value, 0, False)]
    walked = 0
    while stack:
        item, depth, done = stack.pop()
        key = id(item)
        if done:
            active.discard(key)
            total = 1 + len(item) + (len(item) if type(item) is dict else 0)
            for x in _children(item):
                if type(x) in _NESTED:
                    total += sizes[id(x)] - 1
            if total > DATA_SIZE:
                raise LimitError(f"the code compares or hashes nested data of more than "
                                 f"{DATA_SIZE:,} items (the container length limit)", at)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in active:
            raise LimitError("the code compares or hashes data that contains itself", at)
        if depth > 100:
            raise LimitError("the code uses data nested more than 100 levels deep (the nesting "
                             "limit)", at)
        active.add(key)
        walked += len(item)
        if budget is not None and walked > 4096:
            budget.charge(walked // 2, at)  # a step per 16 items walked
            walked = 0
        stack.append((item, depth, True))
        for x in _children(item):
            if type(x) in _NESTED and id(x) not in sizes:
                stack.append((x, depth + 1, False))


def call_plain_method(interp, method: PlainMethod, args: list, kwargs: dict, at: Where) -> Any:
    """Runs an allow-listed method on its real value, bounded before and after."""
    obj, name = method.obj, method.name
    t = type(obj)
    budget = interp.budget
    budget.steps += 3  # a method call does more work than one node
    if t is str and name == "format":
        return format_string(interp, obj, args, kwargs, at)
    if t is list and name == "sort":
        return sort_list(interp, obj, kwargs, at)
    if t is dict and args and isinstance(args[0], Unknown) and name in ("get", "pop", "setdefault"):
        return args[0]  # an unknown key: its value is unknown too
    if name == "append" and t is list and len(args) == 1 and not kwargs:  # the common case
        if len(obj) >= interp.limits.container_length:
            budget.check_length(len(obj) + 1, at)
        obj.append(args[0])
        return None
    if name not in _CHEAP and t in (str, bytes, list, tuple, dict, set, frozenset) and not (
            name == "pop" and not args):
        budget.charge(len(obj), at)  # most methods scan the whole value: a step per 8 items
    values = [*args, *kwargs.values()] if kwargs else args
    if (t, name) not in _STORES and name != "extend":
        for v in values:
            if type(v) not in PLAIN_TYPES:
                if isinstance(v, Unknown):
                    return v
                raise CodeError(f"{t.__name__}.{name}() cannot take {describe(v)}", at, "TypeError")
    if t is list and name == "extend" and len(args) == 1 and type(args[0]) not in PLAIN_TYPES:
        items = interp.iterate(args[0], at)  # a framework container (nn.ModuleList…)
        if isinstance(items, Unknown):
            return items
        args = [items]
    if t in (dict, set) or name in ("index", "count", "remove"):
        for v in values:
            check_key(v, at)
        if name in ("index", "count", "remove") and any(type(v) in _NESTED for v in values):
            check_data(obj, at, budget)
            for v in values:
                check_data(v, at, budget)
    _precheck(budget, obj, name, args, kwargs, at)
    try:
        result = getattr(obj, name)(*args, **kwargs)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, LookupError) as e:
        raise CodeError(f"{type(e).__name__}: {e}", at, type(e).__name__) from None
    if type(result) in _VIEWS:
        result = list(result)  # views are read-only lists to the pasted code
    budget.check_value(result, at)
    if t in (list, dict, set):  # grown in place: its size was charged by _precheck
        budget.check_length(len(obj), at, f"a {t.__name__}")
    return result


def _precheck(budget, obj, name: str, args: list, kwargs: dict, at: Where) -> None:
    """Estimates the size of results that can be much bigger than their inputs."""
    n = None
    if name in ("center", "ljust", "rjust", "zfill") and args and type(args[0]) is int:
        n = args[0]
    elif name == "expandtabs":
        size = args[0] if args and type(args[0]) is int else 8
        n = len(obj) + obj.count("\t") * max(size, 0)
    elif name == "replace" and len(args) >= 2 and type(args[0]) is str and type(args[1]) is str:
        n = len(obj) + (obj.count(args[0]) if args[0] else len(obj) + 1) * len(args[1])
    elif name == "join" and args and isinstance(args[0], (list, tuple)):
        items = args[0]
        budget.check_length(len(items), at)
        n = sum(len(x) if type(x) is str else 0 for x in items) + len(obj) * len(items)
    elif name in ("extend", "update", "union") and args and \
            isinstance(args[0], (list, tuple, dict, set, str, range)):
        n = len(obj) + len(args[0])
    elif name in ("append", "insert", "add"):
        n = len(obj) + 1
    if n is not None:
        budget.check_length(n, at, "a string" if type(obj) is str else f"a {type(obj).__name__}")
        budget.charge(max(n - len(obj), 0) if type(obj) is not str else n, at)  # what is new


def sort_list(interp, items: list, kwargs: dict, at: Where) -> None:
    """list.sort(key=..., reverse=...), with a pasted key function run by the interpreter."""
    key = kwargs.get("key")
    reverse = interp.truth(kwargs.get("reverse", False), at)
    if isinstance(reverse, Unknown) or isinstance(key, Unknown):
        return None
    items[:] = interp.sorted_values(items, key, bool(reverse), at)
    return None


# -- text ---------------------------------------------------------------------------------------
def describe(value) -> str:
    """A short name for any value, for messages."""
    if isinstance(value, Unknown):
        return f"an unknown value ({value.reason})"
    if isinstance(value, Foreign):
        return value.describe()
    if isinstance(value, Instance):
        return f"a {value.cls.name} object"
    if isinstance(value, UserClass):
        return f"the class {value.name}"
    if isinstance(value, (UserFunction, BoundMethod)):
        fn = value if isinstance(value, UserFunction) else value.function
        return f"the function {fn.name}"
    return f"a {type(value).__name__}"


def display(value, limit: int, use_repr: bool = False, at: Where | None = None,
            budget=None) -> str:
    """`str(value)` (or `repr`) for the pasted code: our own walk, at most `limit` characters
    and 100 levels deep, so `str()` of a huge or deep list is an error, not a hang."""
    out: list[str] = []
    size = 0
    # a stack of pending work: values to show, or literal text
    stack: list = [(value, use_repr, 0)]
    while stack:
        item = stack.pop()
        if type(item) is str:
            piece = item
        else:
            v, rep, depth = item
            t = type(v)
            if depth > 100:
                raise LimitError("the code shows data nested more than 100 levels deep "
                                 "(the nesting limit)", at)
            if t in (list, tuple, set, frozenset, dict):
                if t is dict:
                    parts = []
                    for k, x in v.items():
                        parts += [(k, True, depth + 1), ": ", (x, True, depth + 1), ", "]
                    open_, close = "{", "}"
                else:
                    parts = []
                    for x in v:
                        parts += [(x, True, depth + 1), ", "]
                    open_, close = {list: ("[", "]"), tuple: ("(", ")")}.get(t, ("{", "}"))
                    if t is tuple and len(v) == 1:
                        parts[-1] = ","
                    if t in (set, frozenset) and not v:
                        open_, close = "set(", ")"
                if parts and parts[-1] == ", ":
                    parts.pop()
                stack.append(close)
                stack.extend(reversed(parts))
                piece = open_
            elif t in PLAIN_TYPES:
                if t is int and v.bit_length() > 13_000:
                    raise LimitError("the code shows an integer of more than 4,000 digits", at)
                piece = repr(v) if rep else str(v)
            elif isinstance(v, Unknown):
                piece = f"<unknown: {v.reason}>"
            elif isinstance(v, Foreign):
                piece = v.describe()
            elif isinstance(v, Instance):
                piece = f"<{v.cls.name} object>"
            elif isinstance(v, UserClass):
                piece = f"<class '{v.name}'>"
            elif type(v).__name__ == "ExcInstance":  # str(e) of a caught exception
                if len(v.args) == 1:
                    stack.append((v.args[0], rep, depth + 1))
                    piece = ""
                else:
                    stack.append((v.args, True, depth + 1))
                    piece = ""
            else:
                piece = f"<{describe(v)}>"
        size += len(piece)
        if budget is not None and len(out) % 1024 == 1023:
            budget.charge(1024 * 8, at)  # one step per piece: showing a big list is work
        if size > limit:
            raise LimitError(f"the code builds a string of more than {limit:,} characters "
                             f"(the container length limit)", at)
        out.append(piece)
    return "".join(out)


# [[fill]align][sign][z][#][0][width][grouping][.precision][type]
_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<prec>\d+))?[a-zA-Z%]?\Z",
                   re.S)


def format_value(interp, value, spec: str, conversion: str, at: Where) -> Any:
    """`format(value, spec)` after `!r`/`!s`/`!a`, with width and precision bounded."""
    if isinstance(value, Unknown):
        return value
    limit = interp.limits.container_length
    if conversion in ("r", "a") or (not spec and type(value) is not str):
        text = display(value, limit, conversion in ("r", "a"), at, interp.budget)
        value = ascii(text)[1:-1] if conversion == "a" else text
    elif conversion == "s" or type(value) not in ATOMS:
        value = display(value, limit, False, at, interp.budget)
    if not spec:
        return value if type(value) is str else display(value, limit, False, at, interp.budget)
    m = _SPEC.match(spec)
    if m is None:
        raise CodeError(f"invalid format specifier '{spec}'", at, "ValueError")
    for group in ("width", "prec"):
        digits = m.group(group)
        if digits and (len(digits) > 7 or int(digits) > limit):
            raise LimitError(f"the code formats a value {digits[:12]} characters wide, more than "
                             f"{limit:,} (the container length limit)", at)
    try:
        return format(value, spec)
    except (TypeError, ValueError, OverflowError) as e:
        raise CodeError(f"{type(e).__name__}: {e}", at, type(e).__name__) from None


def format_string(interp, fmt: str, args: list, kwargs: dict, at: Where) -> Any:
    """str.format with our own field lookup: `{0.attr}` and `{0[key]}` go through the
    interpreter's get_attr/get_item (so `{0.__class__}` is refused like `x.__class__`)."""
    out: list[str] = []
    auto = 0
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as e:
        raise CodeError(f"ValueError: {e}", at, "ValueError") from None
    interp.budget.charge(len(fields) * 8, at)  # a step per field
    for literal, field, spec, conversion in fields:
        out.append(literal)
        if field is None:
            continue
        first, rest = _split_field(field)
        if first == "":
            first, auto = auto, auto + 1
        elif first.isdigit():
            first = int(first)
        try:
            value = args[first] if type(first) is int else kwargs[first]
        except (IndexError, KeyError):
            raise CodeError(f"format field {{{field}}} has no argument", at, "IndexError") from None
        for is_attr, key in rest:
            value = interp.get_attr(value, key, at) if is_attr else interp.get_item(value, key, at)
        if spec and "{" in spec:
            spec = format_string(interp, spec, args, kwargs, at)
            if isinstance(spec, Unknown):
                return spec
        piece = format_value(interp, value, spec or "", conversion or "", at)
        if isinstance(piece, Unknown):
            return piece
        out.append(piece)
        interp.budget.check_length(sum(map(len, out)), at, "a string")
    return "".join(out)


_FIELD_PART = re.compile(r"\.([^.\[]+)|\[([^\]]*)\]")


def _split_field(field: str):
    m = re.match(r"[^.\[]*", field)
    first, rest, pos = m.group(0), [], m.end()
    while pos < len(field):
        part = _FIELD_PART.match(field, pos)
        if part is None:
            raise CodeError(f"invalid format field '{field}'", None, "ValueError")
        if part.group(1) is not None:
            rest.append((True, part.group(1)))
        else:
            key = part.group(2)
            rest.append((False, int(key) if key.isdigit() else key))
        pos = part.end()
    return first, rest
