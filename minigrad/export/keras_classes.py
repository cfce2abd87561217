"""The Keras layers the exported code defines itself, where Keras has none that computes the
same: each is the source text of a small layers.Layer subclass, written into a generated file only
when one of its layers uses it (minigrad/export/keras.py).

- Pad: constant padding with any value (−∞ before a max pool, as PyTorch pads), reflect, edge;
- PixelShuffle: PyTorch's depth-to-space order, channels last;
- AlignCornersResize: bilinear resizing with align_corners=True;
- AveragePoolingOfValues: an average pool that divides by the values under each window, not the
  padding (Keras' 'same' rule at any padding).
"""

PAD_CLASS = '''
class Pad(layers.Layer):
    """Pads the spatial axes, ((before, after), ...) per axis, with what ZeroPadding cannot:
    mode "constant" with any value (-inf before a max pool, as PyTorch pads), "reflect" (the
    mirror image without the edge pixel) or "edge" (copies of the edge pixel)."""

    def __init__(self, padding, mode="constant", value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.padding, self.mode, self.value = padding, mode, value

    def call(self, x):
        if self.mode == "constant":
            return keras.ops.pad(x, [(0, 0), *self.padding, (0, 0)], constant_values=self.value)
        for axis, (before, after) in enumerate(self.padding, start=1):
            n = x.shape[axis]
            if self.mode == "edge":
                first, last = [0] * before, [n - 1] * after
            else:
                first, last = list(range(before, 0, -1)), list(range(n - 2, n - 2 - after, -1))
            x = keras.ops.concatenate([keras.ops.take(x, first, axis=axis), x,
                                       keras.ops.take(x, last, axis=axis)], axis=axis)
        return x

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "mode": self.mode,
                "value": self.value}
'''
PIXEL_SHUFFLE_CLASS = '''
class PixelShuffle(layers.Layer):
    """PyTorch's PixelShuffle on channels-last maps: channel c·r² + i·r + j of pixel (y, x)
    becomes channel c of pixel (y·r + i, x·r + j) (TensorFlow's depth_to_space orders the
    channels differently)."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        _, height, width, channels = x.shape
        r, c = self.factor, channels // self.factor ** 2
        x = keras.ops.reshape(x, (-1, height, width, c, r, r))
        x = keras.ops.transpose(x, (0, 1, 4, 2, 5, 3))
        return keras.ops.reshape(x, (-1, height * r, width * r, c))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
'''

ALIGN_CORNERS_CLASS = '''
class AlignCornersResize(layers.Layer):
    """(Bi)linear resizing with PyTorch's align_corners=True, which Keras' Resizing does not
    offer: the corner pixels of input and output coincide, so output pixel i of an axis reads
    input position i·(n - 1)/(size - 1), between its two neighbours."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, x):
        for axis, size in enumerate(self.size, start=1):
            n = x.shape[axis]
            position = np.arange(size) * ((n - 1) / (size - 1) if size > 1 else 0.0)
            low = np.floor(position).astype("int32")
            high = np.minimum(low + 1, n - 1)
            weight = (position - low).astype("float32")
            weight = keras.ops.convert_to_tensor(weight.reshape((-1,) + (1,) * (x.ndim - 1 - axis)))
            x = (keras.ops.take(x, low, axis=axis) * (1 - weight)
                 + keras.ops.take(x, high, axis=axis) * weight)
        return x

    def get_config(self):
        return {**super().get_config(), "size": self.size}
'''

COUNTED_POOL_CLASS = '''
class AveragePoolingOfValues(layers.Layer):
    """Average pooling over windows padded with zeros ((before, after) per axis) that are not
    counted: each window's sum divided by its number of input values, as PyTorch's ceil_mode
    windows are (Keras' 'same' pads elsewhere here)."""

    def __init__(self, pool_size, strides, padding, **kwargs):
        super().__init__(**kwargs)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def call(self, x):
        pad_width = [(0, 0), *self.padding, (0, 0)]
        mean = keras.ops.average_pool(keras.ops.pad(x, pad_width), self.pool_size, self.strides)
        ones = keras.ops.pad(keras.ops.ones_like(x[..., :1]), pad_width)
        return mean / keras.ops.average_pool(ones, self.pool_size, self.strides)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}
'''
