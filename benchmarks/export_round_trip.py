"""The user's path from a trained minigrad model to PyTorch, Keras and ONNX Runtime, end to end
through the command line, and how far each runtime's outputs are from minigrad's.

For each model: `cnncalc train MODEL --dataset mnist --epochs 1 --limit 3000 --save m.npz`, then
`cnncalc export m.npz --to pytorch|keras|onnx --out ...`; the generated files are loaded as their
own `__main__` blocks load them (PyTorch: the class and its weights file; Keras: build_model() and
load_weights(); ONNX: an InferenceSession), and run on the first 100 MNIST test images.

    CNNCALC_DATA=/work/shared/data KERAS_BACKEND=torch python benchmarks/export_round_trip.py

Prints a markdown table: the largest absolute difference of each runtime's logits from minigrad's,
and whether every image gets the same predicted class. Needs torch, keras and onnxruntime.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["simple-convnet", "mnist-cnn", "mnist-cnn-dropout", "resnet-mini", "mobilenet-mini",
          str(ROOT / "tests" / "graph_models" / "resnet.py"),
          str(ROOT / "tests" / "graph_models" / "keras_residual.py")]


def cnncalc(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "cnncalc", *args], check=True, capture_output=True)


def imported(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytorch_logits(code: Path, images: np.ndarray) -> np.ndarray:
    import torch
    module = imported(code)
    model = module.Net()
    weights = np.load(code.with_name(f"{code.stem}_weights.npz"), allow_pickle=False)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(images)).numpy()


def keras_logits(code: Path, images: np.ndarray) -> np.ndarray:
    module = imported(code)
    model = module.build_model()
    module.load_weights(model, code.with_name(f"{code.stem}_weights.npz"))
    return np.asarray(model.predict(images.transpose(0, 2, 3, 1), verbose=0))


def onnx_logits(path: Path, images: np.ndarray) -> np.ndarray:
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": images})[0]


def main() -> None:
    from minigrad import Tensor, no_grad
    from minigrad.tools.datasets import load_dataset
    from minigrad.tools.modelfile import load_model

    images = load_dataset("mnist", "test", os.environ.get("CNNCALC_DATA"), download=False).x[:100]
    print("| model | PyTorch max \\|Δ\\| | Keras max \\|Δ\\| | ONNX Runtime max \\|Δ\\| | same classes |")
    print("| --- | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for number, model in enumerate(MODELS):
            trained = folder / f"m{number}.npz"
            cnncalc("train", model, "--dataset", "mnist", "--epochs", "1", "--limit", "3000",
                    "--save", str(trained))
            cnncalc("export", str(trained), "--to", "pytorch", "--out", str(folder / f"t{number}.py"))
            cnncalc("export", str(trained), "--to", "keras", "--out", str(folder / f"k{number}.py"))
            cnncalc("export", str(trained), "--to", "onnx", "--out", str(folder / f"o{number}.onnx"))
            with no_grad():
                ours = load_model(trained).model(Tensor(images)).data
            theirs = [pytorch_logits(folder / f"t{number}.py", images),
                      keras_logits(folder / f"k{number}.py", images),
                      onnx_logits(folder / f"o{number}.onnx", images)]
            same = all((t.argmax(1) == ours.argmax(1)).all() for t in theirs)
            cells = " | ".join(f"{np.abs(t - ours).max():.1e}" for t in theirs)
            print(f"| {Path(model).name} | {cells} | {'yes' if same else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
