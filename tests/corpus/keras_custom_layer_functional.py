# cnncalc:
# style: Keras-guide-like custom layer (a ResidualBlock subclassing keras.layers.Layer with build-free sublayers) used in a functional model, a block applied in a loop
# truth: model=model
import keras
from keras import layers


class ResidualBlock(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv1 = layers.Conv2D(filters, 3, padding="same", activation="relu")
        self.conv2 = layers.Conv2D(filters, 3, padding="same")
        self.add = layers.Add()
        self.act = layers.Activation("relu")

    def call(self, inputs):
        x = self.conv1(inputs)
        x = self.conv2(x)
        return self.act(self.add([inputs, x]))

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters})
        return config


inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
for i in range(3):
    x = ResidualBlock(32, name=f"res_block_{i}")(x)
x = layers.MaxPooling2D(2)(x)
x = ResidualBlock(32, name="res_block_after_pool")(x)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="custom_resnet")
model.summary()
