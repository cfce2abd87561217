"""The code reader: whole scripts, helpers, loops, residual forward()s, notebooks, model and input
choice, --set / --model, and the errors a learner meets. Figures are worked out by hand in the
comments (or are the frameworks' published counts), never taken from the reader itself."""

from __future__ import annotations

import json

import pytest
from cnncalc.app import app
from typer.testing import CliRunner

from minigrad.errors import SpecError
from minigrad.readers.code import read_code
from minigrad.readers import ReadOptions, parse_spec

runner = CliRunner()


def summary(text: str, input_shape=None, **options):
    spec = parse_spec(text, None, input_shape, ReadOptions(**options))
    return spec, spec.analyze()


def error(text: str, input_shape=None, **options) -> SpecError:
    with pytest.raises(SpecError) as info:
        summary(text, input_shape, **options)
    return info.value


def shapes(result) -> dict[str, tuple]:
    return {row.name: row.output_shape for row in result.rows}


# ---------------------------------------------------------------------------------------------
# Whole scripts: the model is found among imports, data loading, training and printing.
# ---------------------------------------------------------------------------------------------

KERAS_SCRIPT = """\
import tensorflow as tf
mnist = tf.keras.datasets.mnist
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
x_train = x_train.reshape(-1, 28, 28, 1)
num_classes = 10
model = tf.keras.Sequential([
    tf.keras.layers.InputLayer(input_shape=(28, 28, 1)),
    tf.keras.layers.Conv2D(32, (3, 3), activation='relu', padding='same'),
    tf.keras.layers.Conv2D(64, (3, 3), activation='relu', padding='same'),
    tf.keras.layers.MaxPooling2D((2, 2)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(num_classes, activation='softmax'),
])
model.summary()
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)
print(history.history['accuracy'][-1])
model.evaluate(x_test, y_test)
"""


def test_keras_script_whole():
    # 320 + 18,496 + (14·14·64)·128 + 128 + 128·10 + 10 = 1,625,866 (the study notes' figure)
    spec, result = summary(KERAS_SCRIPT)
    assert result.total_params == 1_625_866
    assert shapes(result)["dense_1"] == (10,)


TORCH_SCRIPT = """\
import argparse
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torchvision import datasets, transforms

parser = argparse.ArgumentParser()
parser.add_argument('--hidden', type=int, default=128)
parser.add_argument('--no-cuda', action='store_true')
args = parser.parse_args()
device = torch.device("cuda" if torch.cuda.is_available() and not args.no_cuda else "cpu")

class Net(nn.Module):
    def __init__(self, hidden=64, num_classes=10):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(9216, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)

def train(model, loader, optimizer):
    model.train()
    for data, target in loader:
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()

def main():
    loader = torch.utils.data.DataLoader(datasets.MNIST('../data', train=True, download=True,
                                         transform=transforms.ToTensor()), batch_size=64)
    model = Net(hidden=args.hidden).to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    correct = 0
    for epoch in range(1, 3):
        train(model, loader, optimizer)
    print(100. * correct / len(loader.dataset))

if __name__ == '__main__':
    main()
"""


def test_torch_script_with_argparse_and_main():
    # args.hidden = 128 (its default); the model is built inside main() and handed to an optimizer:
    # 320 + 18,496 + 9216·128 + 128 + 128·10 + 10 = 1,199,882
    spec, result = summary(TORCH_SCRIPT, (1, 28, 28))
    assert result.total_params == 1_199_882
    assert shapes(result)["fc1"] == (128,)


def test_missing_input_names_the_dataset_it_loads():
    problem = error(TORCH_SCRIPT)
    assert "--input" in problem.message
    assert problem.hint and "1x28x28" in problem.hint


def test_set_overrides_an_argparse_default_and_a_module_name():
    spec, result = summary(TORCH_SCRIPT, (1, 28, 28), overrides={"hidden": 32})
    assert shapes(result)["fc1"] == (32,)   # 9216·32 + 32 + 32·10 + 10 fewer parameters
    assert result.total_params == 320 + 18_496 + 9216 * 32 + 32 + 32 * 10 + 10


def test_a_value_read_from_data_is_named_with_the_way_out():
    code = ("import torch.nn as nn\nfrom torchvision import datasets\n"
            "train_set = datasets.ImageFolder('pets/')\nnum_classes = len(train_set.classes)\n"
            "model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, num_classes))\n")
    problem = error(code, (3, 8, 8))
    assert "num_classes" in problem.message and problem.where.line == 5
    assert problem.hint == "pass --set num_classes=VALUE"
    spec, result = summary(code, (3, 8, 8), overrides={"num_classes": 5})
    assert result.total_params == 192 * 5 + 5


# ---------------------------------------------------------------------------------------------
# Code that builds layers: helpers, loops, configs, containers, nn.Sequential subclasses.
# ---------------------------------------------------------------------------------------------

VGG_CFG = """\
import torch.nn as nn
cfg = {'tiny': [16, 'M', 32, 32, 'M']}

class VGG(nn.Module):
    def __init__(self, name='tiny', num_classes=10):
        super().__init__()
        self.features = self._make_layers(cfg[name])
        self.classifier = nn.Linear(32 * 8 * 8, num_classes)

    def _make_layers(self, config):
        layers, in_channels = [], 3
        for x in config:
            if x == 'M':
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [nn.Conv2d(in_channels, x, kernel_size=3, padding=1),
                           nn.BatchNorm2d(x), nn.ReLU(inplace=True)]
                in_channels = x
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.features(x)
        out = out.view(out.size(0), -1)
        return self.classifier(out)
"""


def test_loop_built_layers_named_as_pytorch_names_them():
    spec, result = summary(VGG_CFG, (3, 32, 32))
    rows = shapes(result)
    assert rows["features.0"] == (16, 32, 32) and rows["features.3"] == (16, 16, 16)
    assert rows["features.10"] == (32, 8, 8) and rows["classifier"] == (10,)
    convs = 3 * 9 * 16 + 16 + 16 * 9 * 32 + 32 + 32 * 9 * 32 + 32
    batchnorm = 2 * (16 + 32 + 32)            # γ and β; running stats are buffers in PyTorch
    assert result.total_params == convs + batchnorm + 2048 * 10 + 10
    assert result.buffers == 2 * (16 + 32 + 32)   # running mean and variance per channel


RESNET = """\
import torch
import torch.nn as nn
import torch.nn.functional as F

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, 1, stride, bias=False),
                nn.BatchNorm2d(self.expansion * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)

class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10):
        super().__init__()
        self.in_planes = 8
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = self._make_layer(block, 8, num_blocks[0], 1)
        self.layer2 = self._make_layer(block, 16, num_blocks[1], 2)
        self.linear = nn.Linear(16 * block.expansion, num_classes)

    def _make_layer(self, block, planes, n, stride):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer2(self.layer1(out))
        out = F.adaptive_avg_pool2d(out, 1)
        return self.linear(out.view(out.size(0), -1))

net = ResNet(BasicBlock, [1, 1])
y = net(torch.randn(1, 3, 16, 16))
"""


def test_residual_net_from_its_own_sample_tensor():
    spec, result = summary(RESNET)   # no --input: the script's torch.randn(1, 3, 16, 16)
    rows = {row.name: row for row in result.rows}
    assert rows["layer2.0.shortcut.0"].output_shape == (16, 8, 8)
    add = next(row for row in result.rows if row.type == "add" and row.name.startswith("layer2"))
    assert set(add.inputs) == {"layer2.0.bn2", "layer2.0.shortcut.1"}
    convs = 3 * 9 * 8 + 2 * (8 * 9 * 8) + 8 * 9 * 16 + 16 * 9 * 16 + 8 * 16
    bns = 2 * (8 + 8 + 8 + 16 + 16 + 16)
    assert result.total_params == convs + bns + 16 * 10 + 10


def test_depth_folds_blocks_like_torchinfo():
    result = runner.invoke(app, ["shapes", "-", "--depth", "1", "-f", "json"], input=RESNET)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [layer["name"] for layer in data["layers"]]
    assert "layer1" in names and "layer2" in names and not any(n.startswith("layer1.") for n in names)
    layer2 = next(layer for layer in data["layers"] if layer["name"] == "layer2")
    assert layer2["output_shape"] == [16, 8, 8]
    assert layer2["params"] == 8 * 9 * 16 + 16 * 9 * 16 + 8 * 16 + 2 * (16 + 16 + 16)
    assert data["total_params"] == summary(RESNET)[1].total_params


# ---------------------------------------------------------------------------------------------
# Which model: several candidates, --model, classes built with their defaults.
# ---------------------------------------------------------------------------------------------

GAN = """\
import torch.nn as nn
nz, ngf, ndf = 8, 4, 4
class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.ConvTranspose2d(nz, ngf, 4, 1, 0, bias=False), nn.Tanh())
    def forward(self, z):
        return self.main(z)
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2))
    def forward(self, x):
        return self.main(x)
netG = Generator()
netD = Discriminator()
optimizerD = optim.Adam(netD.parameters())
optimizerG = optim.Adam(netG.parameters())
"""


def test_several_models_a_note_names_them_and_model_picks_one():
    spec, result = summary(GAN, (1, 8, 8))
    assert spec.model_name == "netD"     # the first one handed to an optimizer
    assert any("netD" in note and "netG" in note and "--model" in note for note in spec.notes)
    spec, result = summary(GAN, (8, 1, 1), model="netG")
    # ConvTranspose2d: (1 − 1)·1 − 0 + (4 − 1) + 1 = 4; params 8·4·4·4 (no bias)
    assert shapes(result)["main.0"] == (4, 4, 4) and result.total_params == 512


def test_unknown_model_name_lists_the_models():
    problem = error(GAN, (1, 8, 8), model="netX")
    assert "netX" in problem.message and "netD" in (problem.hint or "")


def test_typo_nn_module_is_read_with_a_note():
    code = ("class Net(nn.module):\n  def __init__(self):\n    super(Net, self).__init__()\n"
            "    self.fc = nn.Linear(4, 2)\n  def forward(self, x):\n    return self.fc(x)\n"
            "net = Net()\nout = net(torch.randn(1, 4))\nloss.backward()\n")
    spec, result = summary(code)
    assert result.total_params == 10
    assert any("nn.Module" in note for note in spec.notes)


# ---------------------------------------------------------------------------------------------
# The classic shape bugs, named with both numbers.
# ---------------------------------------------------------------------------------------------

def test_view_that_changes_the_batch_size():
    code = ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.conv = nn.Conv2d(1, 8, 3)\n        self.fc = nn.Linear(400, 10)\n"
            "    def forward(self, x):\n        x = self.conv(x)\n        x = x.view(-1, 400)\n"
            "        return self.fc(x)\n")
    problem = error(code, (1, 12, 12))   # 8·10·10 = 800 values per sample
    assert "800" in problem.message and "400" in problem.message and problem.where.line == 8


def test_wrong_in_features_in_a_script():
    code = "import torch.nn as nn\nmodel = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(100, 2))\n"
    problem = error(code, (3, 8, 8))     # 4·6·6 = 144 arrive
    assert "100" in problem.message and "144" in problem.message and problem.where.line == 2


# ---------------------------------------------------------------------------------------------
# Keras functional, subclassed and preprocessing models; notebooks.
# ---------------------------------------------------------------------------------------------

def test_keras_functional_concat_and_shared_layer():
    code = """\
from tensorflow import keras
from tensorflow.keras import layers
inputs = keras.Input(shape=(16, 16, 3))
shared = layers.Conv2D(4, 3, padding="same")
a = shared(inputs)
b = shared(layers.AveragePooling2D(1)(inputs))
x = layers.Concatenate()([a, b])
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(2)(x)
model = keras.Model(inputs, outputs)
"""
    spec, result = summary(code)
    rows = {row.name: row for row in result.rows}
    assert rows["concatenate"].output_shape == (16, 16, 8)
    assert result.total_params == (3 * 9 * 4 + 4) + (8 * 2 + 2)   # the shared conv counted once


def test_keras_subclassed_model_with_build():
    code = """\
import tensorflow as tf
class Small(tf.keras.Model):
    def __init__(self, classes=3):
        super().__init__()
        self.conv = tf.keras.layers.Conv2D(2, 3, activation="relu")
        self.flat = tf.keras.layers.Flatten()
        self.out = tf.keras.layers.Dense(classes)
    def call(self, x, training=False):
        return self.out(self.flat(self.conv(x)))
model = Small()
model.build((None, 5, 5, 1))
model.summary()
"""
    spec, result = summary(code)
    assert result.total_params == (9 * 2 + 2) + (3 * 3 * 2 * 3 + 3)


def test_notebook_cells_in_order_with_magics(tmp_path):
    cells = [
        {"cell_type": "markdown", "source": ["# MNIST\n"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "!pip install tensorflow\n",
                                         "from tensorflow import keras\n"]},
        {"cell_type": "code", "source": "model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),\n"
                                        "    keras.layers.Dense(10)])"},
        {"cell_type": "code", "source": ["model.summary()\n"]},
    ]
    path = tmp_path / "mnist.ipynb"
    path.write_text(json.dumps({"cells": cells, "nbformat": 4, "metadata": {}}))
    result = runner.invoke(app, ["shapes", str(path), "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_params"] == 784 * 10 + 10


def test_pasted_code_is_never_executed(tmp_path):
    canary = tmp_path / "canary"
    code = (f"import os\nos.system('touch {canary}')\nopen('{canary}', 'w').write('x')\n"
            f"__import__('os').system('touch {canary}')\n"
            "model = nn.Sequential(nn.Linear(2, 2))\n")
    spec, result = summary(code, (2,))
    assert result.total_params == 6 and not canary.exists()


def test_layers_in_a_plain_list_are_not_counted_as_pytorch_does_not():
    code = ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.blocks = [nn.Linear(8, 8) for _ in range(2)]\n        self.head = nn.Linear(8, 2)\n"
            "    def forward(self, x):\n        for block in self.blocks:\n            x = block(x)\n"
            "        return self.head(x)\n")
    spec, result = summary(code, (8,))
    # sum(p.numel() for p in Net().parameters()) is the head's 8·2 + 2 = 18: a list registers nothing
    assert result.total_params == 18
    assert all("nn.ModuleList" in row.notes[0] for row in result.rows[1:3])
    fixed = code.replace("[nn.Linear(8, 8) for _ in range(2)]", "nn.ModuleList([nn.Linear(8, 8) for _ in range(2)])")
    assert summary(fixed, (8,))[1].total_params == 18 + 2 * 72


def test_tensor_slices():
    code = ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.conv = nn.Conv1d(2, 4, 3)\n"
            "    def forward(self, x):\n        x = self.conv(x)\n"
            "        return x[:, :3, 1::2]\n")
    spec, result = summary(code, (2, 16))
    row = result.rows[-1]
    # conv: 16 − 3 + 1 = 14 steps, 4 channels; [:3] keeps 3 channels, [1::2] steps 1, 3, …, 13: 7
    assert row.output_shape == (3, 7)
    # every other conv output: field 3, jump 1·2 = 2, first centre 1 + 1·1 = 2
    assert (row.receptive_field, row.jump, row.rf_center) == ((3,), (2,), (2,))
    problem = error(code.replace("x[:, :3, 1::2]", "x[0]"), (2, 16))
    assert "batch" in problem.message and problem.where.line == 7


def test_keras_grey_image_without_its_channel_axis():
    code = ("model = tf.keras.models.Sequential([\n  tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
            "  tf.keras.layers.Dense(10)\n])\n")
    spec, result = summary(code)
    # 28·28·10 + 10 = 7,850 (the TensorFlow quickstart's output layer alone); each unit sees the
    # whole 28×28 image, not 28 rows of 28 channels
    assert result.total_params == 7850
    assert result.rows[-1].receptive_field == (28, 28)
