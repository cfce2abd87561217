# cnncalc:
# style: a subclassed Keras model built with model.build((None, 32, 32, 3)) before summary (residual add in call, layers created in __init__ from a list)
# truth: model=model input=1x32x32x3
import keras
from keras import layers


class ConvBlock(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(filters, 3, padding="same", use_bias=False)
        self.bn = layers.BatchNormalization()
        self.act = layers.Activation("relu")

    def call(self, x, training=False):
        return self.act(self.bn(self.conv(x), training=training))


class SmallResNet(keras.Model):
    def __init__(self, num_classes=10, widths=(32, 64, 128)):
        super().__init__()
        self.stem = ConvBlock(widths[0])
        self.blocks = []
        self.projections = []
        for w in widths:
            self.blocks.append([ConvBlock(w), ConvBlock(w)])
            self.projections.append(layers.Conv2D(w, 1, strides=1, padding="same"))
        self.pool = layers.MaxPooling2D()
        self.gap = layers.GlobalAveragePooling2D()
        self.classifier = layers.Dense(num_classes)

    def call(self, x, training=False):
        x = self.stem(x, training=training)
        for (first, second), proj in zip(self.blocks, self.projections):
            shortcut = proj(x)
            y = second(first(x, training=training), training=training)
            x = self.pool(layers.add([shortcut, y]))
        return self.classifier(self.gap(x))


model = SmallResNet()
model.build((None, 32, 32, 3))
model.summary()
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
