"""Optimizers against PyTorch: same hyper-parameters, same start, same gradients."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import optim

torch = pytest.importorskip("torch")

STEPS = 20

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.95))),  # beta1 < 0.5: lerp_'s other rounding
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.8)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.001, centered=True, momentum=0.5, alpha=0.3, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.2, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]

# float64 follows torch's arithmetic to rounding; float32 to float32 rounding
TOLERANCES = {np.float64: dict(rtol=1e-11, atol=1e-13), np.float32: dict(rtol=2e-5, atol=2e-6)}


@pytest.fixture
def torch_default_dtype(request):
    """Run torch with the dtype under test as its default: NAdam keeps its momentum product in it."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if request.param == np.float64 else torch.float32)
    yield request.param
    torch.set_default_dtype(old)


@pytest.mark.parametrize("torch_default_dtype", [np.float64, np.float32], indirect=True, ids=["f64", "f32"])
@pytest.mark.parametrize("name,config", CONFIGS, ids=[f"{n}-{c}" for n, c in CONFIGS])
def test_matches_torch(name, config, torch_default_dtype):
    dtype = torch_default_dtype
    rng = np.random.default_rng(7)
    shapes = [(4, 3), (3,), (2, 1, 2)]
    starts = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(STEPS)]

    ours = [tg.Tensor(a.copy(), requires_grad=True) for a in starts]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    opt = getattr(optim, name)(ours, **config)
    ref = getattr(torch.optim, name)(theirs, foreach=False, **config)
    for step in range(STEPS):
        for p, q, g in zip(ours, theirs, grads[step]):
            p.grad = tg.Tensor(g)
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            assert p.dtype == dtype
            np.testing.assert_allclose(p.data, q.detach().numpy(), **TOLERANCES[dtype],
                                       err_msg=f"{name} {config}: parameter {i} after step {step + 1}")
    state, ref_state = opt.state_dict()["state"], ref.state_dict()["state"]
    for i in ref_state:
        assert list(state[i]) == list(ref_state[i])  # the same entries, in the same order
        for key, value in ref_state[i].items():
            np.testing.assert_allclose(state[i][key], value.numpy() if hasattr(value, "numpy") else value,
                                       **TOLERANCES[dtype], err_msg=f"{name} state[{i}][{key!r}]")


@pytest.mark.parametrize("torch_default_dtype", [np.float64], indirect=True, ids=["f64"])
@pytest.mark.parametrize("name,config", [("SGD", dict(lr=0.05, momentum=0.9)), ("NAdam", dict(lr=0.01)),
                                         ("RAdam", dict(lr=0.01, weight_decay=0.01)), ("AdamW", dict(lr=0.01))])
def test_small_model_trains_as_in_torch(name, config, torch_default_dtype):
    # gradients from each framework's own autograd: the whole loop matches, not only the update
    rng = np.random.default_rng(5)
    w1, b1, w2 = rng.standard_normal((3, 8)), np.zeros(8), rng.standard_normal((8, 1))
    ours = [tg.Tensor(a.copy(), requires_grad=True) for a in (w1, b1, w2)]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in (w1, b1, w2)]
    opt = getattr(optim, name)(ours, **config)
    ref = getattr(torch.optim, name)(theirs, foreach=False, **config)
    for _ in range(STEPS):
        x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
        opt.zero_grad()
        ((((tg.Tensor(x) @ ours[0] + ours[1]).tanh() @ ours[2]) - tg.Tensor(y)) ** 2).mean().backward()
        opt.step()
        ref.zero_grad()
        ((((torch.tensor(x) @ theirs[0] + theirs[1]).tanh() @ theirs[2]) - torch.tensor(y)) ** 2).mean().backward()
        ref.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)


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

