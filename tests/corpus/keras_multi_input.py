# cnncalc:
# style: Keras-guide-like multi-input functional model (an image branch and a tabular branch, layers.concatenate, named inputs, two Input objects)
# truth: model=model
import numpy as np
import keras
from keras import layers

image_input = keras.Input(shape=(64, 64, 3), name="photo")
meta_input = keras.Input(shape=(12,), name="metadata")

x = layers.Conv2D(32, 3, activation="relu")(image_input)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(64, 3, activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(64, 3, activation="relu")(x)
x = layers.GlobalMaxPooling2D()(x)

m = layers.Dense(32, activation="relu")(meta_input)
m = layers.Dense(16, activation="relu")(m)

combined = layers.concatenate([x, m])
h = layers.Dense(64, activation="relu")(combined)
price = layers.Dense(1, name="price")(h)

model = keras.Model(inputs=[image_input, meta_input], outputs=price)
model.compile(optimizer="adam", loss="mse")
model.summary()

images = np.zeros((8, 64, 64, 3), "float32")
meta = np.zeros((8, 12), "float32")
model.fit([images, meta], np.zeros((8, 1)), epochs=2)
