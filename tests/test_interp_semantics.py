"""The interpreter of pasted code: Python semantics of the subset model code uses."""

from __future__ import annotations

import pytest

from minigrad.errors import SpecError, Where
from minigrad.readers.interp import (MISSING, Foreign, Instance, Interpreter, LimitError, Unknown,
                                     parse_override, parse_source)


def unknown_importer(name, at):
    return Unknown(f"the module {name}", at)


def run(src: str, importer=unknown_importer, overrides=None) -> dict:
    interp = Interpreter(parse_source(src), src, importer=importer, overrides=overrides)
    interp.run()
    return interp.globals


def test_arithmetic_and_assignment_forms():
    g = run("a, *b, c = 1, 2, 3, 4\nx: int = 5\nx += 2\ny = z = [1]\ny += [2]\n"
            "q = 7 // 2, 7 % 3, -7 // 2, 2 ** -1, 1 < 2 < 3, 3 > 2 > 2, not 0")
    assert (g["a"], g["b"], g["c"], g["x"]) == (1, [2, 3], 4, 7)
    assert g["z"] == [1, 2]  # += on a list extends the same list
    assert g["q"] == (3, 1, -4, 0.5, True, False, True)


def test_closures_defaults_nonlocal_global():
    g = run("""
def counter(start=10):
    n = start
    def step(by=1):
        nonlocal n
        n += by
        return n
    return step
c = counter()
c(); c(5)
last = c()
total = 0
def add(k):
    global total
    total += k
add(3); add(4)
adders = [lambda v, i=i: v + i for i in range(3)]
vals = [f(10) for f in adders]
""")
    assert g["last"] == 17 and g["total"] == 7 and g["vals"] == [10, 11, 12]


def test_star_args_kwargs_keyword_only():
    g = run("""
def f(a, b=2, *rest, c, d=4, **kw):
    return (a, b, rest, c, d, kw)
r1 = f(1, c=3)
r2 = f(*[1, 2, 3, 4], c=5, e=6, **{'g': 7})
def pos(x, /, y):
    return x - y
r3 = pos(5, y=2)
""")
    assert g["r1"] == (1, 2, (), 3, 4, {})
    assert g["r2"] == (1, 2, (3, 4), 5, 4, {"e": 6, "g": 7})
    assert g["r3"] == 3


@pytest.mark.parametrize("call, message", [
    ("f(1, 2, 3)", "takes 2 positional arguments but 3 were given"),
    ("f()", "missing a required argument: 'a'"),
    ("f(1, z=2)", "unexpected keyword argument 'z'"),
    ("f(1, a=2)", "multiple values for argument 'a'"),
])
def test_wrong_arguments_are_one_line_errors(call, message):
    with pytest.raises(SpecError) as info:
        run(f"def f(a, b=1):\n    return a\n\nx = {call}\n")
    assert message in info.value.message
    assert info.value.where.line == 4 and "\n" not in str(info.value)


def test_classes_inheritance_super_both_forms_properties():
    g = run("""
class Base:
    expansion = 1
    def __init__(self, n):
        self.n = n
    def size(self):
        return self.n * self.expansion
    @property
    def twice(self):
        return self.n * 2
    @twice.setter
    def twice(self, v):
        pass
    @staticmethod
    def s(x):
        return x + 1
    @classmethod
    def make(cls, n):
        return cls(n)
class Wide(Base):
    expansion = 4
    def __init__(self, n):
        super().__init__(n + 1)
class Old(Wide):
    def __init__(self, n):
        super(Old, self).__init__(n)
        self.extra = True
    def size(self):
        return super().size() + 100
w = Wide(1)
o = Old.make(2)
out = (w.size(), w.twice, w.s(1), Base.s(2), o.size(), o.extra, type(o).__name__,
       isinstance(o, Base), isinstance(w, Old), issubclass(Old, Base), o.expansion)
""")
    assert g["out"] == (8, 4, 2, 3, 112, True, "Old", True, False, True, 4)


def test_dunder_methods_of_pasted_classes():
    g = run("""
class V:
    def __init__(self, x): self.x = x
    def __add__(self, o): return V(self.x + o.x)
    def __len__(self): return self.x
    def __getitem__(self, i): return i * 10
    def __call__(self, y): return self.x * y
v = V(2) + V(3)
r = (v.x, len(v), v[4], v(3), bool(V(0)))
""")
    assert g["r"] == (5, 5, 40, 15, False)


def test_control_flow_try_finally_raise():
    g = run("""
log = []
for i in range(10):
    if i % 2:
        continue
    if i > 6:
        break
    log.append(i)
else:
    log.append('no')
n = 0
while n < 3:
    n += 1
else:
    log.append('done')
try:
    {}['k']
except KeyError as e:
    log.append('key')
finally:
    log.append('fin')
try:
    raise ValueError('bad')
except (TypeError, ValueError) as e:
    log.append(str(e))
class MyErr(Exception):
    pass
try:
    raise MyErr('m')
except MyErr:
    log.append('mine')
def f():
    try:
        return 1
    finally:
        log.append('f-fin')
r = f()
""")
    assert g["log"] == [0, 2, 4, 6, "done", "key", "fin", "bad", "mine", "f-fin"]
    assert "e" not in g  # `as e` is unbound after its handler


def test_raise_outside_try_names_line_and_exception():
    with pytest.raises(SpecError) as info:
        run("x = 1\n\nraise NotImplementedError('subclasses do this')\n")
    e = info.value
    assert e.where.line == 3
    assert "raises NotImplementedError" in e.message and "subclasses do this" in e.message
    assert str(e).startswith("line 3")


@pytest.mark.parametrize("src, words, line", [
    ("a = 1\nb = a / 0", "division by zero", 2),
    ("a = 'a' + 1", "TypeError", 1),
    ("d = {'a': 1}\nx = d['b']", "KeyError: 'b'", 2),
    ("x = [1, 2][5]", "IndexError", 1),
    ("x = (1).foo", "has no attribute 'foo'", 1),
    ("a, b = 1, 2, 3", "cannot unpack 3 values", 1),
])
def test_python_errors_on_known_values(src, words, line):
    with pytest.raises(SpecError) as info:
        run(src)
    assert words in info.value.message and info.value.where.line == line


def test_comprehensions_fstrings_builtins_and_methods():
    g = run("""
cfg = {'VGG11': [64, 'M', 128, 'M'], 'tiny': [8]}
chans = [v for v in cfg['VGG11'] if v != 'M']
sq = {i: i * i for i in range(4)}
st = {c % 3 for c in range(10)}
gen = sum(x for x in range(5))
nested = [(i, j) for i in range(3) for j in range(i)]
s = f"{3.14159:.2f}|{42:05d}|{'ab'!r}|{[1, 2]}|{'x':>3}"
words = 'a,b,c'.split(',')
joined = '-'.join(w.upper() for w in words)
b = (min(3, 1, 2), max([1, 5, 2], key=lambda v: -v), sorted([3, 1, 2], reverse=True),
     list(zip('ab', [1, 2])), list(enumerate('xy', 1)), any([0, 1]), all([]),
     round(2.567, 2), abs(-3), divmod(7, 2), pow(2, 10), pow(2, 10, 7),
     list(map(str, [1, 2])), list(filter(None, [0, 1, 2])), list(reversed(range(3))),
     int('12'), float('1.5'), str(12), bool([]), tuple([1]), dict(a=1), set([1, 1]),
     len('abc'), getattr(3, 'real'), hasattr(3, 'nope'), isinstance(3, (str, int)),
     '{0}-{1}-{x}'.format(1, 2, x=3), '%d/%s' % (4, 'z'), divmod(-7, 2))
lst = [3, 1, 2]
lst.sort(key=lambda v: -v)
d = dict(a=1)
d.update(b=2)
d.setdefault('c', 3)
keys = list(d.keys())
it = iter([1, 2])
first, second, third = next(it), next(it), next(it, 'end')
""")
    assert g["chans"] == [64, 128] and g["sq"] == {0: 0, 1: 1, 2: 4, 3: 9}
    assert g["st"] == {0, 1, 2} and g["gen"] == 10 and g["nested"] == [(1, 0), (2, 0), (2, 1)]
    assert g["s"] == "3.14|00042|'ab'|[1, 2]|  x"
    assert g["joined"] == "A-B-C" and g["lst"] == [3, 2, 1] and g["keys"] == ["a", "b", "c"]
    assert g["b"] == (1, 1, [3, 2, 1], [("a", 1), ("b", 2)], [(1, "x"), (2, "y")], True, True,
                      2.57, 3, (3, 1), 1024, 2, ["1", "2"], [1, 2], [2, 1, 0], 12, 1.5, "12",
                      False, (1,), {"a": 1}, {1}, 3, 3, False, True, "1-2-3", "4/z", (-4, 1))
    assert (g["first"], g["second"], g["third"]) == (1, 2, "end")


def test_generators_run_eagerly():
    g = run("def gen(n):\n    for i in range(n):\n        yield i * 2\n    yield from [7]\n"
            "x = list(gen(3))\n")
    assert g["x"] == [0, 2, 4, 7]


def test_unknown_propagation_and_naming():
    g = run("""
import torch
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
x = device.type + 1
y = undefined_thing * 2
n = 0
if device:
    n = 1
for i in data_loader:
    n = 2
else:
    n = 3
while torch.something():
    n = 4
z = [i for i in device]
w = (device, 5)
flags = (device is None, device is not None, device in [1, 2], None is None)
import numpy as np
a = np.zeros(3)
""", importer=lambda name, at: Foreign() if name == "torch" else Unknown(f"module {name}", at))
    assert isinstance(g["device"], Unknown) and g["device"].name == "device"
    # the cause is kept; the name is the nearest module-level one (what `--set` can fix)
    assert isinstance(g["x"], Unknown) and g["x"].name == "x"
    assert g["x"].reason == g["device"].reason and g["x"].where == g["device"].where
    assert g["a"].name == "a" and g["np"].name == "np"
    assert isinstance(g["y"], Unknown) and g["y"].name == "y"
    assert "undefined_thing is not defined" in g["y"].reason and g["y"].where.line == 5
    # neither branch of an unknown `if` runs; unknown loops are skipped, else too; what they
    # would have assigned is unknown afterwards
    assert isinstance(g["n"], Unknown) and "depends on" in g["n"].reason
    assert isinstance(g["z"], Unknown) and g["w"][1] == 5
    assert [isinstance(f, Unknown) for f in g["flags"]] == [True, True, True, False]


def test_calling_an_unknown_evaluates_its_arguments():
    seen = []

    class Model(Foreign):
        def get_attr(self, interp, name, at):
            seen.append(name)
            return Unknown(f"model.{name}", at)

    g = run("opt = optim.Adam(model.parameters(), lr=0.1)\n", overrides={"model": Model()})
    assert seen == ["parameters"] and isinstance(g["opt"], Unknown)
    assert g["opt"].name == "opt"


def test_overrides_keep_module_assignments_but_not_locals():
    g = run("num_classes = 10\ndef f():\n    num_classes = 3\n    return num_classes\n"
            "inner = f()\nout = num_classes * 2\n", overrides={"num_classes": 5})
    assert g["num_classes"] == 5 and g["out"] == 10 and g["inner"] == 3


def test_parse_override_uses_the_interpreter():
    assert parse_override("nz=100") == ("nz", 100)
    assert parse_override("shape=(3, -32, 32.5)") == ("shape", (3, -32, 32.5))
    assert parse_override("names=['a', \"b\"]") == ("names", ["a", "b"])
    assert parse_override("flag=True") == ("flag", True)
    assert parse_override("act=relu") == ("act", "relu")
    assert parse_override("x=None") == ("x", None)
    for bad in ("x", "1x=2", "x=__import__('os')", "x=1+2", "x=[0]*9"):
        with pytest.raises(SpecError):
            parse_override(bad)


class FakeModule(Foreign):
    """A tiny framework module: `nn` with a Module class and a Linear layer."""

    def __init__(self, names):
        self.names = names

    def get_attr(self, interp, name, at):
        return self.names.get(name, Unknown(f"nn.{name}", at))


class FakeModuleClass(Foreign):
    def __init__(self):
        self.inits, self.children = [], []

    def is_class(self):
        return True

    def describe(self):
        return "nn.Module"

    def init_instance(self, interp, instance, args, kwargs, at):
        self.inits.append(instance.cls.name)
        instance.extra["children"] = []

    def instance_set_attr(self, interp, instance, name, value, at):
        instance.extra.setdefault("children", []).append(name)

    def instance_attr(self, interp, instance, name, at):
        if name == "training":
            return True
        return MISSING

    def instance_call(self, interp, instance, args, kwargs, at):
        forward = interp.get_attr(instance, "forward", at)
        return interp.call(forward, args, kwargs, at)

    def instance_check(self, interp, value):
        return isinstance(value, Instance)


class FakeLinear(Foreign):
    def call(self, interp, args, kwargs, at):
        return ("linear", *args)


def test_foreign_bases_star_imports_and_instance_protocol():
    module_class = FakeModuleClass()
    nn = FakeModule({"Module": module_class, "Linear": FakeLinear()})
    imported = []

    def importer(name, at):
        imported.append(name)
        return nn if name in ("torch.nn", "torch") else Unknown(f"module {name}", at)

    g = run("""
import torch.nn as nn
from torch.nn import *
class Net(Module):
    def __init__(self, k=3):
        super().__init__()
        self.fc = Linear(4, k)
        self.k = k
    def forward(self, x):
        return self.fc, x, self.training
net = Net()
out = net(7)
check = isinstance(net, Module)
""", importer=importer)
    net = g["net"]
    assert imported == ["torch.nn", "torch.nn"]
    assert module_class.inits == ["Net"] and net.extra["children"] == ["fc", "k"]
    assert g["out"] == (("linear", 4, 3), 7, True) and g["check"] is True
    with pytest.raises(SpecError, match="no attribute 'nothing'"):
        run("from torch.nn import *\nclass N(Module):\n    pass\nN().nothing\n", importer=importer)


def test_where_counts_characters_and_newline_kinds():
    src = "s = 'é'; y = \"\u2028\"; z = 1 / 0\n"
    with pytest.raises(SpecError) as info:
        run(src)
    assert info.value.where.line == 1
    line = src.split("\n")[0]
    assert line[info.value.where.col - 1:].startswith("1 / 0")
    with pytest.raises(SpecError) as info:
        run("a = 1\r\nb = 2\rc = 1 / 0\n")
    assert info.value.where.line == 3


def test_limits_are_a_specerror_subclass():
    assert issubclass(LimitError, SpecError)
    assert Where(1, 1)  # the Where of minigrad.errors is the one used


def test_dataclasses_get_their_generated_init():
    g = run("""
from dataclasses import dataclass, field
@dataclass
class Config:
    channels: int
    classes: int = 10
    name: str = 'net'
    def __post_init__(self):
        self.total = self.channels * self.classes
@dataclass(frozen=True)
class Wide(Config):
    width: int = 2
a = Config(3)
b = Wide(1, name='w', width=4)
out = (a.channels, a.classes, a.name, a.total, b.classes, b.name, b.width, b.total)
""")
    assert g["out"] == (3, 10, "net", 30, 10, "w", 4, 10)
    with pytest.raises(SpecError, match="missing a required argument: 'channels'"):
        run("from dataclasses import dataclass\n@dataclass\nclass C:\n    channels: int\nC()\n")


def test_import_forms_and_the_public_entry_points():
    asked = []

    def importer(name, at):
        asked.append(name)
        return Unknown(f"module {name}", at)

    src = ("import os.path\nimport torch.nn.functional as F\nfrom a.b import c as d\n"
           "from . import local\nfrom __future__ import annotations\n"
           "class Net:\n    def __init__(self, k=2):\n        self.k = k\n"
           "    def items(self):\n        return [self.k] * 3\n")
    interp = Interpreter(parse_source(src), src, importer=importer)
    interp.run()
    assert asked == ["os", "torch.nn.functional", "a.b"]
    g = interp.globals
    assert g["os"].name == "os" and g["F"].name == "F" and g["d"].name == "d"
    assert isinstance(g["local"], Unknown)
    net = interp.call(g["Net"], [], {"k": 5}, None)  # from outside run(), as a tracer does
    assert interp.get_attr(net, "k", None) == 5
    assert interp.call(interp.get_attr(net, "items", None), [], {}, None) == [5, 5, 5]
    assert interp.truth([], None) is False and interp.iterate((1, 2), None) == [1, 2]
    assert isinstance(interp.iterate(g["os"], None), Unknown)


def test_skipped_blocks_make_their_names_unknown_but_not_attribute_owners():
    g = run("""
correct = 0
total = 0
cache = {}
class Net:
    def __init__(self, flag):
        self.k = 1
        if flag:
            self.k = 2
            cache['k'] = 2
        self.after = self.k + 1
for x, y in loader:
    correct += 1
    total, (a, *rest) = 1, (2, 3)
net = Net(unknown_flag)
""")
    for name in ("correct", "total", "x", "y", "a", "rest"):
        assert isinstance(g[name], Unknown) and "depends on" in g[name].reason, name
    assert g["net"].attrs["after"] == 2 and g["cache"] == {}
