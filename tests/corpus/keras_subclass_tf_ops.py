# cnncalc: --input 64x64x3
# style: a TF-2-era subclassed Keras model whose call() uses tf ops (tf.nn.relu, tf.concat) between layers, built by calling it on a batch
# truth: model=model input=1x64x64x3
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers


class TwoTower(keras.Model):
    def __init__(self, num_classes=3):
        super(TwoTower, self).__init__()
        self.left_conv = layers.Conv2D(16, 3, padding="same")
        self.right_conv = layers.Conv2D(16, 5, padding="same")
        self.merge_conv = layers.Conv2D(32, 1)
        self.pool = layers.MaxPooling2D(4)
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(64)
        self.out = layers.Dense(num_classes)

    def call(self, inputs, training=None):
        left = tf.nn.relu(self.left_conv(inputs))
        right = tf.nn.relu(self.right_conv(inputs))
        x = tf.concat([left, right], axis=-1)
        x = self.pool(tf.nn.relu(self.merge_conv(x)))
        x = tf.nn.relu(self.hidden(self.flatten(x)))
        return self.out(x)


model = TwoTower()
optimizer = keras.optimizers.Adam(1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
