"""Pasted Keras code through the code reader (parse_spec / load_spec): the published models,
every accepted spelling, code the old whitelist reader refused and the interpreter now reads, and
errors that point at the offending code. Expected numbers are Keras' own model.summary() figures
or worked out by hand in the comments."""

from __future__ import annotations

import builtins

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.errors import SpecError, Where
from minigrad.layers import Activation, BatchNorm, Conv, Dense, GlobalPool, Pool
from minigrad.readers import ReadOptions, Spec, load_spec, parse_spec

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


def read(text: str, input_shape=None, **options) -> Spec:
    return parse_spec(text, None, input_shape, ReadOptions(**options))


def summary(text: str, input_shape=None, **options):
    return read(text, input_shape, **options).analyze()


def layers(text: str) -> list:
    """The layer of every node after the input, in order."""
    return [node.layer for node in read(text).graph.nodes[1:]]


def error(text: str, input_shape=None, **options) -> SpecError:
    with pytest.raises(SpecError) as info:
        summary(text, input_shape, **options)
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
    spec = read(STUDY_NOTES)
    assert (spec.format, spec.layout, spec.graph.rules, spec.model_name) == ("code", "hwc", "keras", "model")
    found = layers(STUDY_NOTES)
    assert found[0] == Conv(filters=32, kernel=(3, 3), padding="same", activation="relu", name="conv2d")
    assert found[-1] == Dense(units=10, activation="softmax", name="dense_1")


def test_input_shape_errors_point_at_the_shape():
    text = "model = Sequential([\n    InputLayer(input_shape=(0, 28, 1)),\n    Conv2D(4, 3)])"
    e = error(text)
    assert "0×28×1" in e.message
    assert e.where is not None and e.where.line == 2
    assert read(STUDY_NOTES).graph.nodes[0].layer.where is not None


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
    spec = load_spec("vgg16")
    assert spec.analyze().total_params == 138357544
    network = spec.network
    assert network.layers[0].name == "block1_conv1"
    assert network.layers[-1].name == "predictions"


def test_format_is_detected():
    assert read(STUDY_NOTES).format == "code"
    assert read(MNIST_CNN).format == "code"


# -- accepted spellings ---------------------------------------------------------------------------

@pytest.mark.parametrize("sequential", ["Sequential", "keras.Sequential", "tf.keras.Sequential",
                                        "keras.models.Sequential", "tf.keras.models.Sequential",
                                        "models.Sequential"])
@pytest.mark.parametrize("prefix", ["", "layers.", "keras.layers.", "tf.keras.layers."])
def test_prefixes(sequential, prefix):
    # `models` is imported, as every script that writes models.Sequential imports it
    text = (f"from tensorflow.keras import layers, models\n"
            f"model = {sequential}([{prefix}Conv2D(8, 3, input_shape=(10, 10, 3)), "
            f"{prefix}Flatten(), {prefix}Dense(2)])")
    assert summary(text).total_params == (3 * 3 * 3 * 8 + 8) + (8 * 8 * 8 * 2 + 2)


def test_models_prefix_without_its_import():
    text = "model = models.Sequential([layers.Dense(2, input_shape=(3,))])"
    try:
        assert summary(text).total_params == 8
    except SpecError as e:
        assert "models" in e.message and not e.message.startswith("no model found")


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
    result = summary(f"Sequential([{first}, Conv2D(4, 3)])")
    assert result.input_shape == (8, 8, 2)
    # the input is no layer row: one conv, 2·9·4 + 4 = 76
    assert [r.type for r in result.layers] == ["conv"]
    assert result.total_params == 76 and result.layers[0].output_shape == (6, 6, 4)


@pytest.mark.parametrize("option, shape", [
    ("input_shape=(8, 8, 2)", (8, 8, 2)), ("batch_input_shape=(None, 8, 8, 2)", (8, 8, 2)),
    ("input_shape=(784,)", (784,)), ("input_shape=(784)", (784,)), ("input_dim=784", (784,)),
])
def test_input_options(option, shape):
    assert summary(f"Sequential([Dense(4, {option})])").input_shape == shape


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
    found = layers(text)
    assert found[0] == Conv(filters=16, kernel=(3, 3), stride=(2, 2), padding="same",
                            bias=False, name="stem")
    assert found[1] == BatchNorm(name="batch_normalization", eps=1e-3, momentum=1 - 0.9)
    assert found[2] == Activation(fn="relu", name="activation")
    assert found[3] == Pool(mode="max", kernel=(3, 3), stride=(2, 2), padding="same",
                            name="max_pooling2d")
    assert found[4] == Pool(mode="avg", kernel=(2, 2), name="average_pooling2d")
    assert found[5] == Pool(mode="avg", kernel=(2, 2), name="average_pooling2d_1")
    assert found[6] == GlobalPool(mode="avg", keepdims=True, name="global_average_pooling2d")
    assert found[7] == GlobalPool(mode="avg", name="global_average_pooling2d_1")
    assert found[9] == Dense(units=10, activation="softmax", bias=False, name="out")
    result = summary(text)
    assert [r.output_shape for r in result.layers] == [
        (16, 16, 16), (16, 16, 16), (16, 16, 16), (8, 8, 16), (4, 4, 16), (2, 2, 16),
        (1, 1, 16), (16,), (16,), (10,)]
    assert result.layers[0].params == 3 * 3 * 3 * 16
    assert result.layers[1].params == 4 * 16
    assert result.layers[1].trainable_params == 2 * 16   # moving mean and variance are not


@pytest.mark.parametrize("spelling, expected", [
    ("'relu'", "relu"), ("'sigmoid'", "sigmoid"), ("'tanh'", "tanh"), ("'softmax'", "softmax"),
    ("'linear'", "linear"), ("None", None), ("tf.keras.activations.relu", "relu"),
    ("activations.tanh", "tanh"), ("tf.nn.sigmoid", "sigmoid"),
])
def test_activation_spellings(spelling, expected):
    found = layers("from tensorflow.keras import activations\n"
                   f"Sequential([Dense(4, input_dim=3, activation={spelling})])")
    assert found[0].activation == expected


def test_where_points_at_each_constructor():
    found = layers(STUDY_NOTES)
    line = "tf.keras.layers.Conv2D(64, (3, 3), activation='relu', padding='same')"
    assert found[1].where == where_of(STUDY_NOTES, line)
    assert found[2].where == where_of(STUDY_NOTES, "tf.keras.layers.MaxPooling2D((2, 2))")


def test_analyze_errors_point_at_the_layer():
    text = "model = Sequential()\nmodel.add(Dense(4, input_shape=(3,)))\n" \
           "model.add(Conv2D(8, 3))\n"
    e = error(text)
    assert "conv" in e.message and "feature map" in e.message and "4" in e.message
    assert e.where == where_of(text, "Conv2D(8, 3)")


def test_arithmetic_arguments():
    result = summary("Sequential([Dense(2 * 64 - 8 // 2 + 4, input_dim=(-(-3)))])")
    assert result.layers[0].output_shape == (128,)
    assert result.input_shape == (3,)
    assert result.total_params == 3 * 128 + 128


# -- what the whitelist reader refused and the interpreter reads ----------------------------------

@pytest.mark.parametrize("setup, argument", [
    ("size = 3\n", "size"), ("config = {'size': 3}\n", "config['size']"),
    ("class config:\n    size = 3\n", "config.size"), ("", "[k for k in (3, 3)]"),
    ("", "(lambda: 3)()"), ("", "int('3')"), ("", "max(1, 3)"),
])
def test_names_expressions_and_calls_as_arguments(setup, argument):
    # kernel 3 on 8×8×1: 6×6×32, 1·9·32 + 32 = 320
    result = summary(f"{setup}Sequential([Conv2D(32, {argument}, input_shape=(8, 8, 1))])")
    assert result.layers[0].output_shape == (6, 6, 32) and result.total_params == 320


def test_power_as_an_argument():
    # 3 ** 2 = 9: a 9×9 kernel on 10×10×1 gives 2×2×32, 81·32 + 32 = 2,624
    result = summary("Sequential([Conv2D(32, 3 ** 2, input_shape=(10, 10, 1))])")
    assert result.layers[0].output_shape == (2, 2, 32) and result.total_params == 2624
    e = error("Sequential([Conv2D(32, 3 ** 2, input_shape=(8, 8, 1))])")
    assert "9×9" in e.message and "8" in e.message


@pytest.mark.parametrize("argument, got", [
    ("[k for k in (3,)]", "[3]"), ("b'3'", "b'3'"), ("f'{3}'", "'3'"),
])
def test_values_keras_refuses_as_a_kernel_size(argument, got):
    text = f"Sequential([Conv2D(32, {argument}, input_shape=(8, 8, 1))])"
    e = error(text)
    assert "kernel_size" in e.message and f"got {got}" in e.message
    assert e.where == where_of(text, f"Conv2D(32, {argument}, input_shape=(8, 8, 1))")


def test_lambda_as_a_kernel_size_is_named_as_code():
    e = error("Sequential([Conv2D(32, lambda: 3, input_shape=(8, 8, 1))])")
    assert "kernel_size" in e.message
    assert "UserFunction" not in e.message and "node=" not in e.message


@pytest.mark.parametrize("argument", ["size", "config.size", "foo(3)"])
def test_undefined_name_in_an_argument_is_named_with_the_way_out(argument):
    text = f"model = Sequential()\nmodel.add(Conv2D(32, {argument}, input_shape=(8, 8, 1)))\n"
    e = error(text)
    name = argument.split(".")[0].split("(")[0]
    assert f"kernel_size needs '{name}'" in e.message
    assert e.hint == f"pass --set {name}=VALUE"
    assert e.where == where_of(text, f"Conv2D(32, {argument}, input_shape=(8, 8, 1))")
    if argument == "size":
        assert summary(text, overrides={"size": 3}).total_params == 320


def test_code_is_never_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the parser ran code")
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    text = "model = Sequential()\nmodel.add(Conv2D(32, __import__('os').system('x')))\n"
    e = error(text)
    assert "kernel_size" in e.message and "__import__" in e.message
    assert e.where == where_of(text, "Conv2D(32, __import__('os').system('x'))")


@pytest.mark.parametrize("statement", [
    "model.compile(loss='categorical_crossentropy', optimizer='adam')",
    "x_train = x_train / 255", "for layer in model.layers: print(layer)",
    "def build():\n    pass", "model.fit(x, y)", "print(model.summary())",
])
def test_other_statements_are_read_past(statement):
    spec = read(MNIST_CNN + statement + "\n")
    assert spec.model_name == "model" and spec.notes == ()
    assert spec.analyze().total_params == 1199882


def test_groups():
    # groups=2 on 4 channels: each filter sees 2, 3·3·2·32 + 32 = 608; 8 → 6
    result = summary("Sequential([Conv2D(32, 3, groups=2, input_shape=(8, 8, 4))])")
    assert result.total_params == 608 and result.layers[0].output_shape == (6, 6, 32)


@pytest.mark.parametrize("argument, total", [
    ("Dense(10 ** 6, input_dim=3)", 4 * 10 ** 6),                  # 3·10⁶ weights + 10⁶ biases
    ("Dense(999999 * 999999, input_dim=3)", 4 * 999999 ** 2),          # 10^12: the ceiling
    ("Dense(4, input_dim=3, input_shape=(3,))", 16),                 # the same input, twice
    ("Dense(4, input_dim=3), Dense(4, input_dim=4)", 16 + 20),       # later input_dim ignored
    ("Dense(4, input_dim=3), BatchNormalization(axis=1)", 16 + 16),  # axis 1 is the last axis
])
def test_arguments_the_whitelist_refused(argument, total):
    assert summary(f"model = Sequential([{argument}])").total_params == total


def test_batchnorm_over_another_axis():
    result = summary("model = Sequential([Input((8, 6, 2)), BatchNormalization(axis=1)])")
    assert result.total_params == 4 * 8   # γ, β, moving mean and variance per row: 4·8


def test_batchnorm_over_several_axes_is_refused_by_name():
    # Keras would count 4·8·6 = 192 here; cnncalc normalizes over one axis only and says so
    e = error("model = Sequential([Input((8, 6, 2)), BatchNormalization(axis=[1, 2])])")
    assert "several axes" in e.message and e.where is not None


def test_name_must_be_a_string():
    e = error("model = Sequential([Conv2D(4, 3, name=7, input_shape=(8, 8, 1))])")
    assert "name" in e.message and "7" in e.message


def test_functional_api():
    text = ("inputs = keras.Input(shape=(28, 28, 1))\nx = layers.Conv2D(32, 3)(inputs)\n"
            "x = layers.Flatten()(x)\noutputs = layers.Dense(10)(x)\n"
            "model = keras.Model(inputs, outputs)\n")
    result = summary(text)
    # 1·9·32 + 32 = 320; 26·26·32 = 21,632 features, ·10 + 10 = 216,330
    assert [r.name for r in result.layers] == ["conv2d", "flatten", "dense"]
    assert result.total_params == 320 + 216330


def test_functional_layers_without_a_model_is_no_model():
    text = "inputs = keras.Input(shape=(28, 28, 1))\nx = layers.Conv2D(32, 3)(inputs)\n"
    assert error(text).message.startswith("no model found")


def test_second_model_a_note_names_them_and_model_picks_one():
    text = "a = Sequential([Dense(1, input_dim=2)])\nb = Sequential([Dense(3, input_dim=2)])\n"
    spec = read(text)
    assert spec.model_name == "b"                 # the last one built
    assert any("a" in note and "b" in note and "--model" in note for note in spec.notes)
    result = spec.analyze()
    assert result.total_params == 2 * 3 + 3
    assert result.layers[0].name == "dense_1"     # Keras numbers the second Dense
    assert summary(text, model="a").total_params == 2 * 1 + 1


# -- errors ---------------------------------------------------------------------------------------

def test_unknown_layer_with_hint():
    text = "model = keras.Sequential([layers.Conv3D(4, 3, input_shape=(8, 8, 1))])"
    e = error(text)
    assert "Conv3D" in e.message and "not a layer" in e.message
    assert e.hint == "did you mean 'Conv2D'?"
    assert e.where == where_of(text, "layers.Conv3D(4, 3, input_shape=(8, 8, 1))")


def test_bare_unknown_layer_name_is_named():
    text = MNIST_CNN.replace("Conv2D(64", "Conv3D(64")
    e = error(text)
    assert "Conv3D" in e.message and "forward" not in e.message
    assert e.hint == "did you mean 'Conv2D'?"
    assert e.where.line == 3


def test_pytorch_layer_in_keras_code():
    text = "Sequential([nn.Linear(3, 4)])"
    e = error(text)
    assert "nn.Linear" in e.message and "not a Keras layer" in e.message
    assert e.where.line == 1


def test_syntax_error():
    text = "model = Sequential([\n    Dense(4 input_dim=3),\n])\n"
    e = error(text)
    assert e.message.startswith("pasted code is not valid Python")
    assert e.where is not None and e.where.line == 2


def test_unknown_keyword_with_hint():
    text = "Sequential([Conv2D(32, 3, stride=2, input_shape=(8, 8, 1))])"
    e = error(text)
    assert "Conv2D" in e.message and "'stride'" in e.message
    assert e.hint == "did you mean 'strides'?"
    assert e.where == where_of(text, "Conv2D(32, 3, stride=2, input_shape=(8, 8, 1))")


def test_keyword_of_another_layer_is_not_accepted():
    e = error("Sequential([Dense(4, input_dim=3, kernel_size=3)])")
    assert "Dense" in e.message and "'kernel_size'" in e.message


def test_channels_first_is_refused():
    e = error("Sequential([Conv2D(32, 3, data_format='channels_first', input_shape=(1, 8, 8))])")
    assert "data_format='channels_first'" in e.message and "channels-last" in e.message


def test_too_many_positional_arguments():
    text = "Sequential([Dense(4, input_dim=3), Dropout(0.5, None, 1, 2)])"
    e = error(text)
    assert "Dropout" in e.message and "positional" in e.message and "got 4" in e.message
    assert e.where == where_of(text, "Dropout(0.5, None, 1, 2)")


def test_dropout_with_noise_shape_and_seed_positionally():
    assert summary("model = Sequential([Dense(4, input_dim=3), Dropout(0.5, None, 1)])").total_params == 16


def test_missing_argument():
    text = "Sequential([Conv2D(32, input_shape=(8, 8, 1))])"
    e = error(text)
    assert "Conv2D" in e.message and "'kernel_size'" in e.message
    assert e.where == where_of(text, "Conv2D(32, input_shape=(8, 8, 1))")


def test_argument_given_twice():
    e = error("Sequential([Dense(4, units=5, input_dim=3)])")
    assert "Dense" in e.message and "two values for 'units'" in e.message


def test_unknown_activation_with_hint():
    text = "Sequential([Dense(4, input_dim=3, activation='relux')])"
    e = error(text)
    assert "'relux'" in e.message and "activation" in e.message
    assert e.hint == "did you mean 'relu'?"
    assert e.where == where_of(text, "Dense(4, input_dim=3, activation='relux')")


def test_unknown_padding():
    e = error("Sequential([Conv2D(4, 3, padding='vaild', input_shape=(8, 8, 1))])")
    assert "Conv2D" in e.message and "padding" in e.message and "'vaild'" in e.message


def test_unknown_padding_hint():
    e = error("Sequential([Conv2D(4, 3, padding='vaild', input_shape=(8, 8, 1))])")
    assert e.hint == "did you mean 'valid'?"


def test_frozen_layer_counts_as_non_trainable():
    result = summary("model = Sequential([Dense(4, input_dim=3, trainable=False)])")
    assert (result.total_params, result.trainable_params) == (16, 0)


@pytest.mark.parametrize("argument, message", [
    ("Dense(0, input_dim=3)", "units must be a positive integer, got 0"),
    ("Dense(2.5, input_dim=3)", "units must be a positive integer, got 2.5"),
    ("Dense(True, input_dim=3)", "units must be a positive integer, got True"),
    ("Conv2D(4, (3, 3, 3), input_shape=(8, 8, 1))", "kernel_size must be a positive integer or 2 "
                                                     "of them, got (3, 3, 3)"),
    ("Conv2D(4, 3, use_bias='no', input_shape=(8, 8, 1))", "use_bias must be True or False"),
    ("Dense(4, input_dim=3), Dropout(1.5)", "rate must be in [0, 1), got 1.5"),
    ("Dense(4 // 0, input_dim=3)", "division by zero"),
    ("Dense('4' * 2, input_dim=3)", "got '44'"),
    ("Input()", "shape"),
])
def test_bad_arguments(argument, message):
    e = error(f"model = Sequential([{argument}])")
    assert message in e.message
    assert e.where is not None and e.where.line == 1


@pytest.mark.parametrize("argument", ["Dense(4, input_shape=(None, 3))", "Dense(4, batch_input_shape=(3,))"])
def test_input_shapes_without_sizes(argument):
    e = error(f"model = Sequential([{argument}])")
    assert "--input" in e.message + (e.hint or "")


@pytest.mark.parametrize("argument, name", [
    ("Dense(4, input_dim=3), Dense(2, **options)", "options"),
    ("Dense(4, input_dim=3), Dense(*sizes)", "sizes"),
    ("Dense(4, input_dim=3), dense", "dense"),
])
def test_undefined_name_in_a_sequential_list_is_named(argument, name):
    e = error(f"model = Sequential([{argument}])")
    assert f"'{name}'" in e.message and "forward" not in e.message


def test_column_counts_characters_not_bytes():
    text = "model = Sequential([Dense(4, input_dim=3, name='größe'), Dense(2, activation=act)])"
    e = error(text)
    assert "'act'" in e.message
    assert e.where == where_of(text, "Dense(2, activation=act)")


def test_no_model():
    e = error("import tensorflow as tf\n")
    assert e.message.startswith("no model found")


def test_model_without_layers_has_no_input():
    e = error("model = Sequential()\n")
    assert "model" in e.message and "--input" in e.message


def test_add_to_another_variable():
    # other is not defined: model stays an empty Sequential with no input
    e = error("model = Sequential()\nother.add(Dense(1, input_dim=2))\n")
    assert "--input" in e.message


def test_sequential_needs_a_list():
    text = "model = Sequential(my_layers)"
    e = error(text)
    assert "list of layers" in e.message and "known only when the code runs" in e.message
    assert e.where == where_of(text, "Sequential(my_layers)")


@pytest.mark.parametrize("text, given", [
    ("model = keras.Sequential(*[keras.layers.Dense(2, input_shape=(3,))])\n", "Dense"),
    ("model = keras.Sequential(*[keras.layers.InputLayer(input_shape=(3,)), keras.layers.Dense(2)])\n",
     "InputLayer"),
])
def test_sequential_of_unpacked_layers_is_refused_as_keras_refuses_it(text, given):
    # Sequential(layers=None, trainable=True, name=None): the first layer lands in `layers`
    e = error(text)
    assert "list of layers" in e.message and given in e.message
    assert e.where == where_of(text, text.split("= ")[1].rstrip())


def test_add_with_the_layer_keyword():
    text = "model = Sequential()\nmodel.add(Dense(4, input_dim=3))\nmodel.add(layer=Dense(2))\n"
    assert summary(text).total_params == 16 + 4 * 2 + 2


def test_deep_nesting_is_an_error_not_a_crash():
    e = error("Sequential([Dense(" + "1 + " * 5000 + "1, input_dim=3)])")
    assert "nested too deeply" in e.message


# Not strict: whether 50 random edits hit one of the crashes pinned (strictly) by
# test_add_with_the_layer_keyword depends on the draw. Remove the mark once fixed.
@given(st.sampled_from([STUDY_NOTES, MNIST_CNN]), st.data())
def test_edited_pastes_fail_only_with_spec_errors(text, data):
    """Whatever a learner's edit breaks, the answer is a SpecError (with a place, unless it is
    about the model as a whole), not a crash."""
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 3))
        text = text[:at] + data.draw(st.sampled_from(["", "(", ")", ",", "=", "0", "-1", "x",
                                                      "'", "[", "None", "*", "\n"])) + text[at + cut:]
    try:
        spec = read(text)
        assert all(node.layer.where is not None for node in spec.graph.nodes[1:])
        spec.analyze()
    except SpecError as e:
        assert "internal error" not in e.message      # a crash the reader caught is still a crash
        assert e.where is not None or e.message.startswith(("no ", "empty ")) or e.hint is not None \
            or "--input" in e.message or "forward" in e.message
