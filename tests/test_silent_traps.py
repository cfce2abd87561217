"""Traps a learner fell into, where minigrad used to do the wrong thing quietly. Each test asserts
what PyTorch does, and would have failed before minigrad learned it."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

import minigrad as mg
from minigrad import Tensor


def test_out_of_range_axis_raises_instead_of_wrapping():
    """x.sum(axis=5) on a 2-D tensor used to reduce axis 5 % 2 = 1."""
    x = mg.ones(2, 3)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 5"):
        x.sum(axis=5)
    with pytest.raises(IndexError, match="but got -3"):
        x.max(axis=-3)


def test_sgd_step_in_a_loop_under_no_grad_updates_the_parameters():
    """`p -= lr * p.grad` used to rebind the loop variable to a new tensor, leaving the model as
    it was."""
    weight = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    bias = Tensor(np.array([0.5]), requires_grad=True)
    params = [weight, bias]
    (weight * 3.0).sum().backward()
    (bias * 2.0).sum().backward()
    arrays = [p.data for p in params]
    with mg.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    np.testing.assert_allclose(weight.data, [0.7, 1.7])
    np.testing.assert_allclose(bias.data, [0.3])
    assert all(p.data is a for p, a in zip(params, arrays)), "the update must be in place"
    assert weight.requires_grad and weight.is_leaf
    with mg.no_grad():
        for p in params:
            p.zero_()
    assert weight.data.tolist() == [0.0, 0.0]


def test_in_place_add_on_a_leaf_that_requires_grad_raises_as_pytorch():
    """`a += 1` used to rebind a to a new tensor (a graph result), silently."""
    a = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in "
                                           r"an in-place operation\.$"):
        a += 1
    assert a.data.tolist() == [1.0, 2.0] and a.is_leaf


def test_in_place_ops_on_tensors_without_grad_change_them_in_place():
    a = mg.zeros(2)
    data = a.data
    a += 1
    a *= 3
    a -= mg.tensor([1.0, 0.0])
    a /= 2
    assert a.data is data and a.data.tolist() == [1.0, 1.5]


def test_in_place_on_a_graph_result_is_refused_with_the_rewrite():
    """Stricter than PyTorch: minigrad does not record in-place ops, so a graph result (whose
    array an op may have cached for backward) cannot be changed in place."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with pytest.raises(RuntimeError, match=r"x = x \+ 1"):
        y += 1
    with mg.no_grad(), pytest.raises(RuntimeError, match="in-place"):
        y.mul_(2)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]))


def test_in_place_with_an_operand_that_requires_grad_is_refused():
    """Adding a tensor that requires grad in place would lose its gradient without a word."""
    total, w = mg.zeros(2), Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="gradient of an operand"):
        total += w


def test_print_graph_after_backward_says_the_graph_was_freed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    console = Console(record=True, width=200)
    mg.print_graph(y, console=console)
    assert "graph freed by backward(); pass retain_graph=True to keep it" in console.export_text()
    assert "graph freed by backward()" in mg.to_dot(y)
    kept = (x * 2).sum()
    kept.backward(retain_graph=True)
    console = Console(record=True, width=200)
    mg.print_graph(kept, console=console)
    text = console.export_text()
    assert "freed" not in text and "Mul" in text
