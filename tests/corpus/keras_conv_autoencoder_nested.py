# cnncalc:
# style: a book-like convolutional autoencoder (encoder and decoder as separate functional Models, Dense bottleneck, Reshape, Conv2DTranspose, the autoencoder calls both)
# truth: model=autoencoder
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

latent_dim = 16

encoder_inputs = keras.Input(shape=(28, 28, 1), name="image")
x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense(64, activation="relu")(x)
latent = layers.Dense(latent_dim, name="latent")(x)
encoder = keras.Model(encoder_inputs, latent, name="encoder")
encoder.summary()

latent_inputs = keras.Input(shape=(latent_dim,), name="code")
x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
x = layers.Reshape((7, 7, 64))(x)
x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")
decoder.summary()

autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
reconstruction = decoder(encoder(autoencoder_input))
autoencoder = keras.Model(autoencoder_input, reconstruction, name="autoencoder")
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")

(x_train, _), (x_test, _) = keras.datasets.mnist.load_data()
x_train = np.expand_dims(x_train, -1).astype("float32") / 255
autoencoder.fit(x_train, x_train, epochs=30, batch_size=128)
