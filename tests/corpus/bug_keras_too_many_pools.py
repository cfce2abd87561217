# cnncalc:
# style: a learner's Keras MNIST model with one 5x5 stage too many: the 'valid' convolutions run out of pixels (4x4 maps, a 5x5 kernel)
# truth: model=model expect=4,5
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Conv2D, MaxPooling2D, Flatten, Dense

model = Sequential()
model.add(Conv2D(32, (5, 5), activation='relu', input_shape=(28, 28, 1)))   # 24
model.add(MaxPooling2D((2, 2)))                                             # 12
model.add(Conv2D(64, (5, 5), activation='relu'))                            # 8
model.add(MaxPooling2D((2, 2)))                                             # 4
model.add(Conv2D(128, (5, 5), activation='relu'))                           # ?
model.add(Flatten())
model.add(Dense(10, activation='softmax'))
model.summary()
