"""The same random graph written as a PyTorch nn.Module and as Keras functional code reads into
the same rows: output shapes (C×H×W against H×W×C), parameters, MACs and receptive fields.

The two texts are generated independently, each in its framework's own idiom (PyTorch:
`nn.Conv2d(c_in, c_out, k, s, p)`, `F.relu`, `a + b`, `torch.cat(..., 1)`, `x.view(x.size(0),
-1)`; Keras: `layers.Conv2D(f, k, strides, padding, activation='relu')`, `layers.add`,
`layers.Concatenate()`, `layers.Flatten()`), so a reader that mishandles either idiom breaks the
equality."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from minigrad.readers import parse_spec
from minigrad.layers.shapes import convert_shape


@dataclass
class Conv:
    filters: int
    kernel: int
    stride: int
    same: bool   # 'same' padding (only with stride 1 and an odd kernel: the frameworks agree)
    relu: bool


@dataclass
class Pool:
    size: int


@dataclass
class Residual:
    """Two convs on one input, added (equal output shapes) or concatenated along channels."""

    left: Conv
    right: Conv
    concat: bool


def conv_strategy(same_shape: bool = False):
    def make(filters, kernel, stride, relu):
        if same_shape:
            return Conv(filters, kernel * 2 + 1, 1, True, relu)
        same = stride == 1 and kernel % 2 == 1
        return Conv(filters, kernel, stride, same, relu)
    return st.builds(make, st.integers(1, 4), st.integers(1, 3), st.integers(1, 2), st.booleans())


blocks = st.one_of(
    conv_strategy(),
    st.builds(Pool, st.integers(1, 2)),
    st.builds(lambda f, l, r, concat: Residual(Conv(f, l.kernel, 1, True, l.relu),
                                               Conv(f, r.kernel, 1, True, r.relu), concat),
              st.integers(1, 3), conv_strategy(True), conv_strategy(True), st.booleans()),
)


def torch_code(channels: int, plan: list, classes: int) -> str:
    init, forward, c = [], [], channels
    for i, block in enumerate(plan):
        if isinstance(block, Conv):
            init.append(f"self.conv{i} = {torch_conv(c, block)}")
            forward.append(f"x = self.conv{i}(x)" if not block.relu else f"x = F.relu(self.conv{i}(x))")
            c = block.filters
        elif isinstance(block, Pool):
            init.append(f"self.pool{i} = nn.MaxPool2d({block.size})")
            forward.append(f"x = self.pool{i}(x)")
        else:
            init.append(f"self.left{i} = {torch_conv(c, block.left)}")
            init.append(f"self.right{i} = {torch_conv(c, block.right)}")
            a = f"F.relu(self.left{i}(x))" if block.left.relu else f"self.left{i}(x)"
            b = f"F.relu(self.right{i}(x))" if block.right.relu else f"self.right{i}(x)"
            forward += [f"a = {a}", f"b = {b}",
                        "x = torch.cat([a, b], 1)" if block.concat else "x = a + b"]
            c = block.left.filters * (2 if block.concat else 1)
    forward += ["x = x.view(x.size(0), -1)", "return self.fc(x)"]
    lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", "",
             "class Net(nn.Module):", "    def __init__(self, features):", "        super().__init__()"]
    lines += [f"        {line}" for line in init]
    lines += [f"        self.fc = nn.Linear(features, {classes})", "", "    def forward(self, x):"]
    lines += [f"        {line}" for line in forward]
    return "\n".join(lines) + "\n"


def torch_conv(c_in: int, conv: Conv) -> str:
    padding = "'same'" if conv.same else "0"
    return f"nn.Conv2d({c_in}, {conv.filters}, {conv.kernel}, {conv.stride}, {padding})"


def keras_code(size: int, channels: int, plan: list, classes: int) -> str:
    lines = ["from tensorflow import keras", "from tensorflow.keras import layers", "",
             f"inputs = keras.Input(shape=({size}, {size}, {channels}))", "x = inputs"]
    for block in plan:
        if isinstance(block, Conv):
            lines.append(f"x = {keras_conv(block)}(x)")
        elif isinstance(block, Pool):
            lines.append(f"x = layers.MaxPooling2D({block.size})(x)")
        else:
            lines += [f"a = {keras_conv(block.left)}(x)", f"b = {keras_conv(block.right)}(x)",
                      "x = layers.Concatenate()([a, b])" if block.concat else "x = layers.add([a, b])"]
    lines += ["x = layers.Flatten()(x)", f"outputs = layers.Dense({classes})(x)",
              "model = keras.Model(inputs, outputs)", "model.summary()"]
    return "\n".join(lines) + "\n"


def keras_conv(conv: Conv) -> str:
    padding = "same" if conv.same else "valid"
    activation = ", activation='relu'" if conv.relu else ""
    return f"layers.Conv2D({conv.filters}, {conv.kernel}, strides={conv.stride}, padding='{padding}'{activation})"


def fits(size: int, plan: list) -> int | None:
    """The spatial size after the plan, or None when a window would not fit."""
    for block in plan:
        if isinstance(block, Conv):
            if not block.same:
                if size < block.kernel:
                    return None
                size = (size - block.kernel) // block.stride + 1
        elif isinstance(block, Pool):
            if size < block.size:
                return None
            size //= block.size
    return size


@given(size=st.integers(4, 12), channels=st.integers(1, 3), plan=st.lists(blocks, min_size=1, max_size=5),
       classes=st.integers(1, 5))
def test_pytorch_and_keras_forms_give_identical_rows(size, channels, plan, classes):
    if not fits(size, plan):
        return
    keras_summary = parse_spec(keras_code(size, channels, plan, classes)).analyze()
    flat = keras_summary.rows[-2].output_shape[0]
    torch_text = torch_code(channels, plan, classes).replace("def __init__(self, features)",
                                                             f"def __init__(self, features={flat})")
    torch_summary = parse_spec(torch_text, None, (channels, size, size)).analyze()
    assert len(torch_summary.rows) == len(keras_summary.rows)
    for t, k in zip(torch_summary.rows, keras_summary.rows):
        assert convert_shape(t.output_shape, "chw", "hwc") == k.output_shape, (t.name, k.name)
        assert (t.params, t.macs) == (k.params, k.macs), (t.name, k.name)
        assert (t.receptive_field, t.jump, t.rf_center) == (k.receptive_field, k.jump, k.rf_center)
        assert t.type == k.type
    assert torch_summary.total_params == keras_summary.total_params
