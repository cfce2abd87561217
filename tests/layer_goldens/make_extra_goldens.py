"""Build every configuration of the newer layer kinds in the real frameworks and record their numbers.

Run by hand (not part of the test run), with PyTorch 2.13 and Keras 3 on the torch backend:

    pip install torch==2.13.0 keras
    python tests/layer_goldens/make_extra_goldens.py          # writes tests/layer_goldens/extra.json

Each case names one of our kinds and its constructor arguments (`kind`, `args`), the framework that
defines the truth (`framework`, with the layout and rules our analysis uses for it), and the input
shape without the batch axis. The script builds the same layer in that framework, runs a real
tensor of batch 1 through it, and records:
- output: the output shape without the batch axis: PyTorch's from the run; Keras' as
  model.summary() shows it (the symbolic shape), with `inference`, the shape of a real
  training=False run, where that differs (Keras 3's RandomCrop does not crop at inference);
- params (model.parameters() / model.count_params()), trainable, non_trainable (Keras' non-trainable
  weights), buffers (PyTorch);
- macs: multiply-accumulates of the run as torch.utils.flop_counter counts them (FLOPs / 2), for
  the convolutions (Keras runs its convolutions through torch here too);
- error: the framework's message, when it refuses the configuration (at construction or call).
`fields` are chains of Keras layers with every kernel weight 1 and biases 0: back-propagating from
one output unit marks the input pixels it depends on (their first and last row and column).
Our kinds never appear here: the numbers are the frameworks' own.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
warnings.filterwarnings("ignore")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

torch.set_num_threads(1)
import keras  # noqa: E402
from keras import layers as kl  # noqa: E402

OUT = Path(__file__).with_name("extra.json")


def as_tuple(v, rank):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * rank


def flops_of(fn):
    """Run fn plainly (its result and errors are the truth: under FlopCounterMode PyTorch skips
    some checks, e.g. an upsampling to size 0 passes), then once more to count its FLOPs."""
    y = fn()
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return y, counter.get_total_flops()


# ---------------------------------------------------------------------------------------------
# The cases.
# ---------------------------------------------------------------------------------------------

def cases():
    T, K = ("torch", "chw", "torch"), ("keras", "hwc", "keras")

    def case(fw, kind, args, inp):
        return {"framework": fw[0], "layout": fw[1], "rules": fw[2], "kind": kind, "args": args,
                "input": list(inp)}

    out = []
    # Keras depthwise / separable, 1-D and 2-D, valid/same, strides 1–3, dilation, multipliers.
    for rank, sizes in ((2, [(7, 7), (8, 5), (13, 10)]), (1, [(7,), (12,), (13,)])):
        for size in sizes:
            for k, s, d, pad, m, bias in ((3, 1, 1, "valid", 1, True), (3, 2, 1, "same", 2, True),
                                          (3, 3, 1, "same", 1, False), (2, 2, 1, "valid", 3, True),
                                          (3, 1, 2, "same", 1, True), (3, 2, 2, "valid", 1, True),
                                          (5, 3, 1, "same", 2, True), (4, 1, 1, "same", 1, True),
                                          (3, 2, 2, "same", 1, True), (2, 3, 3, "same", 2, False)):
                if max(size) < d * (k - 1) + 1 and pad == "valid":
                    continue
                c = 3 if rank == 2 else 4
                args = {"kernel": k, "stride": s, "padding": pad, "dilation": d,
                        "depth_multiplier": m, "bias": bias}
                out.append(case(K, "DepthwiseConv", args, (*size, c)))
                out.append(case(K, "SeparableConv", {"filters": 5, **args}, (*size, c)))
    # Non-square kernels, 2-D.
    out.append(case(K, "DepthwiseConv", {"kernel": (3, 1), "stride": (2, 1), "padding": "same"}, (9, 6, 2)))
    out.append(case(K, "SeparableConv", {"filters": 8, "kernel": (1, 5), "stride": (1, 2),
                                         "padding": "valid", "depth_multiplier": 2}, (6, 11, 3)))
    out.append(case(K, "DepthwiseConv", {"kernel": 7, "padding": "valid"}, (5, 5, 3)))  # too large
    # PyTorch depthwise = Conv with groups=C: our DepthwiseConv under torch rules with int padding.
    for size, k, s, p, d, m in (((7, 7), 3, 1, 1, 1, 1), ((8, 9), 3, 2, 1, 1, 2), ((13, 13), 5, 3, 2, 1, 1),
                                ((9,), 3, 2, 0, 2, 1), ((10,), 4, 1, 3, 1, 3), ((6, 6), 3, 1, "same", 2, 1)):
        out.append(case(T, "DepthwiseConv", {"kernel": k, "stride": s, "padding": p, "dilation": d,
                                             "depth_multiplier": m}, (4, *size)))
    # PyTorch transposed convolutions.
    for size in ((5, 5), (7, 4), (8,), (13,)):
        rank = len(size)
        for k, s, p, op, d, g, bias in ((3, 1, 0, 0, 1, 1, True), (4, 2, 1, 0, 1, 1, True),
                                        (3, 2, 1, 1, 1, 1, True), (5, 3, 2, 2, 1, 1, False),
                                        (3, 3, 0, 1, 1, 2, True), (3, 1, 1, 1, 2, 1, True),
                                        (2, 2, 0, 0, 1, 4, True), (3, 2, 0, 0, 3, 1, True),
                                        (4, 2, 1, 2, 1, 1, True), (3, 1, 4, 0, 1, 1, True),
                                        (3, 2, 2, 1, 1, 3, True)):
            out.append(case(T, "ConvTranspose", {"filters": 8, "kernel": k, "stride": s, "padding": p,
                                                 "output_padding": op, "dilation": d, "groups": g,
                                                 "bias": bias, "in_channels": 4}, (4, *size)))
    out.append(case(T, "ConvTranspose", {"filters": 6, "kernel": (3, 5), "stride": (2, 1),
                                         "padding": (1, 2), "output_padding": (1, 0)}, (4, 6, 9)))
    # Keras transposed convolutions.
    for size in ((5, 5), (7, 4), (8,), (13,)):
        for k, s, pad, op, d in ((3, 1, "valid", None, 1), (3, 2, "valid", None, 1), (2, 3, "valid", None, 1),
                                 (4, 2, "same", None, 1), (3, 2, "same", None, 1), (3, 3, "same", None, 1),
                                 (3, 2, "same", 1, 1), (4, 2, "same", 1, 1), (3, 2, "valid", 1, 1),
                                 (5, 3, "same", 2, 1), (4, 3, "same", 0, 1), (3, 1, "same", None, 2),
                                 (3, 1, "valid", None, 2), (3, 2, "same", 2, 1), (3, 2, "valid", None, 2)):
            out.append(case(K, "ConvTranspose", {"filters": 6, "kernel": k, "stride": s, "padding": pad,
                                                 "output_padding": op, "dilation": d}, (*size, 3)))
    # Upsampling: PyTorch scale (integer and not) or size, 1-D and 2-D; Keras integer sizes.
    for size in ((5, 5), (7, 3), (9,)):
        rank = len(size)
        for kw in ({"scale": 2}, {"scale": 3, "mode": "bilinear" if rank == 2 else "linear"},
                   {"scale": 1.5}, {"scale": 0.7}, {"scale": 2.3}, {"scale": 0.1},
                   {"size": 11 if rank == 1 else (11, 6)}, {"scale": (2, 3) if rank == 2 else 4}):
            out.append(case(T, "Upsample", kw, (2, *size)))
        for scale in (2, 3, (1, 2) if rank == 2 else 5):
            out.append(case(K, "Upsample", {"scale": scale}, (*size, 2)))
    # Padding: PyTorch modes (and F.pad's negative values), Keras zero padding.
    for size in ((5, 5), (4, 7), (6,)):
        rank = len(size)
        for mode in ("zeros", "constant", "reflect", "replicate", "circular"):
            for pad in (1, ((1, 2), (3, 0)) if rank == 2 else ((2, 1),), 4, 5, ((0, 3), (4, 6)) if rank == 2
                        else ((3, 6),), ((-1, 2), (0, -2)) if rank == 2 else ((-2, 1),)):
                out.append(case(T, "Pad", {"padding": pad, "mode": mode}, (3, *size)))
        for pad in (1, ((1, 2), (3, 0)) if rank == 2 else ((2, 1),), (2, 1) if rank == 2 else 3):
            out.append(case(K, "Pad", {"padding": pad}, (*size, 3)))
        for crop in (1, ((1, 2), (3, 0)) if rank == 2 else ((2, 1),), ((2, 2), (0, 6)) if rank == 2
                     else ((4, 2),), (1, 2) if rank == 2 else ((0, 5),), ((3, 2), (0, 0)) if rank == 2 else 3):
            out.append(case(K, "Crop", {"cropping": crop}, (*size, 3)))
    # Pixel shuffle.
    for c, r, size in ((8, 2, (5, 5)), (18, 3, (4, 7)), (4, 2, (3, 3)), (8, 3, (5, 5)), (12, 2, (2, 9)), (5, 1, (3, 4))):
        out.append(case(T, "PixelShuffle", {"factor": r}, (c, *size)))
    # Keras image layers.
    for size in ((5, 5), (8, 6), (3, 9)):
        for h, w in ((3, 4), (5, 5), (7, 3), (1, 1), (8, 6)):
            out.append(case(K, "Resizing", {"height": h, "width": w}, (*size, 3)))
            out.append(case(K, "CenterCrop", {"height": h, "width": w}, (*size, 3)))
            out.append(case(K, "RandomCrop", {"height": h, "width": w}, (*size, 3)))
        out.append(case(K, "Rescaling", {"scale": 1 / 255}, (*size, 3)))
        out.append(case(K, "Rescaling", {"scale": 2.0, "offset": -1.0}, (*size, 3)))
        for axis in (-1, None, (1, 2), 2, (-1, -3), 1):
            out.append(case(K, "Normalization", {"axis": axis}, (*size, 3)))
        out.append(case(K, "Normalization", {"axis": -1, "constants": True}, (*size, 3)))
        for op in ("RandomFlip", "random_rotation", "RandomZoom", "random_translation",
                   "RandomContrast", "random_brightness"):
            out.append(case(K, "Augment", {"kind": op}, (*size, 3)))
    for axis in (-1, None, 1):
        out.append(case(K, "Normalization", {"axis": axis}, (10,)))
        out.append(case(K, "Normalization", {"axis": axis}, (7, 4)))
    return out


# ---------------------------------------------------------------------------------------------
# Building each case in its framework.
# ---------------------------------------------------------------------------------------------

def torch_layer(kind, a, inp):
    rank = len(inp) - 1
    c = inp[0]
    if kind == "DepthwiseConv":
        conv = getattr(nn, f"Conv{rank}d")
        return conv(c, c * a.get("depth_multiplier", 1), a["kernel"], stride=a.get("stride", 1),
                    padding=a.get("padding", 0), dilation=a.get("dilation", 1), groups=c,
                    bias=a.get("bias", True))
    if kind == "ConvTranspose":
        conv = getattr(nn, f"ConvTranspose{rank}d")
        return conv(a.get("in_channels") or c, a["filters"], a["kernel"], stride=a.get("stride", 1),
                    padding=a.get("padding", 0), output_padding=a.get("output_padding", 0),
                    groups=a.get("groups", 1), bias=a.get("bias", True), dilation=a.get("dilation", 1))
    if kind == "Upsample":
        scale = a.get("scale")
        return nn.Upsample(size=a.get("size"), scale_factor=tuple(scale) if isinstance(scale, list) else scale,
                           mode=a.get("mode", "nearest"))
    if kind == "Pad":
        pad = a["padding"]
        pairs = ([(pad, pad)] * rank if isinstance(pad, int) else [tuple(p) for p in pad])
        flat = tuple(v for pair in reversed(pairs) for v in pair)  # last axis first, as F.pad
        mode = a.get("mode", "zeros")
        module = {"zeros": f"ZeroPad{rank}d", "reflect": f"ReflectionPad{rank}d",
                  "replicate": f"ReplicationPad{rank}d", "circular": f"CircularPad{rank}d",
                  "constant": f"ConstantPad{rank}d"}[mode]
        return getattr(nn, module)(flat, 0.5) if mode == "constant" else getattr(nn, module)(flat)
    if kind == "PixelShuffle":
        return nn.PixelShuffle(a["factor"])
    raise ValueError(kind)


def run_torch(kind, a, inp):
    layer = torch_layer(kind, a, inp)
    y, flops = flops_of(lambda: layer(torch.zeros((1, *inp))))
    params = sum(p.numel() for p in layer.parameters())
    trainable = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    return {"output": list(y.shape[1:]), "params": params, "trainable": trainable,
            "non_trainable": params - trainable, "buffers": sum(b.numel() for b in layer.buffers()),
            "macs": flops // 2}


def keras_layer(kind, a, inp):
    rank = len(inp) - 1
    if kind in ("DepthwiseConv", "SeparableConv"):
        common = dict(kernel_size=a["kernel"], strides=a.get("stride", 1), padding=a.get("padding", "valid"),
                      dilation_rate=a.get("dilation", 1), depth_multiplier=a.get("depth_multiplier", 1),
                      use_bias=a.get("bias", True))
        if kind == "DepthwiseConv":
            return getattr(kl, f"DepthwiseConv{rank}D")(**common)
        return getattr(kl, f"SeparableConv{rank}D")(a["filters"], **common)
    if kind == "ConvTranspose":
        return getattr(kl, f"Conv{rank}DTranspose")(
            a["filters"], a["kernel"], strides=a.get("stride", 1), padding=a.get("padding", "valid"),
            output_padding=a.get("output_padding"), dilation_rate=a.get("dilation", 1),
            use_bias=a.get("bias", True))
    if kind == "Upsample":
        return getattr(kl, f"UpSampling{rank}D")(a["scale"] if isinstance(a["scale"], int) else tuple(a["scale"]))
    if kind == "Pad":
        pad = a["padding"]
        if rank == 1:
            return kl.ZeroPadding1D(pad if isinstance(pad, int) else tuple(pad[0]))
        return kl.ZeroPadding2D(pad if isinstance(pad, int) else tuple(tuple(p) if isinstance(p, list) else p
                                                                       for p in pad))
    if kind == "Crop":
        crop = a["cropping"]
        if rank == 1:
            return kl.Cropping1D(crop if isinstance(crop, int) else tuple(crop[0]))
        return kl.Cropping2D(crop if isinstance(crop, int) else tuple(tuple(p) if isinstance(p, list) else p
                                                                      for p in crop))
    if kind == "Resizing":
        return kl.Resizing(a["height"], a["width"])
    if kind == "CenterCrop":
        return kl.CenterCrop(a["height"], a["width"])
    if kind == "RandomCrop":
        return kl.RandomCrop(a["height"], a["width"])
    if kind == "Rescaling":
        return kl.Rescaling(a["scale"], a.get("offset", 0.0))
    if kind == "Normalization":
        axis = tuple(a["axis"]) if isinstance(a["axis"], list) else a["axis"]
        if a.get("constants"):
            return kl.Normalization(axis=axis, mean=[0.5] * inp[-1], variance=[2.0] * inp[-1])
        return kl.Normalization(axis=axis)
    if kind == "Augment":
        cls = "".join(w[0].upper() + w[1:] for w in a["kind"].split("_"))
        factor = {"RandomFlip": (), "RandomTranslation": (0.1, 0.1)}.get(cls, (0.1,))
        return getattr(kl, cls)(*factor)
    raise ValueError(kind)


def run_keras(kind, a, inp):
    keras.utils.clear_session()
    layer = keras_layer(kind, a, inp)
    x_in = keras.Input(tuple(inp))
    symbolic = list(layer(x_in).shape[1:])
    model = keras.Model(x_in, layer(x_in))
    y, flops = flops_of(lambda: model(torch.zeros((1, *inp)), training=False))
    trainable = sum(int(torch.tensor(w.shape).prod()) if w.shape else 1 for w in model.trainable_weights)
    params = model.count_params()
    record = {"output": symbolic, "params": params, "trainable": trainable,
              "non_trainable": params - trainable, "macs": flops // 2}
    if list(y.shape[1:]) != symbolic:
        record["inference"] = list(y.shape[1:])
    return record


# ---------------------------------------------------------------------------------------------
# Receptive fields measured by Keras: back-propagate from one output unit with every weight 1.
# ---------------------------------------------------------------------------------------------

CHAINS = [
    ((41, 37, 2), [("DepthwiseConv", {"kernel": 3, "stride": 2, "padding": "same"}),
                   ("Pad", {"padding": [[1, 2], [3, 0]]}),
                   ("DepthwiseConv", {"kernel": 4, "stride": 2, "padding": "same"})]),
    ((40, 40, 2), [("Pad", {"padding": 3}), ("Crop", {"cropping": [[1, 4], [2, 0]]}),
                   ("SeparableConv", {"filters": 2, "kernel": 5, "stride": 3, "padding": "same"})]),
    ((33, 30, 2), [("Crop", {"cropping": [[3, 0], [0, 5]]}),
                   ("DepthwiseConv", {"kernel": 3, "dilation": 2, "padding": "same"}),
                   ("DepthwiseConv", {"kernel": 2, "stride": 2, "padding": "valid"}),
                   ("Pad", {"padding": [[0, 1], [2, 2]]}),
                   ("DepthwiseConv", {"kernel": 3, "stride": 3, "padding": "same"})]),
    ((45, 45, 2), [("CenterCrop", {"height": 38, "width": 35}),
                   ("DepthwiseConv", {"kernel": 4, "stride": 3, "padding": "same"}),
                   ("Crop", {"cropping": [[1, 1], [2, 0]]}),
                   ("SeparableConv", {"filters": 2, "kernel": 3, "stride": 2, "padding": "valid"})]),
    ((36, 38, 2), [("DepthwiseConv", {"kernel": 2, "stride": 2, "padding": "same"}),
                   ("DepthwiseConv", {"kernel": 2, "stride": 2, "padding": "same"}),
                   ("Pad", {"padding": [[2, 0], [0, 1]]}),
                   ("CenterCrop", {"height": 8, "width": 9}),
                   ("DepthwiseConv", {"kernel": 3, "padding": "same", "dilation": 2})]),
]


def field(shape, chain):
    keras.utils.clear_session()
    x_in = keras.Input(shape)
    x = x_in
    for kind, args in chain:
        x = keras_layer(kind, args, shape)(x)
    model = keras.Model(x_in, x)
    for w in model.weights:
        w.assign(keras.ops.ones(w.shape) if "kernel" in w.name else keras.ops.zeros(w.shape))
    inp = torch.rand((1, *shape), requires_grad=True)
    y = model(inp)
    unit = [d // 2 for d in y.shape[1:-1]]
    y[(0, *unit)].sum().backward()
    hit = inp.grad[0].abs().sum(-1).nonzero()
    support = [[int(hit[:, i].min()), int(hit[:, i].max())] for i in range(2)]
    for (lo, hi), n in zip(support, shape):  # the field must lie inside the image to be measured
        assert 0 < lo and hi < n - 1, (chain, support)
    return {"input": list(shape), "layers": [[k, a] for k, a in chain], "output": list(y.shape[1:]),
            "unit": unit, "support": support}


def main():
    results = []
    for c in cases():
        run = run_torch if c["framework"] == "torch" else run_keras
        try:
            c.update(run(c["kind"], c["args"], c["input"]))
        except Exception as e:  # the framework refuses: record its message
            c["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
        results.append(c)
    fields = [field(shape, chain) for shape, chain in CHAINS]
    lines = ",\n".join(json.dumps(c) for c in results)
    chains = ",\n".join(json.dumps(f) for f in fields)
    OUT.write_text(f'{{"torch": "{torch.__version__}", "keras": "{keras.__version__}",\n'
                   f'"cases": [\n{lines}\n],\n"fields": [\n{chains}\n]}}\n')  # one case a line
    errors = sum("error" in c for c in results)
    print(f"{len(results)} cases ({errors} refused by the framework) → {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
