# cnncalc:
# style: keras.io-like preprocessing inside the model (Input of any photo size fixed here, Resizing, CenterCrop, Normalization adapted on data, RandomFlip)
# truth: model=model
import numpy as np
import keras
from keras import layers

IMAGE = (200, 240, 3)
train_images = np.random.rand(16, *IMAGE).astype("float32") * 255

normalizer = layers.Normalization(axis=-1)
normalizer.adapt(train_images)

inputs = keras.Input(shape=IMAGE)
x = layers.Resizing(160, 160)(inputs)
x = layers.CenterCrop(144, 144)(x)
x = layers.RandomFlip("horizontal")(x)
x = normalizer(x)
x = layers.Conv2D(24, 5, strides=2, activation="relu")(x)
x = layers.Conv2D(48, 3, strides=2, activation="relu")(x)
x = layers.SpatialDropout2D(0.1)(x)
x = layers.Conv2D(96, 3, strides=2, activation="relu")(x)
x = layers.GlobalMaxPooling2D()(x)
outputs = layers.Dense(3, activation="softmax")(x)
model = keras.Model(inputs, outputs)

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.summary()
