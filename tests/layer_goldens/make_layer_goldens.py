"""Build every configuration of the base layer kinds in the real frameworks and record their numbers.

Run by hand (not part of the test run), with PyTorch 2.13 and Keras 3 on the torch backend:

    pip install torch==2.13.0 keras
    python tests/layer_goldens/make_layer_goldens.py          # writes tests/layer_goldens/layers.json

Each case names one of our kinds with its constructor arguments (`kind`, `args`, JSON lists
standing for tuples), the framework code that builds the same layer (`code`: a module, a Keras
layer, or for functional ops and merges a lambda over the input tensors), and the per-sample input
shapes. The script runs a real batch of 2 through the framework and records:
- output: the output shape without the batch axis;
- params (model.parameters() / model.count_params()), trainable, non_trainable (Keras'
  non-trainable weights), buffers (PyTorch's floating-point buffers: BatchNorm's running mean and
  variance; the integer num_batches_tracked is left out, as cnncalc leaves it out), and
  counters (the elements of PyTorch's integer buffers, for the record);
- macs: multiply-accumulates of the run as torch.utils.flop_counter counts them (FLOPs / 2 per
  sample): convolutions and matrix products, bias excluded;
- error: the framework's message when it refuses the configuration.
Our kinds never run here: the numbers are the frameworks' own.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
warnings.filterwarnings("ignore")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402,F401  (used by the cases' code)
from torch import nn  # noqa: E402,F401
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

torch.set_num_threads(1)
import keras  # noqa: E402
from keras import layers  # noqa: E402,F401

OUT = Path(__file__).with_name("layers.json")
BATCH = 2


def T(code, inputs, kind, **args):
    return {"framework": "torch", "code": code, "inputs": inputs, "kind": kind, "args": args}


def K(code, inputs, kind, **args):
    return {"framework": "keras", "code": code, "inputs": inputs, "kind": kind, "args": args}


CASES = [
    # --- convolutions ------------------------------------------------------------------------
    T("nn.Conv2d(3, 8, 3)", [[3, 10, 10]], "Conv", filters=8, kernel=[3, 3], in_channels=3),
    T("nn.Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), bias=False)",
      [[4, 11, 13]], "Conv", filters=8, kernel=[3, 5], stride=[2, 1], padding=[1, 2],
      dilation=[1, 2], bias=False, in_channels=4),
    T("nn.Conv2d(8, 16, 3, groups=4, padding=1)", [[8, 9, 9]], "Conv", filters=16,
      kernel=[3, 3], padding=[1, 1], groups=4, in_channels=8),
    T("nn.Conv2d(8, 8, 3, groups=8, padding='same')", [[8, 7, 7]], "Conv", filters=8,
      kernel=[3, 3], padding="same", groups=8, in_channels=8),
    T("nn.Conv2d(3, 6, 4, padding='same')", [[3, 9, 8]], "Conv", filters=6, kernel=[4, 4],
      padding="same", in_channels=3),
    T("nn.Conv2d(3, 6, 2, padding='same', dilation=3)", [[3, 9, 8]], "Conv", filters=6,
      kernel=[2, 2], padding="same", dilation=[3, 3], in_channels=3),
    T("nn.Conv2d(3, 6, 3, stride=4, padding=3)", [[3, 17, 6]], "Conv", filters=6,
      kernel=[3, 3], stride=[4, 4], padding=[3, 3], in_channels=3),
    T("nn.Conv1d(2, 5, 7, stride=3, padding=2)", [[2, 50]], "Conv", filters=5, kernel=[7],
      stride=[3], padding=[2], in_channels=2),
    T("nn.Conv1d(4, 6, 3, groups=2, padding='same', dilation=3)", [[4, 20]], "Conv", filters=6,
      kernel=[3], padding="same", dilation=[3], groups=2, in_channels=4),
    T("nn.Conv1d(6, 4, 1, bias=False)", [[6, 9]], "Conv", filters=4, kernel=[1], bias=False,
      in_channels=6),
    K("layers.Conv2D(8, 3)", [[10, 10, 3]], "Conv", filters=8, kernel=[3, 3]),
    K("layers.Conv2D(8, (3, 5), strides=2, padding='same')", [[11, 13, 4]], "Conv", filters=8,
      kernel=[3, 5], stride=[2, 2], padding="same"),
    K("layers.Conv2D(8, 3, groups=2, dilation_rate=2, padding='same', use_bias=False)",
      [[9, 9, 4]], "Conv", filters=8, kernel=[3, 3], dilation=[2, 2], padding="same",
      groups=2, bias=False),
    K("layers.Conv2D(6, 4, strides=3, padding='same')", [[10, 7, 2]], "Conv", filters=6,
      kernel=[4, 4], stride=[3, 3], padding="same"),
    K("layers.Conv1D(5, 7, strides=3, padding='same')", [[50, 2]], "Conv", filters=5,
      kernel=[7], stride=[3], padding="same"),
    K("layers.Conv1D(4, 3, dilation_rate=2)", [[20, 3]], "Conv", filters=4, kernel=[3],
      dilation=[2]),
    # --- pooling -----------------------------------------------------------------------------
    T("nn.MaxPool2d(3, 2, 1, ceil_mode=True)", [[2, 10, 10]], "Pool", mode="max",
      kernel=[3, 3], stride=[2, 2], padding=[1, 1], ceil=True),
    T("nn.MaxPool2d(3, 2, 1, ceil_mode=True)", [[2, 11, 11]], "Pool", mode="max",
      kernel=[3, 3], stride=[2, 2], padding=[1, 1], ceil=True),
    T("nn.AvgPool2d((2, 3), stride=(1, 2), padding=(1, 1), ceil_mode=True)", [[3, 7, 8]],
      "Pool", mode="avg", kernel=[2, 3], stride=[1, 2], padding=[1, 1], ceil=True),
    T("nn.MaxPool2d(2)", [[3, 7, 9]], "Pool", mode="max", kernel=[2, 2]),
    T("nn.MaxPool1d(3, stride=2)", [[4, 21]], "Pool", mode="max", kernel=[3], stride=[2]),
    T("nn.AvgPool1d(4, padding=2, ceil_mode=True)", [[2, 13]], "Pool", mode="avg",
      kernel=[4], padding=[2], ceil=True),
    K("layers.MaxPooling2D((2, 2))", [[7, 7, 3]], "Pool", mode="max", kernel=[2, 2]),
    K("layers.MaxPooling2D(3, strides=2, padding='same')", [[10, 10, 2]], "Pool", mode="max",
      kernel=[3, 3], stride=[2, 2], padding="same"),
    K("layers.AveragePooling1D(2)", [[9, 4]], "Pool", mode="avg", kernel=[2]),
    K("layers.MaxPooling1D(3, strides=1, padding='same')", [[8, 3]], "Pool", mode="max",
      kernel=[3], stride=[1], padding="same"),
    T("nn.AdaptiveAvgPool2d((3, 4))", [[2, 7, 10]], "AdaptivePool", mode="avg", output=[3, 4]),
    T("nn.AdaptiveMaxPool2d((None, 2))", [[2, 5, 8]], "AdaptivePool", mode="max",
      output=[None, 2]),
    T("nn.AdaptiveAvgPool1d(5)", [[3, 12]], "AdaptivePool", mode="avg", output=[5]),
    T("nn.AdaptiveAvgPool2d(1)", [[4, 5, 5]], "AdaptivePool", mode="avg", output=[1, 1]),
    T("nn.AdaptiveAvgPool2d((6, 6))", [[4, 3, 2]], "AdaptivePool", mode="avg", output=[6, 6]),
    K("layers.GlobalAveragePooling2D()", [[8, 8, 3]], "GlobalPool", mode="avg"),
    K("layers.GlobalMaxPooling1D()", [[10, 4]], "GlobalPool", mode="max"),
    K("layers.GlobalAveragePooling2D(keepdims=True)", [[8, 6, 3]], "GlobalPool", mode="avg",
      keepdims=True),
    K("layers.GlobalMaxPooling2D()", [[5, 6, 7]], "GlobalPool", mode="max"),
    # --- dense, embedding --------------------------------------------------------------------
    T("nn.Linear(10, 7)", [[10]], "Dense", units=7, in_features=10),
    T("nn.Linear(6, 4, bias=False)", [[3, 5, 6]], "Dense", units=4, bias=False, in_features=6),
    T("nn.Linear(8, 3)", [[5, 8]], "Dense", units=3, in_features=8),
    K("layers.Dense(7)", [[10]], "Dense", units=7),
    K("layers.Dense(4)", [[5, 6]], "Dense", units=4),
    K("layers.Dense(4, use_bias=False)", [[3, 2, 6]], "Dense", units=4, bias=False),
    T("nn.Embedding(100, 16)", [[12]], "Embedding", num_embeddings=100, embedding_dim=16),
    K("layers.Embedding(1000, 8)", [[20]], "Embedding", num_embeddings=1000, embedding_dim=8),
    # --- reshapes ----------------------------------------------------------------------------
    T("nn.Flatten()", [[3, 4, 5]], "Flatten"),
    T("nn.Flatten(2)", [[3, 4, 5]], "Flatten", start_dim=1),
    K("layers.Flatten()", [[28, 28]], "Flatten"),
    T("lambda x: x.reshape(x.size(0), 6, -1)", [[3, 4, 5]], "Reshape", target=[6, -1]),
    T("lambda x: x.view(-1, 8, 2, 2)", [[32]], "Reshape", target=[8, 2, 2]),
    K("layers.Reshape((7, 7, 4))", [[196]], "Reshape", target=[7, 7, 4]),
    K("layers.Reshape((-1, 4))", [[4, 4, 2]], "Reshape", target=[-1, 4]),
    T("lambda x: x.permute(0, 2, 3, 1)", [[3, 4, 5]], "Permute", dims=[1, 2, 0]),
    K("layers.Permute((2, 1))", [[5, 3]], "Permute", dims=[1, 0]),
    T("lambda x: x.squeeze(2)", [[3, 1, 5]], "Squeeze", axis=1),
    T("lambda x: x.squeeze(1)", [[3, 4, 5]], "Squeeze", axis=0),
    T("lambda x: x.unsqueeze(1)", [[3, 5]], "Unsqueeze", axis=0),
    T("lambda x: x.unsqueeze(-1)", [[3, 5]], "Unsqueeze", axis=-1),
    T("lambda x: x.mean([2, 3])", [[6, 4, 5]], "Reduce", op="mean", axes=[1, 2]),
    T("lambda x: x.sum(1, keepdim=True)", [[6, 4, 5]], "Reduce", op="sum", axes=[0],
      keepdims=True),
    T("lambda x: x.amax(-1)", [[6, 4, 5]], "Reduce", op="max", axes=[-1]),
    # --- normalisation -----------------------------------------------------------------------
    T("nn.BatchNorm2d(6)", [[6, 4, 4]], "BatchNorm", num_features=6),
    T("nn.BatchNorm1d(5)", [[5]], "BatchNorm", num_features=5),
    T("nn.BatchNorm1d(5, affine=False)", [[5, 7]], "BatchNorm", num_features=5, scale=False,
      center=False),
    T("nn.BatchNorm2d(4, track_running_stats=False)", [[4, 3, 3]], "BatchNorm", num_features=4,
      track_running_stats=False),
    K("layers.BatchNormalization()", [[6, 6, 3]], "BatchNorm"),
    K("layers.BatchNormalization(center=False)", [[10]], "BatchNorm", center=False),
    K("layers.BatchNormalization(scale=False, center=False)", [[4, 5]], "BatchNorm",
      scale=False, center=False),
    K("layers.BatchNormalization(axis=1)", [[4, 5]], "BatchNorm", axis=0),
    T("nn.InstanceNorm2d(6)", [[6, 5, 5]], "InstanceNorm", num_features=6),
    T("nn.InstanceNorm2d(6, affine=True, track_running_stats=True)", [[6, 5, 5]],
      "InstanceNorm", num_features=6, affine=True, track_running_stats=True),
    T("nn.InstanceNorm1d(3, affine=True)", [[3, 10]], "InstanceNorm", num_features=3,
      affine=True),
    T("nn.LayerNorm(10)", [[4, 10]], "LayerNorm", normalized_shape=[10]),
    T("nn.LayerNorm([4, 5, 6])", [[4, 5, 6]], "LayerNorm", normalized_shape=[4, 5, 6]),
    T("nn.LayerNorm(6, elementwise_affine=False)", [[3, 6]], "LayerNorm", normalized_shape=[6],
      elementwise_affine=False),
    T("nn.LayerNorm(6, bias=False)", [[3, 6]], "LayerNorm", normalized_shape=[6], bias=False),
    K("layers.LayerNormalization()", [[5, 8]], "LayerNorm"),
    K("layers.LayerNormalization(axis=[1, 2, 3])", [[4, 4, 3]], "LayerNorm", axes=[0, 1, 2]),
    K("layers.LayerNormalization(center=False)", [[7]], "LayerNorm", bias=False),
    T("nn.GroupNorm(2, 6)", [[6, 3, 3]], "GroupNorm", groups=2, channels=6),
    T("nn.GroupNorm(3, 6, affine=False)", [[6, 3, 3]], "GroupNorm", groups=3, channels=6,
      affine=False),
    K("layers.GroupNormalization(groups=2)", [[4, 4, 6]], "GroupNorm", groups=2),
    # --- activations -------------------------------------------------------------------------
    T("nn.LeakyReLU(0.2)", [[3, 4, 4]], "Activation", fn="leaky_relu", alpha=0.2),
    T("nn.ReLU6()", [[3, 4, 4]], "Activation", fn="relu6"),
    T("nn.GELU()", [[7]], "Activation", fn="gelu"),
    T("nn.Softmax(dim=1)", [[10]], "Activation", fn="softmax"),
    T("nn.Hardswish()", [[3, 5]], "Activation", fn="hardswish"),
    K("layers.Activation('swish')", [[4, 4, 2]], "Activation", fn="swish"),
    K("layers.LeakyReLU(negative_slope=0.3)", [[4, 4, 2]], "Activation", fn="leaky_relu",
      alpha=0.3),
    K("layers.ELU()", [[6]], "Activation", fn="elu"),
    T("nn.PReLU()", [[6, 4, 4]], "PReLU", num_parameters=1),
    T("nn.PReLU(6)", [[6, 4, 4]], "PReLU", num_parameters=6),
    T("nn.PReLU(5)", [[5]], "PReLU", num_parameters=5),
    K("layers.PReLU()", [[4, 4, 3]], "PReLU"),
    K("layers.PReLU(shared_axes=[1, 2])", [[4, 4, 3]], "PReLU", shared_axes=[0, 1]),
    K("layers.PReLU(shared_axes=[1])", [[6, 5]], "PReLU", shared_axes=[0]),
    # --- merges ------------------------------------------------------------------------------
    T("lambda a, b: torch.cat([a, b], 1)", [[3, 4, 4], [5, 4, 4]], "Merge", op="concat",
      axis=0),
    T("lambda a, b: torch.cat([a, b], dim=-1)", [[3, 4, 2], [3, 4, 5]], "Merge", op="concat",
      axis=-1),
    T("lambda a, b: a + b", [[6, 4, 4], [6, 4, 4]], "Merge", op="add"),
    T("lambda a, b: a * b", [[6, 4, 4], [6, 1, 1]], "Merge", op="multiply"),
    T("lambda a, b, c: a + b + c", [[4, 3], [4, 3], [4, 3]], "Merge", op="add"),
    K("layers.Add()", [[4, 4, 3], [4, 4, 3]], "Merge", op="add"),
    K("layers.Concatenate()", [[4, 4, 3], [4, 4, 5]], "Merge", op="concat"),
    K("layers.Concatenate(axis=1)", [[4, 3], [2, 3]], "Merge", op="concat", axis=0),
    K("layers.Multiply()", [[4, 4, 8], [1, 1, 8]], "Merge", op="multiply"),
    K("layers.Subtract()", [[5], [5]], "Merge", op="subtract"),
    K("layers.Average()", [[3, 2], [3, 2], [3, 2]], "Merge", op="average"),
    K("layers.Maximum()", [[3, 2], [3, 2]], "Merge", op="maximum"),
    # --- misc --------------------------------------------------------------------------------
    T("nn.Dropout2d(0.2)", [[3, 4, 4]], "Dropout", rate=0.2, variant="dropout2d"),
    K("layers.SpatialDropout2D(0.2)", [[4, 4, 3]], "Dropout", rate=0.2,
      variant="spatial_dropout"),
    K("layers.Dropout(0.5)", [[10]], "Dropout", rate=0.5),
    T("nn.Identity()", [[3, 4]], "Identity"),
    # --- refusals ----------------------------------------------------------------------------
    T("nn.Conv2d(6, 4, 3, groups=4)", [[6, 9, 9]], "Conv", filters=4, kernel=[3, 3], groups=4,
      in_channels=6),
    T("nn.GroupNorm(4, 6)", [[6, 3, 3]], "GroupNorm", groups=4, channels=6),
    T("nn.LayerNorm(5)", [[3, 6]], "LayerNorm", normalized_shape=[5]),
    T("lambda a, b: a + b", [[6, 4, 4], [6, 3, 4]], "Merge", op="add"),
    T("lambda a, b: torch.cat([a, b], 1)", [[3, 4, 4], [5, 4, 3]], "Merge", op="concat",
      axis=0),
    T("lambda x: x.reshape(x.size(0), 7, -1)", [[3, 4, 5]], "Reshape", target=[7, -1]),
    T("nn.PReLU(4)", [[6, 4, 4]], "PReLU", num_parameters=4),
    T("nn.Conv2d(3, 4, 3, stride=2, padding='same')", [[3, 9, 9]], "Conv", filters=4,
      kernel=[3, 3], stride=[2, 2], padding="same", in_channels=3),
    T("nn.MaxPool2d(2, padding=2)", [[3, 7, 9]], "Pool", mode="max", kernel=[2, 2],
      padding=[2, 2]),
    K("layers.Conv2D(4, 3, strides=2, dilation_rate=2)", [[9, 9, 3]], "Conv", filters=4,
      kernel=[3, 3], stride=[2, 2], dilation=[2, 2]),
]


def sample(shape, kind):
    if kind == "Embedding":
        return torch.randint(0, 10, (BATCH, *shape))
    return torch.randn(BATCH, *shape)


def run_torch(case):
    made = eval(case["code"])  # noqa: S307 - our own table of framework code, run by hand
    xs = [sample(s, case["kind"]) for s in case["inputs"]]
    module = made if isinstance(made, nn.Module) else None
    with FlopCounterMode(display=False) as counter:
        out = made(*xs)
    result = {"output": list(out.shape[1:]),
              "macs": counter.get_total_flops() // 2 // BATCH}
    if module is not None:
        result["params"] = sum(p.numel() for p in module.parameters())
        result["trainable"] = sum(p.numel() for p in module.parameters() if p.requires_grad)
        result["buffers"] = sum(b.numel() for b in module.buffers() if b.is_floating_point())
        result["counters"] = sum(b.numel() for b in module.buffers() if not b.is_floating_point())
    else:
        result.update(params=0, trainable=0, buffers=0)
    return result


def run_keras(case):
    layer = eval(case["code"])  # noqa: S307
    dtype = "int32" if case["kind"] == "Embedding" else "float32"
    inputs = [keras.Input(shape=tuple(s), dtype=dtype) for s in case["inputs"]]
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    model = keras.Model(inputs, out)
    xs = [sample(s, case["kind"]) for s in case["inputs"]]
    with FlopCounterMode(display=False) as counter:
        model(xs if len(xs) > 1 else xs[0], training=False)
    size = lambda ws: sum(int(torch.tensor(w.shape).prod()) for w in ws)  # noqa: E731
    return {"output": list(out.shape[1:]), "params": model.count_params(),
            "trainable": size(model.trainable_weights),
            "non_trainable": size(model.non_trainable_weights),
            "macs": counter.get_total_flops() // 2 // BATCH}


def main() -> None:
    results = []
    for case in CASES:
        entry = dict(case)
        try:
            entry.update(run_torch(case) if case["framework"] == "torch" else run_keras(case))
        except Exception as error:  # noqa: BLE001 - a refusal is a result too
            entry["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        results.append(entry)
        print(entry["framework"], entry["code"], entry.get("output"), entry.get("params"),
              entry.get("error", ""))
    OUT.write_text(json.dumps({"torch": torch.__version__, "keras": keras.__version__,
                               "cases": results}, indent=1) + "\n")
    print(f"{len(results)} cases -> {OUT}")


if __name__ == "__main__":
    main()
