# cnncalc:
# style: a Keras U-Net from a segmentation repository (conv2d_block helper, Conv2DTranspose up-convs, concatenate skips, Dropout in the bottleneck, 1x1 sigmoid head)
# truth: model=model
from tensorflow.keras.models import Model
from tensorflow.keras.layers import (Input, Conv2D, MaxPooling2D, Dropout, Conv2DTranspose,
                                     concatenate, BatchNormalization, Activation)
from tensorflow.keras.optimizers import Adam


def conv2d_block(input_tensor, n_filters, kernel_size=3, batchnorm=True):
    x = input_tensor
    for _ in range(2):
        x = Conv2D(filters=n_filters, kernel_size=(kernel_size, kernel_size),
                   kernel_initializer="he_normal", padding="same")(x)
        if batchnorm:
            x = BatchNormalization()(x)
        x = Activation("relu")(x)
    return x


def get_unet(input_img, n_filters=16, dropout=0.1, batchnorm=True):
    c1 = conv2d_block(input_img, n_filters * 1, batchnorm=batchnorm)
    p1 = Dropout(dropout * 0.5)(MaxPooling2D((2, 2))(c1))
    c2 = conv2d_block(p1, n_filters * 2, batchnorm=batchnorm)
    p2 = Dropout(dropout)(MaxPooling2D((2, 2))(c2))
    c3 = conv2d_block(p2, n_filters * 4, batchnorm=batchnorm)
    p3 = Dropout(dropout)(MaxPooling2D((2, 2))(c3))
    c4 = conv2d_block(p3, n_filters * 8, batchnorm=batchnorm)
    p4 = Dropout(dropout)(MaxPooling2D(pool_size=(2, 2))(c4))

    c5 = conv2d_block(p4, n_filters=n_filters * 16, batchnorm=batchnorm)

    u6 = Conv2DTranspose(n_filters * 8, (3, 3), strides=(2, 2), padding="same")(c5)
    u6 = Dropout(dropout)(concatenate([u6, c4]))
    c6 = conv2d_block(u6, n_filters * 8, batchnorm=batchnorm)
    u7 = Conv2DTranspose(n_filters * 4, (3, 3), strides=(2, 2), padding="same")(c6)
    u7 = Dropout(dropout)(concatenate([u7, c3]))
    c7 = conv2d_block(u7, n_filters * 4, batchnorm=batchnorm)
    u8 = Conv2DTranspose(n_filters * 2, (3, 3), strides=(2, 2), padding="same")(c7)
    u8 = Dropout(dropout)(concatenate([u8, c2]))
    c8 = conv2d_block(u8, n_filters * 2, batchnorm=batchnorm)
    u9 = Conv2DTranspose(n_filters * 1, (3, 3), strides=(2, 2), padding="same")(c8)
    u9 = Dropout(dropout)(concatenate([u9, c1], axis=3))
    c9 = conv2d_block(u9, n_filters * 1, batchnorm=batchnorm)

    outputs = Conv2D(1, (1, 1), activation="sigmoid")(c9)
    return Model(inputs=[input_img], outputs=[outputs])


im_height = im_width = 128
input_img = Input((im_height, im_width, 1), name="img")
model = get_unet(input_img, n_filters=16, dropout=0.05, batchnorm=True)
model.compile(optimizer=Adam(), loss="binary_crossentropy", metrics=["accuracy"])
model.summary()
