# cnncalc:
# style: keras.io-like denoising autoencoder as one Sequential (Conv2D + MaxPooling2D padding='same', Conv2DTranspose strides=2 decoder)
# truth: model=autoencoder
import numpy as np
from tensorflow.keras import layers
from tensorflow.keras.datasets import mnist
from tensorflow.keras.models import Sequential


def preprocess(array):
    array = array.astype("float32") / 255.0
    return np.reshape(array, (len(array), 28, 28, 1))


def noise(array):
    noisy = array + 0.4 * np.random.normal(loc=0.0, scale=1.0, size=array.shape)
    return np.clip(noisy, 0.0, 1.0)


(train_data, _), (test_data, _) = mnist.load_data()
train_data = preprocess(train_data)
noisy_train_data = noise(train_data)

autoencoder = Sequential([
    layers.Input(shape=(28, 28, 1)),
    layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
    layers.MaxPooling2D((2, 2), padding="same"),
    layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
    layers.MaxPooling2D((2, 2), padding="same"),
    layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same"),
    layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same"),
    layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same"),
])
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
autoencoder.summary()
autoencoder.fit(x=noisy_train_data, y=train_data, epochs=100, batch_size=128, shuffle=True)
