"""Graph models built by minigrad compute what PyTorch 2.13 and Keras 3 compute for the same code
and weights: outputs, input and weight gradients, BatchNorm's running statistics, and the output
in eval mode afterwards (fixtures: tests/engine_goldens/make_graph_models.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cnncalc.graph import sample

import minigrad.engine.functional as F
from minigrad import SpecError, Tensor, nn, no_grad
from minigrad.layers import shapes
from minigrad.readers import load_spec
from minigrad.tools.build import build_model, classifier_problem

from corpus_models import CORPUS_MODELS, RANDOM_AUGMENTATION, corpus_spec

HERE = Path(__file__).parent
GOLDENS = np.load(HERE / "engine_goldens" / "graph_models.npz", allow_pickle=False)
TOLERANCE = 1e-10


def recorded(model_file: str) -> dict[str, np.ndarray]:
    prefix = f"{model_file}/"
    return {k[len(prefix):]: GOLDENS[k] for k in GOLDENS.files if k.startswith(prefix)}


def build(model_file: str, input_shape=None):
    spec = load_spec(str(HERE / "graph_models" / model_file), input_shape=input_shape)
    return spec, build_model(spec.graph).double()


# Keras 3.15's torch backend multiplies float64 matrices in float32 (keras.ops.matmul of two
# float64 arrays returns float32, 9e-7 off), so its Dense layer is float32-exact only.
KERAS_TOLERANCE = 1e-6


def assert_close(actual, expected, what, tolerance=TOLERANCE):
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance, err_msg=what)


@pytest.mark.parametrize("model_file", ["resnet.py", "unet.py", "dcgan.py", "mobilenet.py"])
def test_pytorch_graph_models_compute_what_pytorch_computes(model_file):
    golden = recorded(model_file)
    _, model = build(model_file)
    weights = {k.removeprefix("weight/"): v for k, v in golden.items() if k.startswith("weight/")}
    assert isinstance(model, nn.GraphModel)
    assert set(model.state_dict()) == set(weights)   # PyTorch's names, one to one
    model.load_state_dict({name: value.copy() for name, value in weights.items()})
    theirs = {name: name for name in weights}
    model.train()

    x = Tensor(golden["x"], requires_grad=True)
    out = model(x)
    assert_close(out.data, golden["out"], "output")
    out.backward(golden["upstream"])
    assert_close(x.grad, golden["grad/x"], "input gradient")
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, golden[f"grad/{theirs[name]}"], f"gradient of {name}")
    for name, value in model.state_dict().items():
        if f"after/{theirs[name]}" in golden:
            assert_close(value, golden[f"after/{theirs[name]}"], f"{name} after a training pass")
    assert_close(model.eval()(Tensor(golden["x"])).data, golden["eval_out"], "eval output")
    with no_grad():  # without a graph, each batch norm after a conv is folded into it
        assert_close(model(Tensor(golden["x"])).data, golden["eval_out"], "eval output, folded")


def keras_weights_as_minigrad(golden) -> dict[str, np.ndarray]:
    """Keras' kernels are (KH, KW, C_in, C_out) and (in, out); minigrad's are PyTorch's."""
    weights = {}
    for key, value in golden.items():
        if not key.startswith("weight/"):
            continue
        _, layer, kind = key.split("/")
        if kind == "kernel":
            weights[f"{layer}.weight"] = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
        else:
            weights[f"{layer}.bias"] = value
    return weights


def test_keras_functional_model_computes_what_keras_computes():
    golden = recorded("keras_residual.py")
    spec, model = build("keras_residual.py")
    assert model.output_activation == "softmax"   # left to the loss, so applied here
    weights = keras_weights_as_minigrad(golden)
    assert set(weights) == set(model.state_dict())
    model.load_state_dict(weights)

    x = Tensor(golden["x"].transpose(0, 3, 1, 2), requires_grad=True)   # NHWC -> NCHW
    out = F.softmax(model(x), axis=1)
    assert_close(out.data, golden["out"], "output", KERAS_TOLERANCE)
    out.backward(golden["upstream"])
    assert_close(x.grad.transpose(0, 2, 3, 1), golden["grad/x"], "input gradient", KERAS_TOLERANCE)
    for name, value in keras_weights_as_minigrad(
            {k.replace("grad/", "weight/"): v for k, v in golden.items() if k.startswith("grad/")
             and k != "grad/x"}).items():
        assert_close(dict(model.named_parameters())[name].grad, value, f"gradient of {name}",
                     KERAS_TOLERANCE)


def test_graph_model_summary_is_the_calculators_table(capsys):
    spec, model = build("resnet.py")
    model.summary(name="resnet")
    table = capsys.readouterr().out
    assert "layer2.shortcut.0" in table and f"{spec.analyze().total_params:,}" in table
    assert sum(p.size for p in model.parameters()) == spec.analyze().trainable_params


@pytest.mark.parametrize("model_file, reason", [
    ("resnet.py", None), ("mobilenet.py", None), ("keras_residual.py", None),
    ("unet.py", "its output is 2×32×32, an image"), ("dcgan.py", "its output is 1×28×28, an image")])
def test_what_cannot_train_as_a_classifier_says_why(model_file, reason):
    problem = classifier_problem(load_spec(str(HERE / "graph_models" / model_file)).analyze())
    assert problem == reason or (reason and problem.startswith(reason))


# ---------------------------------------------------------------------------------------------
# Everything the calculator reads builds: every model of the corpus (tests/corpus) runs forward
# to the output shape the analysis gives, except Keras' random augmentation layers, refused by
# name (the layer graph does not record what they draw).
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("golden_path", CORPUS_MODELS, ids=lambda p: p.stem)
def test_every_corpus_model_builds_and_runs_to_its_analysed_shape(golden_path):
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    spec = corpus_spec(golden)
    if golden["file"] in RANDOM_AUGMENTATION:
        with pytest.raises(SpecError, match="cnncalc train --augment"):
            build_model(spec.graph)
        return
    model = build_model(spec.graph)
    summary = spec.analyze()
    rng = np.random.default_rng(0)
    inputs = [Tensor(sample(rng, spec, summary, node)[0:1].repeat(2, axis=0))
              for node in getattr(model, "input_shapes", {0: None})]
    with no_grad():
        out = model(*inputs)
    expected = shapes.convert_shape(summary.rows[-1].output_shape, spec.layout, "chw")
    assert (out[-1] if isinstance(out, tuple) else out).shape == (2,) + expected


def test_eval_reaches_the_modules_of_a_graph_that_hold_no_weights():
    # Dropout has no weights, so no name in the registered tree: eval() must still reach it, or
    # a PyTorch-code model would evaluate with dropout on.
    code = """
import torch.nn as nn
import torch.nn.functional as F
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, 2)
    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))
"""
    from minigrad.readers import parse_spec
    model = build_model(parse_spec(code, None, (8,)).graph)
    assert isinstance(model, nn.GraphModel)
    x = Tensor(np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32))
    fc1, fc2 = model.fc1, model.fc2
    expected = fc2(F.relu(fc1(x))).data  # dropout is the identity in eval mode
    model.eval()
    with no_grad():
        np.testing.assert_array_equal(model(x).data, expected)
    model.train()
    with no_grad():
        assert not np.array_equal(model(x).data, expected)


def test_activation_settings_from_pytorch_code_reach_the_built_modules():
    # GELU's tanh form and Softplus' beta and threshold change the values, not the shape: the
    # built model must compute them (oracle: the formulas, element by element).
    code = """
import torch.nn as nn
import torch.nn.functional as F
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.act = nn.Softplus(beta=2, threshold=5)
    def forward(self, x):
        return self.act(F.gelu(x, approximate="tanh"))
"""
    from minigrad.readers import parse_spec
    model = build_model(parse_spec(code, None, (50,)).graph)
    x = np.linspace(-6, 6, 100).reshape(2, 50)
    with no_grad():
        out = model(Tensor(x)).data
    gelu = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    expected = np.where(2 * gelu > 5, gelu, np.log1p(np.exp(2 * gelu)) / 2)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_a_gelu_approximation_pytorch_does_not_know_is_refused_by_name():
    from minigrad.readers import parse_spec
    with pytest.raises(SpecError, match="approximate must be 'none' or 'tanh'"):
        parse_spec("import torch.nn as nn\nmodel = nn.Sequential(nn.GELU(approximate='fast'))",
                   None, (4,)).analyze()


KERAS_LAYER_NORM = ("from tensorflow.keras import layers, models\nmodel = models.Sequential(["
                    "layers.Input((2, 3, 4)), layers.LayerNormalization({setting})])")
TORCH_LAYER_NORM = "import torch.nn as nn\nmodel = nn.Sequential(nn.LayerNorm(4{setting}))"


@pytest.mark.parametrize("framework, default_eps", [("keras", 1e-3), ("torch", 1e-5)])
@pytest.mark.parametrize("given", [None, 0.25])
def test_layer_norm_takes_the_codes_eps_or_its_frameworks_default(framework, default_eps, given):
    # Keras' LayerNormalization defaults to epsilon=1e-3, PyTorch's LayerNorm to eps=1e-5; on
    # values of variance 1e-4 the two give visibly different outputs (oracle: the formula).
    from minigrad.readers import parse_spec
    keras = framework == "keras"
    if keras:
        code = KERAS_LAYER_NORM.format(setting="" if given is None else f"epsilon={given}")
    else:
        code = TORCH_LAYER_NORM.format(setting="" if given is None else f", eps={given}")
    model = build_model(parse_spec(code, None, None if keras else (2, 3, 4)).graph)
    x = 0.01 * np.random.default_rng(0).standard_normal((2, 4, 2, 3) if keras else (2, 2, 3, 4))
    with no_grad():
        out = model(Tensor(x)).data  # minigrad's C×H×W (Keras) or the code's own axes (torch)
    if keras:  # Keras normalises the channels: compare channels last
        x, out = x.transpose(0, 2, 3, 1), out.transpose(0, 2, 3, 1)
    eps = default_eps if given is None else given
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-12)
