"""Record what PyTorch 2.13 and Keras 3 compute for the graph models in tests/graph_models/: for
fixed weights and a fixed input, the output, the gradients of sum(output · upstream) with respect
to the input and every weight, and BatchNorm's running statistics after that training-mode pass.
tests/test_build_graph.py builds the same files with minigrad and compares, without either
framework.

Run by hand (the default test run reads graph_models.npz only):

    pip install torch==2.13.0 keras
    KERAS_BACKEND=torch python tests/engine_goldens/make_graph_models.py

This script runs the model files with the real frameworks: it is the oracle. cnncalc itself never
runs them; it reads them.
"""

from __future__ import annotations

import os
import runpy
import sys
import types
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).parent
MODELS = HERE.parent / "graph_models"
BATCH = 2

# file -> (the variable holding the model, the per-sample input shape)
TORCH_MODELS = {
    "resnet.py": ("model", (1, 28, 28)),
    "unet.py": ("model", (1, 32, 32)),
    "dcgan.py": ("netG", (16, 1, 1)),
    "mobilenet.py": ("model", (1, 28, 28)),
}
KERAS_MODELS = {"keras_residual.py": ("model", (28, 28, 1))}


def torch_record(name: str, variable: str, shape) -> dict[str, np.ndarray]:
    torch.manual_seed(0)
    model = runpy.run_path(str(MODELS / name))[variable].double().train()
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked")}
    x = torch.randn(BATCH, *shape, dtype=torch.float64, requires_grad=True)
    out = model(x)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    record = {"x": x.detach().numpy(), "out": out.detach().numpy(),
              "upstream": upstream.numpy(), "grad/x": x.grad.numpy()}
    record |= {f"weight/{k}": v for k, v in weights.items()}
    record |= {f"grad/{k}": p.grad.numpy() for k, p in model.named_parameters()}
    record |= {f"after/{k}": v.numpy() for k, v in model.state_dict().items()
               if "running" in k}
    with torch.no_grad():
        record["eval_out"] = model.eval()(x).numpy()
    return record


def keras_record(name: str, variable: str, shape) -> dict[str, np.ndarray]:
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")  # the layers compute in float64 too
    keras.utils.set_random_seed(0)
    fake_tf = types.ModuleType("tensorflow")  # the file says `from tensorflow import keras`
    fake_tf.keras = keras
    sys.modules["tensorflow"], sys.modules["tensorflow.keras"] = fake_tf, keras
    model = runpy.run_path(str(MODELS / name))[variable]
    record = {}
    for layer in model.layers:
        for weight in layer.weights:
            record[f"weight/{layer.name}/{weight.name}"] = np.array(weight.numpy())
    x = torch.randn(BATCH, *shape, dtype=torch.float64, requires_grad=True)
    out = model(x, training=True)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    record |= {"x": x.detach().numpy(), "out": out.detach().numpy(), "upstream": upstream.numpy(),
               "grad/x": x.grad.numpy()}
    for layer in model.layers:
        for weight in layer.trainable_weights:
            record[f"grad/{layer.name}/{weight.name}"] = weight.value.grad.numpy()
    return record


def main() -> None:
    arrays = {}
    for name, (variable, shape) in TORCH_MODELS.items():
        arrays |= {f"{name}/{k}": v for k, v in torch_record(name, variable, shape).items()}
    for name, (variable, shape) in KERAS_MODELS.items():
        arrays |= {f"{name}/{k}": v for k, v in keras_record(name, variable, shape).items()}
    np.savez_compressed(HERE / "graph_models.npz", **arrays)
    print(f"wrote {len(arrays)} arrays to {HERE / 'graph_models.npz'} "
          f"(torch {torch.__version__}, keras {keras.__version__})")


if __name__ == "__main__":
    main()
