"""The same model in PyTorch, with minigrad's weights: `torch_twin(model)` translates a model from
`minigrad.tools.build.build_model` (an nn.Sequential or an nn.GraphModel) module by module, so the
benchmark can time both engines on identical work, and same_start_torch.py can train PyTorch from
minigrad's starting point.

    twin = torch_twin(model)          # a torch.nn.Module; float32, the same parameter values
    check_twins_agree(model, twin, x) # the largest eval-mode output difference

A GraphModel's steps run in the same order in the twin (`GraphTwin`). A module used by several
steps (a shared layer) becomes one torch module, so the sharing is kept. Trainable flags, BatchNorm
running statistics, eps and momentum are copied. `twin.parameter_pairs` lists
(minigrad parameter, torch parameter) for every parameter, for comparing gradients.
"""

from __future__ import annotations


import numpy as np
import torch

from minigrad import Tensor, no_grad
from minigrad.engine import nn

__all__ = ["torch_twin", "check_twins_agree", "GraphTwin"]

# Modules without settings or weights: the torch class of the same meaning.
PLAIN = {nn.ReLU: torch.nn.ReLU, nn.ReLU6: torch.nn.ReLU6, nn.Sigmoid: torch.nn.Sigmoid,
         nn.Tanh: torch.nn.Tanh, nn.SiLU: torch.nn.SiLU, nn.Hardswish: torch.nn.Hardswish,
         nn.Hardsigmoid: torch.nn.Hardsigmoid, nn.Mish: torch.nn.Mish, nn.SELU: torch.nn.SELU,
         nn.Softsign: torch.nn.Softsign, nn.Identity: torch.nn.Identity}


class Chain(torch.nn.Module):
    """Modules applied in order; the first may take several inputs (a merge), and none is the
    identity, as minigrad's builder chains the modules of one graph node."""

    def __init__(self, modules: list[torch.nn.Module]):
        super().__init__()
        self.chain = torch.nn.ModuleList(modules)

    def forward(self, *xs):
        if not len(self.chain):
            return xs[0]
        out = self.chain[0](*xs)
        for module in self.chain[1:]:
            out = module(out)
        return out


class GraphTwin(torch.nn.Module):
    """A GraphModel's forward loop in PyTorch: step k applies steps[k] to the values of the nodes
    wiring[k][1], giving node wiring[k][0]."""

    def __init__(self, steps: list[torch.nn.Module], wiring: list[tuple[int, tuple[int, ...]]],
                 input_nodes: list[int], outputs: tuple[int, ...]):
        super().__init__()
        self.steps = torch.nn.ModuleList(steps)
        self.wiring, self.input_nodes, self.outputs = wiring, input_nodes, outputs

    def forward(self, *inputs):
        values = dict(zip(self.input_nodes, inputs))
        for step, (node, sources) in zip(self.steps, self.wiring):
            values[node] = step(*(values[i] for i in sources))
        results = tuple(values[i] for i in self.outputs)
        return results[0] if len(results) == 1 else results


class Lambda(torch.nn.Module):
    """A settings-only computation (a merge, a reshape, a global pool) as a module."""

    def __init__(self, fn, text: str):
        super().__init__()
        self.fn, self.text = fn, text

    def forward(self, *xs):
        return self.fn(*xs)

    def extra_repr(self) -> str:
        return self.text


class ChannelsLastTwin(torch.nn.Module):
    """minigrad's ChannelsLast: (N, C, *S) -> (N, *S, C), `inner`, and back for a map."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, *xs):
        out = self.inner(*(x if x.ndim < 3 else x.movedim(1, -1) for x in xs))
        return out if out.ndim < 3 else out.movedim(-1, 1)


def _merge(op: str, axis: int):
    if op == "concat":
        return lambda *xs: torch.cat(xs, dim=axis % (xs[0].ndim - 1) + 1)
    if op == "subtract":
        return lambda a, b: a - b
    combine = {"add": torch.add, "average": torch.add, "multiply": torch.mul,
               "maximum": torch.maximum, "minimum": torch.minimum}[op]

    def merge(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = combine(out, x)
        return out / len(xs) if op == "average" else out
    return merge


ARITHMETIC = {"add": lambda x, v: x + v, "sub": lambda x, v: x - v, "rsub": lambda x, v: v - x,
              "mul": lambda x, v: x * v, "div": lambda x, v: x / v, "rdiv": lambda x, v: v / x,
              "pow": lambda x, v: x ** v, "rpow": lambda x, v: v ** x}
PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "replicate"}


class _Translator:
    """Translates minigrad modules, remembering each one's twin (shared layers stay shared) and
    the pairs of parameters."""

    def __init__(self):
        self.done: dict[int, torch.nn.Module] = {}
        self.parameter_pairs: list[tuple[Tensor, torch.nn.Parameter]] = []

    def copy(self, ours, theirs: torch.nn.Parameter) -> None:
        theirs.data = torch.from_numpy(ours.data.copy())
        theirs.requires_grad_(ours.requires_grad)
        self.parameter_pairs.append((ours, theirs))

    def module(self, module) -> torch.nn.Module:
        if id(module) not in self.done:
            self.done[id(module)] = self.translate(module)
        return self.done[id(module)]

    def translate(self, m) -> torch.nn.Module:
        if type(m) in PLAIN:
            return PLAIN[type(m)]()
        if isinstance(m, nn.Sequential):
            return torch.nn.Sequential(*(self.module(inner) for inner in m))
        if isinstance(m, nn.Conv2d):
            return self.conv2d(m)
        if isinstance(m, nn.Linear):  # ChannelLinear too: its twin moves the channels
            linear = torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
            self.copy(m.weight, linear.weight)
            if m.bias is not None:
                self.copy(m.bias, linear.bias)
            if isinstance(m, nn.ChannelLinear):
                return torch.nn.Sequential(Lambda(lambda x: x.movedim(1, -1), "to channels-last"),
                                           linear,
                                           Lambda(lambda x: x.movedim(-1, 1), "to channels-first"))
            return linear
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            kind = torch.nn.BatchNorm1d if isinstance(m, nn.BatchNorm1d) else torch.nn.BatchNorm2d
            norm = kind(m.num_features, eps=m.eps, momentum=m.momentum)
            self.copy(m.weight, norm.weight)
            self.copy(m.bias, norm.bias)
            norm.running_mean.copy_(torch.from_numpy(np.asarray(m.running_mean, np.float32)))
            norm.running_var.copy_(torch.from_numpy(np.asarray(m.running_var, np.float32)))
            return norm
        if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            return self.pool2d(m)
        if isinstance(m, (nn.GlobalAvgPool2d, nn.GlobalMaxPool2d)):
            reduce = torch.mean if isinstance(m, nn.GlobalAvgPool2d) else torch.amax
            return Lambda(lambda x: reduce(x, dim=(2, 3), keepdim=m.keepdims),
                          f"{reduce.__name__} over H, W, keepdim={m.keepdims}")
        if isinstance(m, nn.Dropout2d):
            return torch.nn.Dropout2d(m.p)
        if isinstance(m, nn.Dropout):
            return torch.nn.Dropout(m.p)
        if isinstance(m, nn.Flatten):
            return torch.nn.Flatten(m.start_dim)
        if isinstance(m, nn.Reshape):
            return Lambda(lambda x: x.reshape((x.shape[0],) + m.target), f"target={m.target}")
        if isinstance(m, nn.Merge):
            return Lambda(_merge(m.op, m.axis), f"op={m.op}")
        if isinstance(m, nn.Arithmetic):
            return Lambda(lambda x: ARITHMETIC[m.op](x, m.operand), f"{m.op} {m.operand}")
        if isinstance(m, nn.PadSides):
            last_axis_first = tuple(p for side in reversed(m.sides) for p in side)
            return Lambda(lambda x: torch.nn.functional.pad(x, last_axis_first, PAD_MODES[m.mode],
                                                            m.value if m.mode == "constant"
                                                            else None), f"sides={m.sides}")
        if isinstance(m, nn.ChannelsLast):
            return ChannelsLastTwin(self.module(m.inner))
        raise ValueError(f"no PyTorch twin for {type(m).__name__}")

    def conv2d(self, m: nn.Conv2d) -> torch.nn.Module:
        padding, pad_first = m.padding, None
        if isinstance(padding, tuple) and isinstance(padding[0], tuple):  # uneven: pad first
            (top, bottom), (left, right) = padding
            mode = {"zeros": "constant"}.get(m.padding_mode, m.padding_mode)
            pad_first = Lambda(lambda x: torch.nn.functional.pad(x, (left, right, top, bottom),
                                                                 mode), f"pad {padding} {mode}")
            padding = 0
        conv = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, padding,
                               m.dilation, m.groups, bias=m.bias is not None,
                               padding_mode=m.padding_mode)
        self.copy(m.weight, conv.weight)
        if m.bias is not None:
            self.copy(m.bias, conv.bias)
        return conv if pad_first is None else torch.nn.Sequential(pad_first, conv)

    def pool2d(self, m) -> torch.nn.Module:
        padding = m.padding
        is_max = isinstance(m, nn.MaxPool2d)
        if isinstance(padding, str) or isinstance(padding[0], tuple):
            raise ValueError(f"no PyTorch twin for {type(m).__name__} with padding {padding} "
                             "(PyTorch pools pad both sides alike)")
        if is_max:
            return torch.nn.MaxPool2d(m.kernel_size, m.stride, padding, ceil_mode=m.ceil_mode)
        return torch.nn.AvgPool2d(m.kernel_size, m.stride, padding, ceil_mode=m.ceil_mode,
                                  count_include_pad=m.count_include_pad)

    def step(self, step) -> torch.nn.Module:
        """A GraphModel step: its modules, in order."""
        return Chain([self.module(m) for m in step.modules])


def torch_twin(model) -> torch.nn.Module:
    """A torch.nn.Module computing what the minigrad `model` computes, from the same weights."""
    translator = _Translator()
    if isinstance(model, nn.GraphModel):
        twin = GraphTwin([translator.step(step) for step in model.steps],
                         [(step.node, step.inputs) for step in model.steps],
                         list(model.input_shapes), model.outputs)
    else:
        twin = translator.module(model)
    twin.parameter_pairs = translator.parameter_pairs
    twin.train(model.training)
    return twin


def check_twins_agree(model, twin, x: np.ndarray, tolerance: float = 1e-4) -> float:
    """The largest difference between the two models' eval-mode outputs on x; ValueError when it
    exceeds tolerance·(1 + the largest output), as a wrong twin would make every timing moot."""
    model.eval()
    twin.eval()
    try:
        with no_grad():
            ours = model(Tensor(x)).data
        with torch.no_grad():
            theirs = twin(torch.from_numpy(x)).numpy()
    finally:
        model.train()
        twin.train()
    difference = float(np.abs(ours - theirs).max())
    if not difference <= tolerance * (1 + float(np.abs(ours).max())):
        raise ValueError(f"the PyTorch twin differs from the minigrad model by {difference:.3g}")
    return difference
