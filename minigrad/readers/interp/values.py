"""The values the interpreter works with, and the protocol framework objects follow.

Plain data is real Python data built only from literals and arithmetic: int, float, complex,
str, bytes, bool, None, and tuple / list / dict / set / range of those. Everything else the
pasted code can reach is one of the classes below, so no object of the host interpreter (a
module, a type, a function of ours) ever becomes reachable from the pasted code.

- `Unknown`: a value the interpreter cannot know (data read from files, `torch.device(...)`,
  an import it does not know). Any operation on an Unknown gives an Unknown, so statements that
  only touch unknowns quietly do nothing. It remembers where it came from, so when the model
  needs it, the error can name it and suggest `--set NAME=VALUE`.
- `Foreign`: an object that the framework tables implement (torch.nn.Conv2d, a symbolic
  tensor, keras.layers…). The interpreter asks it, through the methods below, for attributes,
  calls, operators, items, iteration and truth. Every method has a default meaning "unknown".
- `UserFunction`, `UserClass`, `Instance`, `BoundMethod`: functions and classes defined by the
  pasted code, run by the interpreter itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from minigrad.errors import Where

if TYPE_CHECKING:  # pragma: no cover
    import ast

    from minigrad.readers.interp.interpreter import Interpreter


class Unknown:
    """A value that cannot be known without running code or reading data.

    reason: what it is, as a learner would say it ("the result of torch.device(...)");
    where: the place in the source it first appeared; name: the module-level variable it was
    bound to, if any (the name `--set` fixes).
    """

    __slots__ = ("reason", "where", "name")

    def __init__(self, reason: str, where: Where | None = None, name: str | None = None):
        self.reason = reason
        self.where = where
        self.name = name

    def __repr__(self) -> str:
        return f"Unknown({self.reason!r})"


class Foreign:
    """Base of objects implemented by the framework tables. Override what the object supports.

    `at` is the place of the operation in the source, for errors (`SpecError(message, at)`).
    Returning NotImplemented from `binary`/`compare` lets the other operand try; if neither
    does, the result is Unknown.
    """

    def describe(self) -> str:
        """How messages name this object, e.g. 'nn.Conv2d(3, 6, 5)' or 'a 3×32×32 tensor'."""
        return type(self).__name__

    def get_attr(self, interp: Interpreter, name: str, at: Where) -> Any:
        return Unknown(f"{self.describe()}.{name}", at)

    def set_attr(self, interp: Interpreter, name: str, value: Any, at: Where) -> None:
        return None

    def call(self, interp: Interpreter, args: list, kwargs: dict, at: Where) -> Any:
        return Unknown(f"the result of {self.describe()}(...)", at)

    def binary(self, interp: Interpreter, op: str, other: Any, right: bool, at: Where) -> Any:
        """`self op other` (right=False) or `other op self` (right=True); op is '+', '-', '*',
        '/', '//', '%', '**', '@', '<<', '>>', '&', '|', '^'. In-place forms arrive as the plain op."""
        return NotImplemented

    def unary(self, interp: Interpreter, op: str, at: Where) -> Any:
        """op is '-', '+', '~'."""
        return Unknown(f"{op}{self.describe()}", at)

    def compare(self, interp: Interpreter, op: str, other: Any, right: bool, at: Where) -> Any:
        """op is '==', '!=', '<', '<=', '>', '>='. `is`, `is not` use identity in the interpreter."""
        return NotImplemented

    def get_item(self, interp: Interpreter, key: Any, at: Where) -> Any:
        return Unknown(f"{self.describe()}[...]", at)

    def set_item(self, interp: Interpreter, key: Any, value: Any, at: Where) -> None:
        return None

    def iterate(self, interp: Interpreter, at: Where) -> Any:
        """A list of items, or an Unknown (a `for` loop over it is then skipped)."""
        return Unknown(f"the items of {self.describe()}", at)

    def length(self, interp: Interpreter, at: Where) -> Any:
        return Unknown(f"len({self.describe()})", at)

    def truth(self, interp: Interpreter, at: Where) -> Any:
        """True/False, or an Unknown (an `if` on it then runs neither branch)."""
        return True

    def type_of(self, interp: Interpreter, at: Where) -> Any:
        """type(self): the framework class it is an instance of, if the tables know it."""
        return Unknown(f"type({self.describe()})", at)

    def contains(self, interp: Interpreter, item: Any, at: Where) -> Any:
        return Unknown(f"... in {self.describe()}", at)

    # -- when this object is a class that pasted code subclasses or tests against ---------------
    def is_class(self) -> bool:
        """True for framework classes (nn.Module, nn.Conv2d, keras.Model…)."""
        return False

    def instance_check(self, interp: Interpreter, value: Any) -> Any:
        """isinstance(value, self): True/False or Unknown."""
        return Unknown(f"isinstance(..., {self.describe()})")

    def init_instance(self, interp: Interpreter, instance: Instance, args: list, kwargs: dict,
                      at: Where) -> None:
        """super().__init__(...) of a pasted class that derives from this framework class."""
        return None

    def instance_attr(self, interp: Interpreter, instance: Instance, name: str, at: Where) -> Any:
        """An attribute the pasted class does not define itself (self.parameters, self.training…);
        MISSING when this base has none either (then it is an AttributeError in the code)."""
        return MISSING

    def instance_set_attr(self, interp: Interpreter, instance: Instance, name: str, value: Any,
                          at: Where) -> None:
        """Told after `self.NAME = value` is stored on an instance whose class derives from this
        one (so modules can register children in order)."""
        return None

    def instance_call(self, interp: Interpreter, instance: Instance, args: list, kwargs: dict,
                      at: Where) -> Any:
        """Calling an instance whose class defines no __call__ (nn.Module runs forward())."""
        return Unknown(f"the result of calling {instance.cls.name}", at)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(eq=False)
class UserFunction:
    """A `def` or `lambda` of the pasted code, with the scope it closes over."""

    name: str
    node: ast.FunctionDef | ast.Lambda
    closure: Any            # the defining scope (the interpreter's own scope object)
    defaults: list          # evaluated defaults of positional parameters
    kw_defaults: dict       # evaluated defaults of keyword-only parameters
    owner: UserClass | None = None  # the class a method is defined in (for zero-argument super())
    kind: str = "function"  # "function", "staticmethod", "classmethod" or "property"


@dataclass(eq=False)
class UserClass:
    """A `class` of the pasted code: its bases (UserClass or Foreign classes) and namespace."""

    name: str
    bases: tuple
    namespace: dict
    where: Where | None = None

    def mro(self) -> list:
        """Depth-first, left to right, each class once (enough for the code models use)."""
        order: list = [self]  # (self is not recursed into: that would never end)
        for base in self.bases:
            chain = base.mro() if isinstance(base, UserClass) else [base]
            order += [c for c in chain if all(c is not seen for seen in order)]
        return order

    def foreign_base(self) -> Foreign | None:
        """The first framework class in the MRO (nn.Module, keras.Model…), if any."""
        return next((c for c in self.mro() if isinstance(c, Foreign)), None)

    def lookup(self, name: str) -> Any:
        for cls in self.mro():
            if isinstance(cls, UserClass) and name in cls.namespace:
                return cls.namespace[name]
        return MISSING


@dataclass(eq=False)
class Instance:
    """An object of a pasted class. `attrs` keeps insertion order (modules register in order).
    `extra` is free for the framework tables (a module's children, its traced name…)."""

    cls: UserClass
    attrs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass(eq=False)
class BoundMethod:
    """A pasted function bound to an instance (or, for a classmethod, to its class)."""

    function: UserFunction
    receiver: Any
