# cnncalc:
# style: a book-chapter-like Inception module in the functional API (parallel towers, layers.Concatenate(axis=-1), GlobalAveragePooling2D)
# truth: model=model
from tensorflow import keras
from tensorflow.keras import layers


def inception_module(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    branch1 = layers.Conv2D(f1, 1, padding="same", activation="relu")(x)

    branch3 = layers.Conv2D(f3_reduce, 1, padding="same", activation="relu")(x)
    branch3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(branch3)

    branch5 = layers.Conv2D(f5_reduce, 1, padding="same", activation="relu")(x)
    branch5 = layers.Conv2D(f5, 5, padding="same", activation="relu")(branch5)

    pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    pool = layers.Conv2D(pool_proj, 1, padding="same", activation="relu")(pool)

    return layers.Concatenate(axis=-1)([branch1, branch3, branch5, pool])


inputs = keras.Input(shape=(64, 64, 3), name="image")
x = layers.Conv2D(64, 7, strides=2, padding="same", activation="relu", name="stem_conv")(inputs)
x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
x = inception_module(x, 64, 96, 128, 16, 32, 32)
x = inception_module(x, 128, 128, 192, 32, 96, 64)
x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.4)(x)
outputs = layers.Dense(20, activation="softmax", name="predictions")(x)

model = keras.Model(inputs, outputs, name="mini_inception")
model.summary()
