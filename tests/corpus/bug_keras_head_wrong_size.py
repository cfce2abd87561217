# cnncalc:
# style: a learner's Keras transfer-style model: a separately built classifier head expects 1024 features but the flattened maps give 1568
# truth: model=model expect=1024,1568
import keras
from keras import layers

head = keras.Sequential([
    keras.Input(shape=(1024,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="softmax"),
], name="head")

inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Flatten()(x)          # 7 * 7 * 32 = 1568 features
outputs = head(x)
model = keras.Model(inputs, outputs)
model.summary()
