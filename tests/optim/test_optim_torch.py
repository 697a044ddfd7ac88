"""Optimizers and schedulers against PyTorch: same hyper-parameters, same start, same gradients."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import optim
from tinygrad_np.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 5

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.8)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.001, centered=True, momentum=0.5)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.2, eps=1e-6)),
]


@pytest.mark.parametrize("name,config", CONFIGS, ids=[f"{n}-{c}" for n, c in CONFIGS])
def test_matches_torch(name, config):
    rng = np.random.default_rng(7)
    shapes = [(4, 3), (3,), (2, 1, 2)]
    starts = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(STEPS)]

    ours = [tg.Tensor(a.copy(), requires_grad=True) for a in starts]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    opt = getattr(optim, name)(ours, **config)
    ref = getattr(torch.optim, name)(theirs, **config)
    for step in range(STEPS):
        for p, q, g in zip(ours, theirs, grads[step]):
            p.grad = tg.Tensor(g)
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} {config}: parameter {i} after step {step + 1}")


def test_param_groups_match_torch():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 2)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    ours = [tg.Tensor(a, requires_grad=True), tg.Tensor(b.copy(), requires_grad=True)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(b.copy(), requires_grad=True)]
    opt = optim.SGD([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.5, "momentum": 0.5}], lr=0.1, momentum=0.9)
    ref = torch.optim.SGD([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.5, "momentum": 0.5}],
                          lr=0.1, momentum=0.9)
    for _ in range(STEPS):
        gs = [rng.standard_normal(a.shape).astype(np.float32), rng.standard_normal(b.shape).astype(np.float32)]
        for p, q, g in zip(ours, theirs, gs):
            p.grad, q.grad = tg.Tensor(g), torch.tensor(g)
        opt.step()
        ref.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-5, atol=1e-6)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("CosineAnnealingLR", dict(T_max=7)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.5, total_iters=4)),
]


@pytest.mark.parametrize("name,config", SCHEDULERS, ids=[f"{n}-{c}" for n, c in SCHEDULERS])
def test_scheduler_matches_torch(name, config):
    ours_p = [tg.Tensor(np.zeros(1, np.float32), requires_grad=True)]
    theirs_p = [torch.zeros(1, requires_grad=True)]
    opt = optim.SGD([{"params": ours_p, "lr": 0.1}], lr=0.1)
    ref = torch.optim.SGD([{"params": theirs_p, "lr": 0.1}], lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **config)
    ref_sched = getattr(torch.optim.lr_scheduler, name)(ref, **config)
    for epoch in range(10):  # cosine beyond T_max included
        np.testing.assert_allclose(sched.get_last_lr(), ref_sched.get_last_lr(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"epoch {epoch}")
        assert opt.param_groups[0]["lr"] == sched.get_last_lr()[0]
        opt.step()
        ref.step()
        sched.step()
        ref_sched.step()
