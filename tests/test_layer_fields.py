"""Receptive fields through the layers that move axes (reshape, permute, embeddings, reductions) and
merges that broadcast, worked out by hand from what each unit reads (numbers in the comments)."""

from __future__ import annotations

from minigrad.layers import (
    Conv,
    Dense,
    Embedding,
    Flatten,
    GlobalPool,
    Input,
    LayerGraph,
    Merge,
    Node,
    Permute,
    Pool,
    Reduce,
    Reshape,
    analyze_graph,
)


def chain(shape, *layers, layout="hwc", rules="keras"):
    nodes = [Node(None, Input(shape=shape))]
    nodes += [Node(None, layer, (i,)) for i, layer in enumerate(layers)]
    return analyze_graph(LayerGraph(tuple(nodes), layout, rules)).rows


def test_a_flatten_undone_by_a_reshape_keeps_the_grid():
    rows = chain((8, 8, 1), Conv(filters=2, kernel=(3, 3)), Flatten(), Reshape(target=(6, 6, 2)),
                 Conv(filters=1, kernel=(3, 3)))
    # conv 3×3: field 3, centre 1; a second 3×3 on the same grid: 3 + 2 = 5, centre 1 + 1 = 2
    assert rows[-1].receptive_field == (5, 5) and rows[-1].rf_center == (2, 2)
    assert rows[-1].rf_unknown is None


def test_tokens_are_the_grid_of_a_keras_text_cnn():
    rows = chain((20,), Embedding(num_embeddings=50, embedding_dim=8),
                 Conv(filters=4, kernel=(5,)), Pool(mode="max", kernel=(2,)),
                 Conv(filters=4, kernel=(3,)))
    # 5 tokens; the pool adds one (jump 2); a 3-wide conv on top adds 2·2: 10 tokens, jump 2
    assert [r.receptive_field for r in rows[1:]] == [(1,), (5,), (6,), (10,)]
    assert rows[-1].jump == (2,) and rows[-1].output_shape == (6, 4)


def test_permute_of_the_grid_axes_swaps_their_fields():
    rows = chain((2, 5, 7), Conv(filters=2, kernel=(3, 1)), Permute(dims=(0, 2, 1)),
                 Conv(filters=2, kernel=(3, 1)), layout="chw", rules="torch")
    # the first conv widens H to 3; after the swap the second widens the old W to 3
    assert rows[2].receptive_field == (1, 3) and rows[3].receptive_field == (3, 3)


def test_moving_the_channels_into_the_grid_leaves_no_field():
    rows = chain((2, 5, 7), Conv(filters=3, kernel=(3, 3)), Permute(dims=(1, 0, 2)),
                 Conv(filters=2, kernel=(1, 1)), layout="chw", rules="torch")
    assert rows[2].rf_unknown == "permute moves values between the grid axes and the channels"
    assert rows[3].rf_unknown == rows[2].rf_unknown and rows[3].receptive_field is None


def test_a_mean_over_the_grid_sees_the_whole_input():
    rows = chain((4, 6, 6), Conv(filters=4, kernel=(3, 3), padding=(1, 1)),
                 Reduce(op="mean", axes=(1, 2)), Dense(units=2), layout="chw", rules="torch")
    # conv unit 0 reads rows −1…1; all six units together read −1…6: 8 pixels, centre 2.5
    assert rows[2].output_shape == (4,)
    assert rows[2].receptive_field == (8, 8) and rows[2].jump == (None, None)
    assert rows[2].rf_center == (2.5, 2.5)


def test_squeeze_and_excitation_gate_makes_every_unit_see_the_whole_input():
    a = Conv(filters=4, kernel=(3, 3), padding="same")
    graph = LayerGraph((Node(None, Input(shape=(6, 6, 4))), Node("a", a, (0,)),
                        Node("gate", GlobalPool(mode="avg", keepdims=True), (1,)),
                        Node("scaled", Merge(op="multiply"), (1, 2))), "hwc", "keras")
    scaled = analyze_graph(graph).rows[-1]
    # unit 0 reads −1…1 through a and −1…6 through the gate: 8 pixels, centre 2.5
    assert scaled.output_shape == (6, 6, 4)
    assert scaled.receptive_field == (8, 8) and scaled.jump == (None, None)
    assert scaled.rf_center == (2.5, 2.5) and scaled.rf_unknown is None


def test_broadcasting_one_local_unit_over_a_map_has_no_single_field():
    graph = LayerGraph((Node(None, Input(shape=(6, 6, 2))),
                        Node("one", Conv(filters=2, kernel=(3, 3), stride=(4, 4)), (0,)),
                        Node("scaled", Merge(op="multiply"), (0, 1))), "hwc", "keras")
    scaled = analyze_graph(graph).rows[-1]
    # the conv has one unit, reading rows 0…2; unit 0 of the product reads rows 0…2 (3 wide),
    # unit 5 reads row 5 and rows 0…2 (6 wide): no single field
    assert scaled.output_shape == (6, 6, 2)
    assert scaled.rf_unknown == "a branch of size 1 is broadcast along H"


def test_one_number_per_sample_keeps_the_field_of_what_it_read():
    from minigrad.layers import Squeeze
    rows = chain((3, 4, 4), Conv(filters=1, kernel=(4, 4)), Squeeze(), layout="chw",
                 rules="torch")
    # a GAN critic's last conv covers the 4×4 input; squeezing 1×1×1 to () changes nothing
    assert rows[2].output_shape == () and rows[2].receptive_field == (4, 4)
    rows = chain((3, 4, 4), Conv(filters=2, kernel=(3, 3)), Flatten(),
                 Reduce(op="mean", axes=(0,)), layout="chw", rules="torch")
    # the mean of all 2·2·2 values reads rows 0…3: the whole input, no jump
    assert rows[3].output_shape == () and rows[3].receptive_field == (4, 4)
    assert rows[3].jump == (None, None)
