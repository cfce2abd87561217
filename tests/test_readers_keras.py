"""Pasted Keras code -> Network: the published models, every accepted spelling, and errors that
point at the offending token. Expected numbers are Keras' own model.summary() figures."""

from __future__ import annotations

import builtins

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.errors import SpecError, Where
from minigrad.layers import (
    Activation,
    BatchNorm,
    Conv,
    Dense,
    GlobalPool,
    Pool,
    analyze,
)
from minigrad.spec import keras, load_spec, parse_spec

# The MNIST CNN of the study notes, as pasted.
STUDY_NOTES = """\
model = tf.keras.Sequential([
    tf.keras.layers.InputLayer(input_shape=(28,28,1)),
    tf.keras.layers.Conv2D(32, (3, 3), activation='relu', padding='same'),
    tf.keras.layers.Conv2D(64, (3, 3), activation='relu', padding='same'),
    tf.keras.layers.MaxPooling2D((2, 2)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax')
])
"""

# keras/examples/mnist_cnn.py
MNIST_CNN = """\
model = Sequential()
model.add(Conv2D(32, kernel_size=(3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(Conv2D(64, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(10, activation='softmax'))
"""


def summary(text: str):
    return analyze(keras.parse(text))


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        summary(text)
    return info.value


def where_of(text: str, fragment: str, length: int | None = None) -> Where:
    """Where FRAGMENT first occurs in TEXT (1-based line and column)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return Where(number, line.index(fragment) + 1, len(fragment) if length is None else length)
    raise AssertionError(f"{fragment!r} not in text")


# -- the published models -----------------------------------------------------------------------

def test_study_notes_model():
    result = summary(STUDY_NOTES)
    assert [r.params for r in result.layers] == [320, 18496, 0, 0, 1605760, 1290]
    assert [r.output_shape for r in result.layers] == [
        (28, 28, 32), (28, 28, 64), (14, 14, 64), (12544,), (128,), (10,)]
    assert result.total_params == 1625866
    assert result.input_shape == (28, 28, 1)
    assert [r.name for r in result.layers] == [
        "conv2d", "conv2d_1", "max_pooling2d", "flatten", "dense", "dense_1"]


def test_study_notes_model_layers():
    network = keras.parse(STUDY_NOTES)
    assert (network.layout, network.rules) == ("hwc", "keras")
    first = network.layers[0]
    assert first == Conv(filters=32, kernel=(3, 3), padding="same", activation="relu")
    assert first.name is None  # analyze() gives the Keras default names
    assert network.layers[-1] == Dense(units=10, activation="softmax")
    assert network.input_where == where_of(STUDY_NOTES, "(28,28,1)")


def test_mnist_cnn_example():
    result = summary(MNIST_CNN)
    assert [r.params for r in result.layers] == [320, 18496, 0, 0, 0, 1179776, 0, 1290]
    assert result.total_params == 1199882
    assert result.layers[-1].output_shape == (10,)
    assert [r.type for r in result.layers] == [
        "conv", "conv", "maxpool", "dropout", "flatten", "dense", "dropout", "dense"]


def test_tiny_conv():
    result = summary("model = Sequential([Conv2D(1, (2, 2), input_shape=(3, 3, 1))])")
    assert result.layers[0].output_shape == (2, 2, 1)
    assert result.total_params == 5


def test_vgg16_preset():
    assert analyze(load_spec("vgg16").network).total_params == 138357544
    network = load_spec("vgg16").network
    assert network.layers[0].name == "block1_conv1"
    assert network.layers[-1].name == "predictions"


def test_format_is_detected():
    assert parse_spec(STUDY_NOTES).format == "keras"
    assert parse_spec(MNIST_CNN).format == "keras"


# -- accepted spellings ---------------------------------------------------------------------------

@pytest.mark.parametrize("sequential", ["Sequential", "keras.Sequential", "tf.keras.Sequential",
                                        "keras.models.Sequential", "tf.keras.models.Sequential",
                                        "models.Sequential"])
@pytest.mark.parametrize("prefix", ["", "layers.", "keras.layers.", "tf.keras.layers."])
def test_prefixes(sequential, prefix):
    text = (f"model = {sequential}([{prefix}Conv2D(8, 3, input_shape=(10, 10, 3)), "
            f"{prefix}Flatten(), {prefix}Dense(2)])")
    assert summary(text).total_params == (3 * 3 * 3 * 8 + 8) + (8 * 8 * 8 * 2 + 2)


def test_bare_sequential_and_surrounding_code():
    text = """\
'''A model.'''
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.layers import Conv2D, Dense, Flatten

Sequential([Dense(4, input_shape=(3,)), Dense(1)])
"""
    assert summary(text).total_params == 16 + 5


def test_add_style_with_summary():
    text = "from keras.models import Sequential\nmodel = Sequential()\n" \
           "model.add(Dense(4, input_dim=3))\nmodel.add(Dense(1))\nmodel.summary()\n"
    assert summary(text).total_params == 21


def test_list_then_add():
    text = "model = Sequential([Dense(4, input_dim=3)])\nmodel.add(Dense(1))\n"
    assert summary(text).total_params == 21


@pytest.mark.parametrize("first", [
    "InputLayer(input_shape=(8, 8, 2))", "InputLayer(shape=(8, 8, 2))", "InputLayer((8, 8, 2))",
    "Input(shape=(8, 8, 2))", "keras.Input((8, 8, 2))", "layers.Input(shape=[8, 8, 2])",
    "InputLayer(batch_input_shape=(None, 8, 8, 2))", "Input(batch_shape=(32, 8, 8, 2))",
])
def test_input_layers(first):
    network = keras.parse(f"Sequential([{first}, Conv2D(4, 3)])")
    assert network.input_shape == (8, 8, 2)
    assert len(network.layers) == 1


@pytest.mark.parametrize("option, shape", [
    ("input_shape=(8, 8, 2)", (8, 8, 2)), ("batch_input_shape=(None, 8, 8, 2)", (8, 8, 2)),
    ("input_shape=(784,)", (784,)), ("input_shape=(784)", (784,)), ("input_dim=784", (784,)),
])
def test_input_options(option, shape):
    assert keras.parse(f"Sequential([Dense(4, {option})])").input_shape == shape


def test_layer_options():
    text = """\
model = Sequential([
    Input((32, 32, 3)),
    Conv2D(16, 3, 2, 'SAME', dilation_rate=1, use_bias=False, name='stem',
           kernel_initializer='he_normal', kernel_regularizer=None, data_format='channels_last'),
    BatchNormalization(momentum=0.9, epsilon=1e-3),
    Activation('relu'),
    MaxPool2D(pool_size=3, strides=2, padding='same'),
    AveragePooling2D(2),
    AvgPool2D((2, 2), strides=None),
    GlobalAveragePooling2D(keepdims=True),
    GlobalAvgPool2D(),
    Dropout(rate=0.2, seed=1),
    Dense(10, activation=tf.nn.softmax, use_bias=False, name='out'),
])
"""
    network = keras.parse(text)
    layers = network.layers
    assert layers[0] == Conv(filters=16, kernel=(3, 3), stride=(2, 2), padding="same",
                             bias=False, name="stem")
    assert layers[1] == BatchNorm()
    assert layers[2] == Activation(fn="relu")
    assert layers[3] == Pool(mode="max", kernel=(3, 3), stride=(2, 2), padding="same")
    assert layers[4] == Pool(mode="avg", kernel=(2, 2))
    assert layers[5] == Pool(mode="avg", kernel=(2, 2))
    assert layers[6] == GlobalPool(mode="avg", keepdims=True)
    assert layers[7] == GlobalPool(mode="avg")
    assert layers[9] == Dense(units=10, activation="softmax", bias=False, name="out")
    result = analyze(network)
    assert [r.output_shape for r in result.layers] == [
        (16, 16, 16), (16, 16, 16), (16, 16, 16), (8, 8, 16), (4, 4, 16), (2, 2, 16),
        (1, 1, 16), (16,), (16,), (10,)]
    assert result.layers[0].params == 3 * 3 * 3 * 16
    assert result.layers[1].params == 4 * 16


@pytest.mark.parametrize("spelling, expected", [
    ("'relu'", "relu"), ("'sigmoid'", "sigmoid"), ("'tanh'", "tanh"), ("'softmax'", "softmax"),
    ("'linear'", "linear"), ("None", None), ("tf.keras.activations.relu", "relu"),
    ("activations.tanh", "tanh"), ("tf.nn.sigmoid", "sigmoid"),
])
def test_activation_spellings(spelling, expected):
    network = keras.parse(f"Sequential([Dense(4, input_dim=3, activation={spelling})])")
    assert network.layers[0].activation == expected


def test_where_points_at_each_constructor():
    network = keras.parse(STUDY_NOTES)
    line = "tf.keras.layers.Conv2D(64, (3, 3), activation='relu', padding='same')"
    assert network.layers[1].where == where_of(STUDY_NOTES, line)
    assert network.layers[2].where == where_of(STUDY_NOTES, "tf.keras.layers.MaxPooling2D((2, 2))")


def test_analyze_errors_point_at_the_layer():
    text = "model = Sequential()\nmodel.add(Dense(4, input_shape=(3,)))\n" \
           "model.add(Conv2D(8, 3))\n"
    e = error(text)
    assert "conv" in e.message and "feature map" in e.message
    assert e.where == where_of(text, "Conv2D(8, 3)")


def test_arithmetic_arguments():
    network = keras.parse("Sequential([Dense(2 * 64 - 8 // 2 + 4, input_dim=(-(-3)))])")
    assert network.layers[0].units == 128
    assert network.input_shape == (3,)


# -- errors ---------------------------------------------------------------------------------------

def test_unknown_layer_with_hint():
    text = MNIST_CNN.replace("Conv2D(64", "Conv3D(64")
    e = error(text)
    assert e.message == "unknown Keras layer 'Conv3D'"
    assert e.hint == "did you mean 'Conv2D'?"
    assert e.where == where_of(text, "Conv3D")


def test_pytorch_layer_in_keras_code():
    e = error("Sequential([nn.Linear(3, 4)])")
    assert e.message == "unknown Keras layer 'Linear'"


def test_call_in_argument_is_refused():
    text = "model = Sequential()\nmodel.add(Conv2D(32, foo(3), input_shape=(8, 8, 1)))\n"
    e = error(text)
    assert e.message == ("only numbers, strings and tuples are accepted as arguments, "
                         "not a call to foo")
    assert e.where == where_of(text, "foo(3)")


def test_code_is_never_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the parser ran code")
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    text = "model = Sequential()\nmodel.add(Conv2D(32, __import__('os').system('x')))\n"
    e = error(text)
    assert "not a call to __import__('os').system" in e.message
    assert e.where == where_of(text, "__import__('os').system('x')")


@pytest.mark.parametrize("argument, what", [
    ("size", "the name 'size'"), ("config.size", "'config.size'"), ("[k for k in (3,)]", ""),
    ("lambda: 3", ""), ("3 ** 2", "'3 ** 2'"), ("b'3'", "a bytes value"), ("f'{3}'", ""),
])
def test_other_non_literals_are_refused(argument, what):
    e = error(f"Sequential([Conv2D(32, {argument}, input_shape=(8, 8, 1))])")
    assert e.message.startswith("only numbers, strings and tuples are accepted as arguments, not")
    assert what in e.message
    assert e.where.line == 1 and e.where.col == len("Sequential([Conv2D(32, ") + 1


def test_model_compile_line():
    text = MNIST_CNN + "model.compile(loss='categorical_crossentropy', optimizer='adam')\n"
    e = error(text)
    assert e.message == "'model.compile(...)' is not a layer definition; paste only the model"
    assert e.where.line == 10 and e.where.col == 1


@pytest.mark.parametrize("statement", [
    "x_train = x_train / 255", "for layer in model.layers: print(layer)",
    "def build():\n    pass", "model.fit(x, y)", "print(model.summary())",
])
def test_other_statements_are_refused(statement):
    e = error(MNIST_CNN + statement + "\n")
    assert "is not a layer definition; paste only the model" in e.message
    assert e.where.line == 10


def test_syntax_error():
    text = "model = Sequential([\n    Dense(4 input_dim=3),\n])\n"
    e = error(text)
    assert e.message.startswith("pasted code is not valid Python")
    assert e.where is not None and e.where.line == 2


def test_unknown_keyword_with_hint():
    text = "Sequential([Conv2D(32, 3, stride=2, input_shape=(8, 8, 1))])"
    e = error(text)
    assert e.message == "unknown argument 'stride' for Conv2D"
    assert e.hint == "did you mean 'strides'?"
    assert e.where == where_of(text, "stride=2")


def test_keyword_of_another_layer_is_not_accepted():
    e = error("Sequential([Dense(4, input_dim=3, kernel_size=3)])")
    assert e.message == "unknown argument 'kernel_size' for Dense"


def test_groups_are_refused():
    e = error("Sequential([Conv2D(32, 3, groups=2, input_shape=(8, 8, 4))])")
    assert e.message == "Conv2D: only groups=1 is supported, not 2"


def test_channels_first_is_refused():
    e = error("Sequential([Conv2D(32, 3, data_format='channels_first', input_shape=(1, 8, 8))])")
    assert "data_format='channels_last'" in e.message


def test_too_many_positional_arguments():
    text = "Sequential([Dense(4, input_dim=3), Dropout(0.5, None, 1, 2)])"
    e = error(text)
    assert e.message == "Dropout takes at most 3 positional arguments"
    assert e.where == where_of(text, "2)", 1)


def test_missing_argument():
    text = "Sequential([Conv2D(32, input_shape=(8, 8, 1))])"
    e = error(text)
    assert e.message == "Conv2D needs kernel_size"
    assert e.where == where_of(text, "Conv2D(32, input_shape=(8, 8, 1))")


def test_argument_given_twice():
    e = error("Sequential([Dense(4, units=5, input_dim=3)])")
    assert e.message == "Dense got two values for 'units'"


def test_unknown_activation_with_hint():
    text = "Sequential([Dense(4, input_dim=3, activation='relux')])"
    e = error(text)
    assert "unsupported activation 'relux'" in e.message
    assert e.hint == "did you mean 'relu'?"
    assert e.where == where_of(text, "'relux'")


def test_unknown_padding():
    e = error("Sequential([Conv2D(4, 3, padding='vaild', input_shape=(8, 8, 1))])")
    assert e.message == "Conv2D: padding must be 'valid' or 'same', got 'vaild'"
    assert e.hint == "did you mean 'valid'?"


@pytest.mark.parametrize("argument, message", [
    ("Dense(0, input_dim=3)", "Dense: units must be a positive whole number, got 0"),
    ("Dense(2.5, input_dim=3)", "Dense: units must be a positive whole number, got 2.5"),
    ("Dense(True, input_dim=3)", "Dense: units must be a positive whole number, got True"),
    ("Conv2D(4, (3, 3, 3), input_shape=(8, 8, 1))", "kernel_size must be a positive whole number "
                                                     "or a pair like (3, 3), got (3, 3, 3)"),
    ("Conv2D(4, 3, use_bias='no', input_shape=(8, 8, 1))", "use_bias must be True or False"),
    ("Conv2D(4, 3, name=7, input_shape=(8, 8, 1))", "name must be a string"),
    ("Dense(4, input_dim=3), Dropout(1.5)", "rate must be a number in [0, 1), got 1.5"),
    ("Dense(4 // 0, input_dim=3)", "cannot compute '4 // 0'"),
    ("Dense(10 ** 6, input_dim=3)", "not '10 ** 6'"),
    ("Dense(99999999 * 99999999, input_dim=3)", "number too large"),
    ("Dense('4' * 2, input_dim=3)", "arithmetic works on numbers only"),
    ("Dense(4, input_dim=3, trainable=False)", "only trainable=True is supported"),
    ("Dense(4, input_shape=(None, 3))", "the input shape must be positive whole numbers"),
    ("Dense(4, batch_input_shape=(3,))", "must include the batch axis"),
    ("Dense(4, input_dim=3, input_shape=(3,))", "the input shape is given twice"),
    ("Dense(4, input_dim=3), Dense(4, input_dim=4)", "the input shape must come once"),
    ("Input()", "Input needs a shape"),
    ("Dense(4, input_dim=3), BatchNormalization(axis=1)", "only axis=-1 is supported"),
    ("Dense(4, input_dim=3), Dense(2, **options)", "**options cannot be read"),
    ("Dense(4, input_dim=3), Dense(*sizes)", "*sizes cannot be read"),
    ("Dense(4, input_dim=3), dense", "expected a layer such as Conv2D(...), not the name 'dense'"),
])
def test_bad_arguments(argument, message):
    e = error(f"model = Sequential([{argument}])")
    assert message in e.message
    assert e.where is not None and e.where.line == 1


def test_column_counts_characters_not_bytes():
    text = "model = Sequential([Dense(4, input_dim=3, name='größe'), Dense(2, activation=act)])"
    e = error(text)
    assert e.where == where_of(text, "act)", 3)


def test_no_model():
    e = error("import tensorflow as tf\n")
    assert e.message.startswith("no Sequential model found")


def test_empty_model():
    e = error("model = Sequential()\n")
    assert e.message == "empty model: no layers found"


def test_second_model():
    e = error("a = Sequential([Dense(1, input_dim=2)])\nb = Sequential([Dense(1, input_dim=2)])\n")
    assert e.message.startswith("a second Sequential model")
    assert e.where.line == 2


def test_add_to_another_variable():
    e = error("model = Sequential()\nother.add(Dense(1, input_dim=2))\n")
    assert e.message == "'other.add(...)' is not a layer definition; paste only the model"


def test_functional_api_is_refused():
    text = "inputs = keras.Input(shape=(28, 28, 1))\nx = layers.Conv2D(32, 3)(inputs)\n"
    e = error(text)
    assert "is not a layer definition" in e.message
    assert e.where.line == 1


def test_sequential_needs_a_list():
    e = error("model = Sequential(my_layers)")
    assert e.message == "Sequential takes a list of layers, not the name 'my_layers'"


def test_deep_nesting_is_an_error_not_a_crash():
    e = error("Sequential([Dense(" + "1 + " * 5000 + "1, input_dim=3)])")
    assert "nested too deeply" in e.message


@given(st.sampled_from([STUDY_NOTES, MNIST_CNN]), st.data())
def test_edited_pastes_fail_only_with_spec_errors(text, data):
    """Whatever a learner's edit breaks, the answer is a SpecError with a place, not a crash."""
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 3))
        text = text[:at] + data.draw(st.sampled_from(["", "(", ")", ",", "=", "0", "-1", "x",
                                                      "'", "[", "None", "*", "\n"])) + text[at + cut:]
    try:
        network = keras.parse(text)
        assert all(layer.where is not None for layer in network.layers)
        analyze(network)
    except SpecError as e:
        assert e.where is not None or e.message.startswith(("no ", "empty ", "missing input"))
