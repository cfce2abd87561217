"""The newer layer kinds (separable, transposed, resize, preprocessing) against the real frameworks.

tests/layer_goldens/extra.json holds what PyTorch 2.13 and Keras 3 (torch backend) produced for
each configuration (tests/layer_goldens/make_extra_goldens.py, run by hand): output shapes,
parameter counts, MACs, the frameworks' refusals, and receptive fields measured by
back-propagating from one output unit. Here every case is rebuilt as our kind and compared.
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from pathlib import Path

import pytest

from minigrad.errors import SpecError
from minigrad.layers.base import Axis, Context, Flow
from minigrad.layers.preprocessing import Augment, Normalization, RandomCrop, Rescaling
from minigrad.layers.resize import CenterCrop, Crop, Pad, PixelShuffle, Resizing, Upsample
from minigrad.layers.separable import DepthwiseConv, SeparableConv
from minigrad.layers.transposed import ConvTranspose

GOLDENS = json.loads((Path(__file__).parent / "layer_goldens" / "extra.json").read_text())
KINDS = {k.__name__: k for k in (DepthwiseConv, SeparableConv, ConvTranspose, Upsample, Pad, Crop,
                                 PixelShuffle, Resizing, CenterCrop, Rescaling, Normalization,
                                 Augment, RandomCrop)}


def tuples(value):
    """JSON lists back into the tuples the kinds take."""
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value


def build(kind: str, args: dict):
    return KINDS[kind](**{k: tuples(v) for k, v in args.items()})


def start(ctx: Context, shape) -> Flow:
    return Flow(tuple(shape), tuple(Axis(n) for n in ctx.spatial(tuple(shape))))


def case_id(c) -> str:
    args = ",".join(f"{k}={v}" for k, v in c["args"].items()).replace(" ", "")
    return f"{c['framework']}-{c['kind']}({args})-{'x'.join(map(str, c['input']))}"


CASES = GOLDENS["cases"]


def test_goldens_cover_every_kind_and_both_frameworks():
    assert GOLDENS["torch"].startswith("2.13.0") and GOLDENS["keras"].startswith("3.")
    assert {c["kind"] for c in CASES} == set(KINDS)
    assert {c["framework"] for c in CASES} == {"torch", "keras"}
    assert sum("error" in c for c in CASES) >= 20 and len(CASES) >= 400


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_kind_matches_framework(case):
    ctx = Context(case["layout"], case["rules"], "layer_1")
    layer = build(case["kind"], case["args"])
    if "error" in case:
        with pytest.raises(SpecError) as info:
            layer.infer(ctx, (start(ctx, case["input"]),))
        assert str(info.value).startswith("layer_1: ")
        return
    out = layer.infer(ctx, (start(ctx, case["input"]),))
    assert list(out.flow.shape) == case["output"]
    assert out.trainable == case["trainable"]
    if case["framework"] == "keras":  # count_params(): statistics are non-trainable weights
        assert out.frozen + out.stats == case["non_trainable"]
        assert out.trainable + out.frozen + out.stats == case["params"]
    else:  # model.parameters(); statistics would be buffers
        assert out.trainable + out.frozen == case["params"]
        assert out.stats == case["buffers"]
    assert out.macs == case["macs"]
    assert out.description and out.explain
    if "inference" in case:  # Keras 3's RandomCrop: the table says what predict() really gives
        assert any("x".join(map(str, case["inference"][:2])).replace("x", "×") in n for n in out.notes)


# ---------------------------------------------------------------------------------------------
# Receptive fields.
# ---------------------------------------------------------------------------------------------

FIELDS = GOLDENS["fields"]


@pytest.mark.parametrize("chain", FIELDS, ids=[f"chain{i}" for i in range(len(FIELDS))])
def test_field_matches_keras_gradient(chain):
    """Keras back-propagated from one output unit with all weights 1: the input pixels with a
    non-zero gradient span exactly the field our kinds give that unit (size and centre)."""
    ctx = Context("hwc", "keras", "x")
    flow = start(ctx, chain["input"])
    for kind, args in chain["layers"]:
        flow = build(kind, args).infer(ctx, (flow,)).flow
    assert list(flow.shape) == chain["output"]
    for axis, unit, (lo, hi) in zip(flow.axes, chain["unit"], chain["support"]):
        assert axis.rf == hi - lo + 1
        assert axis.center + unit * axis.jump == Fraction(lo + hi, 2)


def _brute_axis(ops, n0: int, unit: int) -> tuple[int, int]:
    """Input pixels (on an endless grid) that one output unit depends on, by composing the index
    maps: conv out[i] ← in[i·S − P + t·D], pad out[i] = in[i − before], crop out[i] = in[i + before]."""
    units = {unit}
    for op in reversed(ops):
        if op[0] == "conv":
            _, k, s, d, before = op
            units = {i * s - before + t * d for i in units for t in range(k)}
        elif op[0] == "pad":
            units = {i - op[1] for i in units}
        else:
            units = {i + op[1] for i in units}
    return min(units), max(units)


@pytest.mark.parametrize("seed", range(40))
def test_pad_crop_conv_fields_equal_brute_force(seed):
    rng = random.Random(seed)
    ctx = Context("hwc", "keras", "x")
    n = rng.randint(20, 40)
    flow = start(ctx, (n, 2))
    ops, size = [], n
    for _ in range(rng.randint(2, 6)):
        choice = rng.choice(["conv", "pad", "crop", "sep"])
        if choice in ("conv", "sep"):
            k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
            padding = rng.choice(["valid", "same", rng.randint(0, 2)])
            eff = d * (k - 1) + 1
            if padding == "same":  # TensorFlow's rule: output ceil(n/S), the odd pixel after
                before = max((math.ceil(size / s) - 1) * s + eff - size, 0) // 2
            else:
                before = 0 if padding == "valid" else padding
            kind = (DepthwiseConv(kernel=k, stride=s, dilation=d, padding=padding) if choice == "conv"
                    else SeparableConv(filters=2, kernel=k, stride=s, dilation=d, padding=padding))
            op = ("conv", k, s, d, before)
        elif choice == "pad":
            b, a = rng.randint(-1, 3), rng.randint(0, 3)
            kind, op = Pad(padding=(b, a), mode=rng.choice(["zeros", "replicate"])), ("pad", b)
        else:
            b, a = rng.randint(0, 3), rng.randint(0, 3)
            kind, op = Crop(cropping=(b, a)), ("crop", b)
        try:
            flow = kind.infer(ctx, (flow,)).flow
        except SpecError:  # the window or the crop no longer fits: try another layer
            continue
        ops.append(op)
        size = flow.shape[0]
    (axis,) = flow.axes
    for unit in {0, size // 2, size - 1}:
        lo, hi = _brute_axis(ops, n, unit)
        assert axis.rf == hi - lo + 1, ops
        assert axis.center + unit * axis.jump == Fraction(lo + hi, 2), ops


def test_center_crop_field_is_a_crop():
    ctx = Context("hwc", "keras", "x")
    flow = CenterCrop(height=3, width=4).infer(ctx, (start(ctx, (8, 7, 3)),)).flow
    assert [(a.rf, a.jump, a.center) for a in flow.axes] == [(1, 1, 2), (1, 1, 1)]


@pytest.mark.parametrize("layer,shape", [
    (ConvTranspose(filters=4, kernel=3, stride=2), (3, 5, 5)), (Upsample(scale=2), (3, 5, 5)),
    (PixelShuffle(factor=2), (8, 5, 5)), (Resizing(height=3, width=3), (3, 5, 5)),
    (RandomCrop(height=3, width=3), (3, 5, 5)), (CenterCrop(height=7, width=3), (3, 5, 5))])
def test_grid_breakers_say_why_and_the_reason_travels(layer, shape):
    ctx = Context("chw", "keras", "x")
    out = layer.infer(ctx, (start(ctx, shape),)).flow
    assert out.axes is None and out.rf_unknown
    after = Pad(padding=1).infer(ctx, (out,)).flow
    assert after.axes is None and after.rf_unknown == out.rf_unknown
    earlier = Flow(shape, None, "an earlier reason")
    assert layer.infer(ctx, (earlier,)).flow.rf_unknown == "an earlier reason"


# ---------------------------------------------------------------------------------------------
# Errors a learner meets, with the numbers in the message.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer,layout,rules,shape,words", [
    (PixelShuffle(factor=3), "chw", "torch", (8, 5, 5), ["divisible by 3² = 9", "has 8"]),
    (Pad(padding=((0, 0), (5, 1)), mode="reflect"), "chw", "torch", (3, 5, 5), ["5+1", "smaller than", "5"]),
    (Pad(padding=6, mode="circular"), "chw", "torch", (3, 5, 5), ["wrap around"]),
    (Pad(padding=((-3, -2), (0, 0))), "chw", "torch", (3, 5, 5), ["leaves nothing"]),
    (Crop(cropping=((3, 2), (0, 0))), "hwc", "keras", (5, 5, 3), ["3+2", "leaves nothing", "5"]),
    (Crop(cropping=(3, 3)), "hwc", "keras", (6, 3), ["3+3", "leaves nothing"]),
    (ConvTranspose(filters=8, kernel=3, stride=2, padding=1, output_padding=2), "chw", "torch",
     (4, 5, 5), ["output_padding 2", "stride 2", "dilation 1"]),
    (ConvTranspose(filters=8, kernel=3, stride=2, padding="same", output_padding=2), "hwc", "keras",
     (5, 5, 4), ["output_padding 2", "stride 2"]),
    (ConvTranspose(filters=8, kernel=3, padding=4), "chw", "torch", (4, 5, 5), ["output size -1", "too small"]),
    (ConvTranspose(filters=8, kernel=3, groups=3), "chw", "torch", (4, 5, 5), ["groups=3", "4 input channels"]),
    (ConvTranspose(filters=8, kernel=3, in_channels=16), "chw", "torch", (4, 5, 5), ["expects 16", "receives 4"]),
    (ConvTranspose(filters=8, kernel=3, padding="same"), "chw", "torch", (4, 5, 5), ["integer padding"]),
    (ConvTranspose(filters=0, kernel=3), "chw", "torch", (4, 5, 5), ["filters", "positive", "0"]),
    (ConvTranspose(filters=8, kernel=(3, 3)), "chw", "torch", (4, 9), ["2 values", "1 spatial axis"]),
    (DepthwiseConv(kernel=7), "hwc", "keras", (5, 5, 3), ["7×7", "larger than", "5"]),
    (DepthwiseConv(kernel=3, depth_multiplier=0), "hwc", "keras", (5, 5, 3), ["depth_multiplier", "0"]),
    (SeparableConv(filters=4, kernel=3, stride=2, padding="same"), "chw", "torch", (3, 5, 5), ["'same'", "strided"]),
    (DepthwiseConv(kernel=3), "hwc", "keras", (12,), ["feature map", "12"]),
    (Upsample(scale=0.1), "chw", "torch", (3, 5, 5), ["floor(5·0.1)", "0"]),
    (Upsample(), "chw", "torch", (3, 5, 5), ["scale", "size"]),
    (Normalization(axis=0), "hwc", "keras", (5, 5, 3), ["axis 0", "batch"]),
    (Normalization(axis=4), "hwc", "keras", (5, 5, 3), ["axis 4"]),
    (Augment(kind="RandomSpin"), "hwc", "keras", (5, 5, 3), ["RandomSpin", "random_flip"]),
])
def test_errors_name_the_layer_and_the_numbers(layer, layout, rules, shape, words):
    ctx = Context(layout, rules, "deconv_3")
    with pytest.raises(SpecError) as info:
        layer.infer(ctx, (start(ctx, shape),))
    message = str(info.value)
    assert message.startswith("deconv_3: ")
    for word in words:
        assert word in message, (word, message)


# ---------------------------------------------------------------------------------------------
# What the table and --explain show.
# ---------------------------------------------------------------------------------------------

def test_explain_lines_have_the_numbers_filled_in():
    ctx = Context("chw", "torch", "up1")
    out = ConvTranspose(filters=16, kernel=4, stride=2, padding=1).infer(ctx, (start(ctx, (32, 14, 14)),))
    assert out.explain[0] == "OH = OW = (14 − 1)·2 − 2·1 + 1·(4 − 1) + 0 + 1 = 28"
    assert "params = 32·16·4·4 + 16 = 8,208" in out.explain
    assert out.description == "16 filters 4×4, stride 2, pad 1"
    keras = Context("hwc", "keras", "up1")
    out = ConvTranspose(filters=16, kernel=3, stride=2, padding="same").infer(keras, (start(keras, (7, 7, 8)),))
    assert out.explain[0] == "OH = OW = 7·2 = 14   ('same')"
    out = DepthwiseConv(kernel=3, stride=2, padding="same", depth_multiplier=2).infer(
        keras, (start(keras, (14, 14, 32)),))
    assert out.explain[:2] == ("OH = OW = floor((14 + 0 + 1 − 3) / 2) + 1 = 7   ('same': ceil(14/2) = 7, pad 0 + 1)",
                               "r = 1 + (3 − 1)·1 = 3,  j = 1·2 = 2,  center = 1")
    assert out.description == "depthwise 3×3, multiplier 2, stride 2, same"
    out = Pad(padding=((1, 2), (3, 4))).infer(ctx, (start(ctx, (3, 5, 7)),))
    assert out.explain[:2] == ("OH = 5 + 1 + 2 = 8", "OW = 7 + 3 + 4 = 14")
    assert out.description == "zeros 1+2 × 3+4"


def test_names_and_types():
    expected = {DepthwiseConv: ("depthwise", "depthwise_conv2d"), SeparableConv: ("sepconv", "separable_conv2d"),
                ConvTranspose: ("convtranspose", "conv2d_transpose"), Upsample: ("upsample", "up_sampling2d"),
                Pad: ("pad", "zero_padding2d"), Crop: ("crop", "cropping2d"),
                PixelShuffle: ("pixelshuffle", "pixel_shuffle"), Resizing: ("resize", "resizing"),
                CenterCrop: ("centercrop", "center_crop"), Rescaling: ("rescale", "rescaling"),
                Normalization: ("normalize", "normalization"), RandomCrop: ("randomcrop", "random_crop")}
    for cls, (type_, name) in expected.items():
        assert (cls.type, cls.default_name) == (type_, name)
    assert Augment.type == "augment" and Augment(kind="random_zoom").default_name == "random_zoom"
    assert Augment(kind="RandomFlip").default_name == "random_flip" == Augment(kind="RandomFlip").base_name()
