"""The Tensor API that micrograd and PyTorch tutorials use: indexing, cat/stack/split, where,
maximum/minimum, clamp, sqrt, abs, min/argmax, var/std, view/permute/transpose/squeeze/
unsqueeze/expand/flatten, softmax, dim=/keepdim=, conversions and constructors.

Three kinds of evidence per op:
- gradients against central finite differences (float64, random shapes, random upstream grad);
- forward against an oracle written as plain loops (numpy itself for index expressions, since
  numpy's indexing rules are what minigrad promises);
- PyTorch's own outputs and gradients, recorded by tests/engine_goldens/make_tensor_api.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from finite_differences import numeric_grads
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import Tensor

EPS, ATOL, RTOL = 1e-6, 1e-6, 1e-5
seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


# ---------------------------------------------------------------------------------------------
# Gradient checks against central differences (tests/finite_differences.py)
# ---------------------------------------------------------------------------------------------

def check_grads(fn, *arrays, seed=0):
    """Backward with a random upstream gradient == finite differences, for every input.
    Returns the output tensor."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    for i, t in enumerate(tensors):
        np.testing.assert_array_equal(t.data, arrays[i], err_msg="an op mutated its input")
        assert t.grad is not None and t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad, numeric_grads(fn, arrays, upstream, [i])[0], rtol=RTOL,
                                   atol=ATOL, err_msg=f"gradient of input {i}")
    return out


def test_check_grads_can_fail():
    class WrongAbs(mg.Function):
        def forward(self, a):
            return np.abs(a)

        def backward(self, grad):
            return grad  # should be grad * sign(a)

    with pytest.raises(AssertionError):
        check_grads(WrongAbs.apply, np.array([-1.0, 2.0]))


def rand(seed, shape, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def distinct(seed, shape, step=0.05):
    """Pairwise at least `step` apart, so max/min/maximum/clamp are differentiable within EPS."""
    size = int(np.prod(shape))
    ranks = np.random.default_rng(seed).permutation(size) - size / 2
    return (ranks * step + 0.013).reshape(shape)  # 0.013: no value exactly at 0


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------

@st.composite
def index_expressions(draw):
    """A shape and a key mixing ints, stepped slices, None, Ellipsis, integer arrays with
    repeated entries, and boolean masks."""
    shape = draw(shapes)
    kind = draw(st.sampled_from(["basic", "integer arrays", "mask", "mask on dim 0"]))
    if kind == "mask":
        return shape, draw(hnp.arrays(bool, shape))
    if kind == "mask on dim 0":
        return shape, (draw(hnp.arrays(bool, shape[:1])), Ellipsis)
    length = draw(st.integers(1, 5))
    parts = []
    for n in shape:
        choice = draw(st.sampled_from(["int", "slice", "all"] + ["array"] * (kind != "basic")))
        if choice == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif choice == "slice":
            bound = st.none() | st.integers(-n, n)
            parts.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, 3]))))
        elif choice == "array":
            parts.append(draw(st.lists(st.integers(-n, n - 1), min_size=length, max_size=length)))
        else:
            parts.append(slice(None))
    if kind == "integer arrays" and not any(isinstance(p, list) for p in parts):
        parts[0] = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=length,
                                 max_size=length))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if draw(st.booleans()) and parts[-1] == slice(None):
        parts[-1] = Ellipsis
    return shape, tuple(parts)


@given(case=index_expressions(), seed=seeds)
def test_indexing_gradients_and_forward(case, seed):
    shape, key = case
    x = rand(seed, shape)
    out = check_grads(lambda t: t[key], x, seed=seed)
    numpy_key = tuple(np.asarray(p) if isinstance(p, list) else p for p in key) \
        if isinstance(key, tuple) else key
    np.testing.assert_array_equal(out.data, x[numpy_key])


def test_repeated_indices_accumulate():
    x = Tensor(np.zeros(3), requires_grad=True)
    x[[0, 2, 2, 2]].backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 9.0])


def test_index_with_tensor_indices_and_comparison_mask():
    x = Tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    rows, cols = mg.tensor([1, 1, 0]), mg.tensor([0, 0, 1])
    x[rows, cols].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1], [2, 0]])
    np.testing.assert_array_equal(x[x > 0].data, [1.0, 4.0])


def test_pick_the_label_logit_matches_loops():
    """logits[range(n), y], the cross-entropy idiom of micrograd / Karpathy's makemore."""
    rng = np.random.default_rng(0)
    logits, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    picked = Tensor(logits)[range(5), y]
    assert picked.data.tolist() == [logits[i][y[i]] for i in range(5)]


def test_indexing_errors_are_numpy_index_errors():
    x = mg.zeros(2, 3)
    with pytest.raises(IndexError):
        x[2]
    with pytest.raises(IndexError):
        x[:, [0, 3]]


# ---------------------------------------------------------------------------------------------
# Joining and splitting
# ---------------------------------------------------------------------------------------------

@given(shape=shapes, data=st.data(), seed=seeds)
def test_cat_gradients_and_forward(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    arrays = []
    for i, size in enumerate(sizes):
        piece = list(shape)
        piece[dim] = size
        arrays.append(rand(seed + i, piece))
    out = check_grads(lambda *ts: mg.cat(ts, dim=dim), *arrays, seed=seed)
    axis = dim % len(shape)
    rows = [np.moveaxis(a, axis, 0)[k] for a in arrays for k in range(a.shape[axis])]
    np.testing.assert_array_equal(np.moveaxis(out.data, axis, 0), np.array(rows))


@given(shape=shapes, count=st.integers(1, 3), data=st.data(), seed=seeds)
def test_stack_gradients_and_forward(shape, count, data, seed):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [rand(seed + i, shape) for i in range(count)]
    out = check_grads(lambda *ts: mg.stack(ts, dim=dim), *arrays, seed=seed)
    for i in range(count):
        np.testing.assert_array_equal(np.take(out.data, i, axis=dim % (len(shape) + 1)), arrays[i])


@given(shape=shapes, data=st.data(), seed=seeds)
def test_split_gradients_and_chunk_sizes(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    length = shape[dim]
    if data.draw(st.booleans()):
        arg = data.draw(st.integers(1, length + 1))
        expected = [min(arg, length - s) for s in range(0, length, arg)]
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, length), max_size=3)))
        expected = arg = [b - a for a, b in zip([0] + cuts, cuts + [length])]
    x = rand(seed, shape)
    chunks = mg.split(Tensor(x), arg, dim=dim)
    assert [c.shape[dim] for c in chunks] == expected
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks], axis=dim), x)
    weights = np.random.default_rng(seed).standard_normal(len(chunks))
    check_grads(lambda t: mg.cat([c * w for c, w in zip(t.split(arg, dim), weights)], dim), x,
                seed=seed)


def test_join_shape_errors_name_the_op():
    with pytest.raises(ValueError, match="cat: .*(2, 3).*(3, 2)"):
        mg.cat([mg.zeros(2, 3), mg.zeros(3, 2)])
    with pytest.raises(ValueError, match="stack"):
        mg.stack([mg.zeros(2), mg.zeros(3)])
    with pytest.raises(ValueError, match="split"):
        mg.zeros(3).split([1, 1])


# ---------------------------------------------------------------------------------------------
# Elementwise choices: where, maximum/minimum, clamp, sqrt, abs, pow
# ---------------------------------------------------------------------------------------------

@given(shape=shapes, seed=seeds)
def test_where_gradients_and_forward(shape, seed):
    a, b = rand(seed, shape), rand(seed + 1, shape[-1:])
    condition = np.random.default_rng(seed).random(shape) < 0.5
    out = check_grads(lambda s, t: mg.where(condition, s, t), a, b, seed=seed)
    expected = np.empty(shape)
    for idx in np.ndindex(shape):
        expected[idx] = a[idx] if condition[idx] else b[idx[-1]]
    np.testing.assert_array_equal(out.data, expected)


@given(shape=shapes, smaller=st.booleans(), seed=seeds)
def test_maximum_minimum_gradients_and_forward(shape, smaller, seed):
    values = distinct(seed, (2,) + shape)
    op, pick = (mg.minimum, min) if smaller else (mg.maximum, max)
    out = check_grads(op, values[0], values[1], seed=seed)
    for idx in np.ndindex(shape):
        assert out.data[idx] == pick(values[0][idx], values[1][idx])


def test_maximum_and_minimum_split_ties_half_half_as_torch():
    for op in (mg.maximum, mg.minimum):
        a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 3.0], requires_grad=True)
        op(a, b).backward(np.array([1.0, 1.0]))
        winner_b = op is mg.maximum
        assert a.grad.tolist() == [0.5, 0.0 if winner_b else 1.0]
        assert b.grad.tolist() == [0.5, 1.0 if winner_b else 0.0]


@given(shape=shapes, data=st.data(), seed=seeds)
def test_clamp_gradients_and_forward(shape, data, seed):
    low = data.draw(st.none() | st.sampled_from([-1.0, -0.3, 0.0]))
    highs = st.sampled_from([0.2, 1.0])
    high = data.draw(highs if low is None else st.none() | highs)  # at least one bound
    x = distinct(seed, shape, step=0.11)  # never within EPS of a bound
    out = check_grads(lambda t: t.clamp(low, high), x, seed=seed)
    for idx in np.ndindex(shape):
        value = x[idx] if low is None else max(x[idx], low)
        assert out.data[idx] == (value if high is None else min(value, high))


def test_clamp_passes_the_gradient_at_the_bounds_as_torch():
    x = Tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    x.clip(0.0, 1.0).backward(np.ones(5))
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


@given(shape=shapes, seed=seeds)
def test_sqrt_abs_pow_gradients_and_forward(shape, seed):
    x = rand(seed, shape, 0.5, 2.0) * np.random.default_rng(seed).choice([-1, 1], shape)
    out = check_grads(lambda t: t.abs().sqrt() + t.pow(3), x, seed=seed)
    for idx in np.ndindex(shape):
        assert out.data[idx] == pytest.approx(abs(x[idx]) ** 0.5 + x[idx] ** 3)


def test_abs_has_derivative_zero_at_zero():
    x = Tensor([0.0, -2.0, 3.0], requires_grad=True)
    x.abs().backward(np.ones(3))
    assert x.grad.tolist() == [0.0, -1.0, 1.0]


# ---------------------------------------------------------------------------------------------
# Reductions with dim= / keepdim=
# ---------------------------------------------------------------------------------------------

@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_min_max_dim_values_indices_and_gradients(shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    largest = data.draw(st.booleans())
    x = distinct(seed, shape)
    reduce = (lambda t: t.max(dim=dim, keepdim=keepdim)) if largest else \
        (lambda t: t.min(dim=dim, keepdim=keepdim))
    values, indices = reduce(Tensor(x))
    check_grads(lambda t: reduce(t).values, x, seed=seed)
    axis = dim % len(shape)
    moved = np.moveaxis(x, axis, -1)
    for idx in np.ndindex(moved.shape[:-1]):
        row = list(moved[idx])
        best = (max if largest else min)(row)
        where = idx[:axis] + ((0,) if keepdim else ()) + idx[axis:]
        assert values.data[where] == best and indices[where] == row.index(best)
    argbest = Tensor(x).argmax(dim, keepdim) if largest else Tensor(x).argmin(dim, keepdim)
    np.testing.assert_array_equal(argbest, indices)


def test_argmax_without_dim_is_the_flat_position():
    x = Tensor([[1.0, 5.0], [7.0, 0.0]])
    assert x.argmax() == 2 and x.argmin() == 3


def test_max_dim_tie_goes_to_first_position():
    x = Tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    values.backward(np.ones(1))
    assert indices.tolist() == [1] and x.grad.tolist() == [[0.0, 1.0, 0.0]]


@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_var_std_gradients_and_forward(shape, data, keepdim, seed):
    dim = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    correction = data.draw(st.sampled_from([0, 1]))
    x = rand(seed, shape)
    axes = range(len(shape)) if dim is None else [dim % len(shape)]
    count = int(np.prod([shape[a] for a in axes]))
    if count - correction <= 0:
        return  # var of a single value with correction 1 divides by zero, as in PyTorch
    out = check_grads(lambda t: t.var(dim, keepdim=keepdim, correction=correction), x, seed=seed)
    if count > 1:  # the std of one value is 0, where √ has no derivative
        check_grads(lambda t: t.std(dim, unbiased=bool(correction), keepdim=keepdim), x, seed=seed)
    kept = [a for a in range(len(shape)) if a not in axes]
    for position, idx in enumerate(np.ndindex(*[shape[a] for a in kept])):
        group = [x[full] for full in np.ndindex(shape) if tuple(full[a] for a in kept) == idx]
        mean = sum(group) / count
        expected = sum((v - mean) ** 2 for v in group) / (count - correction)
        assert out.data.reshape(-1)[position] == pytest.approx(expected)


def test_var_default_is_unbiased_as_torch():
    assert mg.tensor([1.0, 2.0, 3.0]).var().item() == pytest.approx(1.0)
    assert mg.tensor([1.0, 2.0, 3.0]).var(unbiased=False).item() == pytest.approx(2 / 3)


@given(shape=shapes, data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_sum_mean_accept_dim_and_keepdim(shape, data, keepdim, seed):
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    x = rand(seed, shape)
    summed = check_grads(lambda t: t.sum(dim=tuple(dims), keepdim=keepdim), x, seed=seed)
    averaged = check_grads(lambda t: t.mean(dim=tuple(dims), keepdim=keepdim), x, seed=seed)
    np.testing.assert_allclose(summed.data, x.sum(axis=tuple(dims), keepdims=keepdim))
    np.testing.assert_allclose(averaged.data, x.mean(axis=tuple(dims), keepdims=keepdim))


# ---------------------------------------------------------------------------------------------
# Shape ops
# ---------------------------------------------------------------------------------------------

@given(shape=shapes, data=st.data(), seed=seeds)
def test_permute_transpose_view_gradients_and_forward(shape, data, seed):
    perm = data.draw(st.permutations(range(len(shape))))
    dims = st.integers(-len(shape), len(shape) - 1)
    first, second = data.draw(dims), data.draw(dims)
    x = rand(seed, shape)
    permuted = check_grads(lambda t: t.permute(*perm), x, seed=seed)
    swapped = check_grads(lambda t: t.transpose(first, second), x, seed=seed)
    viewed = check_grads(lambda t: t.view(-1), x, seed=seed)
    for idx in np.ndindex(shape):
        assert permuted.data[tuple(idx[p] for p in perm)] == x[idx]
        moved = list(idx)
        moved[first], moved[second] = moved[second], moved[first]
        assert swapped.data[tuple(moved)] == x[idx]
        assert viewed.data[np.ravel_multi_index(idx, shape)] == x[idx]


def test_transpose_of_two_dims_swaps_them_even_on_a_matrix():
    x = mg.arange(6).reshape(2, 3)
    assert x.transpose(0, 1).shape == (3, 2) and x.transpose(-1, 0).shape == (3, 2)
    assert x.transpose((0, 1)).shape == (2, 3)   # numpy's full permutation, as a tuple
    assert mg.zeros(2, 3, 4).transpose(2, 0, 1).shape == (4, 2, 3)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), data=st.data(),
       seed=seeds)
def test_squeeze_unsqueeze_flatten_gradients_and_shapes(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    new = data.draw(st.integers(-len(shape) - 1, len(shape)))
    start = data.draw(st.integers(0, len(shape) - 1))
    end = data.draw(st.integers(start, len(shape) - 1))
    x = rand(seed, shape)
    squeezed = check_grads(lambda t: t.squeeze(dim), x, seed=seed)
    assert squeezed.shape == tuple(n for i, n in enumerate(shape)
                                   if not (i == dim % len(shape) and n == 1))
    squeezed_all = check_grads(lambda t: t.squeeze(), x, seed=seed)
    assert squeezed_all.shape == tuple(n for n in shape if n != 1)
    unsqueezed = check_grads(lambda t: t.unsqueeze(new), x, seed=seed)
    assert unsqueezed.shape[new] == 1 and unsqueezed.data.size == x.size
    flat = check_grads(lambda t: t.flatten(start, end), x, seed=seed)
    assert flat.shape == shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]


@given(shape=shapes, data=st.data(), seed=seeds)
def test_expand_gradients_and_forward(shape, data, seed):
    base = tuple(data.draw(st.sampled_from([1, n])) for n in shape)
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    sizes = lead + [n if b == 1 else data.draw(st.sampled_from([-1, n]))  # -1 keeps a size
                    for n, b in zip(shape, base)]
    x = rand(seed, base)
    out = check_grads(lambda t: t.expand(*sizes), x, seed=seed)
    assert out.shape == tuple(lead) + shape
    for idx in np.ndindex(out.shape):
        source = tuple(0 if b == 1 else i for i, b in zip(idx[len(lead):], base))
        assert out.data[idx] == x[source]


def test_expand_errors_name_the_sizes():
    with pytest.raises(ValueError, match="expand"):
        mg.zeros(2, 3).expand(3, 3)


@given(shape=shapes, data=st.data(), seed=seeds)
def test_softmax_methods_take_a_dim(shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rand(seed, shape)
    probs = check_grads(lambda t: t.softmax(dim), x, seed=seed)
    check_grads(lambda t: t.log_softmax(dim=dim), x, seed=seed)
    np.testing.assert_allclose(probs.data.sum(axis=dim), 1.0)


# ---------------------------------------------------------------------------------------------
# Dimensions out of range raise IndexError (no silent wrap-around), as in PyTorch
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda t: t.sum(dim=5), lambda t: t.sum(axis=-3), lambda t: t.mean(2), lambda t: t.max(axis=2),
    lambda t: t.max(dim=2), lambda t: t.min(-3), lambda t: t.argmax(2), lambda t: t.var(2),
    lambda t: t.softmax(2), lambda t: t.log_softmax(-3), lambda t: t.squeeze(2),
    lambda t: t.unsqueeze(4), lambda t: t.transpose(0, 2), lambda t: t.permute(0, 2),
    lambda t: t.flatten(0, 2), lambda t: t.split(1, dim=2), lambda t: mg.cat([t, t], dim=2),
    lambda t: mg.stack([t, t], dim=4),
])
def test_out_of_range_dims_raise_index_error(call):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of"):
        call(mg.zeros(2, 3))


def test_index_error_message_is_torchs():
    with pytest.raises(IndexError) as caught:
        mg.zeros(2, 3).sum(axis=5)
    assert str(caught.value) == ("Dimension out of range (expected to be in range of [-2, 1], "
                                 "but got 5)")
    assert mg.tensor(3.0).sum(0).item() == 3.0   # a 0-d tensor accepts dim 0 and -1, as torch


# ---------------------------------------------------------------------------------------------
# Conversions and constructors
# ---------------------------------------------------------------------------------------------

def test_conversions_of_one_element_tensors():
    t = mg.tensor([[2.5]])
    assert float(t) == 2.5 and int(t) == 2 and bool(t) and t.item() == 2.5
    assert t.tolist() == [[2.5]] and isinstance(t.numpy(), np.ndarray)
    many = mg.zeros(2)
    with pytest.raises(ValueError, match="only one element tensors"):
        float(many)
    with pytest.raises(ValueError, match="only one element tensors"):
        int(many)
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value"):
        bool(many)
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted"):
        many.item()


def test_iterating_gives_rows_with_gradients():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    sum(row.sum() * i for i, row in enumerate(x)).backward()
    np.testing.assert_array_equal(x.grad, [[0, 0], [1, 1], [2, 2]])


@pytest.mark.parametrize("make", [mg.zeros, mg.ones, mg.empty, mg.randn, mg.rand])
def test_shape_constructors(make):
    for t in (make(2, 3), make((2, 3)), make([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
    t = make(4, dtype=np.float64, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad and t.is_leaf


def test_value_constructors():
    assert mg.tensor([1, 2]).dtype == np.int64 and mg.tensor([1.0, 2]).dtype == np.float32
    source = np.ones(2)
    copy = mg.tensor(source, requires_grad=True)
    source[0] = 5
    assert copy.data.tolist() == [1.0, 1.0] and copy.dtype == np.float64 and copy.requires_grad
    assert mg.full((2, 2), 7.0).data.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert mg.full((1,), 3).dtype == np.int64
    assert mg.arange(4).data.tolist() == [0, 1, 2, 3] and mg.arange(4).dtype == np.int64
    assert mg.arange(1, 2, 0.5).data.tolist() == [1.0, 1.5]
    assert mg.arange(0, 1, 0.5).dtype == np.float32
    assert mg.linspace(0, 1, 5).data.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert mg.eye(2).data.tolist() == [[1, 0], [0, 1]] and mg.eye(2, 3).shape == (2, 3)
    like = mg.zeros(2, 3, dtype=np.float64)
    for t in (mg.zeros_like(like), mg.ones_like(like), mg.randn_like(like), mg.rand_like(like),
              mg.full_like(like, 2.0)):
        assert t.shape == (2, 3) and t.dtype == np.float64
    assert mg.ones_like(like).data.sum() == 6 and mg.full_like(like, 2.0).data.sum() == 12


def test_random_constructors_follow_manual_seed():
    draws = []
    for _ in range(2):
        mg.manual_seed(7)
        draws.append(np.concatenate([mg.randn(3).data, mg.rand(3).data, mg.randint(5, (3,)).data,
                                     mg.randint(2, 4, (3,)).data]))
    np.testing.assert_array_equal(*draws)
    assert mg.randint(5, (100,)).data.max() < 5 and mg.randint(2, 4, (100,)).data.min() >= 2


# ---------------------------------------------------------------------------------------------
# The learner's list, as written in the tutorials
# ---------------------------------------------------------------------------------------------

def test_the_learners_list_works():
    mg.manual_seed(0)
    x = mg.randn(4, 3, requires_grad=True)
    y = mg.tensor([0, 2, 1, 2])
    assert x[0].shape == (3,) and x[:, 1].shape == (4,)
    loss = -x.log_softmax(dim=1)[range(4), y].mean()
    loss.backward()
    assert x.grad.shape == (4, 3)
    assert mg.cat([x, x]).shape == (8, 3) and mg.stack([x, x]).shape == (2, 4, 3)
    assert x.view(12).shape == (12,) and x.permute(1, 0).shape == (3, 4)
    assert x.unsqueeze(0).squeeze(0).shape == (4, 3)
    assert x.min().shape == () and x.argmax(dim=1).shape == (4,)
    assert (x * x).sqrt().shape == x.abs().shape == x.clip(-1, 1).shape == (4, 3)
    assert x.var().shape == () and x.softmax(dim=1).shape == (4, 3)
    assert x.sum(dim=1).shape == (4,) and isinstance(float(loss), float)
    assert mg.zeros(2, 3).shape == (2, 3)


# ---------------------------------------------------------------------------------------------
# PyTorch goldens (recorded by tests/engine_goldens/make_tensor_api.py)
# ---------------------------------------------------------------------------------------------

GOLDENS = np.load(Path(__file__).parent / "engine_goldens" / "tensor_api.npz", allow_pickle=False)
FUNCTIONS = {name: getattr(mg, name) for name in ("cat", "stack", "split", "where", "maximum",
                                                  "minimum")}


@pytest.mark.parametrize("i", range(len(GOLDENS["expressions"])),
                         ids=[str(e) for e in GOLDENS["expressions"]])
def test_matches_pytorch(i):
    expression = str(GOLDENS["expressions"][i])
    inputs = {key[3:]: mg.tensor(GOLDENS[key], requires_grad=GOLDENS[key].dtype.kind == "f")
              for key in GOLDENS.files if key.startswith("in_")}
    out = eval(expression, {**FUNCTIONS, **inputs})
    expected = GOLDENS[f"out_{i}"]
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-10)
    out.backward(GOLDENS[f"upstream_{i}"])
    read = set(re.findall(r"[A-Za-z_]+", expression))
    for name, tensor in inputs.items():
        if f"grad_{i}_{name}" in GOLDENS.files:
            np.testing.assert_allclose(tensor.grad, GOLDENS[f"grad_{i}_{name}"], rtol=0, atol=1e-10,
                                       err_msg=f"gradient of {name}")
        elif tensor.requires_grad:
            assert name not in read and tensor.grad is None
