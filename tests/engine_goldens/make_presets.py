"""Write tests/engine_goldens/presets.json: what PyTorch and Keras say about the graph presets.

Run by hand (never in the default test run), with torch 2.13.0 and keras 3 installed:

    KERAS_BACKEND=torch python tests/engine_goldens/make_presets.py

Each preset's text is run by the real framework, as a learner would run the code they pasted:
PyTorch code's last nn.Module class is built with its defaults and called on zeros of the
preset's input shape, recording every leaf module's output shape (forward hooks, in call order,
dotted names) and parameters; Keras code's `model` lists every layer's output shape and
parameters (count_params: BatchNormalization's moving statistics included). Recorded per preset:
total and trainable parameters, buffers (PyTorch: floating-point buffers, i.e. BatchNorm's
running mean and variance; num_batches_tracked is a counter, not a statistic), non-trainable
parameters (Keras), the output shape, the layers, and the SHA-256 of the preset's text (so a
preset edited since is noticed). tests/test_presets_graph.py compares `cnncalc shapes PRESET -f
json` with this file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from minigrad.readers.presets import PRESETS  # noqa: E402

GRAPH_PRESETS = ("resnet-mini", "mobilenet-mini")
OUT = Path(__file__).with_name("presets.json")


def torch_truth(text: str, input_shape: tuple[int, ...]) -> dict:
    import torch
    from torch import nn
    from torch.nn import functional as F

    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(text, namespace)  # noqa: S102 - our own preset text
    classes = [v for v in namespace.values()
               if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == "builtins"]
    model = classes[-1]().eval()
    layers = []
    for name, module in model.named_modules():
        if not list(module.children()):
            module.register_forward_hook(
                lambda mod, inputs, output, name=name:
                    layers.append({"name": name, "output_shape": list(output.shape[1:]),
                                   "params": sum(p.numel() for p in mod.parameters())}))
    with torch.no_grad():
        output = model(torch.zeros((1, *input_shape)))
    parameters = list(model.parameters())
    return {"framework": f"torch {torch.__version__}",
            "total_params": sum(p.numel() for p in parameters),
            "trainable_params": sum(p.numel() for p in parameters if p.requires_grad),
            "buffers": sum(b.numel() for b in model.buffers() if b.is_floating_point()),
            "output_shape": list(output.shape[1:]), "layers": layers}


def keras_truth(text: str) -> dict:
    import keras
    from keras import layers

    namespace = {"keras": keras, "layers": layers}
    exec(text, namespace)  # noqa: S102 - our own preset text
    model = namespace["model"]
    rows = [{"name": layer.name, "output_shape": list(layer.output.shape[1:]),
             "params": int(layer.count_params())} for layer in model.layers]
    total = int(model.count_params())
    trainable = int(sum(int(w.numpy().size) for w in model.trainable_weights))
    return {"framework": f"keras {keras.__version__} ({keras.backend.backend()} backend)",
            "total_params": total, "trainable_params": trainable,
            "non_trainable_params": total - trainable,
            "output_shape": list(model.outputs[0].shape[1:]), "layers": rows}


def dump(goldens: dict) -> str:
    """JSON with one line per layer, so a diff of the goldens reads layer by layer."""
    lines = ["{"]
    for i, (name, golden) in enumerate(goldens.items()):
        fields = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in golden.items() if k != "layers"]
        rows = ",\n".join(f"   {json.dumps(row)}" for row in golden["layers"])
        fields.append(f'  "layers": [\n{rows}\n  ]')
        comma = "," if i < len(goldens) - 1 else ""
        lines.append(f" {json.dumps(name)}: {{\n" + ",\n".join(fields) + f"\n }}{comma}")
    return "\n".join(lines) + "\n}\n"


def main() -> None:
    goldens = {}
    for name in GRAPH_PRESETS:
        preset = PRESETS[name]
        if preset.format == "pytorch":
            goldens[name] = torch_truth(preset.text, preset.input_shape)
        else:
            goldens[name] = keras_truth(preset.text)
        # so the test can tell a preset edited since its goldens were made
        goldens[name]["text_sha256"] = hashlib.sha256(preset.text.encode()).hexdigest()
        print(f"{name}: {goldens[name]['total_params']:,} parameters, "
              f"{len(goldens[name]['layers'])} layers")
    OUT.write_text(dump(goldens), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
