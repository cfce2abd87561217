"""The workspace (minigrad/engine/workspace.py): scratch buffers reused across steps must never
change a result. Two models alive at once, a model run at several batch sizes, buffers full of
garbage from an earlier step, two graphs alive before one backward: each must give exactly what a
model with nothing kept gives. And the buffers go when their model goes."""

from __future__ import annotations

import contextlib
import gc

import numpy as np
import pytest
from column_budget import BUDGETS, column_budget
from hypothesis import given
from hypothesis import strategies as st

import minigrad.engine.functional as F
from minigrad import Tensor, no_grad
from minigrad.engine import conv, nn, workspace
from minigrad.engine.conv import col2im, im2col
from minigrad.engine.optim import Adam
from minigrad.engine.rng import manual_seed
from test_engine_forward import cache_blocks


def small_cnn(seed: int) -> nn.Sequential:
    manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 4 * 4, 5))


def batch(seed: int, n: int):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2, 8, 8)).astype(np.float32), rng.integers(0, 5, n)


def poison_workspace() -> None:
    """Fill every kept buffer with NaN: a result that reads stale contents turns NaN."""
    for roles in workspace._free.values():
        for kept in roles.values():
            for buffer in kept:
                buffer.fill(np.nan)


def train(model, optimizer, x, y):
    """One training step; returns the loss and copies of the gradients it computed."""
    loss = F.cross_entropy(model(Tensor(x)), y)
    optimizer.zero_grad()
    loss.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    optimizer.step()
    return float(loss), grads


def fresh_twin(model) -> nn.Sequential:
    """A new model object (a new workspace) with the model's current weights."""
    twin = small_cnn(0)
    twin.load_state_dict({k: v.copy() for k, v in model.state_dict().items()})
    return twin


def test_two_models_alive_at_once_train_as_each_alone():
    alone = {}
    for seed in (1, 2):
        model = small_cnn(seed)
        optimizer = Adam(model.parameters(), lr=1e-2)
        alone[seed] = [train(model, optimizer, *batch(step, 4)) for step in range(3)]
    models = {seed: small_cnn(seed) for seed in (1, 2)}
    optimizers = {seed: Adam(m.parameters(), lr=1e-2) for seed, m in models.items()}
    together = {1: [], 2: []}
    for step in range(3):
        for seed in (1, 2):  # interleaved: each step of one model between the other's
            together[seed].append(train(models[seed], optimizers[seed], *batch(step, 4)))
    for seed in (1, 2):
        for (loss_a, grads_a), (loss_b, grads_b) in zip(alone[seed], together[seed]):
            assert loss_a == loss_b
            for a, b in zip(grads_a, grads_b):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("budget", BUDGETS)
def test_batch_sizes_in_turn_with_stale_buffers_match_a_fresh_model(budget):
    with column_budget(budget):
        model = small_cnn(3)
        for step, n in enumerate([4, 3, 4, 1, 3]):
            x, _ = batch(step, n)
            upstream = np.random.default_rng(step).standard_normal((n, 5)).astype(np.float32)
            twin = fresh_twin(model)
            poison_workspace()
            out = model(Tensor(x))
            out.backward(upstream)
            expected = twin(Tensor(x))
            expected.backward(upstream)
            np.testing.assert_array_equal(out.data, expected.data)
            for p, q in zip(model.parameters(), twin.parameters()):
                np.testing.assert_array_equal(p.grad, q.grad)
                p.grad = q.grad = None


def test_two_graphs_alive_before_one_backward():
    """Two forwards, one summed loss: the first graph's columns must survive the second forward."""
    model = small_cnn(4)
    (x1, y1), (x2, y2) = batch(1, 3), batch(2, 3)
    loss = F.cross_entropy(model(Tensor(x1)), y1) + F.cross_entropy(model(Tensor(x2)), y2)
    loss.backward()
    together = [p.grad.copy() for p in model.parameters()]
    separate = fresh_twin(model)
    for x, y in ((x1, y1), (x2, y2)):
        F.cross_entropy(separate(Tensor(x)), y).backward()
    for a, p in zip(together, separate.parameters()):
        np.testing.assert_allclose(a, p.grad, rtol=1e-5, atol=1e-6)


def test_saved_results_are_not_changed_by_the_next_step():
    model = small_cnn(5)
    optimizer = Adam(model.parameters(), lr=1e-2)
    x, y = batch(0, 4)
    features = model[:2](Tensor(x))         # a conv + ReLU activation the user keeps
    out = model(Tensor(x))
    loss = F.cross_entropy(out, y)
    loss.backward()
    saved = {"features": features.data.copy(), "out": out.data.copy(),
             "grads": [p.grad.copy() for p in model.parameters()]}
    held_grads = [p.grad for p in model.parameters()]
    optimizer.step()
    for step in range(1, 3):
        train(model, optimizer, *batch(step, 4))
    np.testing.assert_array_equal(features.data, saved["features"])
    np.testing.assert_array_equal(out.data, saved["out"])
    for held, copy in zip(held_grads, saved["grads"]):
        np.testing.assert_array_equal(held, copy)


class ResidualBlockNet(nn.Module):
    """A conv, batch norm, ReLU6 and dropout, a residual sum and a linear layer: every op
    whose maps and gradients come from recycled result arrays."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.norm = nn.BatchNorm2d(2)
        self.act = nn.ReLU6()
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(2 * 8 * 8, 5)

    def features(self, x):
        return self.drop(self.act(self.norm(self.conv(x)))) + x

    def forward(self, x):
        return self.head(self.features(x).reshape(len(x), -1))


def test_recycled_results_of_a_residual_block_match_fresh_arrays():
    """Training with result arrays recycled from step to step gives exactly what training
    with nothing kept gives (workspace.clear() after every step), and what the user holds
    on to from an earlier step stays as it was."""
    runs = []
    for clear_every_step in (False, True):
        manual_seed(3)
        model = ResidualBlockNet()
        optimizer = Adam(model.parameters(), lr=1e-2)
        held = None
        losses = []
        for step in range(4):
            x, y = batch(step, 4)
            out = model(Tensor(x))
            loss = F.cross_entropy(out, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
            if step == 0:  # the block's output, from a forward of its own
                features = model.features(Tensor(x))
                held = (features, features.data.copy())
            if clear_every_step:
                workspace.clear()
        np.testing.assert_array_equal(held[0].data, held[1])
        runs.append((losses, [p.data.copy() for p in model.parameters()]))
    (losses, params), (fresh_losses, fresh_params) = runs
    assert losses == fresh_losses
    for a, b in zip(params, fresh_params):
        np.testing.assert_array_equal(a, b)


def test_a_deleted_model_frees_its_workspace():
    gc.collect()
    before = workspace.cached_bytes()
    model = small_cnn(6)
    optimizer = Adam(model.parameters(), lr=1e-2)
    train(model, optimizer, *batch(0, 4))
    conv_weight = model[2].weight
    assert workspace.cached_bytes(conv_weight) > 0  # the columns were kept for the next step
    assert workspace.cached_bytes() > before
    del model, optimizer, conv_weight
    gc.collect()
    assert workspace.cached_bytes() == before


def test_a_new_batch_size_replaces_the_old_buffers():
    model = small_cnn(7)
    weight = model[2].weight
    with_four = None
    for n in (4, 16, 4):
        out = model(Tensor(batch(0, n)[0]))
        out.backward(np.ones(out.shape, dtype=np.float32))
        if with_four is None:
            with_four = workspace.cached_bytes(weight)
    assert workspace.cached_bytes(weight) == with_four  # the batch-16 buffers are gone


def test_inference_without_a_graph_keeps_nothing_alive():
    model = small_cnn(8)
    x, _ = batch(0, 4)
    with no_grad():
        first = model(Tensor(x)).data.copy()
        poison_workspace()
        second = model(Tensor(x)).data
    np.testing.assert_array_equal(first, second)
    assert workspace.cached_bytes(model[2].weight) > 0  # given back at once, not held by an op


# ---------------------------------------------------------------------------------------------
# im2col / col2im with the padding never built
# ---------------------------------------------------------------------------------------------

geometry = st.fixed_dictionaries({
    "n": st.integers(1, 2), "c": st.integers(1, 3), "h": st.integers(1, 7), "w": st.integers(1, 7),
    "kh": st.integers(1, 3), "kw": st.integers(1, 3), "sh": st.integers(1, 3),
    "sw": st.integers(1, 3), "dh": st.integers(1, 2), "dw": st.integers(1, 2),
    "top": st.integers(0, 2), "bottom": st.integers(0, 2), "left": st.integers(0, 2),
    "right": st.integers(0, 2), "seed": st.integers(0, 2**32 - 1)})


def _setup(g):
    hp, wp = g["h"] + g["top"] + g["bottom"], g["w"] + g["left"] + g["right"]
    oh = (hp - g["dh"] * (g["kh"] - 1) - 1) // g["sh"] + 1
    ow = (wp - g["dw"] * (g["kw"] - 1) - 1) // g["sw"] + 1
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((g["n"], g["c"], g["h"], g["w"]))
    return x, rng, (oh, ow)


def _im2col_loops(x, g, oh, ow):
    """The columns by definition: one loop per index over the zero-padded image."""
    pads = ((g["top"], g["bottom"]), (g["left"], g["right"]))
    padded = np.pad(x, ((0, 0), (0, 0)) + pads)
    expected = np.empty((g["c"], g["kh"], g["kw"], g["n"], oh, ow))
    for c in range(g["c"]):
        for i in range(g["kh"]):
            for j in range(g["kw"]):
                for n in range(g["n"]):
                    for r in range(oh):
                        for q in range(ow):
                            expected[c, i, j, n, r, q] = padded[n, c, r * g["sh"] + i * g["dh"],
                                                                q * g["sw"] + j * g["dw"]]
    return expected.reshape(g["c"] * g["kh"] * g["kw"], -1)


def _im2col_into_stale(x, g, oh, ow):
    """im2col of x under geometry g into a buffer full of NaN, so any entry left unwritten
    shows."""
    stale = np.full((g["c"] * g["kh"] * g["kw"], g["n"] * oh * ow), np.nan)
    return im2col(x, (g["kh"], g["kw"]), (g["sh"], g["sw"]), (g["dh"], g["dw"]), (oh, ow),
                  ((g["top"], g["bottom"]), (g["left"], g["right"])), out=stale)


def _laid_out(x, channels_first_memory: bool):
    """x itself, or the same values laid out (C, N, H, W) in memory, as a conv's output is."""
    if not channels_first_memory:
        return x
    return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@contextlib.contextmanager
def padded_route(route: str):
    """Padded maps this small take the bordered copy; "by offsets" makes them take the routes
    of large maps (shifts, or one strided copy per offset), as a conv at batch 32 does."""
    saved = conv.BORDERED_COPY_RUNS
    conv.BORDERED_COPY_RUNS = saved if route == "bordered" else -1
    try:
        yield
    finally:
        conv.BORDERED_COPY_RUNS = saved


routes = st.sampled_from(["bordered", "by offsets"])


@given(geometry, routes)
def test_im2col_into_a_stale_buffer_equals_the_loops_over_a_padded_image(g, route):
    x, _, (oh, ow) = _setup(g)
    if min(oh, ow) < 1:
        return
    with padded_route(route):
        columns = _im2col_into_stale(x, g, oh, ow)
    np.testing.assert_array_equal(columns, _im2col_loops(x, g, oh, ow))


@st.composite
def full_width_geometry(draw):
    """Stride 1 along W with left + right = the dilated kernel's extra width ('same' width):
    the geometries im2col and col2im copy by shifts of the flattened plane."""
    g = dict(draw(geometry), sw=1)
    extra = g["dw"] * (g["kw"] - 1)
    g["left"] = draw(st.integers(0, extra))
    g["right"] = extra - g["left"]
    g["sh"] = draw(st.sampled_from([1, g["sh"]]))
    return g


@given(geometry.map(lambda g: dict(g, top=0, bottom=0, left=0, right=0)), st.booleans())
def test_unpadded_im2col_equals_the_loops(g, channels_first_memory):
    """Without padding the columns are one strided view of x, copied at once."""
    x, _, (oh, ow) = _setup(g)
    if min(oh, ow) < 1:
        return
    x = _laid_out(x, channels_first_memory)
    np.testing.assert_array_equal(_im2col_into_stale(x, g, oh, ow), _im2col_loops(x, g, oh, ow))


@given(full_width_geometry(), st.booleans())
def test_shifted_im2col_and_col2im_equal_the_loops(g, channels_first_memory):
    """The shifted runs wrap around the row ends; the wrapped columns must read (and give back)
    nothing. x laid out (C, N, H, W) in memory too, as a convolution's output is."""
    x, rng, (oh, ow) = _setup(g)
    if min(oh, ow) < 1:
        return
    x = _laid_out(x, channels_first_memory)
    geometry_args = ((g["kh"], g["kw"]), (g["sh"], g["sw"]), (g["dh"], g["dw"]), (oh, ow))
    pads = ((g["top"], g["bottom"]), (g["left"], g["right"]))
    expected = _im2col_loops(x, g, oh, ow)
    with padded_route("by offsets"):
        np.testing.assert_array_equal(_im2col_into_stale(x, g, oh, ow), expected)
    c = rng.standard_normal(expected.shape)
    back = np.zeros(x.shape)
    kept = np.pad(back, ((0, 0), (0, 0)) + pads)  # col2im by loops: add each entry back
    for row, (ch, i, j) in enumerate(np.ndindex(g["c"], g["kh"], g["kw"])):
        for column, (n, r, q) in enumerate(np.ndindex(g["n"], oh, ow)):
            kept[n, ch, r * g["sh"] + i * g["dh"], q * g["sw"] + j * g["dw"]] += c[row, column]
    h, w = x.shape[2:]
    np.testing.assert_allclose(col2im(c, x.shape, *geometry_args, pads),
                               kept[:, :, g["top"]:g["top"] + h, g["left"]:g["left"] + w],
                               rtol=1e-12, atol=1e-12)


@given(geometry, routes, st.sampled_from([None, 1]))
def test_col2im_is_the_adjoint_of_im2col(g, route, block_bytes):
    """<im2col(x), c> = <x, col2im(c)> for every x and c: col2im sums exactly what im2col copied
    (the batch in one block, or image by image)."""
    x, rng, (oh, ow) = _setup(g)
    if min(oh, ow) < 1:
        return
    pads = ((g["top"], g["bottom"]), (g["left"], g["right"]))
    geometry_args = ((g["kh"], g["kw"]), (g["sh"], g["sw"]), (g["dh"], g["dw"]), (oh, ow))
    with padded_route(route):
        cols = im2col(x, *geometry_args, pads)
    c = rng.standard_normal(cols.shape)
    with cache_blocks(block_bytes):
        back = col2im(c, x.shape, *geometry_args, pads)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-10)


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("channel_major", [True, False])
@pytest.mark.parametrize("n", [1, 3])
def test_a_pointwise_conv_reads_its_input_as_columns_and_leaves_it_alone(budget, channel_major,
                                                                          n):
    """A 1×1 conv's columns are x itself (a view when x is channel-major, or at batch 1): the
    backward, which may overwrite its columns with their gradient, must then leave x alone.
    Oracle: the per-pixel sums y = W x + b, dx = Wᵀ g, dW = Σ g xᵀ."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, 3, 4, 5))
    if channel_major:
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    w, b = rng.standard_normal((2, 3, 1, 1)), rng.standard_normal(2)
    g = rng.standard_normal((n, 2, 4, 5))
    kept = x.copy()
    tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    with column_budget(budget):
        out = F.conv2d(*tensors)
        out.backward(g)
    np.testing.assert_array_equal(x, kept)
    pixels = [(i, r, q) for i in range(n) for r in range(4) for q in range(5)]
    for i, r, q in pixels:
        for f in range(2):
            assert out.data[i, f, r, q] == pytest.approx(
                sum(w[f, c, 0, 0] * x[i, c, r, q] for c in range(3)) + b[f], rel=1e-12)
        for c in range(3):
            assert tensors[0].grad[i, c, r, q] == pytest.approx(
                sum(w[f, c, 0, 0] * g[i, f, r, q] for f in range(2)), rel=1e-12)
    for f in range(2):
        for c in range(3):
            assert tensors[1].grad[f, c, 0, 0] == pytest.approx(
                sum(g[i, f, r, q] * x[i, c, r, q] for i, r, q in pixels), rel=1e-12)


@pytest.mark.parametrize("budget", BUDGETS)
def test_retain_graph_keeps_the_columns_for_the_second_backward(budget):
    """The last backward may overwrite the kept columns with their gradient; an earlier one
    (retain_graph=True) must not, or the second backward's dW would read garbage."""
    with column_budget(budget):
        model = small_cnn(9)
        x, y = batch(0, 3)
        loss = F.cross_entropy(model(Tensor(x)), y)
        loss.backward(retain_graph=True)
        first = [p.grad.copy() for p in model.parameters()]
        for p in model.parameters():
            p.grad = None
        loss.backward()
        for a, p in zip(first, model.parameters()):
            np.testing.assert_array_equal(a, p.grad)


# ---------------------------------------------------------------------------------------------
# Result arrays: recycled only when nothing else refers to them
# ---------------------------------------------------------------------------------------------

def test_a_result_array_is_recycled_only_when_nothing_refers_to_it():
    shape = (3, 5, 7)  # a shape no other test uses
    held = workspace.result_array(shape, np.float32)
    other = workspace.result_array(shape, np.float32)
    assert other is not held                        # `held` is still referred to
    seen_through_view = other.T
    address = other.__array_interface__["data"][0]
    del other
    third = workspace.result_array(shape, np.float32)
    assert third.__array_interface__["data"][0] != address  # a view still sees that memory
    held_address = held.__array_interface__["data"][0]
    del held
    fourth = workspace.result_array(shape, np.float32)
    assert fourth.__array_interface__["data"][0] == held_address  # nobody saw it: recycled
    assert seen_through_view.base is not None


def test_result_arrays_beyond_the_budget_are_forgotten(monkeypatch):
    monkeypatch.setattr(workspace, "RESULT_BUDGET_BYTES", 10_000)
    for n in range(20, 40):  # twenty shapes of 8 KB: only the newest stays tracked
        workspace.result_array((n, 100), np.float32)
    tracked = sum(a.nbytes for arrays in workspace._results.values() for a in arrays)
    assert tracked <= 10_000 + 39 * 100 * 4
    assert ((39, 100), np.dtype(np.float32)) in workspace._results


def test_result_like_keeps_the_templates_memory_order():
    template = np.zeros((2, 3, 4, 5), dtype=np.float64).transpose(1, 0, 2, 3)
    result = workspace.result_like(template, np.float32)
    assert result.shape == template.shape
    assert result.transpose(1, 0, 2, 3).flags.c_contiguous


@given(axes=st.permutations(range(4)), shape=st.tuples(*[st.integers(2, 5)] * 4))
def test_result_like_lays_out_any_permuted_array_as_the_template(axes, shape):
    # e.g. (2, 0, 3, 1), whose inverse differs: a result transposed by the wrong one fails
    template = np.zeros(shape, dtype=np.float64).transpose(axes)
    for _ in range(2):  # the layout worked out, then remembered
        result = workspace.result_like(template, np.float32)
        assert result.shape == template.shape
        assert np.array_equal(np.argsort(result.strides), np.argsort(template.strides))
        assert result.transpose(np.argsort(axes)).flags.c_contiguous


def test_clear_forgets_everything_kept_and_later_steps_still_work():
    model = small_cnn(10)
    optimizer = Adam(model.parameters(), lr=1e-2)
    train(model, optimizer, *batch(0, 4))
    workspace.clear()
    assert workspace.cached_bytes() == 0 and not workspace._results
    twin = fresh_twin(model)
    twin_optimizer = Adam(twin.parameters(), lr=1e-2)
    twin_optimizer.load_state_dict(optimizer.state_dict())
    loss, grads = train(model, optimizer, *batch(1, 4))
    twin_loss, twin_grads = train(twin, twin_optimizer, *batch(1, 4))
    assert loss == twin_loss
    for a, b in zip(grads, twin_grads):
        np.testing.assert_array_equal(a, b)
