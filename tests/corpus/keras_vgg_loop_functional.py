# cnncalc:
# style: a blog's VGG-style Keras functional net built in a for-loop over block widths (x = Conv2D(...)(x) reassigned, names made with f-strings)
# truth: model=model
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

input_shape = (64, 64, 3)
blocks = [(2, 32), (2, 64), (3, 128)]

inputs = keras.Input(shape=input_shape, name="input")
x = inputs
for b, (n_convs, width) in enumerate(blocks, start=1):
    for c in range(1, n_convs + 1):
        x = layers.Conv2D(width, (3, 3), padding="same", activation="relu",
                          name=f"block{b}_conv{c}")(x)
    x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{b}_pool")(x)

x = layers.Flatten(name="flatten")(x)
x = layers.Dense(512, activation="relu", name="fc1")(x)
x = layers.Dropout(0.5)(x)
x = layers.Dense(512, activation="relu", name="fc2")(x)
outputs = layers.Dense(4, activation="softmax", name="predictions")(x)

model = keras.Model(inputs, outputs, name="vgg_like")
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
              loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()
