# cnncalc:
# style: old keras-examples-like CIFAR-10 ResNet v1 script (a conv-BN-activation helper with a kernel regularizer, depth = 6n + 2, projection shortcuts, keras.layers.add, AveragePooling2D)
# truth: model=model
import keras
from keras.layers import (Dense, Conv2D, BatchNormalization, Activation, AveragePooling2D,
                          Input, Flatten)
from keras.regularizers import l2
from keras.models import Model

n = 3
depth = n * 6 + 2          # 20 layers
num_classes = 10
input_shape = (32, 32, 3)


def cbr(tensor, filters=16, kernel=3, stride=1, act='relu', bn=True):
    """Conv (He init, L2 1e-4) -> optional BatchNorm -> optional activation."""
    out = Conv2D(filters, kernel_size=kernel, strides=stride, padding='same',
                 kernel_initializer='he_normal', kernel_regularizer=l2(1e-4))(tensor)
    if bn:
        out = BatchNormalization()(out)
    if act:
        out = Activation(act)(out)
    return out


def build_resnet(shape, depth, classes=10):
    if (depth - 2) % 6:
        raise ValueError('depth must be 6n + 2')
    blocks_per_stage = (depth - 2) // 6
    image = Input(shape=shape)
    h = cbr(image)
    filters = 16
    for stage in range(3):
        for block in range(blocks_per_stage):
            downsample = stage > 0 and block == 0
            stride = 2 if downsample else 1
            branch = cbr(h, filters, stride=stride)
            branch = cbr(branch, filters, act=None)
            if downsample:
                h = cbr(h, filters, kernel=1, stride=stride, act=None, bn=False)
            h = keras.layers.add([h, branch])
            h = Activation('relu')(h)
        filters *= 2
    h = AveragePooling2D(pool_size=8)(h)
    h = Flatten()(h)
    probs = Dense(classes, activation='softmax', kernel_initializer='he_normal')(h)
    return Model(inputs=image, outputs=probs)


model = build_resnet(input_shape, depth, num_classes)
model.compile(loss='categorical_crossentropy', optimizer=keras.optimizers.Adam(1e-3),
              metrics=['accuracy'])
model.summary()
print(f'ResNet{depth}v1')
