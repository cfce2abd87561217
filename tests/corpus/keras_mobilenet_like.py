# cnncalc:
# style: a MobileNet-v1-style functional model as tutorials write it (ZeroPadding2D + 'valid' strided DepthwiseConv2D, ReLU(6.), SeparableConv2D, GlobalAveragePooling2D, Reshape + 1x1 conv head)
# truth: model=model
import tensorflow as tf
from tensorflow.keras import layers, models

ALPHA = 0.5
NUM_CLASSES = 12


def conv_block(x, filters, strides=(1, 1)):
    filters = int(filters * ALPHA)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, strides=strides)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU(6.0)(x)


def depthwise_block(x, pointwise_filters, strides=(1, 1)):
    pointwise_filters = int(pointwise_filters * ALPHA)
    if strides == (1, 1):
        x = layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False)(x)
    else:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
        x = layers.DepthwiseConv2D((3, 3), padding="valid", strides=strides, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(pointwise_filters, (1, 1), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU(6.0)(x)


inputs = layers.Input(shape=(96, 96, 3))
x = conv_block(inputs, 32, strides=(2, 2))
x = depthwise_block(x, 64)
x = depthwise_block(x, 128, strides=(2, 2))
x = depthwise_block(x, 128)
x = depthwise_block(x, 256, strides=(2, 2))
x = layers.SeparableConv2D(int(512 * ALPHA), 3, padding="same", depth_multiplier=1)(x)
x = layers.BatchNormalization()(x)
x = layers.ReLU(max_value=6.0)(x)
x = layers.GlobalAveragePooling2D(keepdims=True)(x)
x = layers.Dropout(1e-3)(x)
x = layers.Conv2D(NUM_CLASSES, (1, 1), padding="same")(x)
x = layers.Reshape((NUM_CLASSES,))(x)
outputs = layers.Activation("softmax")(x)

model = models.Model(inputs, outputs, name="mobilenet_half")
model.summary()
