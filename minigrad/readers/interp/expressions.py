"""Evaluation of expression nodes.

`eval(node)` counts one step and dispatches on the node's type to one `_eval_<Type>` method.
Each method evaluates its children and hands the values to the operations (operations.py), so
this file is about syntax only: displays, comprehensions, calls with `*args`/`**kwargs`,
f-strings, lambdas.
"""

from __future__ import annotations

import ast
from typing import Any

from minigrad.readers.interp.limits import CodeError, LimitError
from minigrad.readers.interp.plain import check_key, format_value
from minigrad.readers.interp.values import Unknown

OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
             ast.Mod: "%", ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
             ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}
COMPARISONS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
               ast.GtE: ">=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
               ast.NotIn: "not in"}
UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}
_CONVERSIONS = {-1: "", 115: "s", 114: "r", 97: "a"}


class Expressions:
    """Mixed into the Interpreter."""

    def eval(self, node: ast.expr) -> Any:
        budget = self.budget
        budget.steps += 1
        if budget.steps >= budget.next_check:
            budget.check(self.where(node))
        method = self._eval_table.get(type(node))
        if method is None:
            raise CodeError(f"{type(node).__name__} expressions are not supported",
                            self.where(node), "SyntaxError")
        return method(self, node)

    # -- atoms ------------------------------------------------------------------------------------
    def _eval_Constant(self, node: ast.Constant) -> Any:
        value = node.value
        if type(value) is int and value.bit_length() > self.limits.int_bits:
            digits = int(value.bit_length() * 0.30103) + 1
            raise LimitError(f"the number literal is too large (about {digits:,} decimal digits, "
                             f"more than {self.limits.int_bits:,} bits: the integer size limit)",
                             self.where(node))
        return value

    def _eval_Name(self, node: ast.Name) -> Any:
        return self.lookup(node.id, node)

    def _eval_NamedExpr(self, node: ast.NamedExpr) -> Any:
        value = self.eval(node.value)
        scope = self.scope
        while scope.kind == "comp":  # `:=` in a comprehension binds in the enclosing scope
            scope = scope.parent
        saved, self.scope = self.scope, scope
        try:
            self.store_name(node.target.id, value, node)
        finally:
            self.scope = saved
        return value

    # -- operators --------------------------------------------------------------------------------
    def _eval_BinOp(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        return self.binary(OPERATORS[type(node.op)], left, right, self.where(node))

    def _eval_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if type(node.op) is ast.Not:
            truth = self.truth(value, self.where(node))
            return truth if isinstance(truth, Unknown) else not truth
        return self.unary(UNARY[type(node.op)], value, self.where(node))

    def _eval_BoolOp(self, node: ast.BoolOp) -> Any:
        is_and = type(node.op) is ast.And
        value = None
        for child in node.values:
            value = self.eval(child)
            truth = self.truth(value, self.where(child))
            if isinstance(truth, Unknown):
                return truth
            if truth != is_and:  # `and` stops at the first false, `or` at the first true
                return value
        return value

    def _eval_Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        result: Any = True
        for op, child in zip(node.ops, node.comparators):
            right = self.eval(child)
            result = self.compare(COMPARISONS[type(op)], left, right, self.where(node))
            truth = self.truth(result, self.where(node))
            if isinstance(truth, Unknown) or not truth:
                return result
            left = right
        return result

    def _eval_IfExp(self, node: ast.IfExp) -> Any:
        truth = self.truth(self.eval(node.test), self.where(node.test))
        if isinstance(truth, Unknown):
            return truth
        return self.eval(node.body if truth else node.orelse)

    # -- access -----------------------------------------------------------------------------------
    def _eval_Attribute(self, node: ast.Attribute) -> Any:
        return self.get_attr(self.eval(node.value), node.attr, self.where(node))

    def _eval_Subscript(self, node: ast.Subscript) -> Any:
        obj = self.eval(node.value)
        key = self.eval(node.slice)
        return self.get_item(obj, key, self.where(node))

    def _eval_Slice(self, node: ast.Slice) -> Any:
        parts = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def _eval_Index(self, node) -> Any:  # Python < 3.9 trees
        return self.eval(node.value)

    # -- calls ------------------------------------------------------------------------------------
    def _eval_Call(self, node: ast.Call) -> Any:
        fn = self.eval(node.func)
        args, kwargs, unknown = self.eval_arguments(node.args, node.keywords)
        if unknown is not None:
            return fn if isinstance(fn, Unknown) else unknown
        return self.call(fn, args, kwargs, self.where(node))

    def eval_arguments(self, arg_nodes, keyword_nodes):
        """Positional and keyword values; the third result is an Unknown when `*x` or `**x`
        spreads an unknown (the call cannot be made then)."""
        args: list = []
        unknown = None
        for a in arg_nodes:
            if type(a) is ast.Starred:
                items = self.iterate(self.eval(a.value), self.where(a))
                if isinstance(items, Unknown):
                    unknown = unknown or items
                else:
                    args.extend(items)
            else:
                args.append(self.eval(a))
        kwargs: dict = {}
        for k in keyword_nodes:
            value = self.eval(k.value)
            if k.arg is not None:
                kwargs[k.arg] = value
            elif type(value) is dict:
                self.budget.charge(len(value) * 8, self.where(k))  # a step per keyword
                for name, v in value.items():
                    if type(name) is not str:
                        raise CodeError("keywords must be strings", self.where(k), "TypeError")
                    kwargs[name] = v
            else:
                unknown = unknown or (value if isinstance(value, Unknown) else
                                      Unknown("the keywords of a **argument", self.where(k)))
        self.budget.check_length(len(args) + len(kwargs), self.where(arg_nodes[0]) if arg_nodes
                                 else None, "an argument list")
        return args, kwargs, unknown

    def _eval_Lambda(self, node: ast.Lambda) -> Any:
        return self.make_function("<lambda>", node)

    # -- displays ---------------------------------------------------------------------------------
    def _elements(self, nodes) -> Any:
        out: list = []
        for n in nodes:
            if type(n) is ast.Starred:
                items = self.iterate(self.eval(n.value), self.where(n))
                if isinstance(items, Unknown):
                    return items
                out.extend(items)
                self.budget.check_length(len(out), self.where(n))
            else:
                out.append(self.eval(n))
        return out

    def _eval_List(self, node: ast.List) -> Any:
        return self._elements(node.elts)

    def _eval_Tuple(self, node: ast.Tuple) -> Any:
        items = self._elements(node.elts)
        return items if isinstance(items, Unknown) else tuple(items)

    def _eval_Set(self, node: ast.Set) -> Any:
        items = self._elements(node.elts)
        if isinstance(items, Unknown):
            return items
        for x in items:
            check_key(x, self.where(node))
        return self._hashing(set, items, node)

    def _hashing(self, build, items, node) -> Any:
        try:
            return build(items)
        except TypeError as e:
            raise CodeError(f"TypeError: {e}", self.where(node), "TypeError") from None

    def _eval_Dict(self, node: ast.Dict) -> Any:
        out: dict = {}
        for k, v in zip(node.keys, node.values):
            if k is None:  # {**other}
                other = self.eval(v)
                if isinstance(other, Unknown):
                    return other
                if type(other) is not dict:
                    raise CodeError("a ** item in a dict display must be a dict", self.where(v),
                                    "TypeError")
                self.budget.charge(len(other) * 8, self.where(v))  # a step per item copied
                out.update(other)
            else:
                key = self.eval(k)
                value = self.eval(v)
                check_key(key, self.where(k))
                self._hashing(lambda kv: out.__setitem__(*kv), (key, value), k)
            self.budget.check_length(len(out), self.where(node), "a dict")
        return out

    # -- comprehensions ---------------------------------------------------------------------------
    def _comprehension(self, node, emit) -> Any:
        """Runs the generators of a comprehension in its own scope; `emit` is called for each
        innermost iteration. The first iterable is evaluated in the enclosing scope."""
        first = self.eval(node.generators[0].iter)
        parent = self.scope if self.scope.kind != "class" else self.scope.parent
        scope = self.new_scope("comp", parent)
        scope.locals = self.comprehension_locals(node)
        saved, self.scope = self.scope, scope
        count = [0]
        try:
            return self._generate(node, 0, first, emit, count)
        finally:
            self.scope = saved

    def _generate(self, node, index: int, iterable, emit, count) -> Any:
        gen = node.generators[index]
        at = self.where(gen.iter)
        items = self.loop_items(iterable, at)
        if isinstance(items, Unknown):
            return items
        limit = self.limits.loop_iterations
        for item in items:
            count[0] += 1
            if count[0] > limit:
                raise LimitError(f"a comprehension runs more than {limit:,} iterations "
                                 "(the loop iteration limit)", at)
            self.assign(gen.target, item, gen.target)
            skip = False
            for cond in gen.ifs:
                truth = self.truth(self.eval(cond), self.where(cond))
                if isinstance(truth, Unknown):
                    return truth
                if not truth:
                    skip = True
                    break
            if skip:
                continue
            if index + 1 < len(node.generators):
                inner = self._generate(node, index + 1, self.eval(node.generators[index + 1].iter),
                                       emit, count)
                if isinstance(inner, Unknown):
                    return inner
            else:
                result = emit()
                if isinstance(result, Unknown):
                    return result
        return None

    def _eval_ListComp(self, node: ast.ListComp) -> Any:
        out: list = []

        def emit():
            out.append(self.eval(node.elt))
            if len(out) > self.limits.container_length:
                self.budget.check_length(len(out), self.where(node))
        unknown = self._comprehension(node, emit)
        return unknown if isinstance(unknown, Unknown) else out

    _eval_GeneratorExp = _eval_ListComp  # generators are evaluated eagerly, as a list

    def _eval_SetComp(self, node: ast.SetComp) -> Any:
        out: set = set()

        def emit():
            value = self.eval(node.elt)
            check_key(value, self.where(node.elt))
            self._hashing(out.add, value, node.elt)
            self.budget.check_length(len(out), self.where(node))
        unknown = self._comprehension(node, emit)
        return unknown if isinstance(unknown, Unknown) else out

    def _eval_DictComp(self, node: ast.DictComp) -> Any:
        out: dict = {}

        def emit():
            key = self.eval(node.key)
            value = self.eval(node.value)
            check_key(key, self.where(node.key))
            self._hashing(lambda kv: out.__setitem__(*kv), (key, value), node.key)
            self.budget.check_length(len(out), self.where(node))
        unknown = self._comprehension(node, emit)
        return unknown if isinstance(unknown, Unknown) else out

    # -- f-strings --------------------------------------------------------------------------------
    def _eval_JoinedStr(self, node: ast.JoinedStr) -> Any:
        parts: list[str] = []
        size = 0
        for child in node.values:
            piece = self.eval(child)
            if isinstance(piece, Unknown):
                return piece
            parts.append(piece)
            size += len(piece)
            self.budget.check_length(size, self.where(node), "a string")
        return "".join(parts)

    def _eval_FormattedValue(self, node: ast.FormattedValue) -> Any:
        value = self.eval(node.value)
        spec = "" if node.format_spec is None else self.eval(node.format_spec)
        if isinstance(spec, Unknown):
            return spec
        return format_value(self, value, spec, _CONVERSIONS.get(node.conversion, ""),
                            self.where(node))

    # -- the rest ---------------------------------------------------------------------------------
    def _eval_Starred(self, node: ast.Starred) -> Any:
        raise CodeError("a starred expression cannot be used here", self.where(node), "SyntaxError")

    def _eval_Await(self, node: ast.Await) -> Any:
        self.eval(node.value)
        return Unknown("the result of await", self.where(node))

    def _eval_Yield(self, node: ast.Yield) -> Any:
        value = None if node.value is None else self.eval(node.value)
        self._yield([value], node)
        return None

    def _eval_YieldFrom(self, node: ast.YieldFrom) -> Any:
        items = self.iterate(self.eval(node.value), self.where(node))
        if not isinstance(items, Unknown):
            self._yield(items, node)
        return None

    def _yield(self, values: list, node) -> None:
        """Generators run eagerly: what they yield is collected into a list."""
        scope = self.scope
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        if scope is None or scope.yields is None:
            raise CodeError("'yield' outside a function", self.where(node), "SyntaxError")
        scope.yields.extend(values)
        self.budget.check_length(len(scope.yields), self.where(node))


def _table(cls) -> dict:
    table = {}
    for name in dir(cls):
        if name.startswith("_eval_"):
            node_type = getattr(ast, name[6:], None)
            if node_type is not None:
                table[node_type] = getattr(cls, name)
    return table


EVAL_TABLE = _table(Expressions)
