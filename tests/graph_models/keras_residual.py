# A Keras functional model with a residual connection (layers.add), for MNIST.
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
shortcut = x
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.Conv2D(16, 3, padding="same")(x)
x = layers.add([x, shortcut])
x = layers.Activation("relu")(x)
x = layers.MaxPooling2D(2)(x)
y = layers.Conv2D(8, 1)(x)
x = layers.concatenate([x, y])
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="residual_mnist")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
