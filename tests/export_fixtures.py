"""What the export tests share: the models exported, the inputs, and the frameworks they need.

- `trained(preset)`: a preset trained for 40 Adam steps on real MNIST (so its weights, and its
  BatchNorm statistics, are not the initial ones), saved with save_model and read back with
  load_model, as `cnncalc train --save` and `cnncalc export` do: a ModelFile.
- `graph_model(name)`: a tests/graph_models/*.py model built by build_model, its BatchNorm
  statistics moved by two training-mode passes, in eval mode: (model, graph).
- `mnist_test_images(n)`: the first n real MNIST test images, (n, 1, 28, 28) float32 / 255.
- `inputs_for(model, n)`: n random samples of each input the model takes (channels first).
- `load_generated(code, folder)`: exported code written to a file and imported.
- `need(name)`: the framework module, or the test is skipped with the reason (the default test
  run has no framework; `.ci/run` installs torch, keras and onnxruntime).

Each helper caches its result, so the several export test files share one training run.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import Tensor
import minigrad.engine.functional as F
from minigrad.engine.optim import Adam
from minigrad.readers import load_spec
from minigrad.layers.shapes import convert_shape
from minigrad.tools.build import build_model
from minigrad.tools.datasets import load_dataset
from minigrad.tools.modelfile import load_model, save_model

HERE = Path(__file__).resolve().parent
GRAPH_MODELS = sorted(path.stem for path in (HERE / "graph_models").glob("*.py"))
TRAINED_PRESETS = ("simple-convnet", "mnist-cnn", "mnist-cnn-dropout", "resnet-mini",
                   "mobilenet-mini")
TOLERANCE = 1e-5  # float32 end to end: the bound for every runtime


def load_generated(code: str, folder: Path, name: str = "model"):
    """Write exported code to folder/<name>.py and import it (cnncalc's own output, which the
    tests run; pasted code never is)."""
    path = folder / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"exported_{name}_{id(folder)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def need(name: str):
    """import `name` (with Keras on PyTorch's backend), or skip the test saying why."""
    if name == "keras":
        os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        return importlib.import_module(name)
    except ImportError as error:
        pytest.skip(f"{name} is not installed ({error}); .ci/run installs it for the export "
                    "tests")


def _mnist(split: str):
    data_dir = os.environ.get("CNNCALC_DATA")
    if not data_dir:
        pytest.skip("CNNCALC_DATA is not set: the real MNIST files are needed")
    return load_dataset("mnist", split, data_dir=data_dir, download=False)


def mnist_test_images(n: int = 100) -> np.ndarray:
    return _mnist("test").x[:n]


@functools.cache
def _trained_path(preset: str, folder: str) -> Path:
    train = _mnist("train")
    minigrad.manual_seed(0)
    spec = load_spec(preset)
    model = build_model(spec.graph)
    optimizer = Adam(model.parameters())
    model.train()
    rng = np.random.default_rng(0)
    for _ in range(40):
        batch = rng.choice(len(train.y), 32, replace=False)
        loss = F.cross_entropy(model(Tensor(train.x[batch])), train.y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    path = Path(folder) / f"{preset}.npz"
    save_model(path, model, spec, {"dataset": "mnist", "classes": list("0123456789")})
    return path


def trained(preset: str, tmp_path_factory) -> object:
    """The ModelFile of `preset` after 40 training steps (see the module doc)."""
    folder = tmp_path_factory.getbasetemp() / "export-trained"
    folder.mkdir(exist_ok=True)
    return load_model(_trained_path(preset, str(folder)))


@functools.cache
def graph_model(name: str):
    """(model, graph) of tests/graph_models/<name>.py, BatchNorm statistics moved, eval mode."""
    minigrad.manual_seed(0)
    graph = load_spec(str(HERE / "graph_models" / f"{name}.py")).graph
    model = build_model(graph)
    model.train()
    for _ in range(2):
        model(*[Tensor(x) for x in inputs_for(model, 4, seed=1)])
    model.eval()
    return model, graph


def inputs_for(model, n: int, seed: int = 0) -> list[np.ndarray]:
    """n random float32 samples for each input of a built model, channels first."""
    rng = np.random.default_rng(seed)
    if hasattr(model, "input_shapes"):  # a GraphModel
        shapes = list(model.input_shapes.values())
    else:  # an nn.Sequential of a chain
        network = model.network
        shapes = [convert_shape(tuple(network.input_shape), network.layout, "chw")]
    return [rng.standard_normal((n, *shape)).astype(np.float32) for shape in shapes]


def minigrad_outputs(model, xs: list[np.ndarray]) -> np.ndarray:
    """The model's eval-mode output for xs, as float32 numpy (the first output of several)."""
    with minigrad.no_grad():
        out = model(*[Tensor(x) for x in xs])
    out = out[0] if isinstance(out, tuple) else out
    return out.data.astype(np.float32)
