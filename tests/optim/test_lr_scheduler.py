"""Learning-rate schedulers: lr sequences against their closed forms, groups, state dicts."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import optim
from tinygrad_np.optim.lr_scheduler import CosineAnnealingLR, LinearLR, StepLR


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
