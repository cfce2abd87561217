# cnncalc:
# style: an old Keras-blog-like convolutional autoencoder (functional API from keras.layers, MaxPooling2D padding='same' down to 4x4, UpSampling2D back up, one 'valid' conv to land on 28x28)
# truth: model=autoencoder
import numpy as np
from keras.layers import Input, Conv2D, MaxPooling2D, UpSampling2D
from keras.models import Model
from keras.datasets import mnist

input_img = Input(shape=(28, 28, 1))

x = Conv2D(16, (3, 3), activation='relu', padding='same')(input_img)
x = MaxPooling2D((2, 2), padding='same')(x)
x = Conv2D(8, (3, 3), activation='relu', padding='same')(x)
x = MaxPooling2D((2, 2), padding='same')(x)
x = Conv2D(8, (3, 3), activation='relu', padding='same')(x)
encoded = MaxPooling2D((2, 2), padding='same')(x)     # 4 x 4 x 8

x = Conv2D(8, (3, 3), activation='relu', padding='same')(encoded)
x = UpSampling2D((2, 2))(x)
x = Conv2D(8, (3, 3), activation='relu', padding='same')(x)
x = UpSampling2D((2, 2))(x)
x = Conv2D(16, (3, 3), activation='relu')(x)           # 16 -> 14
x = UpSampling2D(size=2, interpolation='nearest')(x)
decoded = Conv2D(1, (3, 3), activation='sigmoid', padding='same')(x)

autoencoder = Model(input_img, decoded)
autoencoder.compile(optimizer='adam', loss='binary_crossentropy')

(x_train, _), (x_test, _) = mnist.load_data()
x_train = np.reshape(x_train.astype('float32') / 255., (len(x_train), 28, 28, 1))
x_test = np.reshape(x_test.astype('float32') / 255., (len(x_test), 28, 28, 1))
autoencoder.fit(x_train, x_train, epochs=50, batch_size=128, shuffle=True,
                validation_data=(x_test, x_test))
decoded_imgs = autoencoder.predict(x_test)
