"""The calculator's test corpus (tests/corpus) as specs: every model file with its golden
(tests/corpus/goldens/*.json: the arguments it is read with and the expected rows).

    for golden_path in CORPUS_MODELS:           # the models that read without an error
        spec = corpus_spec(json.loads(golden_path.read_text()))
"""

from __future__ import annotations

import json
from pathlib import Path

from cnncalc.app import parse_shape

from minigrad.readers import ReadOptions, load_spec
from minigrad.readers.interp import parse_override

CORPUS = Path(__file__).parent / "corpus"
CORPUS_MODELS = [g for g in sorted((CORPUS / "goldens").glob("*.json"))
                 if json.loads(g.read_text(encoding="utf-8"))["error"] is None]
RANDOM_AUGMENTATION = {"keras_preprocessing_resize_crop.py", "nb_keras_xception_small.ipynb",
                       "tf_image_classification_flowers.py"}


def corpus_spec(golden: dict):
    args, options = list(golden["args"]), {"model": None, "overrides": []}
    input_shape = None
    for flag, value in zip(args[::2], args[1::2]):
        if flag in ("--input", "-i"):
            input_shape = parse_shape(value)
        elif flag == "--model":
            options["model"] = value
        elif flag == "--set":
            options["overrides"].append(parse_override(value))
    read = ReadOptions(model=options["model"], overrides=tuple(options["overrides"]))
    return load_spec(str(CORPUS / golden["file"]), None, input_shape, read)
