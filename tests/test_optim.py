"""minigrad.engine.optim against independent oracles.

- Reference implementations written here as plain float64 loops over PyTorch's documented
  pseudo-code (torch.optim docs), compared on random hyperparameters, parameter shapes and
  gradient sequences (some gradients None).
- Hand-computed values (momentum / Nesterov sequences, Adam's first step ≈ γ·sign(g), RMSprop's
  first step γ·sign(g)/√(1−α), Adagrad's γ and γ/√2).
- Each optimizer minimises a quadratic through minigrad's own backward().
- dtype (float32 stays float32, in place), skipped None gradients, zero_grad, validation.
- state_dict through np.savez / np.load(allow_pickle=False): resumed steps bit-identical.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor
from minigrad.engine.optim import (
    OPTIMIZER_NAMES,
    SGD,
    Adagrad,
    Adam,
    Optimizer,
    RMSprop,
    make_optimizer,
)

# ---------------------------------------------------------------------------------------------
# Reference implementations: one function per optimizer, written from the torch.optim docs'
# pseudo-code, looping over steps and parameters. params: list of float64 arrays; grads: a list
# (one per step) of lists (one per parameter) of arrays or None. Returns the final parameters.
# State is created lazily, as in PyTorch, the first time a parameter has a gradient.
# ---------------------------------------------------------------------------------------------

def ref_sgd(params, grads, lr, momentum, nesterov, weight_decay):
    theta = [p.astype(np.float64).copy() for p in params]
    buf = [None] * len(theta)
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            g = g.astype(np.float64)
            if weight_decay != 0:
                g = g + weight_decay * theta[i]
            if momentum != 0:
                if buf[i] is None:  # t = 1 for this parameter
                    buf[i] = g.copy()
                else:
                    buf[i] = momentum * buf[i] + g
                if nesterov:
                    g = g + momentum * buf[i]
                else:
                    g = buf[i]
            theta[i] = theta[i] - lr * g
    return theta


def ref_adam(params, grads, lr, beta1, beta2, eps, weight_decay):
    theta = [p.astype(np.float64).copy() for p in params]
    m = [np.zeros_like(t) for t in theta]
    v = [np.zeros_like(t) for t in theta]
    t = [0] * len(theta)
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            g = g.astype(np.float64)
            t[i] += 1
            if weight_decay != 0:
                g = g + weight_decay * theta[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g ** 2
            m_hat = m[i] / (1 - beta1 ** t[i])
            v_hat = v[i] / (1 - beta2 ** t[i])
            theta[i] = theta[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def ref_rmsprop(params, grads, lr, alpha, eps, momentum, weight_decay):
    theta = [p.astype(np.float64).copy() for p in params]
    v = [np.zeros_like(t) for t in theta]
    b = [np.zeros_like(t) for t in theta]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            g = g.astype(np.float64)
            if weight_decay != 0:
                g = g + weight_decay * theta[i]
            v[i] = alpha * v[i] + (1 - alpha) * g ** 2
            if momentum > 0:
                b[i] = momentum * b[i] + g / (np.sqrt(v[i]) + eps)
                theta[i] = theta[i] - lr * b[i]
            else:
                theta[i] = theta[i] - lr * g / (np.sqrt(v[i]) + eps)
    return theta


def ref_adagrad(params, grads, lr, eps, weight_decay):
    theta = [p.astype(np.float64).copy() for p in params]
    state_sum = [np.zeros_like(t) for t in theta]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is None:
                continue
            g = g.astype(np.float64)
            if weight_decay != 0:
                g = g + weight_decay * theta[i]
            state_sum[i] = state_sum[i] + g ** 2
            theta[i] = theta[i] - lr * g / (np.sqrt(state_sum[i]) + eps)
    return theta


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def run(optimizer_cls, params, grads, dtype=np.float64, **options):
    """Run our optimizer on Tensors made from `params`, feeding the given gradients."""
    tensors = [Tensor(p.copy(), requires_grad=True, dtype=dtype) for p in params]
    opt = optimizer_cls(tensors, **options)
    for step_grads in grads:
        for tensor, g in zip(tensors, step_grads):
            tensor.grad = None if g is None else g.astype(dtype)
        opt.step()
    return [t.data for t in tensors], opt


problems = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "n_params": st.integers(1, 3),
    "n_steps": st.integers(1, 6),
    "grad_scale": st.sampled_from([1e-3, 1.0, 1e2]),
    "none_rate": st.sampled_from([0.0, 0.3]),
})


def make_problem(seed, n_params, n_steps, grad_scale, none_rate):
    """Random parameter shapes and values, and a gradient sequence with some Nones."""
    rng = np.random.default_rng(seed)
    shapes = [tuple(rng.integers(1, 5, size=rng.integers(0, 4))) for _ in range(n_params)]
    params = [rng.normal(size=s) for s in shapes]
    grads = [[None if rng.random() < none_rate else grad_scale * rng.normal(size=s)
              for s in shapes] for _ in range(n_steps)]
    return params, grads


unit = st.floats(0.0, 1.0)
decay = st.one_of(st.just(0.0), st.floats(0.0, 0.1))


def assert_close_to_reference(ours, reference):
    for a, b in zip(ours, reference):
        assert a.dtype == np.float64 and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Against the reference implementations
# ---------------------------------------------------------------------------------------------

@given(problems, st.floats(0.0, 1.0), st.sampled_from([0.0, 0.5, 0.9, 0.99]), st.booleans(),
       decay)
def test_sgd_matches_reference(problem, lr, momentum, nesterov, weight_decay):
    nesterov = nesterov and momentum > 0
    params, grads = make_problem(**problem)
    options = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    ours, _ = run(SGD, params, grads, **options)
    assert_close_to_reference(ours, ref_sgd(params, grads, **options))


@given(problems, st.floats(1e-4, 1.0), st.floats(0.0, 0.99), st.floats(0.0, 0.9999),
       st.sampled_from([1e-8, 1e-3, 0.1]), decay)
def test_adam_matches_reference(problem, lr, beta1, beta2, eps, weight_decay):
    params, grads = make_problem(**problem)
    ours, _ = run(Adam, params, grads, lr=lr, betas=(beta1, beta2), eps=eps,
                  weight_decay=weight_decay)
    reference = ref_adam(params, grads, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay)
    assert_close_to_reference(ours, reference)


@given(problems, st.floats(1e-4, 1.0), st.floats(0.0, 0.999), st.sampled_from([1e-8, 1e-3]),
       st.sampled_from([0.0, 0.5, 0.9]), decay)
def test_rmsprop_matches_reference(problem, lr, alpha, eps, momentum, weight_decay):
    params, grads = make_problem(**problem)
    options = dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay)
    ours, _ = run(RMSprop, params, grads, **options)
    assert_close_to_reference(ours, ref_rmsprop(params, grads, **options))


@given(problems, st.floats(1e-4, 1.0), st.sampled_from([1e-10, 1e-3]), decay)
def test_adagrad_matches_reference(problem, lr, eps, weight_decay):
    params, grads = make_problem(**problem)
    options = dict(lr=lr, eps=eps, weight_decay=weight_decay)
    ours, _ = run(Adagrad, params, grads, **options)
    assert_close_to_reference(ours, ref_adagrad(params, grads, **options))


# ---------------------------------------------------------------------------------------------
# Hand-computed values
# ---------------------------------------------------------------------------------------------

def constant_gradient_run(opt_factory, theta0, grad, steps):
    """θ after each of `steps` steps with the same gradient every time."""
    p = Tensor(np.array([theta0]), requires_grad=True, dtype=np.float64)
    opt = opt_factory([p])
    values = []
    for _ in range(steps):
        p.grad = np.array([grad])
        opt.step()
        values.append(p.data[0])
    return values


def test_sgd_momentum_by_hand():
    # b: 1, 1.9, 2.71 -> θ: 1 - 0.1, 0.9 - 0.19, 0.71 - 0.271
    values = constant_gradient_run(lambda ps: SGD(ps, lr=0.1, momentum=0.9), 1.0, 1.0, 3)
    np.testing.assert_allclose(values, [0.9, 0.71, 0.439], rtol=1e-12)


def test_sgd_nesterov_by_hand():
    # step 1: b = 1, g' = 1 + 0.9·1 = 1.9;  step 2: b = 1.9, g' = 1 + 0.9·1.9 = 2.71
    values = constant_gradient_run(lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                   1.0, 1.0, 2)
    np.testing.assert_allclose(values, [0.81, 0.539], rtol=1e-12)


def test_plain_sgd_and_weight_decay_by_hand():
    assert constant_gradient_run(lambda ps: SGD(ps, lr=0.5), 2.0, 3.0, 1) == [0.5]
    # zero gradient: only the decay term λθ = 0.1·2 acts.  θ = 2 - 0.5·0.2
    values = constant_gradient_run(lambda ps: SGD(ps, lr=0.5, weight_decay=0.1), 2.0, 0.0, 1)
    np.testing.assert_allclose(values, [1.9], rtol=1e-12)


@pytest.mark.parametrize("g", [-300.0, -2.0, -1e-3, 1e-3, 0.5, 7.0])
def test_adam_first_step_is_lr_times_sign(g):
    # m̂ = g and v̂ = g² after one step, so Δθ = -γ·g / (|g| + ε) ≈ -γ·sign(g) whatever |g|.
    (value,) = constant_gradient_run(lambda ps: Adam(ps, lr=0.01), 1.0, g, 1)
    assert value - 1.0 == pytest.approx(-0.01 * math.copysign(1.0, g), rel=1e-4)


def test_adam_constant_gradient_keeps_moving_by_lr():
    # With a constant gradient, m̂ = g and v̂ = g² at every step: each step moves γ exactly.
    values = constant_gradient_run(lambda ps: Adam(ps, lr=0.01), 0.0, 3.0, 5)
    np.testing.assert_allclose(values, [-0.01, -0.02, -0.03, -0.04, -0.05], rtol=1e-6)


def test_rmsprop_first_step_by_hand():
    # s = (1 - α)·g² = 0.01·4, √s = 0.2, Δθ = -γ·2/0.2 = -10γ  (= -γ·sign(g)/√(1−α))
    (value,) = constant_gradient_run(lambda ps: RMSprop(ps, lr=0.01, alpha=0.99), 1.0, 2.0, 1)
    assert value == pytest.approx(0.9, rel=1e-6)


def test_adagrad_steps_by_hand():
    # s = g², then 2g²: the steps are γ and γ/√2.
    values = constant_gradient_run(lambda ps: Adagrad(ps, lr=0.1), 1.0, -4.0, 2)
    np.testing.assert_allclose(values, [1.1, 1.1 + 0.1 / math.sqrt(2)], rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# Minimising a quadratic through backward()
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, lr, steps", [
    ("sgd", 0.1, 100), ("momentum", 0.05, 350), ("adam", 0.05, 450), ("rmsprop", 0.01, 900),
    ("adagrad", 0.5, 250),
])
def test_minimises_a_quadratic(name, lr, steps):
    """f(θ) = Σ(θ − c)² has its minimum at θ = c: each optimizer gets there to 1e-6 within
    about 1.5 times the steps it needs here."""
    rng = np.random.default_rng(0)
    c = Tensor(rng.uniform(-3, 3, size=(3, 4)))
    theta = Tensor(np.zeros((3, 4)), requires_grad=True)
    opt = make_optimizer(name, [theta], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        diff = theta - c
        (diff * diff).sum().backward()
        opt.step()
    assert np.abs(theta.data - c.data).max() < 1e-6


# ---------------------------------------------------------------------------------------------
# dtype, in-place updates, None gradients, zero_grad
# ---------------------------------------------------------------------------------------------

ALL_OPTIONS = [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (Adam, dict(lr=0.01, weight_decay=0.01)),
    (RMSprop, dict(lr=0.01, momentum=0.5, weight_decay=0.01)),
    (Adagrad, dict(lr=0.1, weight_decay=0.01)),
]
REFERENCES = {SGD: ref_sgd, Adam: ref_adam, RMSprop: ref_rmsprop, Adagrad: ref_adagrad}


def reference_options(cls, options):
    options = dict(options)
    if cls is Adam:
        options.setdefault("beta1", 0.9)
        options.setdefault("beta2", 0.999)
        options.setdefault("eps", 1e-8)
    elif cls is RMSprop:
        options.setdefault("alpha", 0.99)
        options.setdefault("eps", 1e-8)
    elif cls is Adagrad:
        options.setdefault("eps", 1e-10)
    return options


@pytest.mark.parametrize("cls, options", ALL_OPTIONS)
def test_float32_stays_float32_in_place(cls, options):
    params, grads = make_problem(seed=1, n_params=3, n_steps=5, grad_scale=1.0, none_rate=0.0)
    tensors = [Tensor(p, requires_grad=True, dtype=np.float32) for p in params]
    arrays = [t.data for t in tensors]
    opt = cls(tensors, **options)
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = g  # float64 gradients on float32 parameters: still float32 updates
        opt.step()
    for t, array in zip(tensors, arrays):
        assert t.data is array and t.data.dtype == np.float32
    for key, value in opt.state_dict().items():
        if key.startswith("state.") and not key.endswith(".step"):
            assert value.dtype == np.float32, key
    # ... and the float32 result is the float64 reference up to float32 rounding.
    reference = REFERENCES[cls]([p.astype(np.float32) for p in params],
                                [[g.astype(np.float32) for g in s] for s in grads],
                                **reference_options(cls, options))
    for t, r in zip(tensors, reference):
        np.testing.assert_allclose(t.data, r, rtol=1e-5, atol=1e-5)


def test_float32_arithmetic_has_no_hidden_float64():
    # θ − γ·g done wholly in float32 (γ rounded to float32): bit for bit, not merely float32 in
    # the end after float64 intermediates.
    rng = np.random.default_rng(3)
    theta, g = rng.normal(size=1000).astype(np.float32), rng.normal(size=1000).astype(np.float32)
    p = Tensor(theta.copy(), requires_grad=True)
    p.grad = g
    SGD([p], lr=0.1).step()
    assert np.array_equal(p.data, theta - np.float32(0.1) * g)


@pytest.mark.parametrize("cls, options", ALL_OPTIONS)
def test_parameters_without_gradient_are_skipped(cls, options):
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    opt = cls([a, b], **options)
    before = opt.state_dict()
    a.grad = np.full(3, 0.5)
    opt.step()
    assert np.array_equal(b.data, np.ones(3))  # untouched, even by weight decay
    after = opt.state_dict()
    for key in before:
        if key.startswith("state.1."):
            assert np.array_equal(after[key], before[key]), key
    assert not np.array_equal(a.data, np.ones(3))
    assert np.array_equal(a.grad, np.full(3, 0.5))  # the gradient itself is never modified


def test_zero_grad_sets_none():
    p = Tensor(np.ones(2), requires_grad=True)
    (p * p).sum().backward()
    opt = SGD([p])
    assert p.grad is not None
    opt.zero_grad()
    assert p.grad is None


def test_step_counts_calls():
    p = Tensor(np.ones(2), requires_grad=True)
    opt = Adam([p])
    opt.step()  # no gradient: nothing moves, but the call counts
    p.grad = np.ones(2)
    opt.step()
    state = opt.state_dict()
    assert int(state["step"]) == 2 and int(state["state.0.step"]) == 1


# ---------------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------------------------

def npz_round_trip(state):
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize("cls, options", ALL_OPTIONS + [(SGD, dict(lr=0.1)),
                                                        (RMSprop, dict(lr=0.01))])
def test_resume_after_save_and_load_is_bit_identical(cls, options):
    params, grads = make_problem(seed=2, n_params=3, n_steps=10, grad_scale=1.0, none_rate=0.2)
    grads = [[None if g is None else g.astype(np.float32) for g in s] for s in grads]

    def feed(tensors, opt, step_grads):
        for t, g in zip(tensors, step_grads):
            t.grad = g
        opt.step()

    # Uninterrupted run.
    full = [Tensor(p, requires_grad=True, dtype=np.float32) for p in params]
    opt = cls(full, **options)
    for step_grads in grads:
        feed(full, opt, step_grads)

    # Interrupted after 4 steps: save, load into a fresh optimizer built with other settings.
    first = [Tensor(p, requires_grad=True, dtype=np.float32) for p in params]
    opt1 = cls(first, **options)
    for step_grads in grads[:4]:
        feed(first, opt1, step_grads)
    saved = npz_round_trip(opt1.state_dict())
    assert all(isinstance(v, np.ndarray) for v in saved.values())
    assert all(saved[k].shape == () for k in saved if not k.startswith("state."))

    resumed = [Tensor(t.data.copy(), requires_grad=True) for t in first]
    opt2 = cls(resumed, **{**options, "lr": 0.123})
    opt2.load_state_dict(saved)
    assert opt2.lr == options["lr"]
    for step_grads in grads[4:]:
        feed(resumed, opt2, step_grads)

    for a, b in zip(full, resumed):
        assert a.data.dtype == b.data.dtype == np.float32
        assert np.array_equal(a.data, b.data)
    final_full, final_resumed = opt.state_dict(), opt2.state_dict()
    assert final_full.keys() == final_resumed.keys()
    for key in final_full:
        assert np.array_equal(final_full[key], final_resumed[key]), key


def test_state_dict_and_load_do_not_alias():
    p = Tensor(np.ones(2), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(2)
    opt.step()
    state = opt.state_dict()
    state["state.0.momentum_buffer"][:] = 100.0  # changing the copy leaves the optimizer alone
    assert np.array_equal(opt.state_dict()["state.0.momentum_buffer"], np.ones(2))
    given_state = opt.state_dict()
    opt.load_state_dict(given_state)
    opt.step()  # updates the optimizer's buffer, not the dict it was loaded from
    assert np.array_equal(given_state["state.0.momentum_buffer"], np.ones(2))


def test_state_dict_keys():
    a, b = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones(4), requires_grad=True)
    assert set(SGD([a, b], momentum=0.9).state_dict()) == {
        "lr", "momentum", "nesterov", "weight_decay", "step",
        "state.0.momentum_buffer", "state.1.momentum_buffer"}
    assert set(SGD([a, b]).state_dict()) == {"lr", "momentum", "nesterov", "weight_decay", "step"}
    assert set(Adam([a]).state_dict()) == {"lr", "beta1", "beta2", "eps", "weight_decay", "step",
                                           "state.0.step", "state.0.exp_avg",
                                           "state.0.exp_avg_sq"}
    assert Adam([a]).state_dict()["state.0.exp_avg"].shape == (2, 3)


def sgd_state():
    p = Tensor(np.ones((2, 3)), requires_grad=True)
    return SGD([p], lr=0.1, momentum=0.9), p


def test_load_refuses_missing_key():
    opt, _ = sgd_state()
    state = opt.state_dict()
    del state["state.0.momentum_buffer"]
    with pytest.raises(ValueError, match="missing state.0.momentum_buffer"):
        opt.load_state_dict(state)


def test_load_refuses_unexpected_key():
    opt, _ = sgd_state()
    state = opt.state_dict()
    state["state.1.momentum_buffer"] = np.zeros(3)
    with pytest.raises(ValueError, match="unexpected state.1.momentum_buffer"):
        opt.load_state_dict(state)


def test_load_refuses_another_optimizers_state():
    opt, p = sgd_state()
    with pytest.raises(ValueError, match="exp_avg"):
        opt.load_state_dict(Adam([p]).state_dict())


def test_load_refuses_wrong_shape_and_changes_nothing():
    opt, _ = sgd_state()
    state = opt.state_dict()
    state["lr"] = np.array(0.5)
    state["state.0.momentum_buffer"] = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"state.0.momentum_buffer.*\(2, 3\).*\(3, 2\)"):
        opt.load_state_dict(state)
    assert opt.lr == 0.1
    state = opt.state_dict()
    state["lr"] = np.array([0.5])
    with pytest.raises(ValueError, match="'lr'"):
        opt.load_state_dict(state)


def test_load_refuses_invalid_values():
    opt, _ = sgd_state()
    state = opt.state_dict()
    state["lr"] = np.array(-1.0)
    with pytest.raises(ValueError, match="lr"):
        opt.load_state_dict(state)
    state = opt.state_dict()
    state["state.0.momentum_buffer"] = np.array([["a", "b", "c"]] * 2)
    with pytest.raises(ValueError, match="momentum_buffer"):
        opt.load_state_dict(state)
    assert opt.lr == 0.1


# ---------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------

def one_param():
    return [Tensor(np.ones(2), requires_grad=True)]


@pytest.mark.parametrize("build, message", [
    (lambda ps: SGD(ps, lr=-0.1), "lr"),
    (lambda ps: SGD(ps, momentum=-0.5), "momentum"),
    (lambda ps: SGD(ps, weight_decay=-1), "weight_decay"),
    (lambda ps: SGD(ps, nesterov=True), "nesterov"),
    (lambda ps: SGD(ps, lr=float("nan")), "lr"),
    (lambda ps: Adam(ps, betas=(1.0, 0.999)), "beta1"),
    (lambda ps: Adam(ps, betas=(0.9, -0.1)), "beta2"),
    (lambda ps: Adam(ps, eps=-1e-8), "eps"),
    (lambda ps: RMSprop(ps, alpha=-0.1), "alpha"),
    (lambda ps: RMSprop(ps, momentum=-0.1), "momentum"),
    (lambda ps: Adagrad(ps, lr=-1), "lr"),
])
def test_invalid_hyperparameters(build, message):
    with pytest.raises(ValueError, match=message):
        build(one_param())


def test_invalid_parameter_lists():
    with pytest.raises(ValueError, match="empty"):
        SGD([])
    with pytest.raises(TypeError, match="iterable"):
        SGD(one_param()[0])
    with pytest.raises(TypeError, match="parameter 0"):
        SGD([np.ones(2)])
    p = one_param()[0]
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p])


def test_defaults_follow_pytorch():
    ps = one_param()
    sgd, adam, rms, ada = SGD(ps), Adam(ps), RMSprop(ps), Adagrad(ps)
    assert (sgd.lr, sgd.momentum, sgd.nesterov, sgd.weight_decay) == (0.01, 0.0, False, 0.0)
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps, adam.weight_decay) == (1e-3, 0.9, 0.999,
                                                                                1e-8, 0.0)
    assert (rms.lr, rms.alpha, rms.eps, rms.momentum) == (1e-2, 0.99, 1e-8, 0.0)
    assert (ada.lr, ada.eps) == (1e-2, 1e-10)


@pytest.mark.parametrize("name, cls, lr, momentum", [
    ("sgd", SGD, 0.01, 0.0), ("momentum", SGD, 0.01, 0.9), ("adam", Adam, 1e-3, None),
    ("rmsprop", RMSprop, 1e-3, 0.0), ("adagrad", Adagrad, 1e-2, None),
])
def test_make_optimizer(name, cls, lr, momentum):
    opt = make_optimizer(name, one_param())
    assert type(opt) is cls and opt.lr == lr
    if momentum is not None:
        assert opt.momentum == momentum
    assert make_optimizer(name, one_param(), lr=0.25).lr == 0.25
    assert isinstance(opt, Optimizer)


def test_make_optimizer_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="nadam") as error:
        make_optimizer("nadam", one_param())
    for name in OPTIMIZER_NAMES:
        assert name in str(error.value)
