"""Export to PyTorch: a `class Net(nn.Module)` whose __init__ makes one attribute per module that
holds weights or settings (nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.MaxPool2d(2), ...) and
whose forward() computes one graph node per line, with the node's output shape (C×H×W) as a
comment.

Each minigrad module class has one translation here (`_Writer.RENDER`); the modules already
encode every framework rule (TensorFlow's 'same' padding as explicit sides, ceil_mode, BatchNorm's
eps and momentum in PyTorch's sense, Keras' last-axis layers inside ChannelsLast), so this file
only says them in PyTorch's words:
- padding that differs before and after becomes nn.ZeroPad2d((left, right, top, bottom)) (or a
  reflection / replication / -inf pad) before a module with padding 0;
- TensorFlow's 'same' average pool at such a padding divides each window by its real values:
  the pool of the zero-padded map over the pool of a padded map of ones;
- a module of Keras' last axis runs between x.movedim(1, -1) and .movedim(-1, 1);
- a flatten of a map in a Keras or layer-language spec (flatten_order "hwc") permutes the
  channels last first, so the features come in the order the source's dense layer expects.

Every translation computes exactly what minigrad computes. The one warning: Keras runs a frozen
BatchNormalization in inference mode even while training, which a PyTorch module does not. A
trained model's weights come back by their state_dict key in the generated model, whose
__main__ block loads them from the .npz beside the code.
"""

from __future__ import annotations

import json
import keyword
import math
import re

import numpy as np

from minigrad.engine import nn
from minigrad.engine.tensor import Tensor, no_grad
from minigrad.errors import SpecError
from minigrad.export import Export, Exportable, Part
from minigrad.layers import Activation

__all__ = ["export"]

DEFAULT_WEIGHTS = "model_weights.npz"

# Names an attribute or a variable must not take: nn.Module's own attributes and what the code
# imports (a layer named "forward" or "torch" gets a trailing underscore).
RESERVED = {
    "forward", "training", "train", "eval", "to", "cuda", "cpu", "float", "double", "half",
    "type", "apply", "parameters", "buffers", "children", "modules", "state_dict",
    "load_state_dict", "zero_grad", "register_buffer", "register_parameter", "add_module",
    "named_parameters", "named_modules", "named_children", "named_buffers", "extra_repr",
    "requires_grad_", "share_memory", "get_submodule", "get_parameter", "get_buffer",
    "register_module", "bfloat16", "compile", "self", "torch", "nn", "F", "np", "Path", "x",
    "input", "WEIGHTS", "model", "out", "state",
}

# Activations without weights: computed in forward() by the functional op of the same meaning.
ACTIVATIONS = {
    nn.ReLU: "F.relu({})", nn.ReLU6: "F.relu6({})", nn.Sigmoid: "torch.sigmoid({})",
    nn.Tanh: "torch.tanh({})", nn.SiLU: "F.silu({})", nn.Hardswish: "F.hardswish({})",
    nn.Hardsigmoid: "F.hardsigmoid({})", nn.Mish: "F.mish({})", nn.SELU: "F.selu({})",
    nn.Softsign: "F.softsign({})", nn.Identity: "{}",
}
# Modules whose output has their input's shape: a node's last modules of these kinds end at the
# node's own shape, which needs no working out.
SHAPE_KEEPING = (*ACTIVATIONS, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Softplus, nn.Softmax,
                 nn.PReLU, nn.ValuePReLU, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm,
                 nn.InstanceNorm2d, nn.Dropout, nn.Arithmetic)
PAD_CLASSES = {"constant": "ConstantPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad"}
REDUCTIONS = {"mean": "mean", "sum": "sum", "max": "amax", "min": "amin"}
ARITHMETIC = {"add": "{x} + {v}", "sub": "{x} - {v}", "rsub": "{v} - {x}", "mul": "{x} * {v}",
              "div": "{x} / {v}", "rdiv": "{v} / {x}", "pow": "{x} ** {v}", "rpow": "{v} ** {x}"}
TENSORFLOW_SAME = "TensorFlow's 'same' padding: the odd pixel after"
OPERATORS = {"add": " + ", "average": " + ", "multiply": " * ", "subtract": " - "}


def export(exportable: Exportable, weights_file: str | None = None) -> Export:
    """PyTorch code computing `exportable`; with its weights (by state_dict key) when trained.
    Raises SpecError naming the node of a module PyTorch code cannot express."""
    if not exportable.name.isidentifier() or keyword.iskeyword(exportable.name):
        raise SpecError(f"the class name {exportable.name!r} is not a Python identifier")
    writer = _Writer(exportable)
    body = writer.forward_lines()
    return Export(writer.code(body, weights_file or DEFAULT_WEIGHTS), writer.warnings,
                  writer.weights if exportable.trained else None)


# ---------------------------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------------------------

def _identifier(name: str, taken: set[str]) -> str:
    """`name` as a Python identifier no one else has: dots and other signs become '_', a
    reserved word gets a trailing '_', a repeat gets _1, _2, ..."""
    base = re.sub(r"\W", "_", name).strip("_") or "layer"
    if base[0].isdigit():
        base = f"layer_{base}"
    if keyword.iskeyword(base) or base in RESERVED:
        base += "_"
    candidate, n = base, 0
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _atom(expr: str) -> str:
    """`expr`, in parentheses when an operator joins it at the top level (so that `.movedim` or
    `* 2` applies to all of it)."""
    depth = 0
    for char in expr:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and char == " ":
            return f"({expr})"
    return expr


def _size(values) -> str:
    """A kernel size, stride, ...: one int when every axis has the same."""
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    return str(values[0]) if len(set(values)) == 1 else str(values)


def _dims(axes) -> str:
    """Tensor dims from per-sample axes: 2, or (2, 3)."""
    dims = [a + 1 for a in axes]
    return str(dims[0]) if len(dims) == 1 else str(tuple(dims))


def _number(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _shape_text(shape) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def _options(**given) -> str:
    """', name=value' for each setting given (None: left to PyTorch's default)."""
    return "".join(f", {name}={value}" for name, value in given.items() if value is not None)


def _unless(value, default):
    """None (leave it out) when `value` is PyTorch's default."""
    return None if value == default else value


def _momentum(momentum: float) -> str:
    """PyTorch's momentum; Keras' 0.99 arrives as 1 - 0.99 (0.010000000000000009), written so."""
    keras = round(1 - momentum, 6)
    if len(repr(momentum)) > 8 and 1 - keras == momentum:
        return f"1 - {keras!r}"
    return _number(momentum)


def _window_sides(padding) -> tuple[tuple[int, int], ...] | None:
    """((before, after) per axis) when the padding differs before and after, else None."""
    if isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
        return padding
    return None


def _channels_last(shape: tuple) -> tuple:
    return (*shape[1:], shape[0]) if len(shape) >= 2 else shape


def _inner(module):
    return module.inner if isinstance(module, nn.ChannelsLast) else module


def _module_shapes(modules, in_shapes: list[tuple], final: tuple) -> list[tuple]:
    """Each module's per-sample output shape within a node: the node's own where only
    shape-keeping modules follow, else worked out on a zero sample (a padding before its
    convolution, a depthwise before its pointwise convolution)."""
    shapes, current = [], in_shapes
    for position, module in enumerate(modules):
        if isinstance(module, SHAPE_KEEPING):  # never run: a batch norm would learn from it
            out = current[0]
        elif all(isinstance(m, SHAPE_KEEPING) for m in modules[position + 1:]):
            out = final
        else:
            dtype = np.int64 if isinstance(_inner(module), nn.Embedding) else np.float32
            with no_grad():
                out = module(*[Tensor(np.zeros((1, *s), dtype)) for s in current]).shape[1:]
        shapes.append(tuple(out))
        current = [tuple(out)]
    return shapes


def _final_dim(exportable: Exportable) -> int:
    """The axis of the source's final softmax: as written (PyTorch's dim; Keras' axis, whose
    last is the channels), else the channels / classes."""
    part = exportable.part(exportable.outputs[0])
    axis = part.layer.axis if isinstance(part.layer, Activation) else None
    rank = len(part.shape_chw) + 1
    if axis is None:
        return 1
    axis %= rank
    if exportable.layout == "hwc" and rank >= 3:
        return 1 if axis == rank - 1 else axis + 1
    return axis


# ---------------------------------------------------------------------------------------------
# The writer: attributes for __init__, one line per node for forward
# ---------------------------------------------------------------------------------------------

class _Writer:
    def __init__(self, exportable: Exportable):
        self.exportable = exportable
        # the inputs the outputs need (a Keras model may define others beside it)
        self.inputs = [i for i in exportable.inputs if i in exportable.outputs
                       or any(i in p.inputs for p in exportable.parts)]
        self.init_lines: list[str] = []
        self.weights: dict[str, np.ndarray] = {}
        self.warnings: list[str] = []
        self.attribute_of: dict[tuple, str] = {}  # (id(module), role) -> name; shared layers
        self.attributes: set[str] = set()
        self.uses_functional = False
        # per node, while it is written:
        self.part: Part | None = None
        self.notes: list[str] = []
        self.statements: list[str] = []
        self.variable = "x"
        self.primary = None  # the module that gets the node's name
        self.after_transposed = False

    # -- attributes ------------------------------------------------------------------------------
    def attribute(self, module, constructor: str, role: str, note: str | None = None,
                  helper: bool = False) -> str:
        """`self.<name>` for `module`, declared in __init__ as `constructor` the first time (a
        shared layer keeps one attribute). The node's main module (the one with weights, else
        the first) takes the node's name; the others, and a helper of a module (its padding),
        the name and `role` ("conv1_pad")."""
        key = (id(module), helper)
        if key not in self.attribute_of:
            if self.primary is None and not helper:
                self.primary = module
            main = module is self.primary and not helper
            name = _identifier(self.part.name if main else f"{self.part.name}_{role}",
                               self.attributes)
            self.attribute_of[key] = name
            self.init_lines.append(f"self.{name} = {constructor}" + (f"  # {note}" if note else ""))
            if not helper:
                self.keep_weights(name, module)
        return f"self.{self.attribute_of[key]}"

    def call(self, module, constructor: str, role: str, x: str, note: str | None = None) -> str:
        return f"{self.attribute(module, constructor, role, note)}({x})"

    def keep_weights(self, name: str, module) -> None:
        """The module's parameters and buffers under the generated model's state_dict keys;
        frozen layers (Keras' trainable=False) stay frozen."""
        state = module.state_dict()
        if not state:
            return
        for key, array in state.items():
            self.weights[f"{name}.{key}"] = np.asarray(array, dtype=np.float32)
        if isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and "running_mean" in state:
            # PyTorch counts the training batches; the count matters only with momentum=None,
            # which no export uses, so it starts at zero
            self.weights[f"{name}.num_batches_tracked"] = np.zeros((), dtype=np.int64)
        parameters = module.parameters()
        if parameters and not any(p.requires_grad for p in parameters):
            comment = "frozen in the source"
            if isinstance(module, nn.BatchNorm2d) and self.exportable.rules == "keras":
                warning = (f"{self.part.name}: Keras runs a frozen BatchNormalization in "
                           "inference mode even in training; PyTorch's uses the batch's "
                           "statistics in training unless you call .eval() on it")
                self.warnings.append(warning)
                comment = f"warning: {warning}"
            self.init_lines.append(f"self.{name}.requires_grad_(False)  # {comment}")

    def functional(self, expr: str) -> str:
        self.uses_functional = True
        return expr

    def bind(self, expr: str) -> str:
        """`expr` as a name, so that a translation may use its input twice without computing it
        twice: a statement of its own, into the node's variable."""
        if expr.isidentifier():
            return expr
        self.statements.append(f"{self.variable} = {expr}")
        return self.variable

    # -- forward ---------------------------------------------------------------------------------
    def forward_lines(self) -> list[str]:
        """forward()'s body. A value read only by the next line flows on in `x`; one read later
        (a residual branch) or one of several outputs gets a name of its own."""
        ex = self.exportable
        lines_of = {p.index: i for i, p in enumerate(p for p in ex.parts if p.modules)}
        same_as: dict[int, int] = {}  # a node without modules is its input's value
        for part in ex.parts:
            if part.inputs and not part.modules:
                same_as[part.index] = same_as.get(part.inputs[0], part.inputs[0])
        reads: dict[int, list[int]] = {}  # node -> the lines reading it (len(lines): the return)
        for part in ex.parts:
            for source in part.inputs if part.modules else ():
                reads.setdefault(same_as.get(source, source), []).append(lines_of[part.index])
        for output in ex.outputs:
            reads.setdefault(same_as.get(output, output), []).append(len(lines_of))
        taken: set[str] = set()
        variables: dict[int, str] = {}
        for part in ex.parts:
            if part.index in same_as:
                continue
            line = lines_of.get(part.index, -1)
            only_next = all(r == line + 1 for r in reads.get(part.index, ()))
            one_of_outputs = len(ex.outputs) > 1 and part.index in ex.outputs
            if only_next and (part.modules or len(self.inputs) == 1) and not one_of_outputs:
                variables[part.index] = "x"
            else:
                variables[part.index] = _identifier(part.name, taken)
        for node, source in same_as.items():
            variables[node] = variables[source]
        self.input_names = [variables[i] for i in self.inputs]

        body = []
        for part in ex.parts:
            if part.modules:
                body += self.node(part, [variables[i] for i in part.inputs], variables[part.index])
        results = [variables[i] for i in ex.outputs]
        if ex.final_activation:
            self.uses_functional = True
            body.append(f"return F.{ex.final_activation}({results[0]}, dim={_final_dim(ex)})")
        else:
            body.append(f"return {', '.join(results)}")
        return body

    def node(self, part: Part, args: list[str], variable: str) -> list[str]:
        self.part, self.notes, self.statements, self.variable = part, [], [], variable
        modules = part.modules
        self.primary = next((_inner(m) for m in modules if _inner(m).state_dict()), None)
        shapes = [self.exportable.part(i).shape_chw for i in part.inputs]
        outs = _module_shapes(modules, shapes, part.shape_chw)
        for previous, module, out in zip((None,) + modules, modules, outs):
            self.after_transposed = isinstance(previous, (nn.ConvTranspose2d, nn.ConvTranspose1d))
            args, shapes = [self.render(module, args, shapes, out)], [out]
        comment = "  # " + "; ".join([_shape_text(part.shape_chw)] + self.notes)
        return self.statements + [f"{variable} = {args[0]}{comment}"]

    def render(self, module, args: list[str], shapes: list[tuple], out: tuple) -> str:
        """The expression computing `module` on `args` (of per-sample shapes `shapes`, channels
        first), whose result has per-sample shape `out`."""
        if type(module) in ACTIVATIONS:
            template = ACTIVATIONS[type(module)]
            return (self.functional(template) if "F." in template else template).format(args[0])
        method = self.RENDER.get(type(module))
        if method is None:
            raise SpecError(f"{self.part.name}: the PyTorch export cannot translate minigrad's "
                            f"{type(module).__name__}")
        return method(self, module, args, shapes, out)

    # -- convolutions and padding ----------------------------------------------------------------
    def conv(self, m, args, shapes, out):
        x, padding, sides = args[0], m.padding, _window_sides(m.padding)
        if sides is not None:
            mode = {"zeros": "constant"}.get(m.padding_mode, m.padding_mode)
            pad = self.pad(m, sides, mode, 0.0, TENSORFLOW_SAME)
            x, padding = f"{pad}({x})", 0
        torch_padding = None
        if padding == "same":
            torch_padding = '"same"'
        elif padding != "valid" and _size(padding) != "0":
            torch_padding = _size(padding)
        constructor = (f"nn.Conv{len(m.kernel_size)}d({m.in_channels}, {m.out_channels}, "
                       f"kernel_size={_size(m.kernel_size)}"
                       + _options(stride=_unless(_size(m.stride), "1"), padding=torch_padding,
                                  dilation=_unless(_size(m.dilation), "1"),
                                  groups=_unless(m.groups, 1),
                                  bias=_unless(m.bias is not None, True),
                                  padding_mode=None if m.padding_mode == "zeros" or sides
                                  else repr(m.padding_mode)) + ")")
        role = ("depthwise" if m.groups == m.in_channels > 1
                else "pointwise" if set(m.kernel_size) == {1} else "conv")
        return self.call(m, constructor, role, x)

    def conv_transpose(self, m, args, shapes, out):
        constructor = (f"nn.ConvTranspose{len(m.kernel_size)}d({m.in_channels}, "
                       f"{m.out_channels}, kernel_size={_size(m.kernel_size)}"
                       + _options(stride=_unless(_size(m.stride), "1"),
                                  padding=_unless(_size(m.padding), "0"),
                                  output_padding=_unless(_size(m.output_padding), "0"),
                                  groups=_unless(m.groups, 1),
                                  bias=_unless(m.bias is not None, True),
                                  dilation=_unless(_size(m.dilation), "1")) + ")")
        return self.call(m, constructor, "conv", args[0])

    def pad(self, owner, sides, mode: str, value: float, note: str | None = None,
            helper: bool = True) -> str:
        """The pad module (an attribute) padding `sides` ((before, after) per spatial axis) for
        `owner`; PyTorch lists the last axis first."""
        pads = str(tuple(p for side in reversed(sides) for p in side))
        kind = f"{PAD_CLASSES[mode]}{len(sides)}d"
        if mode == "constant" and value == 0:
            constructor = f"nn.ZeroPad{len(sides)}d({pads})"
        elif mode == "constant":
            fill = 'float("-inf")' if value == -math.inf else _number(value)
            constructor = f"nn.{kind}({pads}, {fill})"
        else:
            constructor = f"nn.{kind}({pads})"
        return self.attribute(owner, constructor, "pad", note, helper)

    def pad_sides(self, m: nn.PadSides, args, shapes, out):
        if all(b <= 0 and a <= 0 for b, a in m.sides):  # a crop: a slice says it plainly
            if self.after_transposed:
                self.notes.append("'same' crops the transposed convolution, as Keras does")
            index = ", ".join(f"{-b or ''}:{a or ''}" for b, a in m.sides)
            return f"{_atom(args[0])}[:, :, {index}]"
        return f"{self.pad(m, m.sides, m.mode, m.value, helper=False)}({args[0]})"

    # -- pools -----------------------------------------------------------------------------------
    def pool(self, m, args, shapes, out):
        x, is_max = args[0], type(m) in (nn.MaxPool2d, nn.MaxPool1d)
        real_values_only = not is_max and not m.count_include_pad
        padding, sides = m.padding, _window_sides(m.padding)
        if sides is not None:
            if m.ceil_mode:
                raise SpecError(f"{self.part.name}: a pool with ceil_mode and padding that "
                                "differs before and after has no exact PyTorch translation")
            pad = self.pad(m, sides, "constant", -math.inf if is_max else 0.0, TENSORFLOW_SAME)
            x, padding = self.bind(x) if real_values_only else x, 0
        kind = f"nn.{'Max' if is_max else 'Avg'}Pool{len(shapes[0]) - 1}d"
        constructor = (f"{kind}({_size(m.kernel_size)}"
                       + _options(stride=_unless(_size(m.stride), _size(m.kernel_size)),
                                  padding=_unless(_size(padding), "0"),
                                  ceil_mode=_unless(m.ceil_mode, False),
                                  count_include_pad=None if is_max or sides is not None
                                  else _unless(m.count_include_pad, True)) + ")")
        pool = self.attribute(m, constructor, "pool")
        if sides is None:
            return f"{pool}({x})"
        if not real_values_only:
            return f"{pool}({pad}({x}))"
        self.notes.append("each window averages its real values only, as TensorFlow does")
        return f"{pool}({pad}({x})) / {pool}({pad}(torch.ones_like({x}[:1, :1])))"

    def adaptive_pool(self, m, args, shapes, out):
        kind = f"nn.Adaptive{'Max' if m.mode == 'max' else 'Avg'}Pool{len(out) - 1}d"
        return self.call(m, f"{kind}({_size(out[1:])})", "pool", args[0])

    def global_pool(self, m, args, shapes, out):
        reduce = "mean" if isinstance(m, nn.GlobalAvgPool2d) else "amax"
        return f"{_atom(args[0])}.{reduce}(dim=(2, 3){', keepdim=True' if m.keepdims else ''})"

    # -- dense, embedding, normalisation, dropout, resampling -----------------------------------
    def linear(self, m, args, shapes, out):
        constructor = (f"nn.Linear({m.in_features}, {m.out_features}"
                       + _options(bias=_unless(m.bias is not None, True)) + ")")
        if isinstance(m, nn.ChannelLinear):  # Keras' Dense on a map acts on the channels
            return (f"{self.call(m, constructor, 'linear', f'{_atom(args[0])}.movedim(1, -1)')}"
                    ".movedim(-1, 1)")
        return self.call(m, constructor, "linear", args[0])

    def embedding(self, m, args, shapes, out):
        constructor = (f"nn.Embedding({m.num_embeddings}, {m.embedding_dim}"
                       + _options(padding_idx=m.padding_idx) + ")")
        return self.call(m, constructor, "embedding", args[0])

    def batch_norm(self, m, args, shapes, out):
        momentum = _unless(_momentum(m.momentum), "0.1")
        constructor = (f"nn.BatchNorm{1 if isinstance(m, nn.BatchNorm1d) else 2}d("
                       f"{m.num_features}" + _options(eps=_unless(_number(m.eps), "1e-05"),
                                                      momentum=momentum) + ")")
        note = ("Keras' momentum 0.99 in PyTorch's sense" if momentum and "1 - " in momentum
                else None)
        return self.call(m, constructor, "norm", args[0], note)

    def layer_norm(self, m, args, shapes, out):
        shape = m.normalized_shape
        constructor = (f"nn.LayerNorm({shape[0] if len(shape) == 1 else shape}"
                       + _options(eps=_unless(_number(m.eps), "1e-05"),
                                  elementwise_affine=_unless(m.elementwise_affine, True),
                                  bias=_unless(m.bias is not None, True)
                                  if m.elementwise_affine else None) + ")")
        return self.call(m, constructor, "norm", args[0])

    def group_norm(self, m, args, shapes, out):
        constructor = (f"nn.GroupNorm({m.num_groups}, {m.num_channels}"
                       + _options(eps=_unless(_number(m.eps), "1e-05"),
                                  affine=_unless(m.affine, True)) + ")")
        return self.call(m, constructor, "norm", args[0])

    def instance_norm(self, m, args, shapes, out):
        constructor = (f"nn.InstanceNorm{len(out) - 1}d({m.num_features}"
                       + _options(eps=_unless(_number(m.eps), "1e-05"),
                                  momentum=_unless(_number(m.momentum), "0.1"),
                                  affine=_unless(m.affine, False),
                                  track_running_stats=_unless(m.track_running_stats, False))
                       + ")")
        return self.call(m, constructor, "norm", args[0])

    def dropout(self, m, args, shapes, out):
        return self.call(m, f"nn.{type(m).__name__}({_number(m.p)})", "dropout", args[0])

    def upsample(self, m, args, shapes, out):
        given = (f"size={_size(m.size)}" if m.size is not None
                 else f"scale_factor={_size(m.scale_factor)}")
        constructor = (f"nn.Upsample({given}, mode={m.mode!r}"
                       + _options(align_corners=m.align_corners) + ")")
        return self.call(m, constructor, "upsample", args[0])

    def pixel_shuffle(self, m, args, shapes, out):
        return self.call(m, f"nn.PixelShuffle({m.upscale_factor})", "shuffle", args[0])

    # -- activations with settings or weights ---------------------------------------------------
    def leaky_relu(self, m, args, shapes, out):
        return self.functional(f"F.leaky_relu({args[0]}, {_number(m.negative_slope)})")

    def elu(self, m, args, shapes, out):
        return self.functional(f"F.elu({args[0]}"
                               + _options(alpha=_unless(_number(m.alpha), "1.0")) + ")")

    def gelu(self, m, args, shapes, out):
        approximate = None if m.approximate == "none" else repr(m.approximate)
        return self.functional(f"F.gelu({args[0]}{_options(approximate=approximate)})")

    def softplus(self, m, args, shapes, out):
        return self.functional(f"F.softplus({args[0]}"
                               + _options(beta=_unless(_number(m.beta), "1.0"),
                                          threshold=_unless(_number(m.threshold), "20.0")) + ")")

    def softmax(self, m, args, shapes, out):
        fn = "log_softmax" if isinstance(m, nn.LogSoftmax) else "softmax"
        return self.functional(f"F.{fn}({args[0]}, dim={m.axis})")

    def prelu(self, m, args, shapes, out):
        return self.call(m, f"nn.PReLU({m.num_parameters})", "prelu", args[0])

    def value_prelu(self, m, args, shapes, out):
        """Keras' PReLU learns a slope per value (shared along some axes), which nn.PReLU (one
        slope, or one per channel) cannot hold: its formula, with the slopes a parameter."""
        key = (id(m), "parameter")
        if key not in self.attribute_of:
            self.attribute_of[key] = name = _identifier(self.part.name, self.attributes)
            self.init_lines.append(f"self.{name} = nn.Parameter(torch.zeros{m.alpha.shape})"
                                   "  # Keras' PReLU slopes, shared along the axes of size 1")
            self.weights[name] = np.asarray(m.alpha.data, dtype=np.float32)
        x, alpha = self.bind(args[0]), f"self.{self.attribute_of[key]}"
        return self.functional(f"F.relu({x}) - {alpha} * F.relu(-{x})")

    # -- shapes and merges -----------------------------------------------------------------------
    def flatten(self, m, args, shapes, out):
        x, rank = _atom(args[0]), len(shapes[0])
        if m.start_dim != 1:
            return f"{x}.flatten({m.start_dim})"
        if self.exportable.flatten_order == "hwc" and rank >= 2:
            self.notes.append("Keras flattens channels last")
            return f"{x}.permute({', '.join(map(str, [0, *range(2, rank + 1), 1]))}).flatten(1)"
        return f"{x}.flatten(1)"

    def reshape(self, m, args, shapes, out):
        # the sizes as worked out, so that -1 stands for the batch
        return f"{_atom(args[0])}.reshape(-1, {', '.join(map(str, out))})"

    def permute(self, m, args, shapes, out):
        dims = [d % len(shapes[0]) + 1 for d in m.dims]
        return f"{_atom(args[0])}.permute(0, {', '.join(map(str, dims))})"

    def squeeze(self, m, args, shapes, out):
        shape = shapes[0]
        axes = [a for a in ([m.axis % len(shape)] if m.axis is not None else range(len(shape)))
                if shape[a] == 1]
        return f"{_atom(args[0])}.squeeze({_dims(axes)})" if axes else args[0]

    def unsqueeze(self, m, args, shapes, out):
        position = m.axis if m.axis >= 0 else len(shapes[0]) + 1 + m.axis
        return f"{_atom(args[0])}.unsqueeze({position + 1})"

    def reduce(self, m, args, shapes, out):
        axes = sorted(a % len(shapes[0]) for a in m.axes)
        keep = ", keepdim=True" if m.keepdims else ""
        return f"{_atom(args[0])}.{REDUCTIONS[m.op]}(dim={_dims(axes)}{keep})"

    def slice(self, m, args, shapes, out):
        entries = []
        for entry in m.index:
            if isinstance(entry, tuple):
                start, stop, step = (entry + (None, None, None))[:3]
                text = f"{'' if start is None else start}:{'' if stop is None else stop}"
                entries.append(text + ("" if step is None else f":{step}"))
            else:
                entries.append(str(entry))
        return f"{_atom(args[0])}[:, {', '.join(entries)}]"

    def merge(self, m, args, shapes, out, dim: int | None = None):
        if m.op == "concat":
            dim = m.axis % len(shapes[0]) + 1 if dim is None else dim
            return f"torch.cat([{', '.join(args)}], dim={dim})"
        terms = [_atom(a) for a in args]
        if m.op in ("maximum", "minimum"):
            expr = terms[0]
            for term in terms[1:]:
                expr = f"torch.{m.op}({expr}, {term})"
            return expr
        expr = OPERATORS[m.op].join(terms)
        return f"({expr}) / {len(terms)}" if m.op == "average" else expr

    def arithmetic(self, m, args, shapes, out):
        return ARITHMETIC[m.op].format(x=_atom(args[0]), v=_number(m.operand))

    def channels_last(self, m, args, shapes, out):
        """Keras' layer of the last axis: the channels moved last, the layer, and moved back."""
        inner = m.inner
        if isinstance(inner, nn.Merge):  # an elementwise merge does not care where the channels
            rank = len(shapes[0])        # are; a concat's axis is Keras' one, channels first
            axis = inner.axis % rank
            dim = (1 if axis == rank - 1 else axis + 2) if rank >= 2 else axis + 1
            return self.merge(inner, args, shapes, out, dim)
        moved = [f"{_atom(a)}.movedim(1, -1)" if len(s) >= 2 else a for a, s in zip(args, shapes)]
        expr = self.render(inner, moved, [_channels_last(s) for s in shapes], _channels_last(out))
        return f"{_atom(expr)}.movedim(-1, 1)" if len(out) >= 2 else expr

    RENDER = {
        nn.Conv2d: conv, nn.Conv1d: conv, nn.ConvTranspose2d: conv_transpose,
        nn.ConvTranspose1d: conv_transpose, nn.PadSides: pad_sides,
        nn.MaxPool2d: pool, nn.AvgPool2d: pool, nn.MaxPool1d: pool, nn.AvgPool1d: pool,
        nn.AdaptiveAvgPool2d: adaptive_pool, nn.AdaptiveMaxPool2d: adaptive_pool,
        nn.AdaptiveAvgPool1d: adaptive_pool, nn.AdaptiveMaxPool1d: adaptive_pool,
        nn.GlobalAvgPool2d: global_pool, nn.GlobalMaxPool2d: global_pool,
        nn.Linear: linear, nn.ChannelLinear: linear, nn.Embedding: embedding,
        nn.BatchNorm1d: batch_norm, nn.BatchNorm2d: batch_norm, nn.LayerNorm: layer_norm,
        nn.GroupNorm: group_norm, nn.InstanceNorm1d: instance_norm,
        nn.InstanceNorm2d: instance_norm, nn.Dropout: dropout, nn.Dropout1d: dropout,
        nn.Dropout2d: dropout, nn.Upsample: upsample, nn.PixelShuffle: pixel_shuffle,
        nn.LeakyReLU: leaky_relu, nn.ELU: elu, nn.GELU: gelu, nn.Softplus: softplus,
        nn.Softmax: softmax, nn.LogSoftmax: softmax, nn.PReLU: prelu,
        nn.ValuePReLU: value_prelu, nn.Flatten: flatten, nn.Reshape: reshape,
        nn.Permute: permute, nn.Squeeze: squeeze, nn.Unsqueeze: unsqueeze, nn.Reduce: reduce,
        nn.Slice: slice, nn.Merge: merge, nn.Arithmetic: arithmetic,
        nn.ChannelsLast: channels_last,
    }

    # -- the file --------------------------------------------------------------------------------
    def code(self, body: list[str], weights_file: str) -> str:
        ex, trained = self.exportable, self.exportable.trained
        inputs = [ex.part(i) for i in self.inputs]
        source = {"hwc": "a Keras or layer-language", "chw": "a PyTorch"}[ex.layout]
        what = ("a model trained with minigrad, exported by `cnncalc export` with its weights"
                if trained else f"{source} model, exported by `cnncalc export` (random weights)")
        lines = [f'"""{ex.name}: {what}.', "",
                 f"Input: {', '.join(_shape_text(p.shape_chw) for p in inputs)} per sample, "
                 "channels first as PyTorch has it.",
                 'Each line of forward() gives its output shape without the batch axis."""', ""]
        if trained:
            lines += ["from pathlib import Path", "", "import numpy as np"]
        lines += ["import torch", "from torch import nn"]
        if self.uses_functional:
            lines.append("import torch.nn.functional as F")
        if trained:
            # a JSON string is a Python string literal too, in double quotes
            lines += ["", f"WEIGHTS = {json.dumps(weights_file)}  # beside this file"]
        lines += ["", "", f"class {ex.name}(nn.Module):", "    def __init__(self):",
                  "        super().__init__()"]
        lines += [f"        {line}" for line in self.init_lines]
        lines += ["", f"    def forward(self, {', '.join(self.input_names)}):"]
        lines += [f"        {line}" for line in body]
        lines += ["", "", 'if __name__ == "__main__":', f"    model = {ex.name}()"]
        if trained:
            lines += ["    state = np.load(Path(__file__).with_name(WEIGHTS), allow_pickle=False)",
                      "    model.load_state_dict({k: torch.from_numpy(v) for k, v in "
                      "state.items()})"]
        else:
            lines.append("    print(model)")
        lines += ["    model.eval()", "    with torch.no_grad():",
                  f"        out = model({', '.join(self.sample(p) for p in inputs)})",
                  "    print(tuple(out.shape))" if len(ex.outputs) == 1
                  else "    print([tuple(o.shape) for o in out])"]
        return "\n".join(lines) + "\n"

    def sample(self, part: Part) -> str:
        """A random batch of 2 for an input: token ids when an embedding reads it."""
        shape = ", ".join(map(str, part.shape_chw))
        for reader in self.exportable.parts:
            first = _inner(reader.modules[0]) if reader.modules else None
            if part.index in reader.inputs and isinstance(first, nn.Embedding):
                return f"torch.randint(0, {first.num_embeddings}, (2, {shape}))"
        return f"torch.randn(2, {shape})"
