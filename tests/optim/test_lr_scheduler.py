"""Learning-rate schedulers: lr sequences against their closed forms, groups, state dicts."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import optim
from tinygrad_np.optim.lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR,
                                           CosineAnnealingWarmRestarts, ExponentialLR, LambdaLR, LinearLR,
                                           MultiStepLR, OneCycleLR, ReduceLROnPlateau, SequentialLR, StepLR)


def _opt(*lrs: float) -> optim.SGD:
    groups = [{"params": [tg.Tensor(np.zeros(1), requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0])


def _sequence(sched, n):
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr())
        sched.optimizer.step()
        sched.step()
    return out


def test_step_lr():
    sched = StepLR(_opt(0.1, 1.0), step_size=3, gamma=0.5)
    got = _sequence(sched, 10)
    for epoch, lrs in enumerate(got):
        factor = 0.5 ** (epoch // 3)
        np.testing.assert_allclose(lrs, [0.1 * factor, 1.0 * factor], rtol=1e-12)
    assert got[2][0] == 0.1 and math.isclose(got[3][0], 0.05)


def test_cosine_annealing():
    sched = CosineAnnealingLR(_opt(0.2), T_max=6, eta_min=0.02)
    got = _sequence(sched, 7)
    for epoch, (lr,) in enumerate(got):
        assert math.isclose(lr, 0.02 + (0.2 - 0.02) * (1 + math.cos(math.pi * epoch / 6)) / 2, rel_tol=1e-12)
    assert math.isclose(got[0][0], 0.2) and math.isclose(got[3][0], 0.11) and math.isclose(got[6][0], 0.02)


def test_linear_warmup():
    sched = LinearLR(_opt(0.3), start_factor=0.25, end_factor=1.0, total_iters=3)
    got = [lrs[0] for lrs in _sequence(sched, 6)]
    np.testing.assert_allclose(got, [0.075, 0.15, 0.225, 0.3, 0.3, 0.3], rtol=1e-12)


def test_linear_defaults():
    sched = LinearLR(_opt(0.9))
    got = [lrs[0] for lrs in _sequence(sched, 7)]
    expected = [0.9 * (1 / 3 + (1 - 1 / 3) * min(e, 5) / 5) for e in range(7)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_scheduler_sets_the_lr_the_optimizer_uses():
    p = tg.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.1)
    moves = []
    for _ in range(3):
        before = p.data.copy()
        p.grad = tg.Tensor(np.ones(1))
        opt.step()
        moves.append((before - p.data)[0])
        sched.step()
    np.testing.assert_allclose(moves, [1.0, 0.1, 0.01], rtol=1e-12)


def test_state_dict_resumes():
    opt = _opt(0.1)
    sched = CosineAnnealingLR(opt, T_max=10)
    _sequence(sched, 4)
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert sched_sd["last_epoch"] == 4 and "optimizer" not in sched_sd
    rest = _sequence(sched, 3)

    # the usual resume: build everything, then load the optimizer's and the scheduler's state
    opt2 = _opt(0.1)
    sched2 = CosineAnnealingLR(opt2, T_max=10)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    assert sched2.get_last_lr() == [opt2.param_groups[0]["lr"]] == sched_sd["_last_lr"]
    np.testing.assert_allclose(_sequence(sched2, 3), rest, rtol=1e-12)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="step_size"):
        StepLR(_opt(0.1), step_size=0)
    with pytest.raises(ValueError, match="start_factor"):
        LinearLR(_opt(0.1), start_factor=0)
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(_opt(0.1), T_max=0)
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR([1, 2], step_size=1)


def _lrs(sched, n):
    return [lrs[0] for lrs in _sequence(sched, n)]


def test_two_schedulers_on_one_optimizer_compose():
    # chainable: each step scales the lr the other left; warm-up x0.25 -> x1 over 4 epochs, halved every 3
    opt = _opt(0.1)
    warmup, decay = LinearLR(opt, start_factor=0.25, total_iters=4), StepLR(opt, step_size=3, gamma=0.5)
    got = []
    for _ in range(7):
        got.append(opt.param_groups[0]["lr"])
        opt.step()
        warmup.step()
        decay.step()
    np.testing.assert_allclose(got, [0.025, 0.04375, 0.0625, 0.040625, 0.05, 0.05, 0.025], rtol=1e-12)
    assert decay.get_last_lr() == [opt.param_groups[0]["lr"]] and warmup.last_epoch == decay.last_epoch == 7


def test_initial_lr_and_base_lrs():
    opt = _opt(0.1, 0.5)
    sched = ExponentialLR(opt, gamma=0.5)
    _sequence(sched, 3)
    assert [g["initial_lr"] for g in opt.param_groups] == sched.base_lrs == [0.1, 0.5]
    np.testing.assert_allclose(sched.get_last_lr(), [0.0125, 0.0625], rtol=1e-12)
    sched.get_last_lr().append(1.0)  # a copy
    assert len(sched.get_last_lr()) == 2


def test_multistep_repeated_milestone():
    got = _lrs(MultiStepLR(_opt(1.0), milestones=[2, 4, 4], gamma=0.5), 6)
    np.testing.assert_allclose(got, [1, 1, 0.5, 0.5, 0.125, 0.125], rtol=1e-12)


def test_lambda_lr_sets_base_lr_times_the_factor():
    got = _lrs(LambdaLR(_opt(2.0), lambda epoch: 1 / (epoch + 1)), 4)
    np.testing.assert_allclose(got, [2.0, 1.0, 2 / 3, 0.5], rtol=1e-12)


def test_sequential_restarts_the_next_schedule_at_its_milestone():
    opt = _opt(0.1)
    sched = SequentialLR(opt, [ConstantLR(opt, factor=0.1, total_iters=5), ExponentialLR(opt, gamma=0.5)],
                         milestones=[3])
    np.testing.assert_allclose(_lrs(sched, 6), [0.01, 0.01, 0.01, 0.1, 0.05, 0.025], rtol=1e-12)


def test_chained_scheduler_steps_all():
    opt = _opt(1.0)
    sched = ChainedScheduler([ConstantLR(opt, factor=0.5, total_iters=2), ExponentialLR(opt, gamma=0.9)])
    np.testing.assert_allclose(_lrs(sched, 4), [0.5, 0.45, 0.81, 0.729], rtol=1e-12)


def test_reduce_on_plateau():
    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, patience=2, factor=0.5, cooldown=1, min_lr=0.2)
    got = []
    for metric in [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1]:
        sched.step(metric)
        got.append(sched.get_last_lr()[0])
    # 3 epochs without improvement halve the lr, then 1 epoch of cooldown; never below min_lr
    assert got == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25]
    assert sched.best == 0.1 and sched.num_bad_epochs == 0
    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1, threshold_mode="abs")
    for metric in [1.0, 1.05]:  # +0.05 is no improvement by the absolute threshold 0.1
        sched.step(metric)
    assert sched.get_last_lr() == [0.1]


def test_one_cycle_endpoints_and_momentum():
    p = tg.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3)
    seen = []
    for _ in range(10):
        seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
        opt.step()
        sched.step()
    # the initial lr is max_lr / div_factor, the momentum at its max
    assert math.isclose(seen[0][0], 1.0 / 25) and seen[0][1] == 0.95
    assert math.isclose(seen[2][0], 1.0) and math.isclose(seen[2][1], 0.85)  # the peak at pct_start * total - 1
    assert math.isclose(seen[-1][0], 1.0 / 25 / 1e4) and math.isclose(seen[-1][1], 0.95)
    with pytest.raises(ValueError, match="total_steps is 10"):
        sched.step()
        sched.step()
    adam = optim.Adam([p], lr=0.1, betas=(0.9, 0.99))
    OneCycleLR(adam, max_lr=1.0, total_steps=10)
    assert adam.param_groups[0]["betas"] == (0.95, 0.99)  # beta1 cycles for the Adam family
    with pytest.raises(ValueError, match="momentum"):
        OneCycleLR(optim.Adagrad([p]), max_lr=1.0, total_steps=10)


def test_warm_restarts():
    sched = CosineAnnealingWarmRestarts(_opt(1.0), T_0=2, T_mult=2)
    got = _lrs(sched, 7)
    np.testing.assert_allclose(got, [1, 0.5, 1, (1 + math.cos(math.pi / 4)) / 2, 0.5,
                                     (1 + math.cos(3 * math.pi / 4)) / 2, 1], rtol=1e-12, atol=1e-15)
    sched.step(2.5)  # fractional epoch: 0.5 into the second cycle, which is 4 long
    assert (sched.T_i, sched.T_cur, sched.last_epoch) == (4, 0.5, 2)
    assert math.isclose(sched.get_last_lr()[0], (1 + math.cos(math.pi / 8)) / 2)


def test_stepping_before_the_optimizer_warns():
    opt = _opt(0.1)
    sched = StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()


def test_state_dict_leaves_out_functions_but_keeps_callable_objects():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    decay = Decay()
    sched = LambdaLR(_opt(1.0, 1.0), [decay, lambda epoch: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None] and "optimizer" not in state
    state["lr_lambdas"][0]["rate"] = 0.25
    sched.load_state_dict(state)
    assert decay.rate == 0.25


def test_nested_state_dicts_survive_a_checkpoint(tmp_path):
    def build(opt):
        return SequentialLR(opt, [LinearLR(opt, start_factor=0.5, total_iters=3),
                                  MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.5)], milestones=[3])

    opt = _opt(0.1)
    sched = build(opt)
    _sequence(sched, 4)
    tg.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt.npz")
    rest = _sequence(sched, 6)
    ckpt = tg.load(tmp_path / "ckpt.npz")
    opt2 = _opt(0.1)
    sched2 = build(opt2)
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert _sequence(sched2, 6) == rest


def test_combination_errors():
    opt, other = _opt(0.1), _opt(0.1)
    with pytest.raises(ValueError, match="milestone"):
        SequentialLR(opt, [StepLR(opt, 2), StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="different optimizer"):
        ChainedScheduler([StepLR(opt, 2), StepLR(other, 3)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        ChainedScheduler([StepLR(opt, 2), ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="mode"):
        ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="T_mult"):
        CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
