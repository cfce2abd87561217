# cnncalc:
# style: a course notebook-turned-script comparing Keras activations and norms (LayerNormalization, GroupNormalization, PReLU with shared_axes, ELU, 'selu', 'gelu', 'swish', LeakyReLU, ReLU6)
# truth: model=model
import keras
from keras import layers

inputs = keras.Input(shape=(40, 40, 3))
x = layers.Conv2D(16, 3, padding="same")(inputs)
x = layers.PReLU(shared_axes=[1, 2])(x)
x = layers.Conv2D(16, 3, padding="same")(x)
x = layers.GroupNormalization(groups=4)(x)
x = layers.ELU(alpha=1.0)(x)
x = layers.Conv2D(32, 3, strides=2, padding="same", activation="selu")(x)
x = layers.LayerNormalization()(x)
x = layers.Conv2D(32, 3, padding="same", activation="gelu")(x)
x = layers.Conv2D(32, 3, padding="same", activation="swish")(x)
x = layers.LeakyReLU(negative_slope=0.1)(x)
x = layers.AveragePooling2D(pool_size=2)(x)
x = layers.Conv2D(64, 3, padding="valid")(x)
x = layers.ReLU(max_value=6.0)(x)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(32, activation="tanh")(x)
outputs = layers.Dense(5, activation="log_softmax")(x)

model = keras.Model(inputs, outputs)
model.summary()
