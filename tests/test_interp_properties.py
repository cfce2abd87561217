"""Random small programs give the same module namespace in the interpreter as in Python.

The programs (literals, arithmetic, comparisons, boolean ops, if/for/while with break and
continue, comprehensions, functions with defaults and closures, list methods) are built as
source text. The TEST runs them with Python's own `exec` to know the right answer; the
product never executes pasted code.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from minigrad.errors import SpecError
from minigrad.readers.interp import Interpreter, LimitError, Unknown, parse_source

NAMES = ["a", "b", "c", "d"]
PRELUDE = """a, b, c, d = 3, -2, 7, 0
i = x = w = 0
l = [1, 2, 3]
s = 'ab'
def f(p, q=2):
    return p * q - a
def mk(k):
    def inner(z):
        return z + k
    return inner
"""
SMALL = st.integers(-5, 20)


@st.composite
def expressions(draw, depth=0, names=("a", "b", "c", "d", "i")):
    leaf = st.one_of(SMALL.map(str), st.sampled_from(names), st.sampled_from(["True", "False"]))
    if depth >= 3:
        return draw(leaf)
    sub = expressions(depth + 1, names)
    kind = draw(st.integers(0, 13))
    if kind <= 2:
        return draw(leaf)
    if kind == 3:
        op = draw(st.sampled_from(["+", "-", "*", "//", "%", "&", "|", "^", "<<"]))
        right = draw(sub) if op != "<<" else str(draw(st.integers(0, 8)))
        return f"({draw(sub)} {op} {right})"
    if kind == 4:
        return f"({draw(sub)} ** {draw(st.integers(0, 3))})"
    if kind == 5:
        ops = draw(st.lists(st.sampled_from(["<", "<=", "==", "!=", ">", ">="]), min_size=1,
                            max_size=3))
        parts = [draw(sub) for _ in range(len(ops) + 1)]
        return "(" + parts[0] + "".join(f" {o} {p}" for o, p in zip(ops, parts[1:])) + ")"
    if kind == 6:
        op = draw(st.sampled_from(["and", "or"]))
        return f"({draw(sub)} {op} {draw(sub)})"
    if kind == 7:
        return f"({draw(sub)} if {draw(sub)} else {draw(sub)})"
    if kind == 8:
        return draw(st.sampled_from([f"(not {draw(sub)})", f"(-{draw(sub)})", f"abs({draw(sub)})",
                                     f"(~{draw(sub)})"]))
    if kind == 9:
        fn = draw(st.sampled_from(["min", "max"]))
        return f"{fn}({draw(sub)}, {draw(sub)})"
    if kind == 10:
        return draw(st.sampled_from(["len(l)", "sum(l)", "(l[-1] if l else 0)", "len(s)",
                                     "(l.count(2))", "(3 in l)", "len(str(a))"]))
    if kind == 11:
        return draw(st.sampled_from([f"f({draw(sub)})", f"f({draw(sub)}, q={draw(sub)})",
                                     f"mk({draw(sub)})({draw(sub)})"]))
    if kind == 12:
        inner = draw(expressions(depth + 1, (*names, "x")))
        cond = draw(expressions(depth + 1, (*names, "x")))
        k = draw(st.integers(0, 5))
        return f"sum([{inner} for x in range({k}) if {cond}])"
    return f"(lambda y, z=2: y - z)({draw(sub)})"


@st.composite
def blocks(draw, indent=0, depth=0, in_loop=False):
    pad = "    " * indent
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 10 if depth < 2 else 4))
        name = draw(st.sampled_from(NAMES))
        if kind <= 2:
            lines.append(f"{pad}{name} = {draw(expressions())}")
        elif kind == 3:
            op = draw(st.sampled_from(["+=", "-=", "*=", "|="]))
            lines.append(f"{pad}{name} {op} {draw(expressions())}")
        elif kind == 4:
            lines.append(draw(st.sampled_from([
                f"{pad}l.append({draw(expressions())})",
                f"{pad}l = [e * 2 for e in l if e % 3][:6]",
                f"{pad}s = s + str({name})[:3]",
                f"{pad}l.insert(0, {name})",
                f"{pad}l = sorted(l)[:8]",
            ])))
            if in_loop and draw(st.booleans()):
                word = draw(st.sampled_from(["break", "continue"]))
                lines.append(f"{pad}if {draw(expressions())}:\n{pad}    {word}")
        elif kind <= 6:
            lines.append(f"{pad}if {draw(expressions())}:")
            lines.append(draw(blocks(indent + 1, depth + 1, in_loop)))
            if draw(st.booleans()):
                lines.append(f"{pad}else:")
                lines.append(draw(blocks(indent + 1, depth + 1, in_loop)))
        elif kind <= 8:
            lines.append(f"{pad}for i in range({draw(st.integers(0, 4))}):")
            lines.append(draw(blocks(indent + 1, depth + 1, True)))
            if draw(st.booleans()):
                lines.append(f"{pad}else:\n{pad}    d = d + 1")
        elif kind == 9:
            lines.append(f"{pad}w = 0")
            lines.append(f"{pad}while w < {draw(st.integers(0, 4))}:")
            lines.append(f"{pad}    w += 1")
            lines.append(draw(blocks(indent + 1, depth + 1, True)))
        else:
            lines.append(f"{pad}{name} = {{k: k * {draw(expressions())} for k in range(3)}}"
                         f".get({draw(st.integers(0, 4))}, -1)")
    return "\n".join(lines)


def python_namespace(src: str):
    namespace: dict = {}
    exec(compile(src, "<generated>", "exec"), namespace)  # the test's oracle, never the product
    return namespace


def comparable(namespace: dict) -> dict:
    return {k: v for k, v in namespace.items()
            if not k.startswith("__") and type(v) in (int, bool, list, str, float, tuple)}


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(blocks())
def test_random_programs_match_python(body):
    check_against_python(PRELUDE + body + "\n", None)


def check_against_python(src: str, names) -> None:
    """Runs the interpreter first: when one of its bounds trips (cubing a number in nested
    loops), Python itself could take hours, so the example is dropped before Python runs."""
    interp = Interpreter(parse_source(src), src, importer=lambda n, at: Unknown(n, at))
    try:
        interp.run()
        our_error = None
    except LimitError:
        reject()  # a bound of ours (a huge integer), not a difference in meaning
    except SpecError as e:
        our_error = e
    try:
        expected = python_namespace(src)
        python_error = None
    except (ArithmeticError, ValueError, TypeError, IndexError) as e:
        python_error = e
    if our_error is not None or python_error is not None:
        assert our_error is not None, f"Python raised {python_error!r}, we did not\n{src}"
        assert python_error is not None, f"we raised {our_error}, Python did not\n{src}"
        return
    got, want = comparable(interp.globals), comparable(expected)
    if names is not None:
        got, want = {k: got[k] for k in names}, {k: want[k] for k in names}
    assert got == want, src


@given(st.lists(st.integers(-10**6, 10**6), max_size=8), st.integers(-3, 3), st.integers(-3, 3))
def test_slicing_and_list_methods_match_python(values, lo, hi):
    src = (f"v = {values!r}\nr = (v[{lo}:{hi}], v[::-1], v[{lo}::2], sorted(v), "
           f"v.count({lo}), {lo} in v)\nv.extend(v[:2])\nv.reverse()\nt = tuple(v)\n"
           f"u = [x for x in v if x % 2][:{abs(hi)}]\n")
    expected = python_namespace(src)
    interp = Interpreter(parse_source(src), src, importer=lambda n, at: Unknown(n, at))
    interp.run()
    assert comparable(interp.globals) == comparable(expected)
    assert interp.globals["t"] == expected["t"]


@given(st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False)),
       st.sampled_from(["", ">8", "<5", "^7", "+", ".3f", ".2e", ",", "08.2f", "x", "b", "%",
                        ".1%", "g", "_"]))
def test_format_specs_match_python(value, spec):
    src = f"v = {value!r}\n"
    try:
        expected = format(value, spec)
    except (ValueError, TypeError):
        expected = None
    src += f"r = f'{{v:{spec}}}'\n"
    interp = Interpreter(parse_source(src), src, importer=lambda n, at: Unknown(n, at))
    if expected is None:
        try:
            interp.run()
        except SpecError:
            return
        raise AssertionError(f"format({value!r}, {spec!r}) should fail")
    interp.run()
    assert interp.globals["r"] == expected


@st.composite
def class_programs(draw):
    """Two classes (one derived, with super() in either form), closures and defaults."""
    names = ("x", "self.v", "self.k", "a")
    k1, k2 = draw(SMALL), draw(SMALL)
    init = draw(expressions(1, ("v", "self.k", "a")))
    method = draw(expressions(1, names))
    extra = draw(expressions(1, names))
    sup = draw(st.sampled_from(["super().__init__(v * 2)", "super(B, self).__init__(v - 1)"]))
    override = draw(st.booleans())
    calls = [draw(SMALL) for _ in range(4)]
    src = PRELUDE + f"""
class A:
    k = {k1}
    def __init__(self, v={draw(SMALL)}):
        self.v = {init}
    def m(self, x):
        return {method}
    @property
    def both(self):
        return (self.v, self.k)
class B(A):
    k = {k2}
    def __init__(self, v):
        {sup}
"""
    if override:
        src += f"    def m(self, x):\n        return super().m(x) + ({extra})\n"
    src += (f"o1 = A()\no2 = B({calls[0]})\nr1 = o1.m({calls[1]})\nr2 = o2.m({calls[2]})\n"
            f"r3 = o2.both\nadd = mk({calls[3]})\nr4 = [add(o.v) for o in (o1, o2)]\n"
            f"r5 = (isinstance(o2, A), isinstance(o1, B), type(o2).__name__)\n")
    return src


@given(class_programs())
def test_random_classes_match_python(src):
    check_against_python(src, ("r1", "r2", "r3", "r4", "r5"))
