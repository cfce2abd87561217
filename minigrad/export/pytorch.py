"""Export to PyTorch: a `class Net(nn.Module)` whose __init__ makes one attribute per module that
holds weights or settings (nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.MaxPool2d(2), ...) and
whose forward() computes one graph node per line, with the node's output shape (C×H×W) as a
comment.

Each minigrad module class has one translation here (see `_Writer.RENDER`); the modules already
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

A trained model's weights are returned by their state_dict key in the generated model, and the
code's __main__ block loads them from the .npz beside it.
"""

from __future__ import annotations

import keyword
import math
import re

import numpy as np

from minigrad.engine import nn
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
PAD_CLASSES = {"constant": "ConstantPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad"}
REDUCTIONS = {"mean": "mean", "sum": "sum", "max": "amax", "min": "amin"}
ARITHMETIC = {"add": "{x} + {v}", "sub": "{x} - {v}", "rsub": "{v} - {x}", "mul": "{x} * {v}",
              "div": "{x} / {v}", "rdiv": "{v} / {x}", "pow": "{x} ** {v}", "rpow": "{v} ** {x}"}


def export(exportable: Exportable, weights_file: str | None = None) -> Export:
    """PyTorch code computing `exportable`; with its weights (by state_dict key) when trained.
    Raises SpecError naming the node of a module PyTorch code cannot express."""
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


def _number(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _shape_text(shape) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def _options(**given) -> str:
    """', name=value' for each setting given (None: left to PyTorch's default)."""
    return "".join(f", {name}={value}" for name, value in given.items() if value is not None)


def _product(sizes) -> int | None:
    return None if None in sizes else math.prod(sizes)


def _window_sides(padding) -> tuple[tuple[int, int], ...] | None:
    """((before, after) per axis) when the padding differs before and after, else None."""
    if isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
        return padding
    return None


def _torch_pad(sides) -> str:
    """F.pad's order: the last axis first, (before, after) each."""
    return str(tuple(p for side in reversed(sides) for p in side))


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
        self.attribute_of: dict[int, str] = {}  # id(minigrad module) -> attribute (shared layers)
        self.attributes: set[str] = set()
        self.uses_functional = False
        # per node, while it is written:
        self.part: Part | None = None
        self.notes: list[str] = []
        self.statements: list[str] = []
        self.variable = "x"
        self.primary = None
        self.named = False
        self.previous_transposed = False

    # -- attributes ------------------------------------------------------------------------------
    def attribute(self, module, constructor: str, role: str, note: str | None = None,
                  helper: bool = False) -> str:
        """`self.<name>` for `module`, declared in __init__ as `constructor` the first time (a
        shared layer keeps one attribute). The node's main module (the one with weights, else
        the first) takes the node's name; the others, and a helper of a module (its padding),
        the name and `role` ("conv1_pad")."""
        key = (id(module), helper)
        if key not in self.attribute_of:
            main = not helper and not self.named and self.primary in (None, module)
            self.named |= main
            base = self.part.name if main else f"{self.part.name}_{role}"
            name = _identifier(base, self.attributes)
            self.attribute_of[key] = name
            self.init_lines.append(f"self.{name} = {constructor}" + (f"  # {note}" if note else ""))
            if not helper:
                self.keep_weights(name, module)
        return f"self.{self.attribute_of[key]}"

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
        if not any(p.requires_grad for p in module.parameters()):
            self.init_lines.append(f"self.{name}.requires_grad_(False)  # frozen in the source")

    def parameter(self, module, shape: tuple[int, ...]) -> str:
        """A bare learnt tensor (Keras' PReLU slopes) as an nn.Parameter attribute."""
        key = (id(module), "parameter")
        if key not in self.attribute_of:
            name = _identifier(self.part.name, self.attributes)
            self.attribute_of[key] = name
            self.init_lines.append(f"self.{name} = nn.Parameter(torch.zeros{shape})")
            self.weights[name] = np.asarray(module.alpha.data, dtype=np.float32)
        return f"self.{self.attribute_of[key]}"

    def warn(self, text: str) -> None:
        self.warnings.append(f"{self.part.name}: {text}")
        self.notes.append(f"warning: {text}")

    def functional(self, template: str) -> str:
        self.uses_functional = True
        return template

    def bind(self, expr: str) -> str:
        """`expr` as a name, so that a translation may use its input twice without computing it
        twice: a statement of its own, into the node's variable."""
        if expr.isidentifier():
            return expr
        self.statements.append(f"{self.variable} = {expr}")
        return self.variable

    # -- forward ---------------------------------------------------------------------------------
    def forward_lines(self) -> list[str]:
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
            if only_next and (part.modules or len(self.inputs) == 1):
                variables[part.index] = "x"  # read by the next line only: x flows on
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
        self.named = False
        shapes = [self.exportable.part(i).shape_chw for i in part.inputs]
        expr = None
        for previous, module in zip((None,) + modules, modules):
            self.previous_transposed = isinstance(previous, (nn.ConvTranspose2d,
                                                             nn.ConvTranspose1d))
            expr, shape = self.render(module, args, shapes)
            args, shapes = [expr], [shape]
        comment = "  # " + "; ".join([_shape_text(part.shape_chw)] + self.notes)
        return self.statements + [f"{variable} = {expr}{comment}"]

    def render(self, module, args: list[str], shapes: list[tuple]) -> tuple[str, tuple]:
        """(the expression computing `module` on `args`, its per-sample output shape, channels
        first, None where a size is not worked out here)."""
        if type(module) in ACTIVATIONS:
            template = ACTIVATIONS[type(module)]
            if template.startswith("F."):
                template = self.functional(template)
            return template.format(args[0]), shapes[0]
        method = self.RENDER.get(type(module))
        if method is None:
            raise SpecError(f"{self.part.name}: the PyTorch export cannot translate minigrad's "
                            f"{type(module).__name__}")
        return method(self, module, args, shapes)

    # -- convolutions ----------------------------------------------------------------------------
    def conv(self, m, args, shapes):
        x, (c, *spatial) = args[0], shapes[0]
        rank = len(m.kernel_size)
        padding, sides = m.padding, _window_sides(m.padding)
        if sides is not None:
            mode = {"zeros": "constant"}.get(m.padding_mode, m.padding_mode)
            pad = self.pad(m, sides, mode, 0.0, "padding as TensorFlow's 'same' puts it: the "
                                                "odd pixel after")
            x = f"{pad}({x})"
            padding = 0
        torch_padding = None
        if padding == "same":
            torch_padding = '"same"'
        elif padding != "valid" and any(_tuple(padding)):
            torch_padding = _size(padding)
        kind = f"nn.Conv{rank}d"
        constructor = (f"{kind}({m.in_channels}, {m.out_channels}, kernel_size="
                       f"{_size(m.kernel_size)}"
                       + _options(stride=_default(_size(m.stride), "1"), padding=torch_padding,
                                  dilation=_default(_size(m.dilation), "1"),
                                  groups=_default(m.groups, 1),
                                  bias=_default(m.bias is not None, True),
                                  padding_mode=None if m.padding_mode == "zeros" or sides
                                  else repr(m.padding_mode)) + ")")
        role = ("depthwise" if m.groups == m.in_channels > 1
                else "pointwise" if set(m.kernel_size) == {1} else "conv")
        return f"{self.attribute(m, constructor, role)}({x})", (m.out_channels, *[None] * len(spatial))

    def conv_transpose(self, m, args, shapes):
        rank = len(m.kernel_size)
        constructor = (f"nn.ConvTranspose{rank}d({m.in_channels}, {m.out_channels}, kernel_size="
                       f"{_size(m.kernel_size)}"
                       + _options(stride=_default(_size(m.stride), "1"),
                                  padding=_default(_size(m.padding), "0"),
                                  output_padding=_default(_size(m.output_padding), "0"),
                                  groups=_default(m.groups, 1),
                                  bias=_default(m.bias is not None, True),
                                  dilation=_default(_size(m.dilation), "1")) + ")")
        out = (m.out_channels, *[None] * rank)
        return f"{self.attribute(m, constructor, 'conv')}({args[0]})", out

    def pad(self, owner, sides, mode: str, value: float, note: str | None = None,
            helper: bool = True) -> str:
        """The pad module (an attribute) padding `sides` ((before, after) per spatial axis)
        before `owner`."""
        rank = len(sides)
        kind = PAD_CLASSES[mode]
        if mode == "constant" and value == 0:
            constructor = f"nn.ZeroPad{rank}d({_torch_pad(sides)})"
        elif mode == "constant":
            fill = 'float("-inf")' if value == -math.inf else _number(value)
            constructor = f"nn.{kind}{rank}d({_torch_pad(sides)}, {fill})"
        else:
            constructor = f"nn.{kind}{rank}d({_torch_pad(sides)})"
        return self.attribute(owner, constructor, "pad", note, helper)

    def pad_sides(self, m: nn.PadSides, args, shapes):
        (c, *spatial) = shapes[0]
        out = (c, *[None if n is None else n + b + a for n, (b, a) in zip(spatial, m.sides)])
        if all(b <= 0 and a <= 0 for b, a in m.sides):  # a crop: a slice says it plainly
            if self.previous_transposed:
                self.notes.append("'same' crops the transposed convolution, as Keras does")
            index = ", ".join(f"{-b or ''}:{a or ''}" for b, a in m.sides)
            return f"{_atom(args[0])}[:, :, {index}]", out
        return f"{self.pad(m, m.sides, m.mode, m.value, helper=False)}({args[0]})", out

    # -- pools -----------------------------------------------------------------------------------
    def pool(self, m, args, shapes):
        x, (c, *spatial) = args[0], shapes[0]
        rank = len(spatial)
        is_max = type(m) in (nn.MaxPool2d, nn.MaxPool1d)
        average_real = not is_max and not m.count_include_pad
        padding, sides = m.padding, _window_sides(m.padding)
        if sides is not None:
            if m.ceil_mode:
                raise SpecError(f"{self.part.name}: a pool with ceil_mode and padding that "
                                "differs before and after has no exact PyTorch translation")
            fill = -math.inf if is_max else 0.0
            note = "the padding TensorFlow's 'same' puts there (odd pixel after)"
            if average_real:
                x = self.bind(x)
            pad = self.pad(m, sides, "constant", fill, note)
            padding = 0
        kind = ("nn.MaxPool" if is_max else "nn.AvgPool") + f"{rank}d"
        constructor = (f"{kind}({_size(m.kernel_size)}"
                       + _options(stride=_default(_size(m.stride), _size(m.kernel_size)),
                                  padding=_default(_size(padding), "0"),
                                  ceil_mode=_default(m.ceil_mode, False),
                                  count_include_pad=None if is_max or sides is not None
                                  else _default(m.count_include_pad, True)) + ")")
        pool = self.attribute(m, constructor, "pool")
        out = (c, *[None] * rank)
        if sides is None:
            return f"{pool}({x})", out
        if not average_real:
            return f"{pool}({pad}({x}))", out
        # TensorFlow's 'same' average: each window's sum over the real values it covers
        self.notes.append("each window averages its real values only, as TensorFlow does")
        ones = f"torch.ones_like({x}[:1, :1])"
        return f"{pool}({pad}({x})) / {pool}({pad}({ones}))", out

    def adaptive_pool(self, m, args, shapes):
        size = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,)
        kind = "Max" if m.mode == "max" else "Avg"
        constructor = f"nn.Adaptive{kind}Pool{len(size)}d({_size(size)})"
        return f"{self.attribute(m, constructor, 'pool')}({args[0]})", (shapes[0][0], *size)

    def global_pool(self, m, args, shapes):
        reduce = "mean" if isinstance(m, nn.GlobalAvgPool2d) else "amax"
        keep = ", keepdim=True" if m.keepdims else ""
        out = (shapes[0][0], 1, 1) if m.keepdims else (shapes[0][0],)
        return f"{_atom(args[0])}.{reduce}(dim=(2, 3){keep})", out

    # -- dense, embedding, normalisation, dropout, resampling -----------------------------------
    def linear(self, m, args, shapes):
        constructor = (f"nn.Linear({m.in_features}, {m.out_features}"
                       + _options(bias=_default(m.bias is not None, True)) + ")")
        layer = self.attribute(m, constructor, "linear")
        if isinstance(m, nn.ChannelLinear):  # Keras' Dense on a map acts on the channels
            shape = shapes[0]
            return (f"{layer}({_atom(args[0])}.movedim(1, -1)).movedim(-1, 1)",
                    (m.out_features, *shape[1:]))
        return f"{layer}({args[0]})", (*shapes[0][:-1], m.out_features)

    def embedding(self, m, args, shapes):
        constructor = (f"nn.Embedding({m.num_embeddings}, {m.embedding_dim}"
                       + _options(padding_idx=m.padding_idx) + ")")
        return f"{self.attribute(m, constructor, 'embedding')}({args[0]})", \
            (*shapes[0], m.embedding_dim)

    def batch_norm(self, m, args, shapes):
        kind = "nn.BatchNorm1d" if isinstance(m, nn.BatchNorm1d) else "nn.BatchNorm2d"
        constructor = (f"{kind}({m.num_features}"
                       + _options(eps=_default(_number(m.eps), "1e-05"),
                                  momentum=_default(_momentum(m.momentum), "0.1")) + ")")
        return f"{self.attribute(m, constructor, 'norm')}({args[0]})", shapes[0]

    def layer_norm(self, m, args, shapes):
        shape = m.normalized_shape
        constructor = (f"nn.LayerNorm({shape[0] if len(shape) == 1 else shape}"
                       + _options(eps=_default(_number(m.eps), "1e-05"),
                                  elementwise_affine=_default(m.elementwise_affine, True),
                                  bias=None if not m.elementwise_affine
                                  else _default(m.bias is not None, True)) + ")")
        return f"{self.attribute(m, constructor, 'norm')}({args[0]})", shapes[0]

    def group_norm(self, m, args, shapes):
        constructor = (f"nn.GroupNorm({m.num_groups}, {m.num_channels}"
                       + _options(eps=_default(_number(m.eps), "1e-05"),
                                  affine=_default(m.affine, True)) + ")")
        return f"{self.attribute(m, constructor, 'norm')}({args[0]})", shapes[0]

    def instance_norm(self, m, args, shapes):
        rank = 1 if isinstance(m, nn.InstanceNorm1d) else 2
        constructor = (f"nn.InstanceNorm{rank}d({m.num_features}"
                       + _options(eps=_default(_number(m.eps), "1e-05"),
                                  momentum=_default(_number(m.momentum), "0.1"),
                                  affine=_default(m.affine, False),
                                  track_running_stats=_default(m.track_running_stats, False))
                       + ")")
        return f"{self.attribute(m, constructor, 'norm')}({args[0]})", shapes[0]

    def dropout(self, m, args, shapes):
        kind = {nn.Dropout: "Dropout", nn.Dropout1d: "Dropout1d", nn.Dropout2d: "Dropout2d"}
        constructor = f"nn.{kind[type(m)]}({_number(m.p)})"
        return f"{self.attribute(m, constructor, 'dropout')}({args[0]})", shapes[0]

    def upsample(self, m, args, shapes):
        constructor = ("nn.Upsample(" + (f"size={_size(m.size)}" if m.size is not None
                                         else f"scale_factor={_size(m.scale_factor)}")
                       + f", mode={m.mode!r}"
                       + _options(align_corners=m.align_corners) + ")")
        (c, *spatial) = shapes[0]
        if m.size is not None:
            sizes = m.size if isinstance(m.size, (tuple, list)) else (m.size,) * len(spatial)
            out = (c, *sizes)
        else:
            out = (c, *[None] * len(spatial))
        return f"{self.attribute(m, constructor, 'upsample')}({args[0]})", out

    def pixel_shuffle(self, m, args, shapes):
        r = m.upscale_factor
        c, *spatial = shapes[0]
        out = (c // (r * r), *[None if n is None else n * r for n in spatial])
        return f"{self.attribute(m, f'nn.PixelShuffle({r})', 'shuffle')}({args[0]})", out

    # -- activations with settings or weights ---------------------------------------------------
    def leaky_relu(self, m, args, shapes):
        return self.functional(f"F.leaky_relu({args[0]}, {_number(m.negative_slope)})"), shapes[0]

    def elu(self, m, args, shapes):
        alpha = _options(alpha=_default(_number(m.alpha), "1.0"))
        return self.functional(f"F.elu({args[0]}{alpha})"), shapes[0]

    def gelu(self, m, args, shapes):
        approximate = _options(approximate=None if m.approximate == "none"
                               else repr(m.approximate))
        return self.functional(f"F.gelu({args[0]}{approximate})"), shapes[0]

    def softplus(self, m, args, shapes):
        options = _options(beta=_default(_number(m.beta), "1.0"),
                           threshold=_default(_number(m.threshold), "20.0"))
        return self.functional(f"F.softplus({args[0]}{options})"), shapes[0]

    def softmax(self, m, args, shapes):
        fn = "log_softmax" if isinstance(m, nn.LogSoftmax) else "softmax"
        return self.functional(f"F.{fn}({args[0]}, dim={m.axis})"), shapes[0]

    def prelu(self, m, args, shapes):
        constructor = f"nn.PReLU({m.num_parameters})"
        return f"{self.attribute(m, constructor, 'prelu')}({args[0]})", shapes[0]

    def value_prelu(self, m, args, shapes):
        # Keras' PReLU learns a slope per value (shared along some axes), which nn.PReLU (one
        # slope, or one per channel) cannot hold: the same formula with a parameter
        alpha = self.parameter(m, tuple(m.alpha.shape))
        x = self.bind(args[0])
        return self.functional(f"F.relu({x}) - {alpha} * F.relu(-{x})"), shapes[0]

    # -- shapes and merges -----------------------------------------------------------------------
    def flatten(self, m, args, shapes):
        shape, x = shapes[0], _atom(args[0])
        out = (*shape[:m.start_dim - 1], _product(shape[m.start_dim - 1:]))
        if m.start_dim != 1:
            return f"{x}.flatten({m.start_dim})", out
        if self.exportable.flatten_order == "hwc" and len(shape) >= 2:
            self.notes.append("Keras flattens channels last")
            dims = ", ".join(map(str, [0, *range(2, len(shape) + 1), 1]))
            return f"{x}.permute({dims}).flatten(1)", out
        return f"{x}.flatten(1)", out

    def reshape(self, m, args, shapes):
        target = list(m.target)
        if -1 in target:  # worked out here, so that -1 can stand for the batch
            known, total = _product([n for n in target if n != -1]), _product(shapes[0])
            target[target.index(-1)] = None if None in (known, total) else total // known
        if None in target:
            sizes = ", ".join(map(str, m.target))
            return f"{_atom(args[0])}.flatten(1).unflatten(1, ({sizes},))", tuple(target)
        return f"{_atom(args[0])}.reshape(-1, {', '.join(map(str, target))})", tuple(target)

    def permute(self, m, args, shapes):
        rank = len(shapes[0])
        dims = [d % rank for d in m.dims]
        text = ", ".join(str(d + 1) for d in dims)
        return f"{_atom(args[0])}.permute(0, {text})", tuple(shapes[0][d] for d in dims)

    def squeeze(self, m, args, shapes):
        shape = shapes[0]
        if m.axis is not None:
            axis = m.axis % len(shape)
            if shape[axis] is None:
                return f"{_atom(args[0])}.squeeze({axis + 1})", shape[:axis] + (None,) + shape[axis + 1:]
            axes = [axis] if shape[axis] == 1 else []
        else:
            if None in shape:
                raise SpecError(f"{self.part.name}: a squeeze of every size-1 axis where the "
                                "sizes are not known")
            axes = [i for i, n in enumerate(shape) if n == 1]
        out = tuple(n for i, n in enumerate(shape) if i not in axes)
        if not axes:
            return args[0], out
        dims = str(axes[0] + 1) if len(axes) == 1 else str(tuple(a + 1 for a in axes))
        return f"{_atom(args[0])}.squeeze({dims})", out

    def unsqueeze(self, m, args, shapes):
        shape = shapes[0]
        position = m.axis if m.axis >= 0 else len(shape) + 1 + m.axis
        return f"{_atom(args[0])}.unsqueeze({position + 1})", \
            shape[:position] + (1,) + shape[position:]

    def reduce(self, m, args, shapes):
        shape = shapes[0]
        axes = sorted(a % len(shape) for a in m.axes)
        dims = str(axes[0] + 1) if len(axes) == 1 else str(tuple(a + 1 for a in axes))
        keep = ", keepdim=True" if m.keepdims else ""
        out = tuple(1 if i in axes else n for i, n in enumerate(shape) if m.keepdims or i not in axes)
        return f"{_atom(args[0])}.{REDUCTIONS[m.op]}(dim={dims}{keep})", out

    def slice(self, m, args, shapes):
        entries, out, axis = [], [], 0
        shape = shapes[0]
        for entry in m.index:
            if entry is None:
                entries.append("None")
                out.append(1)
            elif isinstance(entry, tuple):
                start, stop, step = (entry + (None, None, None))[:3]
                text = f"{'' if start is None else start}:{'' if stop is None else stop}"
                entries.append(text + ("" if step is None else f":{step}"))
                n = shape[axis]
                out.append(None if n is None else len(range(*slice(start, stop, step).indices(n))))
                axis += 1
            else:
                entries.append(str(entry))
                axis += 1
        out += shape[axis:]
        return f"{_atom(args[0])}[:, {', '.join(entries)}]", tuple(out)

    def merge(self, m, args, shapes, axis=None):
        if m.op == "concat":
            dim = (m.axis % len(shapes[0]) + 1) if axis is None else axis
            out = list(shapes[0])
            out[dim - 1] = _sum_or_none(s[dim - 1] for s in shapes)
            return f"torch.cat([{', '.join(args)}], dim={dim})", tuple(out)
        out = tuple(max((s[i] for s in shapes if s[i] is not None), default=None)
                    for i in range(len(shapes[0])))
        terms = [_atom(a) for a in args]
        if m.op in ("maximum", "minimum"):
            expr = terms[0]
            for term in terms[1:]:
                expr = f"torch.{m.op}({expr}, {term})"
            return expr, out
        operator = {"add": " + ", "average": " + ", "multiply": " * ", "subtract": " - "}[m.op]
        expr = operator.join(terms)
        return (f"({expr}) / {len(terms)}" if m.op == "average" else expr), out

    def arithmetic(self, m, args, shapes):
        expr = ARITHMETIC[m.op].format(x=_atom(args[0]), v=_number(m.operand))
        return expr, shapes[0]

    def channels_last(self, m, args, shapes):
        """Keras' layer of the last axis: the channels moved last, the layer, and moved back."""
        inner = m.inner
        if isinstance(inner, nn.Merge):  # an elementwise merge does not care; a concat's axis
            if inner.op != "concat":     # is the channels-first axis of Keras' one
                return self.merge(inner, args, shapes)
            rank = len(shapes[0])
            axis = inner.axis % rank
            dim = (1 if axis == rank - 1 else axis + 2) if rank >= 2 else axis + 1
            return self.merge(inner, args, shapes, axis=dim)
        moved_args = [f"{_atom(a)}.movedim(1, -1)" if len(s) >= 2 else a
                      for a, s in zip(args, shapes)]
        moved_shapes = [(*s[1:], s[0]) if len(s) >= 2 else s for s in shapes]
        expr, shape = self.render(inner, moved_args, moved_shapes)
        if len(shape) >= 2:
            return f"{_atom(expr)}.movedim(-1, 1)", (shape[-1], *shape[:-1])
        return expr, shape

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
        ex = self.exportable
        trained = ex.trained
        inputs = [ex.part(i) for i in self.inputs]
        shapes = ", ".join(_shape_text(p.shape_chw) for p in inputs)
        source = {"hwc": "Keras or the layer language", "chw": "PyTorch"}[ex.layout]
        what = ("a model trained with minigrad, with its weights" if trained
                else f"a model written for {source}, with random weights")
        lines = [f'"""{ex.name}, exported by `cnncalc export`: {what}.',
                 "",
                 f"Input: {shapes} per sample, channels first as PyTorch has it. Each line of",
                 'forward() gives its output shape without the batch axis."""',
                 "", ""]
        if trained:
            lines += ["from pathlib import Path", "", "import numpy as np"]
        lines += ["import torch", "from torch import nn"]
        if self.uses_functional:
            lines.append("import torch.nn.functional as F")
        if trained:
            lines += ["", f"WEIGHTS = {weights_file!r}  # beside this file"]
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
        lines.append("    model.eval()")
        samples = [self.sample(p) for p in inputs]
        lines.append("    with torch.no_grad():")
        lines.append(f"        out = model({', '.join(samples)})")
        if len(ex.outputs) == 1:
            lines.append("    print(tuple(out.shape))")
        else:
            lines.append("    print([tuple(o.shape) for o in out])")
        return "\n".join(lines) + "\n"

    def sample(self, part: Part) -> str:
        """A random batch of 2 for an input: token ids when an embedding reads it."""
        for reader in self.exportable.parts:
            first = _inner(reader.modules[0]) if reader.modules else None
            if part.index in reader.inputs and isinstance(first, nn.Embedding):
                return f"torch.randint(0, {first.num_embeddings}, (2, {', '.join(map(str, part.shape_chw))}))"
        return f"torch.randn(2, {', '.join(map(str, part.shape_chw))})"


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


def _inner(module):
    return module.inner if isinstance(module, nn.ChannelsLast) else module


def _momentum(momentum: float) -> str:
    """PyTorch's momentum; Keras' 0.99 arrives as 1 - 0.99 (0.010000000000000009), written so."""
    keras = round(1 - momentum, 6)
    if len(repr(momentum)) > 8 and 1 - keras == momentum:
        return f"1 - {keras!r}"
    return _number(momentum)


def _tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _default(value, default):
    """None (leave it out) when `value` is PyTorch's default."""
    return None if value == default else value


def _sum_or_none(sizes) -> int | None:
    sizes = list(sizes)
    return None if None in sizes else sum(sizes)
