"""Optimizers' new settings and parameter groups, and the learning-rate schedulers:

- PyTorch goldens (tests/engine_goldens/optim.npz, written by make_optim.py with torch 2.13.0):
  parameters after 20 steps of every optimizer and setting (two parameter groups included) and
  every scheduler's lr (and momentum) over 30 steps, to 1e-10;
- parameter groups: one optimizer over two groups == two optimizers over one group each
  (hypothesis), `opt.lr` for one group, the flat state_dict of several groups through npz;
- schedulers' closed forms by hand, and their call order with the optimizer.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor
from minigrad.engine import lr_scheduler, optim
from minigrad.engine.optim import SGD, Adam, AdamW, RMSprop

GOLDENS = Path(__file__).parent / "engine_goldens" / "optim.npz"
with np.load(GOLDENS, allow_pickle=False) as _data:
    GOLDEN = {key: _data[key] for key in _data.files}


def golden_names(prefix: str) -> list[str]:
    return sorted({key.split(".")[1] for key in GOLDEN if key.startswith(prefix + ".")})


def make_groups(tensors, groups):
    """Our parameter list from the goldens' description (groups of parameter indices)."""
    if groups is None:
        return tensors
    return [{**group, "params": [tensors[i] for i in group["params"]]} for group in groups]


# ---------------------------------------------------------------------------------------------
# PyTorch goldens
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", golden_names("optim"))
def test_optimizer_matches_pytorch_after_20_steps(name):
    spec = json.loads(str(GOLDEN[f"optim.{name}.options"]))
    params = [GOLDEN[f"param.{i}"] for i in range(3)]
    grads = [GOLDEN[f"grads.{i}"] for i in range(3)]
    tensors = [Tensor(p.copy(), requires_grad=True, dtype=np.float64) for p in params]
    opt = getattr(optim, spec["optimizer"])(make_groups(tensors, spec["groups"]),
                                            **spec["options"])
    skip = spec["skip"]
    for step in range(len(grads[0])):
        opt.zero_grad()
        for i, t in enumerate(tensors):
            if not (i == 1 and skip and step % skip == 0):
                t.grad = grads[i][step].copy()
        opt.step()
    for i, t in enumerate(tensors):
        expected = GOLDEN[f"optim.{name}.final.{i}"]
        assert not np.allclose(expected, params[i])  # the golden did move
        np.testing.assert_allclose(t.data, expected, rtol=1e-10, atol=1e-10,
                                   err_msg=f"parameter {i}")


def test_goldens_cover_the_settings():
    specs = [json.loads(str(GOLDEN[f"optim.{n}.options"])) for n in golden_names("optim")]
    used = {(s["optimizer"], key) for s in specs for key in s["options"]}
    for needed in [("SGD", "dampening"), ("SGD", "nesterov"), ("SGD", "maximize"),
                   ("Adam", "amsgrad"), ("AdamW", "amsgrad"), ("AdamW", "weight_decay"),
                   ("RMSprop", "centered"), ("RMSprop", "momentum")]:
        assert needed in used
    assert sum(s["groups"] is not None for s in specs) >= 3
    schedulers = {json.loads(str(GOLDEN[f"sched.{n}.options"]))["scheduler"]
                  for n in golden_names("sched")}
    assert schedulers == set(lr_scheduler.__all__) - {"LRScheduler"}


def replay_schedule(name):
    spec = json.loads(str(GOLDEN[f"sched.{name}.options"]))
    weights = [Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)]
    opt = getattr(optim, spec["optimizer"])(
        [{"params": [w], "lr": lr} for w, lr in zip(weights, spec["lrs"])],
        **spec["optimizer_options"])
    scheduler = getattr(lr_scheduler, spec["scheduler"])(opt, **spec["options"])
    key = "beta1" if spec["optimizer"] == "Adam" else "momentum"

    def momenta():
        return [group.get(key, 0.0) for group in opt.param_groups]
    lrs, momentum = [scheduler.get_last_lr()], [momenta()]
    for step in range(len(GOLDEN[f"sched.{name}.lr"]) - 1):
        opt.step()
        if spec["scheduler"] == "ReduceLROnPlateau":
            scheduler.step(spec["metrics"][step])
        else:
            scheduler.step()
        lrs.append(scheduler.get_last_lr())
        momentum.append(momenta())
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    return np.array(lrs), np.array(momentum)


@pytest.mark.parametrize("name", golden_names("sched"))
def test_scheduler_matches_pytorch_over_30_steps(name):
    lrs, momentum = replay_schedule(name)
    expected = GOLDEN[f"sched.{name}.lr"]
    assert len(np.unique(expected)) > 2  # the schedule does change the lr
    np.testing.assert_allclose(lrs, expected, rtol=1e-10, atol=1e-12)
    if f"sched.{name}.momentum" in GOLDEN:
        np.testing.assert_allclose(momentum, GOLDEN[f"sched.{name}.momentum"], rtol=1e-10,
                                   atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Parameter groups
# ---------------------------------------------------------------------------------------------

OPTIMIZERS = [
    (SGD, dict(momentum=0.9, dampening=0.3)), (SGD, dict(momentum=0.5, nesterov=True)),
    (Adam, dict(amsgrad=True)), (AdamW, dict()), (RMSprop, dict(centered=True, momentum=0.4)),
]


@given(st.sampled_from(OPTIMIZERS), st.integers(0, 2**32 - 1),
       st.floats(1e-3, 0.5), st.floats(1e-3, 0.5), st.sampled_from([0.0, 0.01, 0.3]))
def test_two_groups_act_as_two_optimizers(optimizer, seed, lr_a, lr_b, decay_b):
    """Each group's settings fall back to the defaults; each group is updated on its own."""
    cls, options = optimizer
    rng = np.random.default_rng(seed)
    shapes = [(2, 3), (4,), (3,)]
    params = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(5)]
    together = [Tensor(p.copy(), requires_grad=True) for p in params]
    apart = [Tensor(p.copy(), requires_grad=True) for p in params]
    grouped = cls([{"params": together[:1]},
                   {"params": together[1:], "lr": lr_b, "weight_decay": decay_b}],
                  lr=lr_a, **options)
    first = cls(apart[:1], lr=lr_a, **options)
    second = cls(apart[1:], **{**options, "lr": lr_b, "weight_decay": decay_b})
    for step_grads in grads:
        for a, b, g in zip(together, apart, step_grads):
            a.grad, b.grad = g.copy(), g.copy()
        grouped.step()
        first.step()
        second.step()
    for a, b in zip(together, apart):
        np.testing.assert_array_equal(a.data, b.data)


def npz_round_trip(state):
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def two_group_adam():
    a, b = Tensor(np.ones((2, 2)), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    return Adam([{"params": [a], "lr": 0.1}, {"params": [b], "betas": (0.5, 0.9)}],
                lr=0.01, amsgrad=True), (a, b)


def test_several_groups_save_and_resume_exactly():
    opt, (a, b) = two_group_adam()
    for value in (1.0, -2.0, 0.5):
        a.grad, b.grad = np.full(a.shape, value), np.full(b.shape, -value)
        opt.step()
    state = npz_round_trip(opt.state_dict())
    assert all(v.shape == () for k, v in state.items() if not k.startswith("state."))
    assert state["group.1.beta1"] == 0.5 and state["group.0.lr"] == 0.1
    assert int(state["group.0.params"]) == 1 and "lr" not in state
    assert "state.1.max_exp_avg_sq" in state and int(state["step"]) == 3

    fresh, (c, d) = two_group_adam()
    c.data[...], d.data[...] = a.data, b.data
    fresh.param_groups[0]["lr"] = 0.7
    fresh.load_state_dict(state)
    assert fresh.param_groups[0]["lr"] == 0.1
    for opt_, (x, y) in ((opt, (a, b)), (fresh, (c, d))):
        x.grad, y.grad = np.full(x.shape, 3.0), np.full(y.shape, 0.25)
        opt_.step()
    np.testing.assert_array_equal(a.data, c.data)
    np.testing.assert_array_equal(b.data, d.data)


def test_state_of_another_grouping_is_refused():
    opt, _ = two_group_adam()
    p = Tensor(np.ones(7), requires_grad=True)
    single = Adam([p], amsgrad=True)
    with pytest.raises(ValueError, match="group.0.lr"):
        single.load_state_dict(opt.state_dict())
    state = opt.state_dict()
    state["group.0.params"] = np.array(2)
    with pytest.raises(ValueError, match="group.0.params"):
        opt.load_state_dict(state)


def test_single_group_keys_stay_as_before_and_new_settings_show_when_used():
    p = Tensor(np.ones(2), requires_grad=True)
    assert set(SGD([p], momentum=0.9).state_dict()) == {
        "lr", "momentum", "nesterov", "weight_decay", "step", "state.0.momentum_buffer"}
    assert set(RMSprop([p]).state_dict()) == {"lr", "alpha", "eps", "momentum", "weight_decay",
                                              "step", "state.0.square_avg"}
    dampened = SGD([p], momentum=0.9, dampening=0.5).state_dict()
    assert dampened["dampening"] == 0.5 and "state.0.step" in dampened
    assert {"centered", "state.0.grad_avg"} <= set(RMSprop([p], centered=True).state_dict())
    assert {"amsgrad", "state.0.max_exp_avg_sq"} <= set(AdamW([p], amsgrad=True).state_dict())


def test_lr_of_one_group_reads_and_writes_the_group():
    p = Tensor(np.ones(2), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    assert opt.lr == 0.1 and opt.param_groups[0]["lr"] == 0.1
    opt.lr = 0.5
    assert opt.param_groups[0]["lr"] == 0.5
    opt.param_groups[0]["momentum"] = 0.7
    assert opt.momentum == 0.7
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    opt.lr = 0.5
    p.grad = np.ones(2)
    opt.step()
    np.testing.assert_allclose(p.data, 0.5)


def test_several_groups_have_no_single_lr():
    opt, _ = two_group_adam()
    with pytest.raises(AttributeError, match="param_groups"):
        opt.lr
    with pytest.raises(AttributeError, match="param_groups"):
        opt.lr = 0.3


@pytest.mark.parametrize("groups, error, words", [
    ([{"params": []}], ValueError, "empty"),
    ([{"params": [Tensor(np.ones(2), requires_grad=True)], "learning_rate": 0.1}], ValueError,
     "learning_rate"),
    ([{"params": [Tensor(np.ones(2), requires_grad=True)]}, Tensor(np.ones(2))], TypeError,
     "not both"),
    ([{"params": [Tensor(np.ones(2), requires_grad=True)], "lr": -0.1}], ValueError, "lr"),
    ([{"lr": 0.1}], TypeError, "params"),
])
def test_bad_groups_are_refused(groups, error, words):
    with pytest.raises(error, match=words):
        SGD(groups, lr=0.1)


def test_a_parameter_in_two_groups_is_refused():
    p = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="more than once"):
        SGD([{"params": [p]}, {"params": [p]}])


def test_adamw_decay_is_decoupled():
    """With a zero gradient Adam's coupled decay moves θ by about γ·sign(θ); AdamW shrinks
    θ by the factor 1 − γλ."""
    p = Tensor(np.array([2.0]), requires_grad=True)
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = np.zeros(1)
    opt.step()
    np.testing.assert_allclose(p.data, 2.0 * (1 - 0.1 * 0.5))


# ---------------------------------------------------------------------------------------------
# Schedulers by hand
# ---------------------------------------------------------------------------------------------

def one_param_sgd(lr=0.1, **options):
    p = Tensor(np.zeros(1), requires_grad=True)
    return SGD([p], lr=lr, **options), p


def lrs_of(scheduler, steps):
    values = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return values


def test_closed_forms_by_hand():
    opt, _ = one_param_sgd(0.8)
    assert lrs_of(lr_scheduler.StepLR(opt, step_size=2, gamma=0.5), 5) == \
        [0.8, 0.8, 0.4, 0.4, 0.2, 0.2]
    opt, _ = one_param_sgd(1.0)
    assert lrs_of(lr_scheduler.MultiStepLR(opt, milestones=[3, 1], gamma=0.1), 4) == \
        pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])
    opt, _ = one_param_sgd(1.0)
    cosine = lrs_of(lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.2), 8)
    assert cosine == pytest.approx([1.0, 0.2 + 0.4 * (1 + math.sqrt(0.5)), 0.6,
                                    0.2 + 0.4 * (1 - math.sqrt(0.5)), 0.2,
                                    0.2 + 0.4 * (1 - math.sqrt(0.5)), 0.6,
                                    0.2 + 0.4 * (1 + math.sqrt(0.5)), 1.0])


def test_scheduler_sets_the_lr_the_next_step_uses():
    opt, p = one_param_sgd(1.0)
    scheduler = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for expected_move in (1.0, 0.5, 0.25):
        before = p.data.copy()
        p.grad = np.ones(1)
        opt.step()
        scheduler.step()
        np.testing.assert_allclose(before - p.data, expected_move)
    assert opt.param_groups[0]["initial_lr"] == 1.0


def test_onecycle_peaks_at_max_lr_and_refuses_extra_steps():
    opt, _ = one_param_sgd(momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(opt, max_lr=2.0, total_steps=10, pct_start=0.3)
    lrs = lrs_of(scheduler, 10)
    assert lrs[0] == pytest.approx(2.0 / 25) and max(lrs) == pytest.approx(2.0)
    # t = 9 is the last step used (PyTorch lets t reach total_steps, one step past it).
    assert lrs[2] == pytest.approx(2.0) and lrs[9] == pytest.approx(2.0 / 25 / 1e4)
    with pytest.raises(ValueError, match="total_steps"):
        scheduler.step()
    with pytest.raises(ValueError, match="cycle_momentum"):
        lr_scheduler.OneCycleLR(optim.Adagrad([Tensor(np.ones(1), requires_grad=True)]),
                                max_lr=1.0, total_steps=5)


def test_plateau_waits_for_patience_then_cools_down():
    opt, _ = one_param_sgd(1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5)
    lrs = []
    for metric in [5, 5, 5, 5, 5, 5, 4]:
        scheduler.step(metric)
        lrs.append(scheduler.get_last_lr()[0])
    # best 5, bad epochs 1, 2 (> patience: halve), cooldown, 1, 2 (halve), improvement
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


@pytest.mark.parametrize("build, words", [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0), "total_steps"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=5), "max_lr"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=5, anneal_strategy="exp"),
     "anneal_strategy"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "factor"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="lowest"), "mode"),
])
def test_bad_scheduler_settings_are_named(build, words):
    opt, _ = one_param_sgd(momentum=0.9)
    with pytest.raises(ValueError, match=words):
        build(opt)
