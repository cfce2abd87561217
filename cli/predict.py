"""`cnncalc predict`: the most probable classes of image files under a saved model.

Images are made like the training data: greyscale (or RGB for a 3-channel model), resized to the
model's input size, pixels x / 255. MNIST-like models expect a light figure on a dark background;
images are not inverted automatically, so a black-on-white drawing needs inverting first.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import functional as F
from minigrad.layers.report import strict_json
from minigrad.tools.modelfile import ModelFileError, load_model
from minigrad.engine.tensor import Tensor, no_grad

from . import render
from .images import ImageError, load_image


def run_predict(model_path: str, images: list[str], top: int, as_json: bool, out,
                err) -> None:
    loaded = load_model(model_path)
    if len(loaded.input_chw) != 3:
        raise ImageError(f"{model_path}: the model takes {loaded.input_chw[0]} numbers, "
                         "not an image")
    channels, height, width = loaded.input_chw
    normalization = loaded.meta.get("normalization", "x / 255")
    if normalization != "x / 255":  # e.g. "none": the training images came as floats
        render.print_note(err, f"the training data's normalisation is {normalization!r}; "
                               "images are scaled to [0, 1] (x / 255)")
    # Read every image first, so a bad file is reported before anything is printed.
    x = np.stack([load_image(path, channels, height, width) for path in images]) / np.float32(255)
    with no_grad():
        probabilities = F.softmax(loaded.model(Tensor(x)), axis=1).data  # the model gives logits
    broken = ~np.isfinite(probabilities).all(axis=1)
    if broken.any():  # NaN is no probability: say so rather than print nan% or invalid JSON
        image = render.printable(images[int(np.argmax(broken))])
        raise ModelFileError(f"{render.printable(str(model_path))}: the model's output for "
                             f"{image} is not finite (NaN or infinity): its weights or its "
                             "arithmetic overflow")
    classes = loaded.classes
    results = []
    for path, p in zip(images, probabilities):
        best = np.argsort(-p, kind="stable")[:top]
        results.append((path, [(classes[k], int(k), float(p[k])) for k in best]))
    if as_json:
        print(strict_json({"model": str(model_path), "predictions": [
            {"image": path, "top": [{"class": name, "index": k, "probability": prob}
                                    for name, k, prob in ranked]}
            for path, ranked in results]}, lambda message: render.print_note(err, message)))
        return
    for path, ranked in results:
        render.print_predictions(out, path, [(name, prob) for name, _, prob in ranked])
