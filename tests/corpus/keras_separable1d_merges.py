# cnncalc:
# style: a keras-io-like sensor model mixing 1-D kinds and merges (SeparableConv1D, Conv1DTranspose, Cropping1D, ZeroPadding1D, UpSampling1D, GlobalMaxPooling1D, Subtract, Multiply, Average, concatenate on the time axis)
# truth: model=model
import keras
from keras import layers

STEPS, SENSORS = 128, 6

inp = keras.Input(shape=(STEPS, SENSORS), name="imu")
a = layers.SeparableConv1D(32, 5, padding="same", activation="relu")(inp)
b = layers.Conv1D(32, 5, padding="same", activation="relu")(inp)
diff = layers.Subtract()([a, b])
gated = layers.Multiply()([diff, layers.Activation("sigmoid")(b)])
avg = layers.Average()([a, b, gated])

down = layers.Conv1D(64, 3, strides=2, padding="same", activation="relu")(avg)      # 64 steps
down = layers.MaxPooling1D(2)(down)                                                  # 32
up = layers.Conv1DTranspose(32, 4, strides=2, padding="same")(down)                  # 64
up = layers.UpSampling1D(2)(up)                                                      # 128
up = layers.ZeroPadding1D(padding=2)(up)                                             # 132
up = layers.Cropping1D(cropping=(2, 2))(up)                                          # 128
joined = layers.concatenate([avg, up], axis=1)                                       # 256 steps

x = layers.Conv1D(64, 3, activation="relu")(joined)
x = layers.AveragePooling1D(2)(x)
x = layers.GlobalMaxPooling1D()(x)
out = layers.Dense(5, activation="softmax", name="activity")(x)
model = keras.Model(inp, out)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.summary()
