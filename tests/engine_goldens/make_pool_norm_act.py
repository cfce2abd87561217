"""Record PyTorch's outputs and gradients for minigrad's pooling, normalisation, embedding and
activation ops, in float64, into pool_norm_act.npz (tests/test_ops_pool_norm.py and
tests/test_ops_activation.py compare minigrad against it to 1e-10).

Run by hand (needs torch; the tests do not):  python tests/engine_goldens/make_pool_norm_act.py

Each case is stored under "<case>__<name>" keys:
    config    JSON text: {"op", "args" (positional argument names in call order), "values"
              (the plain ones), "kwargs", "grad" (the arguments differentiated), "buffers"
              (running statistics updated in place)}
    <arg>     every array argument, as given to the op (buffers: their values before the call);
              the plain ones (num_groups, None, ...) are in config's "values"
    upstream  the upstream gradient; out: torch's output
    grad_<arg>, after_<buffer>: torch's gradient of each differentiated argument, and each
              buffer after the call
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as TF

OUT = Path(__file__).with_name("pool_norm_act.npz")
rng = np.random.default_rng(20261201)


def normal(*shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def ties(*shape, levels=3):
    """Small integers: many equal values, so the first-maximum rule is exercised."""
    return rng.integers(0, levels, size=shape).astype(np.float64)


def with_points(points, extra=24, scale=3.0):
    """The given points (kinks, thresholds) and random values around them, shape (2, 3, n)."""
    values = np.concatenate([np.asarray(points, dtype=np.float64), normal(extra, scale=scale)])
    pad = (-len(values)) % 6
    values = np.concatenate([values, normal(pad, scale=scale)])
    return values.reshape(2, 3, -1)


def case(op, args, kwargs=None, buffers=(), torch_op=None):
    """args: the op's positional arguments in call order (name -> array, or a plain value such
    as num_groups or None); every float array that is not a buffer is differentiated."""
    grad = [n for n, a in args.items() if isinstance(a, np.ndarray) and n not in buffers
            and n != "indices"]
    return {"op": op, "args": args, "kwargs": kwargs or {}, "buffers": list(buffers),
            "grad": grad, "torch_op": torch_op}


def global_max_pool2d(x, keepdims=False):
    """PyTorch has no global max pool: AdaptiveMaxPool2d(1) is its form (first maximum)."""
    out = TF.adaptive_max_pool2d(x, 1)
    return out if keepdims else out.flatten(2).squeeze(2)


CASES = {
    # -- pools ---------------------------------------------------------------------------------
    "adaptive_avg_2d_down": case("adaptive_avg_pool2d", {"x": normal(2, 3, 7, 5)},
                                 {"output_size": [3, 2]}),
    "adaptive_avg_2d_overlap": case("adaptive_avg_pool2d", {"x": normal(1, 2, 5, 7)},
                                    {"output_size": [4, 5]}),
    "adaptive_avg_2d_up_none": case("adaptive_avg_pool2d", {"x": normal(1, 2, 5, 9)},
                                    {"output_size": [7, None]}),
    "adaptive_avg_2d_one": case("adaptive_avg_pool2d", {"x": normal(2, 2, 4, 3)},
                                {"output_size": 1}),
    "adaptive_max_2d_down": case("adaptive_max_pool2d", {"x": normal(2, 3, 7, 5)},
                                 {"output_size": [3, 2]}),
    "adaptive_max_2d_up_ties": case("adaptive_max_pool2d", {"x": ties(1, 2, 4, 6)},
                                    {"output_size": [6, 4]}),
    "adaptive_max_2d_ties": case("adaptive_max_pool2d", {"x": ties(2, 2, 5, 7)},
                                 {"output_size": [2, 3]}),
    "adaptive_max_2d_none": case("adaptive_max_pool2d", {"x": ties(1, 3, 6, 5, levels=4)},
                                 {"output_size": [None, 4]}),
    "adaptive_avg_1d": case("adaptive_avg_pool1d", {"x": normal(2, 3, 10)}, {"output_size": 4}),
    "adaptive_max_1d_ties": case("adaptive_max_pool1d", {"x": ties(2, 3, 10)},
                                 {"output_size": 3}),
    "global_max_ties": case("global_max_pool2d", {"x": ties(2, 3, 4, 5)}, {},
                            torch_op=global_max_pool2d),
    "global_max_keepdims": case("global_max_pool2d", {"x": normal(2, 3, 3, 2)},
                                {"keepdims": True}, torch_op=global_max_pool2d),
    "max_1d_ceil": case("max_pool1d", {"x": normal(2, 3, 10)},
                        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    "max_1d_ties": case("max_pool1d", {"x": ties(2, 2, 9)}, {"kernel_size": 3, "stride": 1}),
    "avg_1d_ceil_no_pad_count": case("avg_pool1d", {"x": normal(2, 3, 10)},
                                     {"kernel_size": 3, "stride": 2, "padding": 1,
                                      "ceil_mode": True, "count_include_pad": False}),
    "avg_1d_pad_count": case("avg_pool1d", {"x": normal(1, 2, 7)},
                             {"kernel_size": 4, "stride": 1, "padding": 2}),
    # -- normalisation -------------------------------------------------------------------------
    "layer_norm_last": case("layer_norm", {"x": normal(3, 4, 5, scale=2) + 1,
                                           "normalized_shape": [5], "weight": normal(5),
                                           "bias": normal(5)}),
    "layer_norm_two_axes_plain": case("layer_norm", {"x": normal(2, 3, 4, 5),
                                                     "normalized_shape": [4, 5]}),
    "layer_norm_weight_only": case("layer_norm", {"x": normal(2, 3, 4),
                                                  "normalized_shape": [3, 4],
                                                  "weight": normal(3, 4)}, {"eps": 1e-3}),
    "group_norm_affine": case("group_norm", {"x": normal(2, 6, 3, 4), "num_groups": 3,
                                             "weight": normal(6), "bias": normal(6)}),
    "group_norm_1d_plain": case("group_norm", {"x": normal(3, 4, 5) * 3, "num_groups": 2}),
    "group_norm_one_group": case("group_norm", {"x": normal(2, 4, 3, 3), "num_groups": 1,
                                                "weight": normal(4), "bias": normal(4)}),
    "group_norm_per_channel": case("group_norm", {"x": normal(2, 3, 2, 5), "num_groups": 3,
                                                  "weight": normal(3)}, {"eps": 1e-2}),
    "instance_norm_affine": case("instance_norm", {"x": normal(2, 3, 4, 5),
                                                   "running_mean": None, "running_var": None,
                                                   "weight": normal(3), "bias": normal(3)}, {}),
    "instance_norm_1d_running": case("instance_norm", {"x": normal(3, 2, 6) * 2 + 1,
                                                       "running_mean": normal(2),
                                                       "running_var": np.abs(normal(2)) + 0.5},
                                     {"use_input_stats": True, "momentum": 0.2},
                                     buffers=["running_mean", "running_var"]),
    "instance_norm_eval": case("instance_norm", {"x": normal(2, 3, 3, 3),
                                                 "running_mean": normal(3),
                                                 "running_var": np.abs(normal(3)) + 0.5,
                                                 "weight": normal(3), "bias": normal(3)},
                               {"use_input_stats": False},
                               buffers=["running_mean", "running_var"]),
    "batch_norm_flat": case("batch_norm", {"x": normal(6, 4) * 2 + 3, "running_mean": normal(4),
                                           "running_var": np.abs(normal(4)) + 0.5,
                                           "weight": normal(4), "bias": normal(4)},
                            {"training": True, "momentum": 0.1},
                            buffers=["running_mean", "running_var"]),
    "batch_norm_1d_train": case("batch_norm", {"x": normal(3, 4, 5), "running_mean": normal(4),
                                               "running_var": np.abs(normal(4)) + 0.5,
                                               "weight": normal(4), "bias": normal(4)},
                                {"training": True, "momentum": 0.3, "eps": 1e-3},
                                buffers=["running_mean", "running_var"]),
    "batch_norm_1d_eval": case("batch_norm", {"x": normal(3, 4, 5), "running_mean": normal(4),
                                              "running_var": np.abs(normal(4)) + 0.5,
                                              "weight": normal(4), "bias": normal(4)},
                               {"training": False},
                               buffers=["running_mean", "running_var"]),
    # -- embedding -----------------------------------------------------------------------------
    "embedding_repeats": case("embedding", {"indices": np.array([[1, 3, 1, 0, 6],
                                                                 [3, 3, 2, 1, 5]]),
                                            "weight": normal(7, 3)}, {}),
    "embedding_padding": case("embedding", {"indices": np.array([2, 0, 2, 4, 1, 2]),
                                            "weight": normal(5, 4)}, {"padding_idx": 2}),
    "embedding_negative_padding_3d": case("embedding", {"indices": rng.integers(0, 6, (2, 3, 4)),
                                                        "weight": normal(6, 2)},
                                          {"padding_idx": -1}),
    # -- activations (kinks and thresholds included on purpose) --------------------------------
    "leaky_relu": case("leaky_relu", {"x": with_points([0.0, -0.0])}),
    "leaky_relu_slope": case("leaky_relu", {"x": with_points([0.0])}, {"negative_slope": 0.2}),
    "elu": case("elu", {"x": with_points([0.0, -30.0, 30.0])}),
    "elu_alpha": case("elu", {"x": with_points([0.0])}, {"alpha": 0.5}),
    "selu": case("selu", {"x": with_points([0.0, -20.0])}),
    "gelu": case("gelu", {"x": with_points([0.0, -8.0, 8.0, -0.46875 * 2 ** 0.5,
                                            4 * 2 ** 0.5, -6.0])}),
    "gelu_tanh": case("gelu", {"x": with_points([0.0, -8.0, 8.0])}, {"approximate": "tanh"}),
    "silu": case("silu", {"x": with_points([0.0, -40.0, 40.0])}),
    "hardswish": case("hardswish", {"x": with_points([-3.0, 3.0, 0.0, -4.0, 4.0])}),
    "hardsigmoid": case("hardsigmoid", {"x": with_points([-3.0, 3.0, 0.0])}),
    "relu6": case("relu6", {"x": with_points([0.0, 6.0, 3.0], scale=5.0)}),
    "softplus": case("softplus", {"x": with_points([20.0, 19.5, 20.5, 0.0, -30.0], scale=8.0)}),
    "softplus_beta": case("softplus", {"x": with_points([2.5, 2.4, 2.6, 0.0])},
                          {"beta": 2.0, "threshold": 5.0}),
    "mish": case("mish", {"x": with_points([0.0, -25.0, 25.0])}),
    "softsign": case("softsign", {"x": with_points([0.0])}),
    "prelu_shared": case("prelu", {"x": with_points([0.0]), "weight": np.array([0.3])}),
    "prelu_channels": case("prelu", {"x": normal(2, 3, 4, 2), "weight": normal(3)}),
    "prelu_flat": case("prelu", {"x": normal(5, 4), "weight": normal(4)}),
    "dropout2d_eval": case("dropout2d", {"x": normal(2, 3, 2, 2)}, {"p": 0.4, "training": False}),
    "dropout1d_eval": case("dropout1d", {"x": normal(2, 3, 4)}, {"p": 0.4, "training": False}),
}


def run(spec: dict) -> dict[str, np.ndarray]:
    args = []
    for arg_name, value in spec["args"].items():
        if not isinstance(value, np.ndarray):
            args.append(value)
        elif arg_name == "indices":
            args.append(torch.from_numpy(value))
        else:
            args.append(torch.tensor(value, dtype=torch.float64,
                                     requires_grad=arg_name in spec["grad"]))
    op = spec["torch_op"] or getattr(TF, spec["op"])
    out = op(*args, **spec["kwargs"])
    upstream = rng.standard_normal(tuple(out.shape))
    out.backward(torch.from_numpy(upstream))
    names = list(spec["args"])
    config = {"op": spec["op"], "args": names, "kwargs": spec["kwargs"], "grad": spec["grad"],
              "buffers": spec["buffers"],
              "values": {n: v for n, v in spec["args"].items() if not isinstance(v, np.ndarray)}}
    record = {"config": np.array(json.dumps(config)), "upstream": upstream,
              "out": out.detach().numpy()}
    record.update({n: v for n, v in spec["args"].items() if isinstance(v, np.ndarray)})
    for arg_name in spec["grad"]:
        record["grad_" + arg_name] = args[names.index(arg_name)].grad.numpy()
    for arg_name in spec["buffers"]:
        record["after_" + arg_name] = args[names.index(arg_name)].detach().numpy()
    return record


def main() -> None:
    assert torch.__version__.startswith("2.13"), torch.__version__
    torch.set_default_dtype(torch.float64)
    saved = {}
    for name, spec in CASES.items():
        for key, value in run(spec).items():
            saved[f"{name}__{key}"] = value
    np.savez_compressed(OUT, **saved)
    print(f"{len(CASES)} cases, {OUT.stat().st_size} bytes -> {OUT}")


if __name__ == "__main__":
    main()
