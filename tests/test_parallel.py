"""The engine's own threads (minigrad/engine/parallel.py): work split into parts (im2col, col2im,
the products of conv and linear, max pooling) must give what the direct formulas and loops give,
and the thread settings must come back as they were."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from column_budget import column_budget
from hypothesis import strategies as st
from test_engine_forward import _as_pair, max_pool2d_backward_loops, pool2d_loops, pool_configs
from test_ops_conv import check_grads, conv2d_cases, conv2d_loops, draw_arrays, explicit_pads, seeds
from threadpoolctl import threadpool_info

import minigrad.engine.functional as F
from minigrad import Tensor
from minigrad.engine import parallel


@contextlib.contextmanager
def split_everything(blocks_of_one_image: bool = False):
    """Two threads, and every piece of work split however small, so that tiny cases exercise
    the parts and their seams. blocks_of_one_image: a conv works one image at a time, the
    threads taking shares of the images (else the batch is one block, split within)."""
    saved = parallel.MIN_PART_VALUES, parallel.MIN_PART_MACS
    parallel.MIN_PART_VALUES = parallel.MIN_PART_MACS = 1
    try:
        with column_budget(1 if blocks_of_one_image else None), parallel.threads(2):
            yield
    finally:
        parallel.MIN_PART_VALUES, parallel.MIN_PART_MACS = saved


def openblas_threads() -> int:
    return next(p["num_threads"] for p in threadpool_info() if p["internal_api"] == "openblas")


@pytest.mark.parametrize("blocks_of_one_image", [False, True])
@given(case=conv2d_cases(max_extra=6), seed=seeds)
def test_conv2d_split_over_threads_matches_the_direct_sum(case, seed, blocks_of_one_image):
    arrays = draw_arrays(case, seed)
    x, w, b = arrays if len(arrays) == 3 else arrays + [None]
    kw = case["kwargs"]
    with split_everything(blocks_of_one_image):
        out = F.conv2d(*[Tensor(a) for a in arrays], **kw)
    expected = conv2d_loops(x, w, b, kw["stride"], explicit_pads(case), kw["dilation"],
                            kw["groups"])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("blocks_of_one_image", [False, True])
@given(case=conv2d_cases(), seed=seeds)
def test_conv2d_split_over_threads_gradients(case, seed, blocks_of_one_image):
    with split_everything(blocks_of_one_image):
        check_grads(lambda *t: F.conv2d(*t, **case["kwargs"]), *draw_arrays(case, seed),
                    seed=seed)


@st.composite
def batches_of_several_blocks(draw):
    """A conv case (conv2d_cases' format) of 3 to 5 images: at one image per block, each of
    the two threads' shares holds more than one block. Few channels and no more filters, so
    that stride 1 multiplies by shifts; stride 2 builds columns."""
    channels, kernel = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    filters, padding = draw(st.integers(1, channels)), draw(st.integers(0, 1))
    return dict(x=(draw(st.integers(3, 5)), channels, draw(st.integers(kernel, kernel + 3)),
                   draw(st.integers(kernel, kernel + 3))),
                weight=(filters, channels, kernel, kernel),
                bias=(filters,) if draw(st.booleans()) else None,
                kwargs=dict(stride=draw(st.integers(1, 2)), padding=(padding, padding),
                            dilation=(1, 1), groups=1))


@given(case=batches_of_several_blocks(), seed=seeds)
def test_conv2d_shares_of_several_blocks_match_the_direct_sum_and_finite_differences(case, seed):
    arrays = draw_arrays(case, seed)
    x, w, b = arrays if len(arrays) == 3 else arrays + [None]
    kw = case["kwargs"]
    with split_everything(blocks_of_one_image=True):
        out = F.conv2d(*[Tensor(a) for a in arrays], **kw)
        check_grads(lambda *t: F.conv2d(*t, **kw), *arrays, seed=seed)
    expected = conv2d_loops(x, w, b, _as_pair(kw["stride"]), explicit_pads(case), (1, 1), 1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@given(rows=st.integers(1, 9), features=st.integers(1, 9), outputs=st.integers(1, 9),
       seed=seeds)
def test_linear_split_over_threads_matches_the_formulas(rows, features, outputs, seed):
    rng = np.random.default_rng(seed)
    x, w, b = (rng.standard_normal(s) for s in ((rows, features), (outputs, features), outputs))
    g = rng.standard_normal((rows, outputs))
    tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    with split_everything():
        out = F.linear(*tensors)
        out.backward(g)
    # y = x Wᵀ + b, dx = g W, dW = gᵀ x, db = Σ g, each entry summed by hand
    y = np.array([[sum(x[r, k] * w[o, k] for k in range(features)) + b[o]
                   for o in range(outputs)] for r in range(rows)])
    dx = np.array([[sum(g[r, o] * w[o, k] for o in range(outputs)) for k in range(features)]
                   for r in range(rows)])
    dw = np.array([[sum(g[r, o] * x[r, k] for r in range(rows)) for k in range(features)]
                   for o in range(outputs)])
    for got, want in zip((out.data, tensors[0].grad, tensors[1].grad, tensors[2].grad),
                         (y, dx, dw, g.sum(axis=0))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@given(m=st.integers(1, 6), k=st.integers(1, 40), n=st.integers(1, 6), seed=seeds,
       out_given=st.booleans())
def test_matmul_split_by_rows_columns_or_stretches_of_k_matches_the_sums(m, k, n, seed, out_given):
    """Whichever way the product is split (K the longest side: by stretches of K, whose partial
    sums are added), each entry is the sum over k, written into out when one is given."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    out = np.full((m, n), np.nan) if out_given else None
    with split_everything():
        got = parallel.matmul(a, b, out=out)
    expected = [[sum(a[i, t] * b[t, j] for t in range(k)) for j in range(n)] for i in range(m)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    if out_given:
        assert got is out


@given(length=st.integers(1, 50), cost=st.integers(1, 1000), minimum=st.integers(1, 5000),
       threads=st.integers(1, 4))
def test_parts_cover_the_range_once_and_are_worth_a_thread(length, cost, minimum, threads):
    with parallel.threads(threads):
        slices = parallel.parts(length, cost, minimum)
    assert [i for s in slices for i in range(s.start, s.stop)] == list(range(length))
    assert 1 <= len(slices) <= threads
    if len(slices) > 1:
        assert all((s.stop - s.start) * cost >= minimum // 2 for s in slices)


def test_threads_holds_openblas_at_one_and_gives_the_settings_back():
    before = openblas_threads()
    with parallel.threads(2):
        assert (parallel.get_threads(), openblas_threads()) == (2, 1)
        with parallel.threads(1):
            assert (parallel.get_threads(), openblas_threads()) == (1, 1)
        assert parallel.get_threads() == 2
    assert (parallel.get_threads(), openblas_threads()) == (1, before)


def test_a_part_splits_nothing_further():
    """Work run inside a part (a conv's share of the blocks) must not wait on the pool that
    runs it: parts() and matmul() run it whole there."""
    seen = {}

    def work(part):
        seen[part.start] = parallel.parts(100, 1)
    with split_everything():
        parallel.run(work, parallel.parts(2, 1))
        assert parallel.parts(100, 1) == [slice(0, 50), slice(50, 100)]
    assert seen == {0: [slice(0, 100)], 1: [slice(0, 100)]}


def test_an_error_in_any_part_is_raised():
    def work(part):
        if part.start > 0:
            raise RuntimeError("second part failed")
    with split_everything(), pytest.raises(RuntimeError, match="second part"):
        parallel.run(work, parallel.parts(4, 1))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_threads_rejects_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="positive int"):
        parallel.set_threads(bad)


@given(cfg=pool_configs(), seed=seeds)
def test_max_pool_split_over_threads_matches_the_loops(cfg, seed):
    """Forward and backward by blocks of the batch, with values -1, 0, 1: many ties."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, size=cfg["x_shape"]).astype(np.float64)
    kernel = _as_pair(cfg["kernel"])
    stride = kernel if cfg["stride"] is None else _as_pair(cfg["stride"])
    t = Tensor(x, requires_grad=True)
    with split_everything():
        out = F.max_pool2d(t, cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"])
        upstream = rng.integers(1, 10, size=out.shape).astype(np.float64)
        out.backward(upstream)
    np.testing.assert_array_equal(out.data, pool2d_loops(x, kernel, stride,
                                                         _as_pair(cfg["padding"]), "max"))
    np.testing.assert_array_equal(t.grad, max_pool2d_backward_loops(x, upstream, kernel, stride,
                                                                    _as_pair(cfg["padding"])))
    with split_everything():  # without a graph: the maxima alone, by the same blocks
        maxima = F.max_pool2d(Tensor(x), cfg["kernel"], stride=cfg["stride"],
                              padding=cfg["padding"])
    np.testing.assert_array_equal(maxima.data, out.data)
