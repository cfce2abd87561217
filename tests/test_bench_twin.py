"""The benchmark's PyTorch twin (benchmarks/torch_twin.py) computes what the minigrad model
computes: the same outputs in eval and in training mode, the same loss, the same gradient for every
parameter and the same BatchNorm running statistics after a step. Skipped without torch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import minigrad  # noqa: E402
import minigrad.engine.functional as F  # noqa: E402
from minigrad import Tensor, no_grad  # noqa: E402
from minigrad.engine import nn  # noqa: E402
from minigrad.readers import load_spec  # noqa: E402
from minigrad.tools.build import build_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from torch_twin import check_twins_agree, torch_twin  # noqa: E402

PRESETS = ["simple-convnet", "mnist-cnn", "mnist-cnn-dropout", "resnet-mini", "mobilenet-mini"]


def model_and_twin(preset: str):
    minigrad.manual_seed(0)
    model = build_model(load_spec(preset).graph)
    return model, torch_twin(model)


def batch(size: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((size, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, size)


def batch_norms(model) -> list:
    return [m for _, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]


@pytest.mark.parametrize("preset", PRESETS)
def test_eval_outputs_agree(preset):
    model, twin = model_and_twin(preset)
    x, _ = batch()
    with no_grad():
        model.eval()
        ours = model(Tensor(x)).data
    twin.eval()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-5)
    assert check_twins_agree(model, twin, x) < 1e-4


def in_float64(model, twin):
    """Both engines' parameters and batch-norm statistics as float64."""
    for parameter in model.parameters():
        parameter.data = parameter.data.astype(np.float64)
    for norm in batch_norms(model):
        norm.running_mean = norm.running_mean.astype(np.float64)
        norm.running_var = norm.running_var.astype(np.float64)
    twin.double()


@pytest.mark.parametrize("preset", [p for p in PRESETS if "dropout" not in p])
def test_training_step_agrees(preset):
    """Train mode (BatchNorm on batch statistics): loss, every parameter's gradient, and the
    running statistics the step leaves. In float64: in float32 a value within rounding of a
    ReLU's kink can fall on either side of it in the two engines (resnet-mini, this batch: one
    exactly 3.8e-7, 2.8e-7 by one way of summing and -5.6e-8 by another), and the gradients
    part where it does, by up to 7% of their largest; in float64 they agree to 1e-6."""
    model, twin = model_and_twin(preset)
    in_float64(model, twin)
    x, y = batch(seed=1)
    x = x.astype(np.float64)
    loss = F.cross_entropy(model(Tensor(x)), y)
    loss.backward()
    their_loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y))
    their_loss.backward()
    assert their_loss.item() == pytest.approx(float(loss.data), rel=1e-9)
    assert len(twin.parameter_pairs) == len(list(model.parameters()))
    assert sum(p.numel() for p in twin.parameters()) == sum(p.data.size for p in model.parameters())
    largest = max(float(np.abs(ours.grad).max()) for ours, _ in twin.parameter_pairs)
    for ours, theirs in twin.parameter_pairs:
        assert ours.grad.dtype == theirs.grad.numpy().dtype == np.float64
        np.testing.assert_allclose(theirs.grad.numpy(), ours.grad, rtol=1e-6, atol=1e-9 * largest,
                                   err_msg=ours.name)
    theirs = [m for m in twin.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(theirs) == len(batch_norms(model))
    twin_of = {id(ours): theirs for ours, theirs in twin.parameter_pairs}
    for ours_bn in batch_norms(model):
        twin_bn = next(t for t in theirs if t.weight is twin_of[id(ours_bn.weight)])
        np.testing.assert_allclose(twin_bn.running_mean.numpy(), ours_bn.running_mean,
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(twin_bn.running_var.numpy(), ours_bn.running_var,
                                   rtol=1e-9, atol=1e-12)


def test_a_wrong_twin_is_refused():
    """check_twins_agree raises, rather than letting the benchmark time a different model."""
    model, twin = model_and_twin("mnist-cnn")
    with torch.no_grad():
        twin[0].weight.mul_(1.01)
    with pytest.raises(ValueError, match="differs"):
        check_twins_agree(model, twin, batch()[0])
