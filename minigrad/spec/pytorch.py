"""Pasted PyTorch code: an nn.Sequential, or an nn.Module subclass whose forward() is a chain.

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(6 * 14 * 14, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = torch.flatten(x, 1)
            return self.fc1(x)

    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Flatten(), nn.Linear(21632, 10))

The code is read with `ast`, never run. __init__ may only create layers (self.NAME = nn.Layer(...)
or nn.Sequential(...)); forward() gives their order and may use functional operations between
them (F.relu, F.max_pool2d, torch.flatten, x.view(x.size(0), -1), ...), one tensor passed along
from statement to statement. A functional activation right after a conv or linear layer becomes
that layer's activation, as in the layer language's 'conv 6 5x5 relu'.

Layer names are the attribute names ('conv1'), 'features.0' for the children of an
nn.Sequential attribute, '0', '1', ... for a top-level nn.Sequential, and the function as written
('F.max_pool2d') for functional operations. A layer's `where` is its constructor call, for a
module the call in __init__ (where in_features and the like are written). PyTorch code states no
input shape (layout C x H x W): it comes from --input.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace

from ..errors import SpecError, did_you_mean
from ..layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    Layer,
    Network,
    Pool,
)
from .pycode import (
    Args,
    Code,
    Signature,
    describe,
    dotted_name,
    is_docstring,
    is_import,
    last_name,
    snippet,
)

_DEVICE = ("device", "dtype")


def _conv(a: Args) -> Layer:
    return Conv(in_channels=a.positive("in_channels"), filters=a.positive("out_channels"),
                kernel=a.pair("kernel_size"), stride=a.pair("stride", (1, 1)),
                padding=_padding(a, same_ok=True), dilation=a.pair("dilation", (1, 1)),
                bias=a.flag("bias", True))


def _pool(mode: str):
    def build(a: Args) -> Layer:
        return Pool(mode=mode, kernel=a.pair("kernel_size"),
                    stride=a.pair("stride", None, none_ok=True), padding=_padding(a),
                    ceil=a.flag("ceil_mode", False))
    return build


def _adaptive_pool(a: Args) -> Layer:
    return AdaptivePool(mode="avg", output=a.pair("output_size"))


def _activation(fn: str):
    return lambda a: Activation(fn=fn)


def _dropout(a: Args) -> Layer:
    return Dropout(rate=a.rate("p", 0.5))


_MAX_POOL = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
_MAX_POOL_FIXED = {"dilation": (1, (1, 1)), "return_indices": (False,)}
_AVG_POOL = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override")
_AVG_POOL_FIXED = {"count_include_pad": (True,), "divisor_override": (None,)}
_BATCHNORM = Signature(("num_features", "eps", "momentum", "affine", "track_running_stats"),
                       required=1, keywords=_DEVICE,
                       # without affine or running statistics the parameter count changes
                       fixed={"affine": (True,), "track_running_stats": (True,)})
_DROPOUT = Signature(("p", "inplace"))

LAYERS = {
    "Conv2d": (Signature(("in_channels", "out_channels", "kernel_size", "stride", "padding",
                          "dilation", "groups", "bias", "padding_mode"), required=3,
                         keywords=_DEVICE, fixed={"groups": (1,), "padding_mode": ("zeros",)}),
               _conv),
    "MaxPool2d": (Signature(_MAX_POOL, required=1, fixed=_MAX_POOL_FIXED), _pool("max")),
    # count_include_pad=False and divisor_override change the values, which the trained model
    # must reproduce, so only PyTorch's defaults are accepted.
    "AvgPool2d": (Signature(_AVG_POOL, required=1, fixed=_AVG_POOL_FIXED), _pool("avg")),
    "AdaptiveAvgPool2d": (Signature(("output_size",), required=1), _adaptive_pool),
    "Linear": (Signature(("in_features", "out_features", "bias"), required=2, keywords=_DEVICE),
               lambda a: Dense(in_features=a.positive("in_features"),
                               units=a.positive("out_features"), bias=a.flag("bias", True))),
    "Flatten": (Signature(("start_dim", "end_dim"), fixed={"start_dim": (1,), "end_dim": (-1,)}),
                lambda a: Flatten()),
    "ReLU": (Signature(("inplace",)), _activation("relu")),
    "Sigmoid": (Signature(), _activation("sigmoid")),
    "Tanh": (Signature(), _activation("tanh")),
    "Softmax": (Signature(("dim",)), _activation("softmax")),
    "LogSoftmax": (Signature(("dim",)), _activation("log_softmax")),
    "Dropout": (_DROPOUT, _dropout),
    "Dropout2d": (_DROPOUT, _dropout),
    "BatchNorm2d": (_BATCHNORM, lambda a: BatchNorm(num_features=a.positive("num_features"))),
    "BatchNorm1d": (_BATCHNORM, lambda a: BatchNorm(num_features=a.positive("num_features"))),
}


def _flatten(a: Args) -> Layer:
    """torch.flatten(x) and x.flatten(): start_dim defaults to 0, which folds in the batch axis."""
    start = a.value("start_dim", 0)
    if start == 1 and not isinstance(start, bool):
        return Flatten()
    if "start_dim" not in a:
        raise a.error(None, "without start_dim this flattens the batch axis too; write "
                            "torch.flatten(x, 1) or x.flatten(1)")
    raise a.error("start_dim", f"only start_dim=1 is supported (keep the batch axis, flatten "
                               f"the rest), not {start!r}")


# Functional operations in forward(), by function name, after any of these module paths.
# Their signatures leave out the tensor: it is the first argument, or the object of a method.
_FUNCTIONAL_MODULES = ("F", "torch", "nn.functional", "torch.nn.functional")
_SOFTMAX = Signature(("dim",), keywords=("dtype",))
_TRAINING = {"training": {"self.training": True}}  # F.dropout(x, training=self.training)
FUNCTIONS = {
    "relu": (Signature(("inplace",)), _activation("relu")),
    "sigmoid": (Signature(), _activation("sigmoid")),
    "tanh": (Signature(), _activation("tanh")),
    "softmax": (_SOFTMAX, _activation("softmax")),
    "log_softmax": (_SOFTMAX, _activation("log_softmax")),
    # F.max_pool2d takes ceil_mode before return_indices, nn.MaxPool2d the other way round
    "max_pool2d": (Signature(("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                              "return_indices"), required=1, fixed=_MAX_POOL_FIXED), _pool("max")),
    "avg_pool2d": (Signature(_AVG_POOL, required=1, fixed=_AVG_POOL_FIXED), _pool("avg")),
    "adaptive_avg_pool2d": (Signature(("output_size",), required=1), _adaptive_pool),
    "dropout": (Signature(("p", "training", "inplace"), refs=_TRAINING), _dropout),
    "dropout2d": (Signature(("p", "training", "inplace"), refs=_TRAINING), _dropout),
    "flatten": (Signature(("start_dim", "end_dim"), fixed={"end_dim": (-1,)}), _flatten),
}
# Tensor methods: x.relu(), x.flatten(1); x.view(...) and x.reshape(...) are read separately.
METHODS = {
    "relu": (Signature(), _activation("relu")),
    "sigmoid": (Signature(), _activation("sigmoid")),
    "tanh": (Signature(), _activation("tanh")),
    "softmax": (_SOFTMAX, _activation("softmax")),
    "log_softmax": (_SOFTMAX, _activation("log_softmax")),
    "flatten": (Signature(("start_dim", "end_dim"), fixed={"end_dim": (-1,)}), _flatten),
}


def parse(text: str) -> Network:
    """Parse pasted PyTorch code into a Network (layout chw, torch rules, no input shape)."""
    code = Code(text)
    reader = _Reader(code)
    code.read_statements(reader.statement)
    if reader.layers is None:
        raise SpecError("no model found; paste an nn.Module class or 'model = nn.Sequential(...)'")
    if not reader.layers:
        raise SpecError("empty model: no layers found", reader.model_where)
    return Network(None, tuple(reader.layers), "chw", "torch")


@dataclass(frozen=True)
class _Module:
    """What one `self.NAME = ...` in __init__ holds: a layer, or an nn.Sequential's layers."""

    layers: tuple[Layer, ...]
    statement: ast.stmt

    @property
    def has_params(self) -> bool:
        return any(isinstance(layer, (Conv, Dense, BatchNorm)) for layer in self.layers)


class _Reader:
    """Reads the top level: imports, one model (class or nn.Sequential), `net = Net()`."""

    def __init__(self, code: Code):
        self.code = code
        self.layers: list[Layer] | None = None
        self.model_where = None
        self.class_name: str | None = None

    def statement(self, node: ast.stmt) -> None:
        if is_import(node) or is_docstring(node):
            return  # imports are never executed: they only say where the names come from
        if isinstance(node, ast.ClassDef):
            self.set_model(node, self.module_class(node))
            self.class_name = node.name
            return
        call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        simple = isinstance(node, ast.Expr) or (isinstance(node, ast.Assign)
                                                and len(node.targets) == 1
                                                and isinstance(node.targets[0], ast.Name))
        if not (simple and isinstance(call, ast.Call)):
            raise self.code.not_model(node)
        if last_name(call.func) == "Sequential":
            self.set_model(node, self.sequential(call, ""))
        elif isinstance(node, ast.Assign) and dotted_name(call.func) == self.class_name:
            for argument in call.args + [k.value for k in call.keywords]:
                self.code.literal(argument)  # `net = Net()`: only checked, the model is the class
        else:
            raise self.code.not_model(node)

    def set_model(self, node: ast.stmt, layers: list[Layer]) -> None:
        if self.layers is not None:
            raise SpecError("a second model; paste one model at a time", self.code.where(node))
        self.layers, self.model_where = layers, self.code.where(node)

    # -- layers ---------------------------------------------------------------------------
    def layer(self, call: ast.AST, name: str) -> Layer:
        if not isinstance(call, ast.Call):
            raise SpecError(f"expected a layer such as nn.Conv2d(...), not {describe(call)}",
                            self.code.where(call))
        kind = last_name(call.func)
        if kind not in LAYERS:
            raise SpecError(f"unknown PyTorch layer '{kind or describe(call.func)}'",
                            self.code.where(call.func), did_you_mean(kind, LAYERS))
        signature, build = LAYERS[kind]
        layer = build(self.code.bind(call, signature, f"nn.{kind}"))
        return replace(layer, name=name, where=self.code.where(call))

    def sequential(self, call: ast.Call, prefix: str) -> list[Layer]:
        """The layers of nn.Sequential(...), named PREFIX0, PREFIX1, ... as PyTorch does."""
        if call.keywords:
            raise SpecError("nn.Sequential takes layers only", self.code.where(call.keywords[0]))
        layers = []
        for index, child in enumerate(call.args):
            if isinstance(child, ast.Starred):
                raise SpecError(f"nn.Sequential: *{ast.unparse(child.value)} cannot be read "
                                "without running the code; write the layers out",
                                self.code.where(child))
            if isinstance(child, ast.Call) and last_name(child.func) == "Sequential":
                layers += self.sequential(child, f"{prefix}{index}.")
            else:
                layers.append(self.layer(child, f"{prefix}{index}"))
        return layers

    # -- an nn.Module subclass ---------------------------------------------------------------
    def module_class(self, node: ast.ClassDef) -> list[Layer]:
        if not any(last_name(base) == "Module" for base in node.bases):
            raise SpecError(f"class {node.name} must subclass nn.Module", self.code.where(node))
        methods = {}
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                methods[item.name] = item  # other methods are not run, so they do not matter
            elif not is_docstring(item):
                raise SpecError(f"'{snippet(item)}' in class {node.name}: only __init__ and "
                                "forward are read", self.code.where(item))
        if "forward" not in methods:
            raise SpecError(f"class {node.name} has no forward(); cnncalc reads the order of the "
                            "layers from it", self.code.where(node))
        modules = self.init(methods["__init__"]) if "__init__" in methods else {}
        forward = methods["forward"]
        arguments = forward.args
        if (len(arguments.args) != 2 or arguments.vararg or arguments.kwarg
                or arguments.kwonlyargs or arguments.posonlyargs):
            raise SpecError("forward() must take one input tensor, like forward(self, x)",
                            self.code.where(forward))
        owner, tensor = arguments.args[0].arg, arguments.args[1].arg
        follower = _Forward(self.code, modules, owner, tensor)
        layers = follower.run(forward)
        for name, module in modules.items():
            if name not in follower.used and module.has_params:
                raise SpecError(f"self.{name} is created in __init__ but never used in "
                                "forward(); its parameters would be missing from the totals",
                                self.code.where(module.statement))
        return layers

    def init(self, init: ast.FunctionDef) -> dict[str, _Module]:
        """The layers __init__ creates, by attribute name."""
        owner = init.args.args[0].arg if init.args.args else "self"
        modules: dict[str, _Module] = {}
        for statement in init.body:
            if is_docstring(statement) or _is_super_init(statement):
                continue
            target = statement.targets[0] if (isinstance(statement, ast.Assign)
                                              and len(statement.targets) == 1) else None
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    and target.value.id == owner and isinstance(statement.value, ast.Call)):
                raise SpecError(f"'{snippet(statement)}' is not a layer; __init__ may only create "
                                "layers, like 'self.conv1 = nn.Conv2d(3, 6, 5)'",
                                self.code.where(statement))
            name, call = target.attr, statement.value
            if name in modules:
                raise SpecError(f"self.{name} is assigned twice", self.code.where(target))
            if last_name(call.func) == "Sequential":
                layers = self.sequential(call, f"{name}.")
            else:
                layers = [self.layer(call, name)]
            modules[name] = _Module(tuple(layers), statement)
        return modules


def _is_super_init(node: ast.stmt) -> bool:
    """super().__init__(), super(Net, self).__init__() or nn.Module.__init__(self)."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "__init__")


class _Forward:
    """Follows forward(): every statement passes the one tensor on through layer calls."""

    def __init__(self, code: Code, modules: dict[str, _Module], owner: str, tensor: str):
        self.code = code
        self.modules = modules
        self.owner = owner    # 'self'
        self.tensor = tensor  # the variable that holds the latest result
        self.layers: list[Layer] = []
        self.used: set[str] = set()

    def run(self, forward: ast.FunctionDef) -> list[Layer]:
        body = forward.body[1:] if is_docstring(forward.body[0]) else forward.body
        for index, statement in enumerate(body):
            if isinstance(statement, ast.Return) and statement.value is not None:
                self.follow(statement.value)
                if index + 1 < len(body):
                    raise SpecError("code after return", self.code.where(body[index + 1]))
                return self.layers
            if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)):
                self.follow(statement.value)
                self.tensor = statement.targets[0].id
                continue
            raise self.not_sequential(statement, f"'{snippet(statement)}' is not 'x = layer(x)' "
                                                 "or 'return x'")
        raise SpecError("forward() must end with 'return x'", self.code.where(forward))

    def not_sequential(self, node: ast.AST, detail: str, hint: str | None = None) -> SpecError:
        return SpecError(f"only a sequential forward() is supported: {detail}",
                         self.code.where(node), hint)

    def follow(self, node: ast.AST) -> None:
        """Append the layers NODE applies to the current tensor (innermost call first)."""
        if isinstance(node, ast.Name):
            if node.id != self.tensor:
                raise self.not_sequential(node, f"'{node.id}' is not the tensor being passed "
                                                f"along ('{self.tensor}')")
            return
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == self.owner:
                return self.module_call(node, func.attr)
            name = dotted_name(func) or ""
            module, _, function = name.rpartition(".")
            if module in _FUNCTIONAL_MODULES:
                return self.function(node, name, function)
            if func.attr in ("view", "reshape"):
                return self.reshape(node)
            if func.attr in METHODS:
                self.follow(func.value)
                signature, build = METHODS[func.attr]
                return self.add(build(self.code.bind(node, signature, snippet(func))), node)
        raise self.not_sequential(node, f"'{snippet(node)}' is not a layer call on "
                                        f"'{self.tensor}'")

    def module_call(self, call: ast.Call, name: str) -> None:
        module = self.modules.get(name)
        if module is None:
            raise SpecError(f"self.{name} is not created in __init__",
                            self.code.where(call.func), did_you_mean(name, self.modules))
        if len(call.args) != 1 or call.keywords:
            raise self.not_sequential(call, f"self.{name} must be called on one tensor")
        self.follow(call.args[0])
        if name in self.used and module.has_params:
            raise SpecError(f"self.{name} is used twice in forward(): shared weights are not "
                            "supported; create one layer per use", self.code.where(call))
        self.used.add(name)
        self.layers += module.layers

    def function(self, call: ast.Call, name: str, function: str) -> None:
        if function not in FUNCTIONS:
            raise self.not_sequential(call.func, f"{name}() is not one of the operations cnncalc "
                                                 "knows", did_you_mean(function, FUNCTIONS))
        if not call.args or isinstance(call.args[0], ast.Starred):
            raise SpecError(f"{name}() needs the tensor as its first argument",
                            self.code.where(call))
        self.follow(call.args[0])
        signature, build = FUNCTIONS[function]
        self.add(build(self.code.bind(call, signature, name, skip=1)), call)

    def reshape(self, call: ast.Call) -> None:
        """x.view(x.size(0), -1), x.view(-1, 16 * 5 * 5) and the same with reshape: a flatten."""
        func = call.func
        self.follow(func.value)
        shape = call.args
        if len(shape) == 1 and isinstance(shape[0], (ast.Tuple, ast.List)):
            shape = shape[0].elts
        if len(shape) != 2 or call.keywords:
            raise self.not_sequential(call, f"only reshaping to (batch, features) is supported, "
                                            f"like {snippet(func)}({self.tensor}.size(0), -1)")
        batch, features = shape
        batch_free = not self.is_batch_size(batch)  # -1: the batch size follows from features
        if batch_free and self.code.literal(batch) != -1:
            raise SpecError(f"the first size must be the batch size: {self.tensor}.size(0) or -1",
                            self.code.where(batch))
        count = self.code.literal(features)
        if count == -1 and not batch_free:
            expect = None
        elif isinstance(count, int) and not isinstance(count, bool) and count > 0:
            expect = count
        else:
            raise SpecError("the feature count must be a positive whole number, or -1 after "
                            "the batch size", self.code.where(features))
        self.add(Flatten(expect_features=expect), call)

    def is_batch_size(self, node: ast.AST) -> bool:
        """x.size(0), x.size()[0] or x.shape[0] of the current tensor."""
        if isinstance(node, ast.Subscript):
            index, node = node.slice, node.value
            if not (isinstance(index, ast.Constant) and index.value == 0):
                return False
            if isinstance(node, ast.Call) and not node.args and not node.keywords:
                node = node.func  # x.size()[0]
            elif not (isinstance(node, ast.Attribute) and node.attr == "shape"):
                return False
        elif isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
            if not (isinstance(node.args[0], ast.Constant) and node.args[0].value == 0):
                return False
            node = node.func  # x.size(0)
        else:
            return False
        return (isinstance(node, ast.Attribute) and node.attr in ("size", "shape")
                and isinstance(node.value, ast.Name) and node.value.id == self.tensor)

    def add(self, layer: Layer, call: ast.Call) -> None:
        """Append a functional operation's layer; an activation right after a conv or linear
        layer that has none becomes that layer's activation (one row, as in the layer language)."""
        last = self.layers[-1] if self.layers else None
        if (isinstance(layer, Activation) and isinstance(last, (Conv, Dense))
                and last.activation is None):
            self.layers[-1] = replace(last, activation=layer.fn)
            return
        self.layers.append(replace(layer, name=snippet(call.func), where=self.code.where(call)))


def _padding(a: Args, same_ok: bool = False):
    """padding=P, (P_rows, P_cols), and for convolutions 'same' or 'valid'."""
    value = a.value("padding", 0)
    if isinstance(value, str):
        if same_ok and value in ("same", "valid"):
            return value
        allowed = "'same', 'valid' or " if same_ok else ""
        raise a.error("padding", f"padding must be {allowed}a non-negative whole number or pair, "
                                 f"got {value!r}")
    return a.pair("padding", (0, 0), zero_ok=True)
