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

from ...errors import SpecError, Where
from .builtins import Builtin, ExcClass, ExcInstance, ListIterator, SuperProxy
from .limits import CodeError, LimitError
from .plain import _NESTED, ATOMS, PLAIN_TYPES, check_data, check_key, describe, display, plain_attr
from .values import MISSING, BoundMethod, Foreign, Instance, Unknown, UserClass, UserFunction

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
            budget.check_length(len(a) + len(b), at, f"a {ta.__name__}")
            budget.charge(len(a) + len(b), at)
        elif op == "%" and ta is str:
            return self._percent_format(a, b, at)
        try:
            result = BINARY[op](a, b)
        except (ArithmeticError, TypeError, ValueError) as e:
            raise _python_error(e, at) from None
        except RecursionError:
            raise LimitError("the code uses data nested too deeply (the nesting limit)", at) from None
        budget.check_value(result, at)
        return result

    def _percent_format(self, fmt: str, args: Any, at: Where) -> Any:
        """`'%5.2f' % x`: widths bounded, and containers shown with our bounded display."""
        limit = self.limits.container_length
        for m in _PERCENT.finditer(fmt):
            for digits in m.groups():
                if digits == "*":
                    raise CodeError("'%*' widths are not supported in pasted code", at, "ValueError")
                if digits and (len(digits) > 7 or int(digits) > limit):
                    raise LimitError(f"the code formats a value {digits[:12]} characters wide "
                                     "(the container length limit)", at)

        def show(v):
            if isinstance(v, Unknown):
                raise _Unknown(v)
            return v if type(v) in ATOMS else display(v, limit, False, at)
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
                check_data(a, at)
                check_data(b, at)
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
                check_data(item, at)
                check_data(container, at)
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

    # -- iteration ----------------------------------------------------------------------------------
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
                what = f"KeyError: {display(key, 200, True) if type(key) in PLAIN_TYPES else describe(key)}" \
                    if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
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

    def _instance_attr(self, inst: Instance, name: str, at: Where) -> Any:
        cls_value = self.class_attr(inst.cls, name, inst, properties=False)
        if isinstance(cls_value, UserFunction) and cls_value.kind == "property":
            return self.call(cls_value, [inst], {}, at)
        if name in inst.attrs:
            return inst.attrs[name]
        if cls_value is not MISSING:
            return cls_value
        if name == "__class__":
            return inst.cls
        if name == "__dict__":
            return inst.attrs
        base = self.foreign_base(inst.cls)
        if base is not None:
            found = base.instance_attr(self, inst, name, at)
            if found is not MISSING:
                return found
        raise CodeError(f"'{inst.cls.name}' object has no attribute '{name}'", at, "AttributeError")

    def class_attr(self, cls: UserClass, name: str, receiver: Any, properties: bool = True,
                   start_after: Any = None) -> Any:
        """`name` looked up in the pasted classes of `cls`'s MRO, bound to `receiver` (an
        Instance, or None for access on the class itself); MISSING if no pasted class has it."""
        mro = self.mro(cls)
        if start_after is not None:
            mro = mro[next((i for i, c in enumerate(mro) if c is start_after), len(mro)) + 1:]
        for c in mro:
            if type(c) is UserClass and name in c.namespace:
                found = c.namespace[name]
                if type(found) is not UserFunction:
                    return found
                kind = found.kind
                if kind == "staticmethod" or (kind == "property" and not properties):
                    return found
                if kind == "classmethod":
                    return BoundMethod(found, receiver.cls if type(receiver) is Instance else cls)
                if kind == "property":
                    return found if receiver is None else self.call(found, [receiver], {}, None)
                return found if receiver is None else BoundMethod(found, receiver)
        return MISSING

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

    # -- classes ----------------------------------------------------------------------------------
    def mro(self, cls: UserClass) -> list:
        found = self._mro_cache.get(cls)
        if found is None:
            found = self._mro_cache[cls] = cls.mro()
        return found

    def foreign_base(self, cls: UserClass) -> Foreign | None:
        return next((c for c in self.mro(cls) if isinstance(c, Foreign)), None)

    def make_super(self, args: list, at: Where) -> Any:
        if len(args) == 2:
            owner, receiver = args
        else:
            scope = self.scope
            while scope is not None and scope.kind != "function":
                scope = scope.parent
            fn = scope.function if scope is not None else None
            if fn is None or fn.owner is None or scope.first_arg is MISSING:
                raise CodeError("super(): no arguments outside a method", at, "RuntimeError")
            owner, receiver = fn.owner, scope.first_arg
        if isinstance(owner, Unknown) or isinstance(receiver, Unknown):
            return owner if isinstance(owner, Unknown) else receiver
        if type(owner) is not UserClass:
            raise CodeError(f"super() of {describe(owner)}", at, "TypeError")
        return SuperProxy(owner, receiver)

    def _super_attr(self, proxy: SuperProxy, name: str, at: Where) -> Any:
        receiver = proxy.receiver
        cls = receiver.cls if type(receiver) is Instance else receiver
        if type(cls) is not UserClass:
            return Unknown(f"super().{name}", at)
        bound_to = receiver if type(receiver) is Instance else None
        found = self.class_attr(cls, name, bound_to, start_after=proxy.owner)
        if found is not MISSING:
            if bound_to is None and isinstance(found, UserFunction) and found.kind == "classmethod":
                return BoundMethod(found, receiver)
            return found
        mro = self.mro(cls)
        later = mro[next((i for i, c in enumerate(mro) if c is proxy.owner), len(mro)) + 1:]
        base = next((c for c in later if isinstance(c, Foreign)), None)
        if name == "__init__":
            if base is not None and bound_to is not None:
                return Builtin("__init__", lambda interp, args, kwargs, at2:
                               base.init_instance(interp, bound_to, args, kwargs, at2))
            if bound_to is not None and any(isinstance(c, ExcClass) for c in later):
                return Builtin("__init__", lambda interp, args, kwargs, at2:
                               bound_to.attrs.__setitem__("args", tuple(args)))
            return Builtin("__init__", lambda interp, args, kwargs, at2: None)
        if base is not None and bound_to is not None:
            found = base.instance_attr(self, bound_to, name, at)
            if found is not MISSING:
                return found
        if base is not None:
            return base.get_attr(self, name, at)
        raise CodeError(f"'super' object has no attribute '{name}'", at, "AttributeError")

    def is_instance(self, x: Any, t: Any, at: Where) -> Any:
        if type(t) is tuple:
            return self._any_of([self.is_instance(x, c, at) for c in t])
        if isinstance(x, Unknown):
            return x
        if isinstance(t, Unknown):
            return t
        if type(t) is Builtin and t.pytype is not None:
            return t.pytype is object or (type(x) in PLAIN_TYPES and isinstance(x, t.pytype))
        if type(t) is UserClass:
            return type(x) is Instance and t in self.mro(x.cls)
        if type(t) is ExcClass:
            if type(x) is ExcInstance:
                return t.name in x.cls.chain()
            return type(x) is Instance and any(type(c) is ExcClass and t.name in c.chain()
                                               for c in self.mro(x.cls))
        if isinstance(t, Foreign):
            if type(x) is Instance and t in self.mro(x.cls):
                return True
            return t.instance_check(self, x)
        raise CodeError(f"isinstance() arg 2 must be a class, not {describe(t)}", at, "TypeError")

    def is_subclass(self, c: Any, t: Any, at: Where) -> Any:
        if type(t) is tuple:
            return self._any_of([self.is_subclass(c, x, at) for x in t])
        if isinstance(c, Unknown) or isinstance(t, Unknown):
            return c if isinstance(c, Unknown) else t
        if type(c) is UserClass:
            mro = self.mro(c)
            if t in mro or (type(t) is Builtin and t.pytype is object):
                return True
            if type(t) is ExcClass:
                return any(type(x) is ExcClass and t.name in x.chain() for x in mro)
            return False
        if type(c) is ExcClass and type(t) is ExcClass:
            return t.name in c.chain()
        if type(c) is Builtin and type(t) is Builtin and c.pytype and t.pytype:
            return issubclass(c.pytype, t.pytype)
        return Unknown(f"issubclass({describe(c)}, {describe(t)})", at)

    @staticmethod
    def _any_of(results: list) -> Any:
        if any(r is True for r in results):
            return True
        return next((r for r in results if isinstance(r, Unknown)), False)

    def sorted_values(self, items: list, key: Any, reverse: bool, at: Where) -> Any:
        self.budget.charge(len(items) * 8, at)  # one step per item
        keys = items if key is None else [self.call(key, [x], {}, at) for x in items]
        for k in keys:
            if isinstance(k, Unknown):
                return k
            if type(k) not in PLAIN_TYPES:
                return Unknown(f"the order of {describe(k)}", at)
        if any(type(k) in _NESTED for k in keys):
            check_data(keys, at)
        try:
            order = sorted(range(len(items)), key=keys.__getitem__, reverse=reverse)
        except TypeError as e:
            raise _python_error(e, at) from None
        except RecursionError:
            raise LimitError("the code sorts data nested too deeply", at) from None
        return [items[i] for i in order]

    def exception_matches(self, error: SpecError, handler_type: Any) -> bool:
        """Whether `except handler_type:` catches `error`. Errors raised by framework objects,
        and handlers the interpreter cannot judge, match (the first handler runs)."""
        if type(handler_type) is tuple:
            return any(self.exception_matches(error, t) for t in handler_type)
        if not isinstance(error, CodeError):
            return True
        raised = error.exc_value
        if type(handler_type) is ExcClass:
            if type(raised) is Instance:
                return any(type(c) is ExcClass and handler_type.name in c.chain()
                           for c in self.mro(raised.cls))
            cls = raised.cls if type(raised) is ExcInstance else None
            chain = cls.chain() if cls else _builtin_chain(error.exc_name)
            return handler_type.name in chain
        if type(handler_type) is UserClass:
            return type(raised) is Instance and handler_type in self.mro(raised.cls)
        return True


def _builtin_chain(name: str) -> list[str]:
    from .builtins import EXCEPTIONS
    cls = EXCEPTIONS.get(name)
    return cls.chain() if cls else [name, "Exception", "BaseException"]


def _range_len(r: range) -> int:
    try:
        return len(r)
    except OverflowError:
        return 1 << 62


class _Unknown(Exception):
    def __init__(self, value):
        self.value = value
