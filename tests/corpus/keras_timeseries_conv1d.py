# cnncalc: --set num_classes=2
# style: keras.io-like time-series classification (a loop of Conv1D + BatchNormalization + ReLU, GlobalAveragePooling1D, callbacks, plotted history)
# truth: model=model
import numpy as np
import keras
from keras import layers
import matplotlib.pyplot as plt


def readucr(filename):
    data = np.random.rand(40, 501).astype("float32")   # stand-in for the FordA text files
    y = data[:, 0]
    x = data[:, 1:]
    return x, (y > 0.5).astype(int)


x_train, y_train = readucr("FordA_TRAIN.tsv")
x_test, y_test = readucr("FordA_TEST.tsv")
x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
num_classes = len(np.unique(y_train))


def make_model(input_shape, n_blocks=3, filters=64):
    signal = keras.layers.Input(input_shape)
    h = signal
    for _ in range(n_blocks):
        h = keras.layers.Conv1D(filters=filters, kernel_size=3, padding="same")(h)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.ReLU()(h)
    pooled = keras.layers.GlobalAveragePooling1D()(h)
    probs = keras.layers.Dense(num_classes, activation="softmax")(pooled)
    return keras.models.Model(inputs=signal, outputs=probs)


model = make_model(input_shape=(500, 1))
epochs = 500
batch_size = 32
callbacks = [
    keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="val_loss"),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=20, min_lr=0.0001),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, verbose=1),
]
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
              metrics=["sparse_categorical_accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, callbacks=callbacks,
                    validation_split=0.2, verbose=1)
metric = "sparse_categorical_accuracy"
plt.figure()
plt.plot(history.history[metric])
plt.plot(history.history["val_" + metric])
plt.show()
