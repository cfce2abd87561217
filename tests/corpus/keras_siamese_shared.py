# cnncalc:
# style: keras.io-like siamese network (layers created once and called on two inputs, so each shared layer is used twice; Subtract and Multiply merges; a sigmoid head)
# truth: model=siamese
import numpy as np
import keras
from keras import layers

IMG = (28, 28, 1)

# layers created once and applied to both images: their weights are shared
shared_conv1 = layers.Conv2D(16, 3, activation="relu", name="shared_conv1")
shared_pool = layers.MaxPooling2D(name="shared_pool")
shared_conv2 = layers.Conv2D(32, 3, activation="relu", name="shared_conv2")
shared_gap = layers.GlobalAveragePooling2D(name="shared_gap")
shared_embed = layers.Dense(48, name="shared_embed")


def tower(image):
    x = shared_conv1(image)
    x = shared_pool(x)
    x = shared_conv2(x)
    x = shared_gap(x)
    return shared_embed(x)


left = keras.Input(shape=IMG, name="left")
right = keras.Input(shape=IMG, name="right")
emb_left = tower(left)
emb_right = tower(right)

diff = layers.Subtract(name="difference")([emb_left, emb_right])
sq = layers.Multiply(name="squared")([diff, diff])
score = layers.Dense(1, activation="sigmoid", name="same_digit")(sq)

siamese = keras.Model(inputs=[left, right], outputs=score, name="siamese")
siamese.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
siamese.summary()

pairs_left = np.zeros((8,) + IMG, "float32")
pairs_right = np.zeros((8,) + IMG, "float32")
siamese.fit([pairs_left, pairs_right], np.zeros((8, 1)), epochs=5, batch_size=4)
