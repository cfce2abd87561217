"""Published figures: numbers printed by Keras, torchvision, papers and course notes.

Each test names its source. These are fixed points the layer math must reproduce exactly; they
complement the property tests, whose oracles are written in the test suite itself.
"""

from __future__ import annotations

import pytest

from minigrad.layers import analyze
from minigrad.layers.shapes import output_size
from minigrad.readers import load_spec, parse_spec


def summary_of(spec: str):
    return analyze(load_spec(spec).network)


def dsl(text: str):
    return analyze(parse_spec(text, "dsl").network)




# ---------------------------------------------------------------------------------------------
# Keras model.summary() figures
# ---------------------------------------------------------------------------------------------

def test_mnist_cnn_preset_matches_keras_summary():
    # the study notes' Keras MNIST CNN: two 'same' 3x3 convs, a 2x2 pool, dense 128, dense 10
    s = summary_of("mnist-cnn")
    assert [r.params for r in s.layers] == [320, 18496, 0, 0, 1605760, 1290]
    assert [r.output_shape for r in s.layers] == [(28, 28, 32), (28, 28, 64), (14, 14, 64),
                                                  (12544,), (128,), (10,)]
    assert s.total_params == 1625866
    assert s.trainable_params == 1625866 and s.non_trainable_params == 0


def test_mnist_cnn_dropout_preset_matches_keras_summary():
    # Keras' mnist_cnn.py example (valid convs, dropout 0.25 and 0.5)
    s = summary_of("mnist-cnn-dropout")
    assert [r.params for r in s.layers] == [320, 18496, 0, 0, 0, 1179776, 0, 1290]
    assert [r.output_shape for r in s.layers] == [(26, 26, 32), (24, 24, 64), (12, 12, 64),
                                                  (12, 12, 64), (9216,), (128,), (128,), (10,)]
    assert s.total_params == 1199882


def test_keras_io_mnist_convnet():
    # keras.io/examples/vision/mnist_convnet: "Total params: 34,826"
    s = dsl("""input 28x28x1
               conv 32 3x3 relu
               maxpool 2
               conv 64 3x3 relu
               maxpool 2
               flatten
               dropout 0.5
               dense 10 softmax""")
    assert [r.params for r in s.layers] == [320, 0, 18496, 0, 0, 0, 16010]
    assert [r.output_shape for r in s.layers] == [(26, 26, 32), (13, 13, 32), (11, 11, 64),
                                                  (5, 5, 64), (1600,), (1600,), (10,)]
    assert s.total_params == 34826


def test_lenet5_preset():
    # LeCun et al. 1998 (C1 156, C3 2416 with full connection, F5 48120, F6 10164, output 850)
    s = summary_of("lenet5")
    assert s.total_params == 61706
    assert [r.params for r in s.layers] == [156, 0, 2416, 0, 0, 48120, 10164, 850]
    assert [r.output_shape for r in s.layers] == [(28, 28, 6), (14, 14, 6), (10, 10, 16),
                                                  (5, 5, 16), (400,), (120,), (84,), (10,)]


def test_smallest_conv_example():
    # the study notes' first example: a 2x2 kernel on a 3x3 image gives 2x2; 4 weights + 1 bias
    s = dsl("input 3x3x1; conv 1 2x2")
    row = s.rows[1]
    assert row.output_shape == (2, 2, 1)
    assert row.params == 5
    assert row.macs == 16            # 4 outputs, 4 multiply-adds each
    assert row.receptive_field == (2, 2) and row.rf_center == (0.5, 0.5)


def test_batchnorm_counts_like_keras():
    # Keras BatchNormalization: gamma, beta trainable; moving mean, variance not -> 4 per channel
    s = dsl("input 28x28x1; conv 32 3x3; batchnorm; flatten; dense 64; batchnorm")
    conv_bn, dense_bn = s.rows[2], s.rows[5]
    assert (conv_bn.params, conv_bn.trainable_params, conv_bn.non_trainable_params) == (128, 64, 64)
    assert (dense_bn.params, dense_bn.trainable_params,
            dense_bn.non_trainable_params) == (256, 128, 128)
    assert s.non_trainable_params == 64 + 128


# ---------------------------------------------------------------------------------------------
# CS231n and the convolution arithmetic guide
# ---------------------------------------------------------------------------------------------

def test_cs231n_conv_examples():
    # CS231n "Convolutional Networks": 10 5x5 filters, stride 1, pad 2 on 32x32x3 -> 32x32x10,
    # each filter 5*5*3 + 1 = 76 parameters, 760 in all
    row = dsl("input 32x32x3; conv 10 5x5 padding=2").rows[1]
    assert row.output_shape == (32, 32, 10) and row.params == 760
    # ... and the AlexNet first layer: 227x227x3, 96 filters 11x11 stride 4 -> 55x55x96, 34,944
    row = dsl("input 227x227x3; conv 96 11x11 stride=4").rows[1]
    assert row.output_shape == (55, 55, 96) and row.params == 34944


@pytest.mark.parametrize("size, kernel, stride, padding, dilation, expected", [
    (4, 3, 1, 0, 1, 2),   # fig. 2.1: no padding, unit strides
    (5, 4, 1, 2, 1, 6),   # fig. 2.2: arbitrary padding
    (5, 3, 1, 1, 1, 5),   # fig. 2.3: half (same) padding
    (5, 3, 1, 2, 1, 7),   # fig. 2.4: full padding
    (5, 3, 2, 0, 1, 2),   # fig. 2.5: no padding, strides
    (5, 3, 2, 1, 1, 3),   # fig. 2.6: padding, strides
    (6, 3, 2, 1, 1, 3),   # fig. 2.7: padding, strides (odd)
    (7, 3, 1, 0, 2, 3),   # fig. 5.1: dilated convolution
])
def test_convolution_arithmetic_guide(size, kernel, stride, padding, dilation, expected):
    # Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016)
    assert output_size(size, kernel, stride, padding, dilation) == expected


def test_googlenet_ceil_mode_pools():
    # GoogLeNet (Szegedy et al. 2015, table 1): 7x7/2 conv 224 -> 112, then 3x3/2 max pools
    # 112 -> 56 -> 28 -> 14 -> 7, which torchvision reproduces with ceil_mode=True
    assert output_size(224, 7, 2, 3) == 112
    for before, after in [(112, 56), (56, 28), (28, 14), (14, 7)]:
        assert output_size(before, 3, 2, 0, ceil_mode=True) == after
        assert output_size(before, 3, 2, 0) == after - 1          # floor would lose a row
    s = dsl("input 112x112x64; maxpool 3 stride=2 ceil; maxpool 3 stride=2 ceil; "
            "maxpool 3 stride=2 ceil; maxpool 3 stride=2 ceil")
    assert [r.output_shape[:2] for r in s.layers] == [(56, 56), (28, 28), (14, 14), (7, 7)]


# ---------------------------------------------------------------------------------------------
# VGG16: Keras summary, torchvision's GFLOPS, and the receptive-field table
# ---------------------------------------------------------------------------------------------

VGG16_DSL = """\
input 224x224x3
conv 64 3x3 padding=same relu
conv 64 3x3 padding=same relu
maxpool 2
conv 128 3x3 padding=same relu
conv 128 3x3 padding=same relu
maxpool 2
conv 256 3x3 padding=same relu
conv 256 3x3 padding=same relu
conv 256 3x3 padding=same relu
maxpool 2
conv 512 3x3 padding=same relu
conv 512 3x3 padding=same relu
conv 512 3x3 padding=same relu
maxpool 2
conv 512 3x3 padding=same relu
conv 512 3x3 padding=same relu
conv 512 3x3 padding=same relu
maxpool 2
flatten
dense 4096 relu
dense 4096 relu
dense 1000 softmax
"""

# keras.applications.VGG16().summary(), per layer (block1_conv1 ... predictions)
VGG16_PARAMS = [1792, 36928, 0, 73856, 147584, 0, 295168, 590080, 590080, 0,
                1180160, 2359808, 2359808, 0, 2359808, 2359808, 2359808, 0, 0,
                102764544, 16781312, 4097000]

# google-research/receptive_field RF_TABLE.md, vgg_16 at 224: (row, RF, effective stride,
# effective padding); rows counted from the first conv as 1. The table has no conv5_3 line: its
# 196 is the figure of the usual VGG16 receptive-field tables (164 + 2·16), and its effective
# padding 90 is derived (74 + 1·16), consistent with the table's pool5 line.
VGG16_RF = [(1, 3, 1, 1), (3, 6, 2, 2), (4, 10, 2, 4), (6, 16, 4, 6), (7, 24, 4, 10),
            (8, 32, 4, 14), (10, 44, 8, 18), (11, 60, 8, 26), (12, 76, 8, 34), (14, 100, 16, 42),
            (15, 132, 16, 58), (16, 164, 16, 74), (17, 196, 16, 90), (18, 212, 32, 90)]


def check_vgg16(s):
    assert [r.params for r in s.layers] == VGG16_PARAMS
    assert s.total_params == 138357544
    assert round(s.total_macs / 1e9, 2) == 15.47      # torchvision's "GFLOPS" for vgg16 (MACs)
    assert s.layers[17].output_shape == (7, 7, 512)
    for index, rf, jump, padding in VGG16_RF:
        row = s.rows[index]
        assert row.receptive_field == (rf, rf), row.name
        assert row.jump == (jump, jump), row.name
        # effective padding P: the first unit's field starts at input coordinate -P
        assert row.rf_center == ((rf - 1) / 2 - padding,) * 2, row.name


def test_vgg16_in_the_layer_language():
    check_vgg16(dsl(VGG16_DSL))


def test_vgg16_preset():
    s = summary_of("vgg16")
    check_vgg16(s)
    assert s.layers[17].name == "block5_pool"


# ---------------------------------------------------------------------------------------------
# AlexNet (torchvision): parameters, GFLOPS, receptive fields
# ---------------------------------------------------------------------------------------------

ALEXNET_DSL = """\
input 224x224x3
conv 64 11x11 stride=4 padding=2 relu
maxpool 3 stride=2
conv 192 5x5 padding=2 relu
maxpool 3 stride=2
conv 384 3x3 padding=1 relu
conv 256 3x3 padding=1 relu
conv 256 3x3 padding=1 relu
maxpool 3 stride=2
flatten
dropout 0.5
dense 4096 relu
dropout 0.5
dense 4096 relu
dense 1000
"""
# torchvision's AdaptiveAvgPool2d((6, 6)) is left out: at 224 the features are already 6x6.

# google-research/receptive_field RF_TABLE.md, alexnet_v2 (same kernels and strides as
# torchvision's AlexNet; its paddings differ, so effective padding is not compared):
# conv1 11/4, pool1 19/8, conv2 51/8, conv3 99/16, conv4 131/16, conv5 163/16, pool5 195/32
ALEXNET_RF = [(11, 4), (19, 8), (51, 8), (99, 16), (131, 16), (163, 16), (195, 32)]


def test_alexnet_in_the_layer_language():
    s = dsl(ALEXNET_DSL)
    assert s.total_params == 61100840                      # torchvision: 61,100,840
    assert round(s.total_macs / 1e9, 2) == 0.71            # torchvision's "GFLOPS" (MACs)
    windows = [r for r in s.layers if r.type in ("conv", "maxpool")]
    assert [(r.receptive_field[0], r.jump[0]) for r in windows if r is not windows[3]] == ALEXNET_RF
    assert windows[-1].output_shape == (6, 6, 256)


def test_alexnet_preset():
    s = summary_of("alexnet")
    assert s.total_params == 61100840
    assert round(s.total_macs / 1e9, 2) == 0.71
    windows = [r for r in s.layers if r.type in ("conv", "maxpool")]
    assert [(r.receptive_field, r.jump) for r in windows if r is not windows[3]] == \
        [((rf, rf), (j, j)) for rf, j in ALEXNET_RF]
    assert windows[-1].output_shape == (256, 6, 6)
    assert s.layers[-1].output_shape == (1000,)
