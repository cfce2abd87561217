"""The autograd graph: reuse of tensors, very deep chains, no_grad, freeing after backward,
backward's argument checks, and the two renderings (rich tree and Graphviz DOT)."""

from __future__ import annotations

import gc
import io
import math
import re
import sys

import numpy as np
import pytest
from rich.console import Console

import minigrad as mg
import minigrad.engine.functional as F
from minigrad import Tensor


def leaf(values, name=None):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True, name=name)


# ---------------------------------------------------------------------------------------------
# Reused tensors
# ---------------------------------------------------------------------------------------------

def test_tensor_added_to_itself():
    a = leaf([1.0, -2.0, 3.0])
    (a + a).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(a.grad, [2.0, 4.0, 6.0])


def test_tensor_multiplied_by_itself():
    a = leaf([1.0, -2.0, 3.0])
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, -4.0, 6.0])
    b = leaf([1.5, 2.0])
    (b * b * b).sum().backward()  # 3b²
    np.testing.assert_allclose(b.grad, [6.75, 12.0])


def test_diamond():
    # a -> (b = 2a, c = a + 1) -> d = b * c = 2a² + 2a; dd/da = 4a + 2
    a = leaf([0.5, -1.0, 2.0])
    b, c = a * 2, a + 1
    (b * c).backward(np.ones(3))
    np.testing.assert_allclose(a.grad, 4 * np.array([0.5, -1.0, 2.0]) + 2)


def test_double_diamond_with_shared_intermediate():
    # x -> y = x²; z = y + y*x; w = z * y  = (x² + x³) x² = x⁴ + x⁵; dw/dx = 4x³ + 5x⁴
    x = leaf([0.5, 1.0, -2.0])
    y = x * x
    z = y + y * x
    w = z * y
    w.sum().backward()
    xv = np.array([0.5, 1.0, -2.0])
    np.testing.assert_allclose(x.grad, 4 * xv ** 3 + 5 * xv ** 4)


def test_intermediate_used_by_two_branches_and_retain_grad():
    x = leaf([1.0, 2.0])
    h = (x * 3).retain_grad()
    out = (h.exp() + h * h).sum()
    out.backward()
    hv = np.array([3.0, 6.0])
    np.testing.assert_allclose(h.grad, np.exp(hv) + 2 * hv)
    np.testing.assert_allclose(x.grad, 3 * (np.exp(hv) + 2 * hv))


def test_only_leaves_keep_gradients_by_default():
    x = leaf([1.0, 2.0])
    h = x * 2
    (h * h).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(x.grad, [8.0, 16.0])


def test_inputs_without_requires_grad_get_no_gradient():
    x = leaf([1.0, 2.0])
    c = Tensor(np.array([3.0, 4.0]))
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


# ---------------------------------------------------------------------------------------------
# Deep chains
# ---------------------------------------------------------------------------------------------

def test_chain_of_ten_thousand_multiplies():
    limit = sys.getrecursionlimit()
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad, [math.pow(1.0001, 10_000)] * 2, rtol=1e-9)
    np.testing.assert_allclose(y.data, np.array([1.0, 2.0]) * math.pow(1.0001, 10_000), rtol=1e-9)


def test_chain_of_ten_thousand_adds_with_low_recursion_limit():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # backward must be iterative, not merely fit in the default limit
    try:
        x = leaf([1.0, 2.0, 3.0])
        y = x
        for _ in range(10_000):
            y = y + 0
        y.backward(np.array([1.0, 2.0, 3.0]))
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_deep_chain_dot_and_teardown_without_backward():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y + 1.0
    dot = mg.to_dot(y)
    assert dot.count("->") == 3 * 10_000  # per Add: 2 inputs (y, the constant) + 1 output
    del y, dot
    gc.collect()  # dropping a deep, never-differentiated graph must not crash


# ---------------------------------------------------------------------------------------------
# no_grad
# ---------------------------------------------------------------------------------------------

def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        results = [x * 2, x + x, -x, x.exp(), x.sum(), F.linear(x, w), F.softmax(x),
                   x.reshape(2, 1), F.relu(x), x ** 2]
    for r in results:
        assert not r.requires_grad
        assert r.op is None
    assert mg.is_grad_enabled()
    y = x * 2
    assert y.requires_grad and y.op is not None


def test_no_grad_restores_state_after_an_exception():
    with pytest.raises(ZeroDivisionError), mg.no_grad():
        _ = 1 / 0
    assert mg.is_grad_enabled()
    with pytest.raises(ValueError), mg.no_grad():
        _ = Tensor(np.ones(2)) + Tensor(np.ones(3))
    assert mg.is_grad_enabled()


def test_nested_no_grad():
    with mg.no_grad():
        with mg.no_grad():
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()  # the inner block restores the outer (disabled) state
    assert mg.is_grad_enabled()


# ---------------------------------------------------------------------------------------------
# Freeing the graph, retain_graph
# ---------------------------------------------------------------------------------------------

def test_graph_is_freed_after_backward():
    x = leaf([1.0, 2.0, 3.0])
    h = x * x
    y = h.sum()
    ops = [y.op, h.op]
    y.backward()
    assert y.op is None and h.op is None
    for op in ops:  # the ops dropped their inputs and cached arrays
        assert op.inputs == ()
        assert not any(isinstance(v, np.ndarray) for v in vars(op).values())
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 2).sum().backward()  # a new graph that runs into the freed part
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])  # unchanged by the failed attempts


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0, 3.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    assert y.op is not None
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0, 12.0])
    assert y.op is None
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_through_a_conv_net():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 1, 6, 6)))
    w = Tensor(rng.standard_normal((2, 1, 3, 3)), requires_grad=True)
    loss = F.cross_entropy(F.flatten(F.max_pool2d(F.conv2d(x, w).relu(), 2)), np.array([0, 7]))
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * first, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# backward's argument checks
# ---------------------------------------------------------------------------------------------

def test_backward_on_non_scalar_needs_a_gradient():
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(RuntimeError) as info:
        y.backward()
    message = str(info.value)
    assert "scalar" in message and "(2, 3)" in message


def test_backward_with_wrong_gradient_shape():
    y = leaf(np.ones((2, 3))) * 2
    for bad in (np.ones((3, 2)), np.ones(6), np.ones((1, 2, 3))):
        with pytest.raises(ValueError) as info:
            y.backward(bad, retain_graph=True)
        assert "(2, 3)" in str(info.value)
    s = leaf([1.0, 2.0]).sum()
    with pytest.raises(ValueError):
        s.backward(np.ones(2))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError):
        Tensor(np.ones(3)).sum().backward()


def test_backward_accepts_a_tensor_gradient_and_scalar_of_shape_one():
    x = leaf([1.0, 2.0])
    (x * 3).backward(Tensor(np.array([1.0, 1.0])))
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    z = leaf([[2.0]])
    (z * z).backward()  # one element: the default gradient is 1
    np.testing.assert_array_equal(z.grad, [[4.0]])


# ---------------------------------------------------------------------------------------------
# Renderings
# ---------------------------------------------------------------------------------------------

def _small_conv_net():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 8, 8)), name="images")
    w1 = Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True, name="conv1.weight")
    b1 = Tensor(np.zeros(4), requires_grad=True, name="conv1.bias")
    w2 = Tensor(rng.standard_normal((5, 64)), requires_grad=True, name="fc.weight")
    b2 = Tensor(np.zeros(5), requires_grad=True, name="fc.bias")
    h = F.conv2d(x, w1, b1, padding=1)          # (2, 4, 8, 8)
    h = F.relu(h)
    h = F.max_pool2d(h, 2)                      # (2, 4, 4, 4)
    h = F.flatten(h)                            # (2, 64)
    logits = F.linear(h, w2, b2)                # (2, 5)
    loss = F.cross_entropy(logits, np.array([1, 4]))
    return loss, {"x": x, "w1": w1, "b1": b1, "w2": w2, "b2": b2}


def _shape_text(shape):
    return "×".join(map(str, shape))


def test_rich_tree_of_a_conv_net():
    loss, _ = _small_conv_net()
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(mg.tree(loss))
    text = console.export_text()
    for op in ("Conv2d", "ReLU", "MaxPool2d", "Reshape", "Linear", "CrossEntropy"):
        assert op in text, op
    for name in ("conv1.weight", "conv1.bias", "fc.weight", "fc.bias", "images"):
        assert name in text, name
    for shape in [(2, 3, 8, 8), (4, 3, 3, 3), (2, 4, 8, 8), (2, 4, 4, 4), (2, 64), (5, 64), (2, 5)]:
        assert _shape_text(shape) in text, shape
    assert "scalar" in text
    # output at the root: the first line is the loss, made by CrossEntropy
    first = text.strip().splitlines()[0]
    assert "CrossEntropy" in first
    # ops appear from output back to input
    order = [text.index(op) for op in ("CrossEntropy", "Linear", "Reshape", "MaxPool2d", "ReLU",
                                       "Conv2d")]
    assert order == sorted(order)
    mg.print_graph(loss, console=console)  # the convenience printer works too


def test_rich_tree_shows_a_reused_tensor_once():
    a = leaf([1.0, 2.0], name="a")
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(mg.tree((a * a).sum()))
    text = console.export_text()
    lines_with_a = [line for line in text.splitlines() if re.search(r"\ba\b", line)]
    assert len(lines_with_a) == 2  # once in full, once as a back-reference
    assert "shown above" not in lines_with_a[0] and "shown above" in lines_with_a[1]
    assert text.count("shown above") == 1


NODE = re.compile(r'^\s*(\w+) \[shape=(box|ellipse), label="([^"]*)"')
EDGE = re.compile(r"^\s*(\w+) -> (\w+);")


def _parse_dot(dot: str):
    nodes, edges = {}, []
    for line in dot.splitlines():
        if m := NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = (m.group(2), m.group(3))
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
    return nodes, edges


def test_dot_of_a_conv_net():
    loss, _ = _small_conv_net()
    dot = mg.to_dot(loss)
    assert dot.lstrip().startswith("digraph")
    assert dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}") == 1
    nodes, edges = _parse_dot(dot)
    boxes = {k for k, (s, _) in nodes.items() if s == "box"}
    ellipses = {k: label for k, (s, label) in nodes.items() if s == "ellipse"}
    # tensors: images, conv1.weight, conv1.bias, conv out, relu out, pool out, flat out,
    # fc.weight, fc.bias, logits, labels, loss
    assert len(boxes) == 12
    assert sorted(ellipses.values()) == sorted(["Conv2d", "ReLU", "MaxPool2d", "Reshape", "Linear",
                                                "CrossEntropy"])
    # edges = op inputs + op outputs: conv 3+1, relu 1+1, pool 1+1, reshape 1+1, linear 3+1, ce 2+1
    assert len(edges) == 17
    for a, b in edges:  # every edge joins a tensor and an op
        assert (a in boxes) != (b in boxes) and {a, b} <= set(nodes)
    outs = {op: [b for a, b in edges if a == op] for op in ellipses}
    ins = {op: [a for a, b in edges if b == op] for op in ellipses}
    assert all(len(v) == 1 for v in outs.values()), "each op has exactly one output tensor"
    # walk from the loss (the tensor with no outgoing edge that an op produced) back to the input
    produced_by = {outs[op][0]: op for op in ellipses}
    sinks = [t for t in boxes if not any(a == t for a, _ in edges)]
    assert len(sinks) == 1 and sinks[0] in produced_by
    chain, t = [], sinks[0]
    while t in produced_by:
        op = produced_by[t]
        chain.append(ellipses[op])
        data_inputs = [p for p in ins[op] if p in produced_by or "images" in nodes[p][1]]
        t = data_inputs[0] if data_inputs else None
    assert chain == ["CrossEntropy", "Linear", "Reshape", "MaxPool2d", "ReLU", "Conv2d"]
    # the named weights feed the right ops, and are labelled with name and shape
    by_label = {label.split("\\n")[0]: k for k, (s, label) in nodes.items() if s == "box"}
    conv = next(op for op, label in ellipses.items() if label == "Conv2d")
    linear = next(op for op, label in ellipses.items() if label == "Linear")
    assert {by_label["images"], by_label["conv1.weight"], by_label["conv1.bias"]} == set(ins[conv])
    assert {by_label["fc.weight"], by_label["fc.bias"]} < set(ins[linear])
    assert nodes[by_label["conv1.weight"]][1] == "conv1.weight\\n" + _shape_text((4, 3, 3, 3))
    # leaves that require grad are highlighted; the data is not
    for line in dot.splitlines():
        if line.strip().startswith(by_label["conv1.weight"] + " ["):
            assert "filled" in line
        if line.strip().startswith(by_label["images"] + " ["):
            assert "filled" not in line


def test_dot_with_a_reused_tensor():
    a = leaf([1.0, 2.0], name="a")
    b = a + a
    nodes, edges = _parse_dot(mg.to_dot(b))
    boxes = [k for k, (s, _) in nodes.items() if s == "box"]
    ops = [k for k, (s, _) in nodes.items() if s == "ellipse"]
    assert len(boxes) == 2 and len(ops) == 1
    a_id = next(k for k in boxes if nodes[k][1].startswith("a"))
    assert edges.count((a_id, ops[0])) == 2  # both operands of the Add
    assert len(edges) == 3


def test_dot_of_a_diamond():
    a = leaf([1.0], name="a")
    b, c = a * 2, a + 1
    d = b * c
    nodes, edges = _parse_dot(mg.to_dot(d))
    # tensors: a, const 2, b, const 1, c, d; ops: Mul, Add, Mul
    assert sum(s == "box" for s, _ in nodes.values()) == 6
    assert sum(s == "ellipse" for s, _ in nodes.values()) == 3
    assert len(edges) == 3 + 3 + 3
    a_id = next(k for k, (s, label) in nodes.items() if label.startswith("a"))
    assert len([e for e in edges if e[0] == a_id]) == 2  # a feeds two ops, one node


def test_rich_tree_shows_a_tensor_in_full_where_it_is_first_printed():
    # x is an input of the last op at the top level and of one deep inside the first branch:
    # the line printed first (the deep one) is the full one, the later one points "above"
    x = leaf([1.0, 2.0], name="x")
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(mg.tree(((x * 2).exp() + x).sum()))
    lines_with_x = [line for line in console.export_text().splitlines() if re.search(r"\bx\b", line)]
    assert len(lines_with_x) == 2
    assert "shown above" not in lines_with_x[0] and "shown above" in lines_with_x[1]
