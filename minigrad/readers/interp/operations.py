"""Operations on values: operators, truth, iteration, items and attributes.

Every operation follows the same order: plain data with plain data runs the real Python
operation, bounded before (sizes are estimated) and after; an Unknown operand gives that same
Unknown (the first cause is kept); a framework object (`Foreign`) is asked through its
protocol; a pasted object (`Instance`) uses its pasted dunder methods or its framework base.
Errors Python would raise on plain data become one-line `CodeError`s at the operator's place.
"""

from __future__ import annotations

import operator
import re
from typing import Any

from minigrad.errors import Where
from minigrad.readers.interp.builtins import Builtin, ExcClass, ExcInstance, ListIterator, SuperProxy
from minigrad.readers.interp.limits import CodeError, LimitError
from minigrad.readers.interp.plain import _NESTED, ATOMS, PLAIN_TYPES, check_data, check_key, describe, display, plain_attr
from minigrad.readers.interp.values import MISSING, BoundMethod, Foreign, Instance, Unknown, UserClass, UserFunction

BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "@": operator.matmul,
          "<<": operator.lshift, ">>": operator.rshift, "&": operator.and_, "|": operator.or_,
          "^": operator.xor}
DUNDER = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "//": "floordiv", "%": "mod",
          "**": "pow", "@": "matmul", "<<": "lshift", ">>": "rshift", "&": "and", "|": "or",
          "^": "xor"}
COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
REFLECTED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
SEQUENCES = (str, bytes, list, tuple)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")


def _python_error(e: Exception, at: Where, what: str = "") -> CodeError:
    name = type(e).__name__
    if isinstance(e, ZeroDivisionError):
        text = "division by zero"
    elif isinstance(e, OverflowError):
        text = "OverflowError: the result is too large for a float"
    else:
        text = f"{name}: {e}"
    return CodeError(f"{what}{text}", at, name)


class Operations:
    """Mixed into the Interpreter: everything it does to values (not to syntax)."""

    # -- operators --------------------------------------------------------------------------------
    def binary(self, op: str, a: Any, b: Any, at: Where) -> Any:
        ta, tb = type(a), type(b)
        if ta in PLAIN_TYPES and tb in PLAIN_TYPES:
            return self._plain_binary(op, a, b, at)
        if ta is Unknown:
            return a
        if tb is Unknown:
            return b
        if isinstance(a, Foreign):
            result = a.binary(self, op, b, False, at)
            if result is not NotImplemented:
                return result
        if isinstance(b, Foreign):
            result = b.binary(self, op, a, True, at)
            if result is not NotImplemented:
                return result
        for obj, other, prefix in ((a, b, "__"), (b, a, "__r")):
            if isinstance(obj, Instance):
                method = self.class_attr(obj.cls, f"{prefix}{DUNDER[op]}__", obj)
                if method is not MISSING:
                    return self.call(method, [other], {}, at)
        if isinstance(a, Foreign) or isinstance(b, Foreign):
            return Unknown(f"{describe(a)} {op} {describe(b)}", at)
        raise CodeError(f"unsupported operand types for {op}: {describe(a)} and {describe(b)}",
                        at, "TypeError")

    def _plain_binary(self, op: str, a: Any, b: Any, at: Where) -> Any:
        budget = self.budget
        ta, tb = type(a), type(b)
        ints = ta in (int, bool) and tb in (int, bool)
        # estimate the size of the result before computing it
        # (the lower bounds of the result's bits: the exact check follows the computation,
        # which is cheap once the lower bound is within the limit)
        if op == "**" and ints and b > 0 and abs(a) > 1:
            budget.check_bits((a.bit_length() - 1) * b + 1 if b < 1 << 40 else 1 << 40, at)
        elif op == "*":
            if ints and a and b:
                budget.check_bits(a.bit_length() + b.bit_length() - 1, at)
            elif ta in SEQUENCES and tb in (int, bool) or tb in SEQUENCES and ta in (int, bool):
                seq, n = (a, b) if ta in SEQUENCES else (b, a)
                size = len(seq) * max(n, 0) if n < 1 << 40 else 1 << 40
                budget.check_length(size, at, "a string" if type(seq) in (str, bytes) else
                                    f"a {type(seq).__name__}")
                budget.charge(size, at)
        elif op == "<<" and ints and b > 0 and a:
            budget.check_bits(a.bit_length() + b if b < 1 << 40 else 1 << 40, at)
        elif op == "+" and ta is tb and ta in SEQUENCES:
            budget.check_length(len(a) + len(b), at, "a string" if ta in (str, bytes) else
                                f"a {ta.__name__}")
            budget.charge(len(a) + len(b), at)
        elif op == "%" and ta is str:
            return self._percent_format(a, b, at)
        try:
            result = BINARY[op](a, b)
        except (ArithmeticError, TypeError, ValueError) as e:
            raise _python_error(e, at) from None
        except RecursionError:
            raise LimitError("the code uses data nested too deeply (the nesting limit)",
                             at) from None
        budget.check_value(result, at)
        return result

    def _percent_format(self, fmt: str, args: Any, at: Where) -> Any:
        """`'%5.2f' % x`: widths bounded, and containers shown with our bounded display."""
        limit = self.limits.container_length
        for m in _PERCENT.finditer(fmt):
            for digits in m.groups():
                if digits == "*":
                    raise CodeError("'%*' widths are not supported in pasted code", at,
                                    "ValueError")
                if digits and (len(digits) > 7 or int(digits) > limit):
                    raise LimitError(f"the code formats a value {digits[:12]} characters wide "
                                     "(the container length limit)", at)

        def show(v):
            if isinstance(v, Unknown):
                raise _Unknown(v)
            return v if type(v) in ATOMS else display(v, limit, False, at, self.budget)
        if type(args) in (tuple, dict):
            self.budget.charge(len(args) * 8, at)  # a step per argument
        try:
            if type(args) is tuple:
                args = tuple(show(v) for v in args)
            elif type(args) is dict:
                args = {k: show(v) for k, v in args.items()}
            else:
                args = show(args)
        except _Unknown as u:
            return u.value
        try:
            result = fmt % args
        except (TypeError, ValueError, OverflowError, KeyError) as e:
            raise _python_error(e, at) from None
        self.budget.check_value(result, at)
        return result

    def unary(self, op: str, x: Any, at: Where) -> Any:
        t = type(x)
        if t in (int, float, complex, bool):
            try:
                return {"-": operator.neg, "+": operator.pos, "~": operator.invert}[op](x)
            except TypeError as e:
                raise _python_error(e, at) from None
        if t is Unknown:
            return x
        if isinstance(x, Foreign):
            return x.unary(self, op, at)
        if isinstance(x, Instance):
            name = {"-": "__neg__", "+": "__pos__", "~": "__invert__"}[op]
            method = self.class_attr(x.cls, name, x)
            if method is not MISSING:
                return self.call(method, [], {}, at)
        raise CodeError(f"bad operand type for unary {op}: {describe(x)}", at, "TypeError")

    def compare(self, op: str, a: Any, b: Any, at: Where) -> Any:
        if op in ("is", "is not"):
            if a is not b and (type(a) is Unknown or type(b) is Unknown):
                return a if type(a) is Unknown else b  # `unknown is None` is not known either
            return (a is b) == (op == "is")
        if op in ("in", "not in"):
            found = self.contains(b, a, at)
            if isinstance(found, Unknown) or op == "in":
                return found
            return not found
        ta, tb = type(a), type(b)
        if ta in PLAIN_TYPES and tb in PLAIN_TYPES:
            if ta in _NESTED and tb in _NESTED:
                check_data(a, at, self.budget)
                check_data(b, at, self.budget)
            if ta in SEQUENCES and tb in SEQUENCES:
                self.budget.charge(min(len(a), len(b)), at)
            try:
                return COMPARE[op](a, b)
            except TypeError as e:
                raise _python_error(e, at) from None
            except RecursionError:
                raise LimitError("the code compares data nested too deeply (the nesting limit)",
                                 at) from None
        if ta is Unknown:
            return a
        if tb is Unknown:
            return b
        if isinstance(a, Foreign):
            result = a.compare(self, op, b, False, at)
            if result is not NotImplemented:
                return result
        if isinstance(b, Foreign):
            result = b.compare(self, REFLECTED[op], a, True, at)
            if result is not NotImplemented:
                return result
        if isinstance(a, Instance):
            method = self.class_attr(a.cls, {"==": "__eq__", "!=": "__ne__", "<": "__lt__",
                                             "<=": "__le__", ">": "__gt__", ">=": "__ge__"}[op], a)
            if method is not MISSING:
                return self.call(method, [b], {}, at)
        if op == "==":
            return a is b
        if op == "!=":
            return a is not b
        if isinstance(a, Foreign) or isinstance(b, Foreign):
            return Unknown(f"{describe(a)} {op} {describe(b)}", at)
        raise CodeError(f"'{op}' not supported between {describe(a)} and {describe(b)}", at,
                        "TypeError")

    def contains(self, container: Any, item: Any, at: Where) -> Any:
        t = type(container)
        if t in PLAIN_TYPES:
            if isinstance(item, Unknown):
                return item
            if t in (dict, set, frozenset):
                check_key(item, at)
            elif type(item) in _NESTED and t in (list, tuple):
                check_data(item, at, self.budget)
                check_data(container, at, self.budget)
            if t in SEQUENCES:
                self.budget.charge(len(container), at)  # `in` scans: a step per 8 items
            try:
                return item in container
            except TypeError as e:
                raise _python_error(e, at) from None
            except RecursionError:
                raise LimitError("the code compares data nested too deeply", at) from None
        if t is Unknown:
            return container
        if isinstance(container, Foreign):
            return container.contains(self, item, at)
        if isinstance(container, Instance):
            method = self.class_attr(container.cls, "__contains__", container)
            if method is not MISSING:
                return self.call(method, [item], {}, at)
        return Unknown(f"... in {describe(container)}", at)

    def truth(self, value: Any, at: Where) -> Any:
        t = type(value)
        if t is bool:
            return value
        if t in PLAIN_TYPES:
            return bool(value)
        if t is Unknown:
            return value
        if isinstance(value, Foreign):
            return value.truth(self, at)
        if t is Instance:
            for name in ("__bool__", "__len__"):
                method = self.class_attr(value.cls, name, value)
                if method is not MISSING:
                    result = self.call(method, [], {}, at)
                    return result if isinstance(result, Unknown) else self.truth(result, at)
        return True

    def length(self, value: Any, at: Where) -> Any:
        t = type(value)
        if t in PLAIN_TYPES:
            try:
                return len(value)
            except (TypeError, OverflowError) as e:
                raise _python_error(e, at) from None
        if t is Unknown:
            return value
        if isinstance(value, Foreign):
            return value.length(self, at)
        if t is Instance:
            method = self.class_attr(value.cls, "__len__", value)
            if method is not MISSING:
                return self.call(method, [], {}, at)
        return Unknown(f"len({describe(value)})", at)

    # -- iteration --------------------------------------------------------------------------------
    def iterate(self, value: Any, at: Where) -> Any:
        """All items as a list (bounded), or an Unknown."""
        t = type(value)
        if t in (list, tuple, str, bytes, dict, set, frozenset, range):
            n = len(value) if t is not range else _range_len(value)
            self.budget.check_length(n, at)
            self.budget.charge(n, at)
            return list(value)
        items = self.loop_items(value, at)
        return items if isinstance(items, Unknown) else list(items)

    def loop_items(self, value: Any, at: Where) -> Any:
        """What a `for` loop runs over: a Python iterable of items (lazy for plain data, so
        `for i in range(10**9)` trips the loop bound, not memory), or an Unknown."""
        t = type(value)
        if t in (list, tuple, str, bytes, range):
            return value
        if t in (dict, set, frozenset):
            return list(value)
        if t is Unknown:
            return value
        if isinstance(value, Foreign):
            items = value.iterate(self, at)
            if not isinstance(items, Unknown):
                items = list(items)
                self.budget.check_length(len(items), at)
            return items
        if t is ListIterator:
            items, value.pos = value.items[value.pos:], len(value.items)
            return items
        if t is Instance:
            method = self.class_attr(value.cls, "__iter__", value)
            if method is not MISSING:
                return self.iterate(self.call(method, [], {}, at), at)
            return Unknown(f"the items of a {value.cls.name} object", at)
        raise CodeError(f"{describe(value)} is not iterable", at, "TypeError")

    # -- items ------------------------------------------------------------------------------------
    def get_item(self, obj: Any, key: Any, at: Where) -> Any:
        t = type(obj)
        if t in PLAIN_TYPES:
            if isinstance(key, Unknown):
                return key
            if type(key) is slice:
                for part in (key.start, key.stop, key.step):
                    if isinstance(part, Unknown):
                        return part
            elif t is dict:
                check_key(key, at)
            try:
                result = obj[key]
            except (LookupError, TypeError, ValueError) as e:
                if isinstance(e, KeyError):
                    shown = display(key, 200, True) if type(key) in PLAIN_TYPES else describe(key)
                    what = f"KeyError: {shown}"
                else:
                    what = f"{type(e).__name__}: {e}"
                raise CodeError(what, at, type(e).__name__) from None
            except LimitError:
                raise CodeError("KeyError", at, "KeyError") from None
            self.budget.check_value(result, at)
            return result
        if t is Unknown:
            return obj
        if isinstance(obj, Foreign):
            return obj.get_item(self, key, at)
        if t is Instance:
            method = self.class_attr(obj.cls, "__getitem__", obj)
            if method is not MISSING:
                return self.call(method, [key], {}, at)
        return Unknown(f"{describe(obj)}[...]", at)

    def set_item(self, obj: Any, key: Any, value: Any, at: Where) -> None:
        t = type(obj)
        if t in (list, dict):
            if isinstance(key, Unknown):
                return
            if t is dict:
                check_key(key, at)
            elif type(key) is slice:
                value = self.iterate(value, at)
                if isinstance(value, Unknown):
                    return
                self.budget.check_length(len(obj) + len(value), at)
                self.budget.charge(len(obj), at)  # the rest of the list moves
            try:
                obj[key] = value
            except (LookupError, TypeError, ValueError) as e:
                raise _python_error(e, at) from None
            return
        if t is Unknown:
            return
        if isinstance(obj, Foreign):
            obj.set_item(self, key, value, at)
            return
        if t is Instance:
            method = self.class_attr(obj.cls, "__setitem__", obj)
            if method is not MISSING:
                self.call(method, [key, value], {}, at)
            return
        raise CodeError(f"{describe(obj)} does not support item assignment", at, "TypeError")

    def del_item(self, obj: Any, key: Any, at: Where) -> None:
        if type(obj) is list:
            self.budget.charge(len(obj), at)  # the rest of the list moves
        if type(obj) in (list, dict) and not isinstance(key, Unknown):
            if type(obj) is dict:
                check_key(key, at)
            try:
                del obj[key]
            except (LookupError, TypeError) as e:
                raise _python_error(e, at) from None

    # -- attributes -------------------------------------------------------------------------------
    def get_attr(self, value: Any, name: str, at: Where) -> Any:
        t = type(value)
        if t is Instance:
            return self._instance_attr(value, name, at)
        if t is Unknown:
            return value
        if isinstance(value, Foreign):
            return value.get_attr(self, name, at)
        if t in PLAIN_TYPES:
            return plain_attr(value, name, at)
        if t is UserClass:
            if name in ("__name__", "__qualname__"):
                return value.name
            found = self.class_attr(value, name, None)
            if found is not MISSING:
                return found
            base = self.foreign_base(value)
            if base is not None and not name.startswith("__"):
                return base.get_attr(self, name, at)
        elif t is SuperProxy:
            return self._super_attr(value, name, at)
        elif t in (UserFunction, BoundMethod, Builtin, ExcClass):
            if name in ("__name__", "__qualname__"):
                return value.function.name if t is BoundMethod else value.name
            if t is UserFunction and value.kind == "property" and name in ("setter", "getter",
                                                                           "deleter"):
                # @x.setter keeps the getter: the interpreter does not run property setters
                return Builtin(name, lambda interp, args, kwargs, at, fn=value: fn)
            if name == "__doc__":
                return None
        elif t is ExcInstance and name == "args":
            return value.args
        raise CodeError(f"{describe(value)} has no attribute '{name}'", at, "AttributeError")

    def set_attr(self, obj: Any, name: str, value: Any, at: Where) -> None:
        t = type(obj)
        if t is Instance:
            obj.attrs[name] = value
            base = self.foreign_base(obj.cls)
            if base is not None:
                base.instance_set_attr(self, obj, name, value, at)
        elif t is Unknown:
            return
        elif isinstance(obj, Foreign):
            obj.set_attr(self, name, value, at)
        elif t is UserClass:
            obj.namespace[name] = value
        elif t in (UserFunction, SuperProxy):
            return
        else:
            raise CodeError(f"cannot set the attribute '{name}' of {describe(obj)}", at,
                            "AttributeError")

    def del_attr(self, obj: Any, name: str, at: Where) -> None:
        if type(obj) is Instance:
            obj.attrs.pop(name, None)

    def sorted_values(self, items: list, key: Any, reverse: bool, at: Where) -> Any:
        self.budget.charge(len(items) * 8, at)  # one step per item
        keys = items if key is None else [self.call(key, [x], {}, at) for x in items]
        for k in keys:
            if isinstance(k, Unknown):
                return k
            if type(k) not in PLAIN_TYPES:
                return Unknown(f"the order of {describe(k)}", at)
        if any(type(k) in _NESTED for k in keys):
            check_data(keys, at, self.budget)
        try:
            order = sorted(range(len(items)), key=keys.__getitem__, reverse=reverse)
        except TypeError as e:
            raise _python_error(e, at) from None
        except RecursionError:
            raise LimitError("the code sorts data nested too deeply", at) from None
        return [items[i] for i in order]

def _range_len(r: range) -> int:
    try:
        return len(r)
    except OverflowError:
        return 1 << 62


class _Unknown(Exception):
    def __init__(self, value):
        self.value = value
