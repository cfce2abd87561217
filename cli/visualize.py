"""`cnncalc visualize`: a saved model's first conv layer: its filters, and the feature maps they
make of one image (after the layer's activation, as the next layer sees them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigrad.engine import nn
from minigrad.tools.data import DataError
from minigrad.tools.datasets import load_dataset, make_shapes
from minigrad.tools.modelfile import ModelFile, load_model
from minigrad.engine.tensor import Tensor, no_grad

from . import plots, render
from .images import ImageError, load_image

ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh)


@dataclass
class FirstConv:
    """The arrays the picture is drawn from."""

    weights: np.ndarray      # (F, C, KH, KW)
    sample: np.ndarray       # (C, H, W), as the model takes it
    maps: np.ndarray         # (F, OH, OW): the conv's output after its activation
    conv_name: str           # e.g. "layer 0 (Conv2d)"
    activation: str | None   # e.g. "ReLU", or None when the conv has none


def first_conv(loaded: ModelFile, sample: np.ndarray) -> FirstConv:
    """Run `sample` through the model up to its first Conv2d and the activations right after."""
    modules = list(loaded.model)
    index = next((i for i, m in enumerate(modules) if isinstance(m, nn.Conv2d)), None)
    if index is None:
        raise ImageError(f"{loaded.path}: the model has no conv layer to visualize")
    end = index + 1
    while end < len(modules) and isinstance(modules[end], ACTIVATIONS):
        end += 1
    x = Tensor(sample[None].astype(np.float32))
    with no_grad():
        for module in modules[:end]:  # the layers before the conv too (e.g. a rescaling)
            x = module(x)
    activation = " + ".join(type(m).__name__ for m in modules[index + 1:end]) or None
    return FirstConv(modules[index].weight.data.copy(), sample, x.data[0],
                     f"layer {index} (Conv2d)", activation)


def default_sample(loaded: ModelFile, data_dir: str | None, err) -> tuple[np.ndarray, str]:
    """The first test image of the model's dataset, or a synthetic shape when that is missing."""
    dataset = loaded.meta.get("dataset", "shapes")
    try:
        test = load_dataset(dataset, "test", data_dir, download=False)
    except DataError as error:
        test = None
        reason = str(error)
    if test is not None and tuple(test.x.shape[1:]) == tuple(loaded.input_chw):
        return test.x[0], f"{dataset} test image 0"
    if test is not None:
        reason = f"its images are {test.x.shape[1:]}, the model takes {loaded.input_chw}"
    synthetic = make_shapes(1)
    if tuple(synthetic.x.shape[1:]) != tuple(loaded.input_chw):
        raise ImageError(f"no sample image: {reason}; give one with --image")
    render.print_note(err, f"using a synthetic shapes image ({reason})")
    return synthetic.x[0], f"synthetic {synthetic.classes[synthetic.y[0]]}"


def run_visualize(model_path: str, out_path: str, image: str | None, data_dir: str | None,
                  console, err) -> None:
    plots.require_matplotlib("cnncalc visualize")
    loaded = load_model(model_path)
    if len(loaded.input_chw) != 3:
        raise ImageError(f"{model_path}: the model takes {loaded.input_chw[0]} numbers, "
                         "not an image")
    if image is not None:  # converted as `cnncalc predict` converts it
        sample, name = load_image(image, *loaded.input_chw) / np.float32(255), image
    else:
        sample, name = default_sample(loaded, data_dir, err)
    result = first_conv(loaded, sample)
    plots.save_filters(out_path, result.weights, result.sample, result.maps, result.conv_name,
                       name, result.activation)
    f, c, kh, kw = result.weights.shape
    console.print(f"{result.conv_name}: {f} filters of {c}x{kh}x{kw}; feature maps "
                  f"{result.maps.shape[2]}x{result.maps.shape[1]} of {name}", markup=False,
                  soft_wrap=True)
    console.print(f"saved to {out_path}", markup=False, soft_wrap=True)
