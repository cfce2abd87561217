# cnncalc:
# style: a course script that returns the model from def build_model(): return Sequential([...]), with hyper-parameters as module constants
# truth: model=build_model()
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.models import Sequential

IMG_SHAPE = (64, 64, 3)
FILTERS = [32, 64, 128]
DENSE_UNITS = 256
NUM_CLASSES = 6
DROPOUT = 0.3


def build_model():
    return Sequential([
        keras.Input(shape=IMG_SHAPE),
        layers.Conv2D(FILTERS[0], 3, padding="same", activation="relu"),
        layers.Conv2D(FILTERS[0], 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(FILTERS[1], 3, padding="same", activation="relu"),
        layers.Conv2D(FILTERS[1], 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(FILTERS[2], 3, padding="same", activation="relu"),
        layers.AveragePooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dense(DENSE_UNITS, activation="relu"),
        layers.Dropout(DROPOUT),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ])


def main():
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary()
    x = np.zeros((12,) + IMG_SHAPE, dtype="float32")
    y = keras.utils.to_categorical(np.zeros(12), NUM_CLASSES)
    model.fit(x, y, epochs=10, batch_size=4)
    model.save("model.keras")


if __name__ == "__main__":
    main()
