"""Pasted PyTorch code -> Network: the published models, forward() styles, and errors that point
at the offending token. Expected totals are the published ones (torchinfo / the tutorials)."""

from __future__ import annotations

import builtins
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.errors import SpecError, Where
from minigrad.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    Pool,
    analyze,
)
from minigrad.spec import load_spec, parse_spec, pytorch

# The network of the study notes.
STUDY_NOTES = """\
class Net(nn.Module):
  def __init__(self):
    super(Net, self).__init__()
    self.conv1 = nn.Conv2d(3, 64, 5)
    self.conv2 = nn.Conv2d(64, 128, 5)
    self.fc = nn.Linear(128 * 5 * 5, 10)
  def forward(self, x):
    x = F.relu(self.conv1(x))
    x = F.max_pool2d(x, 2)
    x = F.relu(self.conv2(x))
    x = F.max_pool2d(x, 2)
    x = torch.flatten(x, 1)
    x = self.fc(x)
    return x
"""

# "Training a Classifier", the PyTorch 60-minute blitz (CIFAR-10).
CIFAR_TUTORIAL = """\
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1) # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
"""

# pytorch/examples mnist/main.py
MNIST_EXAMPLE = """\
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output
"""

# The older pytorch/examples MNIST net: F.dropout with training=self.training, x.view(-1, 320).
OLD_MNIST_EXAMPLE = """\
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x)
"""


def summary(text: str, input_shape=(3, 32, 32)):
    return analyze(replace(pytorch.parse(text), input_shape=input_shape))


def error(text: str, input_shape=(3, 32, 32)) -> SpecError:
    with pytest.raises(SpecError) as info:
        summary(text, input_shape)
    return info.value


def where_of(text: str, fragment: str, length: int | None = None) -> Where:
    """Where FRAGMENT first occurs in TEXT (1-based line and column)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return Where(number, line.index(fragment) + 1, len(fragment) if length is None else length)
    raise AssertionError(f"{fragment!r} not in text")


def with_forward(body: str, init: str = "self.conv = nn.Conv2d(3, 8, 3)\n"
                                         "        self.fc = nn.Linear(8 * 30 * 30, 10)") -> str:
    """A small Net with the given __init__ lines and forward() body (8 spaces indented)."""
    return ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        {init}\n\n    def forward(self, x):\n        {body}\n")


# -- the published models -----------------------------------------------------------------------

def test_study_notes_network():
    result = summary(STUDY_NOTES)
    assert [r.output_shape for r in result.layers] == [
        (64, 28, 28), (64, 14, 14), (128, 10, 10), (128, 5, 5), (3200,), (10,)]
    assert [r.params for r in result.layers] == [4864, 0, 204928, 0, 0, 32010]
    assert [r.name for r in result.layers] == [
        "conv1", "F.max_pool2d", "conv2", "F.max_pool2d", "torch.flatten", "fc"]


def test_study_notes_layers():
    network = pytorch.parse(STUDY_NOTES)
    assert (network.input_shape, network.layout, network.rules) == (None, "chw", "torch")
    assert network.layers[0] == Conv(in_channels=3, filters=64, kernel=(5, 5), padding=(0, 0),
                                     activation="relu", name="conv1")
    assert network.layers[1] == Pool(mode="max", kernel=(2, 2), padding=(0, 0),
                                     name="F.max_pool2d")
    assert network.layers[5] == Dense(units=10, in_features=3200, name="fc")


def test_cifar_tutorial():
    result = summary(CIFAR_TUTORIAL)
    assert result.total_params == 62006
    assert [r.name for r in result.layers] == [
        "conv1", "pool", "conv2", "pool", "torch.flatten", "fc1", "fc2", "fc3"]
    assert [r.params for r in result.layers] == [456, 0, 2416, 0, 0, 48120, 10164, 850]
    assert result.layers[3].output_shape == (16, 5, 5)
    assert [r.description.endswith("relu") for r in result.layers] == [
        True, False, True, False, False, True, True, False]


def test_mnist_example():
    result = summary(MNIST_EXAMPLE, (1, 28, 28))
    assert result.total_params == 1199882
    assert [r.params for r in result.layers] == [320, 18496, 0, 0, 0, 1179776, 0, 1290]
    assert [r.name for r in result.layers] == [
        "conv1", "conv2", "F.max_pool2d", "dropout1", "torch.flatten", "fc1", "dropout2", "fc2"]
    network = pytorch.parse(MNIST_EXAMPLE)
    assert network.layers[-1].activation == "log_softmax"


def test_old_mnist_example():
    result = summary(OLD_MNIST_EXAMPLE, (1, 28, 28))
    assert result.total_params == 21840
    assert [r.type for r in result.layers] == [
        "conv", "maxpool", "activation", "conv", "dropout", "maxpool", "activation", "flatten",
        "dense", "dropout", "dense"]
    assert result.layers[7].output_shape == (320,)


def test_alexnet_preset():
    assert analyze(load_spec("alexnet").network).total_params == 61100840
    network = load_spec("alexnet").network
    assert network.layers[0].name == "features.0"
    assert network.layers[13].name == "avgpool"
    assert network.layers[-1].name == "classifier.6"
    assert network.layers[0].where == Where(6, 13, len("nn.Conv2d(3, 64, kernel_size=11, "
                                                       "stride=4, padding=2)"))


def test_format_is_detected():
    assert parse_spec(STUDY_NOTES).format == "pytorch"
    assert parse_spec(CIFAR_TUTORIAL, input_shape=(3, 32, 32)).network.input_shape == (3, 32, 32)


# -- accepted forms ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["model = nn.Sequential(", "nn.Sequential(",
                                   "net = torch.nn.Sequential("])
def test_top_level_sequential(model):
    text = ("import torch\nfrom torch import nn\n\n" + model + "\n    nn.Conv2d(1, 32, 3),\n"
            "    nn.ReLU(),\n    nn.Flatten(),\n    nn.Linear(32 * 26 * 26, 10),\n)\n")
    result = summary(text, (1, 28, 28))
    assert [r.name for r in result.layers] == ["0", "1", "2", "3"]
    assert result.total_params == 320 + 216330
    assert [r.type for r in result.layers] == ["conv", "activation", "flatten", "dense"]


def test_nested_sequential_names():
    text = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True)),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))

    def forward(self, x):
        return self.head(self.features(x))
"""
    result = summary(text)
    assert [r.name for r in result.layers] == [
        "features.0.0", "features.0.1", "features.0.2", "features.1", "head.0", "head.1", "head.2"]
    assert [r.output_shape for r in result.layers] == [
        (8, 32, 32), (8, 32, 32), (8, 32, 32), (8, 16, 16), (8, 1, 1), (8,), (2,)]


@pytest.mark.parametrize("option", ["count_include_pad=False", "divisor_override=2"])
def test_avg_pool_options_that_change_values_are_refused(option):
    """A trained model must compute what the pasted code computes, so only PyTorch's defaults."""
    with pytest.raises(SpecError, match=option.split("=")[0]):
        pytorch.parse(f"model = nn.Sequential(nn.AvgPool2d(2, {option}))")


def test_padding_modes_other_than_zeros_are_refused():
    with pytest.raises(SpecError, match="padding_mode"):
        pytorch.parse("model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode='reflect'))")


def test_layer_options():
    text = """\
model = nn.Sequential(
    nn.Conv2d(3, 16, kernel_size=(3, 5), stride=2, padding=(1, 2), dilation=1, groups=1,
              bias=False, padding_mode='zeros', device='cpu'),
    nn.Conv2d(16, 16, 3, padding='same'),
    nn.BatchNorm2d(16, eps=1e-3, momentum=0.01),
    nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    nn.AvgPool2d(kernel_size=2, count_include_pad=True),
    nn.AdaptiveAvgPool2d((2, 2)),
    nn.Dropout2d(p=0.1),
    nn.Flatten(),
    nn.Linear(64, 10, bias=False),
    nn.BatchNorm1d(10),
    nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Dropout(),
)
"""
    layers = pytorch.parse(text).layers
    assert layers[0] == Conv(in_channels=3, filters=16, kernel=(3, 5), stride=(2, 2),
                             padding=(1, 2), bias=False, name="0")
    assert layers[1].padding == "same"
    assert layers[2] == BatchNorm(num_features=16, name="2")
    assert layers[3] == Pool(mode="max", kernel=(3, 3), stride=(2, 2), padding=(1, 1), ceil=True,
                             name="3")
    assert layers[4] == Pool(mode="avg", kernel=(2, 2), padding=(0, 0), name="4")
    assert layers[5] == AdaptivePool(mode="avg", output=(2, 2), name="5")
    assert layers[6] == Dropout(rate=0.1, name="6")
    assert layers[7] == Flatten(name="7")
    assert layers[8] == Dense(units=10, in_features=64, bias=False, name="8")
    assert layers[9] == BatchNorm(num_features=10, name="9")
    assert [layer.fn for layer in layers[10:14]] == ["sigmoid", "tanh", "softmax", "log_softmax"]
    assert layers[14] == Dropout(rate=0.5, name="14")
    result = analyze(replace(pytorch.parse(text), input_shape=(3, 32, 32)))
    assert result.layers[8].output_shape == (10,)


@pytest.mark.parametrize("flatten", [
    "x = torch.flatten(x, 1)", "x = torch.flatten(x, start_dim=1)", "x = x.flatten(1)",
    "x = x.view(x.size(0), -1)", "x = x.view(x.shape[0], -1)", "x = x.view(x.size()[0], -1)",
    "x = x.view(-1, 8 * 30 * 30)", "x = x.reshape(-1, 7200)", "x = x.view((-1, 7200))",
    "x = x.reshape(x.size(0), 7200)", "x = nn.functional.flatten(x, 1)",
])
def test_flatten_spellings(flatten):
    result = summary(with_forward(f"x = self.conv(x)\n        {flatten}\n        return self.fc(x)"))
    assert result.layers[1].type == "flatten"
    assert result.layers[1].output_shape == (7200,)
    assert result.total_params == 224 + 72010


def test_view_with_wrong_feature_count():
    text = with_forward("x = self.conv(x)\n        x = x.view(-1, 16 * 5 * 5)\n        "
                        "return self.fc(x)")
    e = error(text)
    assert "reshaping to 400 features per sample" in e.message and "7,200" in e.message
    assert e.where == where_of(text, "x.view(-1, 16 * 5 * 5)")


@pytest.mark.parametrize("activation, expected", [
    ("F.relu(self.conv(x))", "relu"), ("torch.relu(self.conv(x))", "relu"),
    ("F.relu(self.conv(x), inplace=True)", "relu"), ("torch.sigmoid(self.conv(x))", "sigmoid"),
    ("torch.tanh(self.conv(x))", "tanh"), ("F.sigmoid(self.conv(x))", "sigmoid"),
    ("self.conv(x).relu()", "relu"), ("torch.nn.functional.relu(self.conv(x))", "relu"),
])
def test_functional_activation_is_folded_into_the_layer(activation, expected):
    network = pytorch.parse(with_forward(f"x = {activation}\n        return self.fc(x.flatten(1))"))
    assert network.layers[0] == Conv(in_channels=3, filters=8, kernel=(3, 3), padding=(0, 0),
                                     activation=expected, name="conv")
    assert len(network.layers) == 3


def test_activation_modules_and_second_activations_are_rows():
    text = with_forward("x = F.relu(self.act(self.conv(x)))\n        x = F.max_pool2d(x, 2)\n"
                        "        x = torch.tanh(x)\n        return F.softmax(x, dim=1)",
                        init="self.conv = nn.Conv2d(3, 8, 3)\n        self.act = nn.ReLU()")
    layers = pytorch.parse(text).layers
    assert [type(layer) for layer in layers] == [Conv, Activation, Activation, Pool, Activation,
                                                 Activation]
    assert layers[0].activation is None
    assert [layer.name for layer in layers[1:3]] == ["act", "F.relu"]
    assert layers[2].where == where_of(text, "F.relu(self.act(self.conv(x)))")


def test_functional_layers():
    text = with_forward("x = F.avg_pool2d(self.conv(x), kernel_size=2, stride=2, padding=1)\n"
                        "        x = F.max_pool2d(x, (2, 2), ceil_mode=True)\n"
                        "        x = F.dropout2d(x, 0.2, self.training)\n"
                        "        x = F.adaptive_avg_pool2d(x, 1)\n"
                        "        return x", init="self.conv = nn.Conv2d(3, 8, 3)")
    result = summary(text)
    assert [r.output_shape for r in result.layers] == [
        (8, 30, 30), (8, 16, 16), (8, 8, 8), (8, 8, 8), (8, 1, 1)]
    assert result.layers[3].type == "dropout"


def test_other_tensor_names_and_docstrings():
    text = '''\
class Net(torch.nn.Module):
    """A net."""
    def __init__(self, num_classes=10):
        """Layers."""
        nn.Module.__init__(self)
        self.fc = nn.Linear(12, 10)

    def forward(self, inputs):
        """Forward."""
        out = torch.flatten(inputs, 1)
        logits = self.fc(out)
        return logits

    def extra(self):
        return 1


model = Net(num_classes=10)
'''
    assert summary(text, (3, 2, 2)).total_params == 130


def test_module_without_init():
    text = "class Net(nn.Module):\n    def forward(self, x):\n        return torch.flatten(x, 1)\n"
    assert summary(text).layers[0].output_shape == (3072,)


def test_pool_module_used_twice_gives_two_rows():
    result = summary(CIFAR_TUTORIAL)
    assert [r.type for r in result.layers[:4]] == ["conv", "maxpool", "conv", "maxpool"]


# -- errors ---------------------------------------------------------------------------------------

def test_in_features_mismatch_points_at_the_linear_constructor():
    text = STUDY_NOTES.replace("128 * 5 * 5", "128 * 4 * 4")
    e = error(text)
    assert e.message.startswith("fc: expects 2,048 input features but receives 3,200")
    assert e.where == where_of(text, "nn.Linear(128 * 4 * 4, 10)")


def test_in_channels_mismatch():
    text = STUDY_NOTES.replace("nn.Conv2d(64, 128, 5)", "nn.Conv2d(32, 128, 5)")
    e = error(text)
    assert e.message.startswith("conv2: expects 32 input channels but receives 64")
    assert e.where == where_of(text, "nn.Conv2d(32, 128, 5)")


def test_missing_input_shape():
    with pytest.raises(SpecError, match="missing input shape"):
        analyze(pytorch.parse(STUDY_NOTES))


def test_unknown_layer_with_hint():
    text = STUDY_NOTES.replace("nn.Conv2d(64, 128, 5)", "nn.Conv3d(64, 128, 5)")
    e = error(text)
    assert e.message == "unknown PyTorch layer 'Conv3d'"
    assert e.hint == "did you mean 'Conv2d'?"
    assert e.where == where_of(text, "nn.Conv3d")


def test_keras_layer_in_pytorch_code():
    e = error("model = nn.Sequential(nn.Dense(10))")
    assert e.message == "unknown PyTorch layer 'Dense'"


def test_call_in_argument_is_refused(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the parser ran code")
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    text = STUDY_NOTES.replace("nn.Conv2d(64, 128, 5)", "nn.Conv2d(64, 128, __import__('os').system('x'))")
    e = error(text)
    assert e.message == ("only numbers, strings and tuples are accepted as arguments, "
                         "not a call to __import__('os').system")
    assert e.where == where_of(text, "__import__('os').system('x')")


def test_variable_argument_is_refused():
    text = "class Net(nn.Module):\n    def __init__(self, num_classes=10):\n        super().__init__()\n" \
           "        self.fc = nn.Linear(12, num_classes)\n    def forward(self, x):\n        return self.fc(x)\n"
    e = error(text)
    assert e.message.endswith("not the name 'num_classes'")
    assert e.where == where_of(text, "num_classes)", len("num_classes"))


def test_groups_are_refused():
    text = STUDY_NOTES.replace("nn.Conv2d(64, 128, 5)", "nn.Conv2d(64, 128, 5, groups=2)")
    e = error(text)
    assert e.message == "nn.Conv2d: only groups=1 is supported, not 2"
    assert e.where == where_of(text, "2)", 1)


def test_unknown_keyword_with_hint():
    text = STUDY_NOTES.replace("nn.Conv2d(64, 128, 5)", "nn.Conv2d(64, 128, 5, stide=2)")
    e = error(text)
    assert e.message == "unknown argument 'stide' for nn.Conv2d"
    assert e.hint == "did you mean 'stride'?"
    assert e.where == where_of(text, "stide=2")


@pytest.mark.parametrize("layer, message", [
    ("nn.Conv2d(3, 8)", "nn.Conv2d needs kernel_size"),
    ("nn.Conv2d(3, 8, 3, 1, 0, 1, 1, True, 'zeros', 'cpu')", "nn.Conv2d takes at most 9 positional"),
    ("nn.Conv2d(3, 8, 3, padding='full')", "padding must be 'same', 'valid' or a non-negative"),
    ("nn.Conv2d(3, 8, 3, padding=-1)", "padding must be a non-negative whole number or a pair"),
    ("nn.Conv2d(*args)", "*args cannot be read without running the code"),
    ("nn.Conv2d(3, 8, **kw)", "**kw cannot be read without running the code"),
    ("nn.MaxPool2d(2, dilation=2)", "only dilation=1 is supported"),
    ("nn.MaxPool2d(2, padding='same')", "padding must be a non-negative whole number or pair"),
    ("nn.MaxPool2d(2, return_indices=True)", "only return_indices=False is supported"),
    ("nn.Flatten(0)", "only start_dim=1 is supported"),
    ("nn.BatchNorm2d(8, affine=False)", "only affine=True is supported"),
    ("nn.Dropout(p=1.0)", "p must be a number in [0, 1)"),
    ("nn.AdaptiveAvgPool2d((None, 7))", "output_size must be a positive whole number or a pair"),
    ("nn.ReLU(True, False)", "nn.ReLU takes at most 1 positional argument"),
    ("nn.Linear(3, 4, momentum=0.1)", "unknown argument 'momentum' for nn.Linear"),
    ("conv", "expected a layer such as nn.Conv2d(...), not the name 'conv'"),
])
def test_bad_layer_arguments(layer, message):
    e = error(f"model = nn.Sequential(\n    {layer},\n)\n")
    assert message in e.message
    assert e.where.line == 2


def test_sequential_with_starred_layers():
    e = error("layers = []\nmodel = nn.Sequential(*layers)\n")
    assert e.where.line == 1  # `layers = []` is refused first
    e = error("model = nn.Sequential(*layers)\n")
    assert "*layers cannot be read" in e.message


def test_weight_sharing_is_refused():
    text = with_forward("x = self.conv(x)\n        x = F.relu(x)\n        x = self.conv(x)\n"
                        "        return x", init="self.conv = nn.Conv2d(3, 3, 3)")
    e = error(text)
    assert "self.conv is used twice" in e.message and "shared weights" in e.message
    assert e.where.line == 9


@pytest.mark.parametrize("body, detail", [
    ("y = self.conv(x)\n        return x + y", "'x + y' is not a layer call"),
    ("if x.size(1) > 3:\n            x = self.conv(x)\n        return x", "'if x.size(1) > 3:'"),
    ("for _ in range(2):\n            x = self.conv(x)\n        return x", "'for _ in range(2):'"),
    ("y = self.conv(x)\n        return F.relu(x)", "'x' is not the tensor being passed along ('y')"),
    ("x = torch.cat([x, x], 1)\n        return x", "torch.cat() is not one of the operations"),
    ("x, y = x, x\n        return x", "'x, y = (x, x)' is not 'x = layer(x)'"),
    ("x += 1\n        return x", "'x += 1' is not 'x = layer(x)'"),
    ("return self.conv(x, 2)", "self.conv must be called on one tensor"),
    ("return x.view(x.size(0), 2, -1)", "only reshaping to (batch, features) is supported"),
])
def test_non_sequential_forward(body, detail):
    e = error(with_forward(body, init="self.conv = nn.Conv2d(3, 3, 3)"))
    assert e.message.startswith("only a sequential forward() is supported: ")
    assert detail in e.message
    assert e.where is not None and e.where.line >= 7


@pytest.mark.parametrize("body, message", [
    ("x = self.conv(x)", "forward() must end with 'return x'"),
    ("return x\n        x = self.conv(x)", "code after return"),
    ("return self.cnv(x)", "self.cnv is not created in __init__"),
    ("return torch.flatten(x)", "flattens the batch axis too"),
    ("return x.flatten()", "flattens the batch axis too"),
    ("return x.view(batch, -1)", "not the name 'batch'"),
    ("return x.view(-1, -1)", "the feature count must be a positive whole number"),
    ("return x.view(-1, self.num_flat_features(x))", "not a call to self.num_flat_features"),
    ("return F.max_pool2d(x, 2, dilation=2)", "only dilation=1 is supported"),
    ("return F.dropout(x, training=self.is_training)", "not 'self.is_training'"),
    ("return F.relu()", "F.relu() needs the tensor as its first argument"),
])
def test_forward_errors(body, message):
    e = error(with_forward(body, init="self.conv = nn.Conv2d(3, 3, 3)"))
    assert message in e.message
    assert e.where is not None


def test_unknown_module_hint():
    e = error(with_forward("return self.cnv(x)", init="self.conv = nn.Conv2d(3, 3, 3)"))
    assert e.hint == "did you mean 'conv'?"


def test_unused_layer_with_parameters():
    text = with_forward("return self.conv(x)", init="self.conv = nn.Conv2d(3, 3, 3)\n"
                                                   "        self.fc = nn.Linear(3, 3)")
    e = error(text)
    assert "self.fc is created in __init__ but never used" in e.message
    assert e.where == where_of(text, "self.fc = nn.Linear(3, 3)")


def test_unused_layer_without_parameters_is_fine():
    text = with_forward("return self.conv(x)", init="self.conv = nn.Conv2d(3, 3, 3)\n"
                                                   "        self.drop = nn.Dropout()")
    assert len(pytorch.parse(text).layers) == 1


def test_class_without_forward():
    text = STUDY_NOTES.replace("def forward", "def forwards")
    e = error(text)
    assert e.message == "class Net has no forward(); cnncalc reads the order of the layers from it"
    assert e.where.line == 1


@pytest.mark.parametrize("text, message", [
    ("class Net(object):\n    def forward(self, x):\n        return x\n", "must subclass nn.Module"),
    ("class Net(nn.Module):\n    size = 3\n    def forward(self, x):\n        return x\n",
     "only __init__ and forward are read"),
    ("class Net(nn.Module):\n    def forward(self, x, y):\n        return x\n",
     "forward() must take one input tensor"),
    ("class Net(nn.Module):\n    def __init__(self):\n        self.n = 3\n"
     "    def forward(self, x):\n        return x\n", "'self.n = 3' is not a layer"),
    ("class Net(nn.Module):\n    def __init__(self):\n        self._init_weights()\n"
     "    def forward(self, x):\n        return x\n", "is not a layer; __init__ may only create"),
    ("class Net(nn.Module):\n    def __init__(self):\n        self.a = nn.ReLU()\n"
     "        self.a = nn.ReLU()\n    def forward(self, x):\n        return x\n",
     "self.a is assigned twice"),
    ("class Net(nn.Module):\n    def __init__(self):\n        self.a = nn.ModuleList([])\n"
     "    def forward(self, x):\n        return x\n", "unknown PyTorch layer 'ModuleList'"),
])
def test_class_errors(text, message):
    e = error(text)
    assert message in e.message
    assert e.where is not None


@pytest.mark.parametrize("statement", [
    "optimizer = optim.SGD(net.parameters(), lr=0.001)", "net.to(device)", "print(net)",
    "net = Net().to(device)", "criterion = nn.CrossEntropyLoss()",
])
def test_other_top_level_statements(statement):
    e = error(CIFAR_TUTORIAL + statement + "\n")
    assert e.message.endswith("is not a layer definition; paste only the model")
    assert e.where.line == CIFAR_TUTORIAL.count("\n") + 1


def test_net_arguments_must_be_literal():
    e = error(CIFAR_TUTORIAL.replace("net = Net()", "net = Net(classes)"))
    assert e.message.endswith("not the name 'classes'")


def test_two_models():
    e = error(CIFAR_TUTORIAL + "model = nn.Sequential(nn.ReLU())\n")
    assert e.message.startswith("a second model")


def test_no_model_and_empty_model():
    assert error("import torch\n").message.startswith("no model found")
    assert error("model = nn.Sequential()\n").message == "empty model: no layers found"


def test_syntax_error():
    text = "class Net(nn.Module):\n    def forward(self, x)\n        return x\n"
    e = error(text)
    assert e.message.startswith("pasted code is not valid Python")
    assert e.where.line == 2


def test_nul_byte_is_a_spec_error():
    with pytest.raises(SpecError):
        pytorch.parse("model = nn.Sequential(nn.ReLU())\x00\n")


@given(st.sampled_from([STUDY_NOTES, CIFAR_TUTORIAL, MNIST_EXAMPLE, OLD_MNIST_EXAMPLE]), st.data())
def test_edited_pastes_fail_only_with_spec_errors(text, data):
    """Whatever a learner's edit breaks, the answer is a SpecError with a place, not a crash."""
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 3))
        text = text[:at] + data.draw(st.sampled_from(["", "(", ")", ",", "=", "0", "-1", "x",
                                                      "self.", "[", "None", "*", "\n"])) + text[at + cut:]
    try:
        network = pytorch.parse(text)
        assert all(layer.where is not None for layer in network.layers)
        analyze(replace(network, input_shape=(3, 32, 32)))
    except SpecError as e:
        assert e.where is not None or e.message.startswith(("no ", "empty ", "missing input"))
