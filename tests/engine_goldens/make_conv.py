"""Record PyTorch's outputs and gradients for the convolution-family and resampling ops.

Run by hand (needs torch; the tests do not):  python tests/engine_goldens/make_conv.py
Writes conv.npz next to this file. For each case NAME it holds, all float64:
    NAME/config        the op and its keyword arguments, as JSON text
    NAME/x, NAME/weight, NAME/bias     the inputs (those the op takes)
    NAME/upstream      a random upstream gradient of the output's shape
    NAME/out           torch's output
    NAME/grad_x, ...   torch's gradient of sum(out · upstream) for every input
tests/test_ops_conv.py and tests/test_ops_resample.py call minigrad's op of the same name with
the same arguments and compare to 1e-10.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# name: (op, input shapes in the op's argument order, keyword arguments)
CASES = {
    # conv2d: strides, paddings, dilations, groups, depthwise
    "conv2d_plain": ("conv2d", {"x": (2, 3, 6, 7), "weight": (4, 3, 3, 3), "bias": (4,)}, {}),
    "conv2d_stride_pad": ("conv2d", {"x": (2, 3, 7, 6), "weight": (5, 3, 3, 2), "bias": (5,)},
                          {"stride": 2, "padding": 1}),
    "conv2d_pairs": ("conv2d", {"x": (1, 2, 8, 7), "weight": (3, 2, 3, 2)},
                     {"stride": [2, 1], "padding": [1, 2], "dilation": [2, 1]}),
    "conv2d_groups2": ("conv2d", {"x": (2, 4, 6, 6), "weight": (6, 2, 3, 3), "bias": (6,)},
                       {"padding": 1, "groups": 2}),
    "conv2d_groups3_strided_dilated": ("conv2d", {"x": (2, 6, 9, 8), "weight": (3, 2, 2, 3)},
                                       {"stride": 2, "dilation": 2, "groups": 3}),
    "conv2d_depthwise_same": ("conv2d", {"x": (2, 4, 5, 6), "weight": (8, 1, 3, 3), "bias": (8,)},
                              {"padding": "same", "groups": 4}),
    "conv2d_valid_groups": ("conv2d", {"x": (1, 4, 5, 5), "weight": (4, 2, 2, 2)},
                            {"padding": "valid", "groups": 2}),
    "conv2d_same_even_kernel": ("conv2d", {"x": (1, 2, 6, 7), "weight": (2, 2, 2, 4)},
                                {"padding": "same", "dilation": 2}),
    # conv1d
    "conv1d_plain": ("conv1d", {"x": (2, 3, 9), "weight": (4, 3, 3), "bias": (4,)}, {}),
    "conv1d_groups_strided": ("conv1d", {"x": (2, 4, 11), "weight": (6, 2, 3), "bias": (6,)},
                              {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    "conv1d_depthwise_same": ("conv1d", {"x": (1, 3, 8), "weight": (6, 1, 4)},
                              {"padding": "same", "groups": 3}),
    # conv_transpose2d: strides, paddings, output_padding (< stride or < dilation), groups
    "convT2d_plain": ("conv_transpose2d", {"x": (2, 3, 4, 5), "weight": (3, 2, 3, 3), "bias": (2,)},
                      {}),
    "convT2d_stride_outpad": ("conv_transpose2d",
                              {"x": (2, 2, 4, 3), "weight": (2, 3, 3, 3), "bias": (3,)},
                              {"stride": 2, "padding": 1, "output_padding": 1}),
    "convT2d_pairs_groups": ("conv_transpose2d",
                             {"x": (1, 4, 3, 4), "weight": (4, 1, 3, 2), "bias": (2,)},
                             {"stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2],
                              "groups": 2, "dilation": [1, 2]}),
    "convT2d_groups3_dilated": ("conv_transpose2d", {"x": (2, 3, 3, 3), "weight": (3, 2, 2, 2)},
                                {"stride": 3, "dilation": 2, "output_padding": [2, 1],
                                 "groups": 3}),
    "convT2d_outpad_below_dilation": ("conv_transpose2d",
                                      {"x": (1, 2, 4, 4), "weight": (2, 2, 3, 3)},
                                      {"dilation": 2, "output_padding": 1, "padding": 2}),
    "convT2d_1x1_strided": ("conv_transpose2d", {"x": (2, 3, 3, 2), "weight": (3, 4, 1, 1)},
                            {"stride": 2}),
    # conv_transpose1d
    "convT1d_stride_outpad": ("conv_transpose1d",
                              {"x": (2, 3, 5), "weight": (3, 2, 4), "bias": (2,)},
                              {"stride": 2, "padding": 1, "output_padding": 1}),
    "convT1d_groups_dilated": ("conv_transpose1d", {"x": (1, 4, 6), "weight": (4, 3, 3)},
                               {"groups": 2, "dilation": 3, "padding": 2}),
    # interpolate: nearest, (bi)linear with and without align_corners, sizes and scales
    "nearest2d_scale2": ("interpolate", {"x": (2, 3, 4, 5)},
                         {"scale_factor": 2, "mode": "nearest"}),
    "nearest2d_size": ("interpolate", {"x": (1, 2, 4, 3)}, {"size": [7, 5], "mode": "nearest"}),
    "nearest2d_scale1.5_down": ("interpolate", {"x": (1, 2, 6, 7)},
                                {"scale_factor": [1.5, 0.5], "mode": "nearest"}),
    "nearest2d_large_output": ("interpolate", {"x": (1, 2, 10, 12)},
                               {"scale_factor": 7, "mode": "nearest"}),
    "nearest1d_scale3": ("interpolate", {"x": (2, 3, 5)}, {"scale_factor": 3, "mode": "nearest"}),
    "bilinear_scale2": ("interpolate", {"x": (2, 2, 4, 5)},
                        {"scale_factor": 2, "mode": "bilinear", "align_corners": False}),
    "bilinear_align_size": ("interpolate", {"x": (1, 3, 4, 5)},
                            {"size": [7, 9], "mode": "bilinear", "align_corners": True}),
    "bilinear_down": ("interpolate", {"x": (1, 2, 5, 7)},
                      {"size": [3, 2], "mode": "bilinear"}),
    "bilinear_uneven_scales": ("interpolate", {"x": (2, 1, 5, 6)},
                               {"scale_factor": [1.7, 0.6], "mode": "bilinear",
                                "align_corners": False}),
    "linear_scale2.5": ("interpolate", {"x": (2, 2, 6)},
                        {"scale_factor": 2.5, "mode": "linear", "align_corners": False}),
    "linear_align_size": ("interpolate", {"x": (1, 3, 5)},
                          {"size": 11, "mode": "linear", "align_corners": True}),
    # pad
    "pad_constant": ("pad", {"x": (2, 3, 4, 5)}, {"pad": [1, 2, 0, 3], "value": 0.5}),
    "pad_constant_crop_3axes": ("pad", {"x": (2, 3, 4, 5)},
                                {"pad": [-1, 2, 1, -2, 1, 0], "mode": "constant"}),
    "pad_reflect": ("pad", {"x": (2, 2, 4, 5)}, {"pad": [2, 1, 1, 3], "mode": "reflect"}),
    "pad_reflect1d_crop": ("pad", {"x": (2, 3, 6)}, {"pad": [-1, 4], "mode": "reflect"}),
    "pad_replicate": ("pad", {"x": (2, 2, 3, 4)}, {"pad": [2, 0, 3, 1], "mode": "replicate"}),
    "pad_replicate_crop": ("pad", {"x": (1, 2, 5, 6)},
                           {"pad": [-2, 3, 1, -1], "mode": "replicate"}),
    # pixel shuffle
    "pixel_shuffle2": ("pixel_shuffle", {"x": (2, 8, 3, 4)}, {"upscale_factor": 2}),
    "pixel_shuffle3": ("pixel_shuffle", {"x": (1, 9, 2, 3)}, {"upscale_factor": 3}),
    "pixel_unshuffle2": ("pixel_unshuffle", {"x": (2, 2, 6, 4)}, {"downscale_factor": 2}),
}


def main() -> None:
    rng = np.random.default_rng(20261201)
    arrays: dict[str, np.ndarray] = {}
    for name, (op, shapes, kwargs) in CASES.items():
        inputs = {key: rng.standard_normal(shape) for key, shape in shapes.items()}
        tensors = [torch.tensor(a, requires_grad=True) for a in inputs.values()]
        out = getattr(F, op)(*tensors, **kwargs)
        upstream = rng.standard_normal(tuple(out.shape))
        out.backward(torch.tensor(upstream))
        arrays[f"{name}/config"] = np.array(json.dumps({"op": op, "kwargs": kwargs}))
        for key, value in inputs.items():
            arrays[f"{name}/{key}"] = value
        for key, tensor in zip(inputs, tensors):
            arrays[f"{name}/grad_{key}"] = tensor.grad.numpy()
        arrays[f"{name}/upstream"] = upstream
        arrays[f"{name}/out"] = out.detach().numpy()
    path = Path(__file__).with_name("conv.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {len(CASES)} cases to {path} ({path.stat().st_size} bytes) with torch "
          f"{torch.__version__}")


if __name__ == "__main__":
    main()
