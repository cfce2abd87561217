# cnncalc:
# style: a Kaggle-kernel-like Keras script with `from tensorflow.keras.layers import *` (ZeroPadding2D, Cropping2D, SpatialDropout2D, GlobalMaxPooling2D, ELU, PReLU)
# truth: model=model
import numpy as np
import tensorflow as tf
from tensorflow.keras.layers import *
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam

IMG_SIZE = 48
N_EMOTIONS = 7

model = Sequential()
model.add(Input(shape=(IMG_SIZE, IMG_SIZE, 1)))
model.add(ZeroPadding2D(padding=2))
model.add(Conv2D(32, (5, 5)))
model.add(ELU())
model.add(Conv2D(32, (3, 3), padding='same'))
model.add(PReLU())
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Cropping2D(cropping=((1, 1), (1, 1))))
model.add(SpatialDropout2D(0.2))
model.add(Conv2D(64, (3, 3), padding='same', activation='elu'))
model.add(BatchNormalization())
model.add(Conv2D(64, (3, 3), padding='same', activation='elu'))
model.add(BatchNormalization())
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(128, (3, 3), padding='same', activation='elu'))
model.add(GlobalMaxPooling2D())
model.add(Dense(64))
model.add(Activation('elu'))
model.add(Dropout(0.4))
model.add(Dense(N_EMOTIONS, activation='softmax'))

model.compile(loss='categorical_crossentropy', optimizer=Adam(learning_rate=1e-3),
              metrics=['accuracy'])
model.summary()

X = np.zeros((10, IMG_SIZE, IMG_SIZE, 1), dtype='float32')
y = tf.keras.utils.to_categorical(np.zeros(10), N_EMOTIONS)
model.fit(X, y, epochs=50, batch_size=64, validation_split=0.2)
