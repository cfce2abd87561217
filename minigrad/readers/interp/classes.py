"""Pasted classes and instances: attribute lookup through the MRO, super(), isinstance,
and which `except` clause catches an error.

An Instance looks up a name in its own attributes, then in the pasted classes of its MRO
(functions become bound methods; staticmethod, classmethod and property are honoured), then
in its framework base (`Foreign.instance_attr`). Properties are data descriptors: they win
over instance attributes, as in Python.
"""

from __future__ import annotations

from typing import Any

from minigrad.errors import SpecError, Where, did_you_mean
from minigrad.readers.interp.builtins import EXCEPTIONS, Builtin, ExcClass, ExcInstance, SuperProxy
from minigrad.readers.interp.limits import CodeError, LimitError

MAX_CLASSES = 500  # classes in one MRO
from minigrad.readers.interp.plain import PLAIN_TYPES, describe
from minigrad.readers.interp.values import MISSING, BoundMethod, Foreign, Instance, Unknown, UserClass, UserFunction


class ClassOps:
    """Mixed into the Interpreter."""

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
        known = list(inst.attrs) + [n for c in self.mro(inst.cls) if isinstance(c, UserClass)
                                    for n in c.namespace]
        raise CodeError(f"'{inst.cls.name}' object has no attribute '{name}'", at, "AttributeError",
                        hint=did_you_mean(name, [n for n in known if not n.startswith("__")]))

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

    def mro(self, cls: UserClass) -> list:
        """UserClass.mro(), built from the bases' cached MROs (each class's is made when it is
        defined, so a long chain of subclasses costs neither deep recursion nor quadratic time)."""
        found = self._mro_cache.get(cls)
        if found is None:
            found, seen = [cls], {id(cls)}
            for base in cls.bases:
                for c in self.mro(base) if type(base) is UserClass else (base,):
                    if id(c) not in seen:
                        seen.add(id(c))
                        found.append(c)
            if len(found) > MAX_CLASSES:
                raise LimitError(f"the class {cls.name} has more than {MAX_CLASSES} base classes "
                                 "(the nesting limit)", cls.where)
            self._mro_cache[cls] = found
        return found

    def class_lookup(self, cls: UserClass, name: str) -> Any:
        """UserClass.lookup through the cached MRO: the raw value in the first pasted class."""
        for c in self.mro(cls):
            if type(c) is UserClass and name in c.namespace:
                return c.namespace[name]
        return MISSING

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
    cls = EXCEPTIONS.get(name)
    return cls.chain() if cls else [name, "Exception", "BaseException"]
