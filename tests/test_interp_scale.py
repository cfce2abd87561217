"""A pasted ResNet-152 script (torchvision-style, with a training loop) stays far inside the
bounds, through a tiny symbolic stand-in for torch defined here."""

from __future__ import annotations

import time
from pathlib import Path

from minigrad.readers.interp import MISSING, Foreign, Interpreter, Limits, Unknown, parse_source

SCRIPT = Path(__file__).parent / "interp_data" / "resnet152_script.py"


class Tensor(Foreign):
    def binary(self, interp, op, other, right, at):
        return self

    def get_attr(self, interp, name, at):
        return self if name in ("view", "relu") else Unknown(f"tensor.{name}", at)


class Layer(Foreign):
    def __init__(self, log):
        self.log = log

    def call(self, interp, args, kwargs, at):
        self.log.append("call")
        return args[0] if args else Tensor()


class LayerFactory(Foreign):
    def __init__(self, name, log):
        self.name, self.log = name, log

    def call(self, interp, args, kwargs, at):
        self.log.append(self.name)
        return Tensor() if self.name == "tensor" else Layer(self.log)


class Sequential(Foreign):
    def __init__(self, log):
        self.log = log

    def call(self, interp, args, kwargs, at):
        children = list(args)

        class Seq(Foreign):
            def call(self, interp, args, kwargs, at):
                x = args[0]
                for child in children:
                    x = interp.call(child, [x], {}, at)
                return x
        return Seq()


class ModuleClass(Foreign):
    def is_class(self):
        return True

    def instance_attr(self, interp, instance, name, at):
        return Unknown(f"module.{name}", at) if name == "modules" else MISSING

    def instance_call(self, interp, instance, args, kwargs, at):
        return interp.call(interp.get_attr(instance, "forward", at), args, kwargs, at)


class Torch(Foreign):
    def __init__(self):
        self.log = []
        self.module = ModuleClass()

    def get_attr(self, interp, name, at):
        if name in ("nn", "functional"):
            return self
        if name == "Module":
            return self.module
        if name == "Sequential":
            return Sequential(self.log)
        if name in ("randn", "flatten"):
            return LayerFactory("tensor", [])
        if name[0].isupper():
            return LayerFactory(name, self.log)
        return Unknown(f"torch.{name}", at)


def test_a_pasted_resnet152_script_stays_far_inside_the_bounds():
    text = SCRIPT.read_text(encoding="utf-8")
    torch = Torch()
    start = time.perf_counter()
    interp = Interpreter(parse_source(text), text, importer=lambda name, at: torch)
    interp.run()
    elapsed = time.perf_counter() - start
    assert torch.log.count("Conv2d") == 1 + 3 * 50 + 4  # stem, 50 bottlenecks, 4 downsamples
    assert isinstance(interp.globals["y"], Tensor)
    assert interp.budget.steps < Limits().steps // 10, interp.budget.steps
    assert elapsed < 2.0
    print(f"ResNet-152 script: {interp.budget.steps:,} steps, {elapsed:.2f} s")
