"""Learning-rate schedulers against PyTorch: 100 steps, every group's lr (and cycled momentum) equal,
alone and combined on one optimizer, and resumed from state dicts mid-way."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import optim
from tinygrad_np.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 100


def _optimizers(name: str, **kwargs):
    """The same two-group optimizer in tinygrad_np and in torch (the second group with its own lr)."""
    ours = [tg.Tensor(np.zeros(2), requires_grad=True) for _ in range(2)]
    theirs = [torch.zeros(2, requires_grad=True) for _ in range(2)]
    opt = getattr(optim, name)([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.05}], lr=0.1, **kwargs)
    ref = getattr(torch.optim, name)([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.05}], lr=0.1, **kwargs)
    return opt, ref


def _metric(i: int) -> float:
    """A loss that falls, then stalls with noise, then falls again (for ReduceLROnPlateau)."""
    return 1.0 / (1 + i) if i < 20 else 0.05 + 0.01 * math.sin(i) if i < 60 else 0.05 / (i - 58)


def _plateau_step(scheds, i):
    for s in scheds:
        s.step(_metric(i))


def _plateau_max_step(scheds, i):
    for s in scheds:
        s.step(-_metric(i))


def _fractional_step(scheds, i):
    for s in scheds:
        s.step(i // 4 + (i % 4) / 4 + 0.25)  # four batches an epoch


# id: (optimizer, its kwargs, build(schedulers module, optimizer) -> schedulers stepped in order, step or None)
CASES = {
    "StepLR": ("SGD", {}, lambda S, o: [S.StepLR(o, step_size=7, gamma=0.5)], None),
    "MultiStepLR": ("SGD", {}, lambda S, o: [S.MultiStepLR(o, milestones=[10, 30, 30, 70], gamma=0.3)], None),
    "ConstantLR": ("SGD", {}, lambda S, o: [S.ConstantLR(o, factor=0.25, total_iters=12)], None),
    "LinearLR": ("SGD", {}, lambda S, o: [S.LinearLR(o)], None),
    "LinearLR-decay": ("SGD", {}, lambda S, o: [S.LinearLR(o, start_factor=0.9, end_factor=0.05,
                                                            total_iters=40)], None),
    "ExponentialLR": ("SGD", {}, lambda S, o: [S.ExponentialLR(o, gamma=0.97)], None),
    "PolynomialLR": ("SGD", {}, lambda S, o: [S.PolynomialLR(o, total_iters=60, power=2.0)], None),
    "CosineAnnealingLR": ("SGD", {}, lambda S, o: [S.CosineAnnealingLR(o, T_max=30, eta_min=0.001)], None),
    "LambdaLR": ("SGD", {}, lambda S, o: [S.LambdaLR(o, lambda e: 0.95 ** e)], None),
    "LambdaLR-per-group": ("SGD", {}, lambda S, o: [S.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.5 + e % 3])],
                           None),
    "MultiplicativeLR": ("SGD", {}, lambda S, o: [S.MultiplicativeLR(o, lambda e: 0.99 if e % 2 else 0.95)], None),
    "CyclicLR-triangular": ("SGD", dict(momentum=0.9), lambda S, o: [S.CyclicLR(o, 0.01, 0.1, step_size_up=7,
                                                                                  step_size_down=13)], None),
    "CyclicLR-triangular2": ("SGD", dict(momentum=0.9), lambda S, o: [S.CyclicLR(o, [0.01, 0.02], [0.1, 0.3],
                                                                                   step_size_up=10,
                                                                                   mode="triangular2")], None),
    "CyclicLR-exp_range-Adam": ("Adam", {}, lambda S, o: [S.CyclicLR(o, 0.001, 0.01, step_size_up=5,
                                                                       mode="exp_range", gamma=0.98)], None),
    "OneCycleLR-cos-SGD": ("SGD", dict(momentum=0.9), lambda S, o: [S.OneCycleLR(o, max_lr=1.0, total_steps=100)],
                           None),
    "OneCycleLR-linear-Adam": ("Adam", {}, lambda S, o: [S.OneCycleLR(o, max_lr=[0.01, 0.02], epochs=10,
                                                                       steps_per_epoch=10, anneal_strategy="linear",
                                                                       pct_start=0.25)], None),
    "OneCycleLR-three_phase": ("SGD", dict(momentum=0.9), lambda S, o: [S.OneCycleLR(
        o, max_lr=0.5, total_steps=100, three_phase=True, base_momentum=0.8, max_momentum=0.9, div_factor=10.0,
        final_div_factor=100.0)], None),
    "OneCycleLR-no-momentum": ("Adagrad", {}, lambda S, o: [S.OneCycleLR(o, max_lr=0.3, total_steps=120,
                                                                          cycle_momentum=False)], None),
    "CosineAnnealingWarmRestarts": ("SGD", {}, lambda S, o: [S.CosineAnnealingWarmRestarts(o, T_0=10)], None),
    "CosineAnnealingWarmRestarts-T_mult": ("SGD", {}, lambda S, o: [S.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.001)], None),
    "CosineAnnealingWarmRestarts-fractional": ("SGD", {}, lambda S, o: [S.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.002)], _fractional_step),
    "ReduceLROnPlateau": ("SGD", {}, lambda S, o: [S.ReduceLROnPlateau(o, patience=3, factor=0.5)],
                          _plateau_step),
    "ReduceLROnPlateau-abs-cooldown": ("SGD", {}, lambda S, o: [S.ReduceLROnPlateau(
        o, patience=2, factor=0.3, threshold=1e-3, threshold_mode="abs", cooldown=4, min_lr=[0.002, 0.001])],
        _plateau_step),
    "ReduceLROnPlateau-max": ("Adam", {}, lambda S, o: [S.ReduceLROnPlateau(
        o, mode="max", patience=1, threshold=0.05, min_lr=1e-3, eps=1e-3)], _plateau_max_step),
    # combinations on one optimizer
    "LinearLR+StepLR": ("SGD", {}, lambda S, o: [S.LinearLR(o, start_factor=0.25, total_iters=4),
                                                  S.StepLR(o, step_size=3, gamma=0.5)], None),
    "ExponentialLR+CosineAnnealingLR": ("SGD", {}, lambda S, o: [S.ExponentialLR(o, gamma=0.99),
                                                                  S.CosineAnnealingLR(o, T_max=25)], None),
    "ConstantLR+MultiStepLR+LinearLR": ("SGD", {}, lambda S, o: [S.ConstantLR(o, factor=0.5, total_iters=8),
                                                                  S.MultiStepLR(o, [5, 50], gamma=0.2),
                                                                  S.LinearLR(o, start_factor=0.1, total_iters=20)],
                                        None),
    "SequentialLR": ("SGD", {}, lambda S, o: [S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=10),
                                                                  S.CosineAnnealingLR(o, T_max=90)],
                                                              milestones=[10])], None),
    "SequentialLR-three": ("SGD", {}, lambda S, o: [S.SequentialLR(o, [S.ConstantLR(o, factor=0.1, total_iters=5),
                                                                        S.ExponentialLR(o, gamma=0.9),
                                                                        S.StepLR(o, step_size=10, gamma=0.5)],
                                                                    milestones=[5, 30])], None),
    "SequentialLR-warm-restarts": ("SGD", {}, lambda S, o: [S.SequentialLR(o, [
        S.LinearLR(o, start_factor=0.5, total_iters=4), S.CosineAnnealingWarmRestarts(o, T_0=8)], milestones=[4])],
        None),
    "ChainedScheduler": ("SGD", {}, lambda S, o: [S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=6),
                                                                       S.ExponentialLR(o, gamma=0.95)])], None),
    "ChainedScheduler-warmup-step": ("Adam", {}, lambda S, o: [S.ChainedScheduler(
        [S.LinearLR(o, start_factor=0.2, total_iters=5), S.MultiStepLR(o, [20, 60], gamma=0.1)], optimizer=o)], None),
}


def _run(name, steps, opt_and_scheds=None):
    """Step a case `steps` times; per step, the last scheduler's get_last_lr and the groups' lr and
    momentum settings, read before the step."""
    opt_name, kwargs, build, step = CASES[name]
    opt, scheds = opt_and_scheds
    out = []
    for i in range(steps):
        groups = [(g["lr"], g.get("momentum"), tuple(g.get("betas", ()))) for g in opt.param_groups]
        out.append((list(scheds[-1].get_last_lr()), groups))
        opt.step()
        if step is None:
            for s in scheds:
                s.step()
        else:
            step(scheds, i)
    return out


def _build(name, lib):
    opt_name, kwargs, build, _ = CASES[name]
    opt, ref = _optimizers(opt_name, **kwargs)
    opt = opt if lib is lr_scheduler else ref
    return opt, build(lib, opt)


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_step_for_step(name):
    ours = _run(name, STEPS, _build(name, lr_scheduler))
    theirs = _run(name, STEPS, _build(name, torch.optim.lr_scheduler))
    for epoch, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"{name}, epoch {epoch}: {a} != torch's {b}"


@pytest.mark.parametrize("name", CASES)
def test_resumes_from_state_dicts(name):
    # the usual resume: build optimizer and schedulers afresh, then load both state dicts
    opt, scheds = _build(name, lr_scheduler)
    _run(name, 37, (opt, scheds))
    saved_opt = opt.state_dict()
    saved = [s.state_dict() for s in scheds]
    expected = _run(name, 40, (opt, scheds))

    opt2, scheds2 = _build(name, lr_scheduler)
    opt2.load_state_dict(saved_opt)
    for s, sd in zip(scheds2, saved):
        s.load_state_dict(sd)
    assert _run(name, 40, (opt2, scheds2)) == expected



RESUMED = {
    "StepLR": lambda S, o, e: S.StepLR(o, step_size=4, gamma=0.5, last_epoch=e),
    "ExponentialLR": lambda S, o, e: S.ExponentialLR(o, gamma=0.9, last_epoch=e),
    "CosineAnnealingLR": lambda S, o, e: S.CosineAnnealingLR(o, T_max=20, last_epoch=e),
    "LinearLR": lambda S, o, e: S.LinearLR(o, start_factor=0.1, total_iters=15, last_epoch=e),
    "CosineAnnealingWarmRestarts": lambda S, o, e: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, last_epoch=e),
}


@pytest.mark.parametrize("name", RESUMED)
def test_resuming_with_last_epoch_matches_torch(name):
    # the older way to resume: a fresh scheduler told the last epoch, on groups that already hold initial_lr
    def run(lib):
        ours, theirs = _optimizers("SGD")
        opt = ours if lib is lr_scheduler else theirs
        first = RESUMED[name](lib, opt, -1)
        for _ in range(7):
            opt.step()
            first.step()
        sched = RESUMED[name](lib, opt, 6)
        lrs = []
        for _ in range(30):
            lrs.append(sched.get_last_lr() + [g["lr"] for g in opt.param_groups])
            opt.step()
            sched.step()
        return lrs

    assert run(lr_scheduler) == run(torch.optim.lr_scheduler)
