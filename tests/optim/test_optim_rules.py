"""Each optimizer's first steps against its update formula written out in plain float64 NumPy."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import optim

STEPS = 5


def _problem(seed: int = 0, shape: tuple[int, ...] = (3, 4)) -> tuple[np.ndarray, list[np.ndarray]]:
    """Initial parameters and a fixed sequence of gradients (float64)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(STEPS)]


def _run(make_opt, p0: np.ndarray, grads: list[np.ndarray]) -> list[np.ndarray]:
    """Drive an optimizer with given gradients; the parameter after every step."""
    p = tg.Tensor(p0.copy(), requires_grad=True)
    opt = make_opt([p])
    out = []
    for g in grads:
        p.grad = tg.Tensor(g.copy())
        opt.step()
        out.append(p.data.copy())
    return out


def _check(ours: list[np.ndarray], ref: list[np.ndarray]) -> None:
    for step, (a, b) in enumerate(zip(ours, ref)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {step + 1}")


# -- references -------------------------------------------------------------------------------------
def sgd_ref(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    out, buf = [], None
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return out


def adam_ref(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def rmsprop_ref(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    s = np.zeros_like(p)
    a = np.zeros_like(p)
    buf = np.zeros_like(p)
    out = []
    for g in grads:
        g = g + weight_decay * p
        s = alpha * s + (1 - alpha) * g ** 2
        if centered:
            a = alpha * a + (1 - alpha) * g
            denom = np.sqrt(s - a ** 2) + eps
        else:
            denom = np.sqrt(s) + eps
        if momentum > 0:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
        out.append(p)
    return out


def adagrad_ref(p, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    s = np.full_like(p, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        s = s + g ** 2
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


# -- the checks -------------------------------------------------------------------------------------
SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, weight_decay=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.01),
]


@pytest.mark.parametrize("config", SGD_CONFIGS, ids=str)
def test_sgd_matches_formula(config):
    p0, grads = _problem(1)
    _check(_run(lambda ps: optim.SGD(ps, **config), p0, grads), sgd_ref(p0, grads, **config))


ADAM_CONFIGS = [
    dict(lr=1e-3),
    dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.05, amsgrad=True),
    dict(lr=0.05, amsgrad=True, weight_decay=0.2, betas=(0.5, 0.7)),
]


@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=str)
def test_adam_matches_formula(config):
    p0, grads = _problem(2)
    _check(_run(lambda ps: optim.Adam(ps, **config), p0, grads), adam_ref(p0, grads, **config))


@pytest.mark.parametrize("config", ADAM_CONFIGS + [dict(lr=0.1)], ids=str)
def test_adamw_matches_formula(config):
    p0, grads = _problem(3)
    config = {"weight_decay": 1e-2, **config}  # AdamW's default decay
    _check(_run(lambda ps: optim.AdamW(ps, **config), p0, grads), adam_ref(p0, grads, decoupled=True, **config))


def test_adam_and_adamw_weight_decay_differ():
    p0, grads = _problem(4)
    adam = _run(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5), p0, grads)
    adamw = _run(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5), p0, grads)
    assert not np.allclose(adam[-1], adamw[-1])


def test_adam_first_step_moves_by_lr_times_sign():
    # with bias correction, m_hat = g and v_hat = g^2 after one step: p moves by lr * g / (|g| + eps)
    p0 = np.array([1.0, -2.0, 3.0])
    g = np.array([0.5, -4.0, 1e-3])
    (p1,) = _run(lambda ps: optim.Adam(ps, lr=0.01), p0, [g])
    np.testing.assert_allclose(p1, p0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_amsgrad_uses_running_max():
    # a big gradient then small ones: amsgrad keeps the big second moment, so it moves less
    p0 = np.zeros(2)
    grads = [np.array([10.0, 10.0])] + [np.array([0.1, 0.1])] * 4
    plain = _run(lambda ps: optim.Adam(ps, lr=0.1, betas=(0.0, 0.5)), p0, grads)
    ams = _run(lambda ps: optim.Adam(ps, lr=0.1, betas=(0.0, 0.5), amsgrad=True), p0, grads)
    steps_plain = np.abs(np.diff([p0] + plain, axis=0))[1:]
    steps_ams = np.abs(np.diff([p0] + ams, axis=0))[1:]
    assert np.all(steps_ams < steps_plain)


RMSPROP_CONFIGS = [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9, eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, centered=True),
    dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.05, alpha=0.8),
]


@pytest.mark.parametrize("config", RMSPROP_CONFIGS, ids=str)
def test_rmsprop_matches_formula(config):
    p0, grads = _problem(5)
    _check(_run(lambda ps: optim.RMSprop(ps, **config), p0, grads), rmsprop_ref(p0, grads, **config))


ADAGRAD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, lr_decay=0.5),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, initial_accumulator_value=0.3, eps=1e-6),
]


@pytest.mark.parametrize("config", ADAGRAD_CONFIGS, ids=str)
def test_adagrad_matches_formula(config):
    p0, grads = _problem(6)
    _check(_run(lambda ps: optim.Adagrad(ps, **config), p0, grads), adagrad_ref(p0, grads, **config))


def test_sgd_one_step_by_hand():
    (p1,) = _run(lambda ps: optim.SGD(ps, lr=0.5, weight_decay=0.1), np.array([2.0, -4.0]), [np.array([1.0, 3.0])])
    # g + wd*p = [1.2, 2.6]; p - 0.5 * that
    np.testing.assert_allclose(p1, [1.4, -5.3], rtol=1e-14)


def test_nesterov_two_steps_by_hand():
    grads = [np.array([1.0]), np.array([2.0])]
    p1, p2 = _run(lambda ps: optim.SGD(ps, lr=1.0, momentum=0.5, nesterov=True), np.array([0.0]), grads)
    # step 1: buf = 1, d = 1 + 0.5*1 = 1.5; step 2: buf = 0.5 + 2 = 2.5, d = 2 + 1.25 = 3.25
    np.testing.assert_allclose(p1, [-1.5])
    np.testing.assert_allclose(p2, [-4.75])


def test_defaults_match_pytorch():
    p = [tg.Tensor(np.zeros(2), requires_grad=True)]
    assert optim.SGD(p).defaults == dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                                         maximize=False)
    assert optim.Adam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                                          maximize=False, decoupled_weight_decay=False)
    assert optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.AdamW(p).defaults["decoupled_weight_decay"] is True
    assert optim.RMSprop(p).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                                             centered=False, maximize=False)
    assert optim.Adagrad(p).defaults == dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                                             eps=1e-10, maximize=False)
    assert optim.NAdam(p).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                           momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False)
    assert optim.RAdam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                           decoupled_weight_decay=False, maximize=False)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True, weight_decay=0.01),
    lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.01),
    lambda ps: optim.NAdam(ps, lr=0.01, weight_decay=0.01, maximize=True),
    lambda ps: optim.RAdam(ps, lr=0.01, weight_decay=0.01, decoupled_weight_decay=True),
], ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam"])
def test_float32_stays_float32_in_place(make):
    p = tg.Tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    array, version = p.data, p._version
    opt = make([p])
    for _ in range(3):
        p.grad = tg.Tensor(np.ones((4, 5), dtype=np.float32))
        opt.step()
    assert p.data is array and p.dtype == np.float32
    assert p._version == version + 3
    for value in opt.state[p].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


def test_invalid_hyper_parameters():
    p = [tg.Tensor(np.zeros(2), requires_grad=True)]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="eps"):
        optim.RMSprop(p, eps=-1.0)
    with pytest.raises(ValueError, match="lr_decay"):
        optim.Adagrad(p, lr_decay=-0.1)


def test_bias_correction_matters_early():
    # without bias correction the first Adam step would be lr * (1-b1)/sqrt(1-b2) * sign(g) ~ 3.16 lr
    (p1,) = _run(lambda ps: optim.Adam(ps, lr=0.1), np.array([0.0]), [np.array([2.0])])
    assert math.isclose(p1[0], -0.1, rel_tol=1e-6)


def nadam_ref(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    mu_prod = 1.0
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        denom = np.sqrt(v / (1 - b2 ** t)) + eps
        p = p - lr * (1 - mu) / (1 - mu_prod) * g / denom - lr * mu_next / (1 - mu_prod * mu_next) * m / denom
        out.append(p)
    return out


def radam_ref(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False):
    b1, b2 = betas
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    rho_inf = 2 / (1 - b2) - 1
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * r * math.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
        else:
            p = p - lr * m_hat
        out.append(p)
    return out


NADAM_CONFIGS = [
    dict(lr=2e-3),
    dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, momentum_decay=0.1),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
]


@pytest.mark.parametrize("config", NADAM_CONFIGS, ids=str)
def test_nadam_matches_formula(config):
    p0, grads = _problem(7)
    _check(_run(lambda ps: optim.NAdam(ps, **config), p0, grads), nadam_ref(p0, grads, **config))


RADAM_CONFIGS = [
    dict(lr=1e-3),
    dict(lr=0.05, betas=(0.8, 0.9)),  # rho_t passes 5 within the first steps: both branches run
    dict(lr=0.01, betas=(0.5, 0.8), weight_decay=0.1),
    dict(lr=0.01, betas=(0.5, 0.8), weight_decay=0.1, decoupled_weight_decay=True),
]


@pytest.mark.parametrize("config", RADAM_CONFIGS, ids=str)
def test_radam_matches_formula(config):
    p0, grads = _problem(8)
    _check(_run(lambda ps: optim.RAdam(ps, **config), p0, grads), radam_ref(p0, grads, **config))


def test_radam_is_momentum_sgd_while_the_variance_is_unreliable():
    # rho_t <= 5 for the first steps with b2 = 0.999: p moves by lr * bias-corrected m, no division by sqrt(v)
    (p1,) = _run(lambda ps: optim.RAdam(ps, lr=0.1), np.array([1.0, 1.0]), [np.array([3.0, -1e-6])])
    np.testing.assert_allclose(p1, [1.0 - 0.3, 1.0 + 1e-7], rtol=1e-12)


MAXIMIZE = {
    "SGD": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    "Adam": dict(lr=0.01, amsgrad=True, weight_decay=0.1),
    "AdamW": dict(lr=0.01, amsgrad=True),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
    "Adagrad": dict(lr=0.1, lr_decay=0.1, weight_decay=0.1),
    "NAdam": dict(lr=0.01, weight_decay=0.1),
    "RAdam": dict(lr=0.01, betas=(0.5, 0.8), weight_decay=0.1),
}


@pytest.mark.parametrize("name", MAXIMIZE)
def test_maximize_is_minimizing_the_negated_gradient(name):
    # maximize negates the gradient only; weight decay still pulls towards zero
    p0, grads = _problem(9)
    make = getattr(optim, name)
    up = _run(lambda ps: make(ps, maximize=True, **MAXIMIZE[name]), p0, grads)
    down = _run(lambda ps: make(ps, **MAXIMIZE[name]), p0, [-g for g in grads])
    for a, b in zip(up, down):
        np.testing.assert_array_equal(a, b)
    assert make([tg.Tensor(p0, requires_grad=True)], maximize=True).param_groups[0]["maximize"] is True


def test_maximize_climbs():
    w = tg.Tensor(np.zeros(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.1, maximize=True)
    for _ in range(60):
        opt.zero_grad()
        (-(w - 1.0) ** 2).sum().backward()  # a maximum at w = 1: each step closes 20% of the gap
        opt.step()
    np.testing.assert_allclose(w.data, 1.0 - 0.8 ** 60, rtol=1e-12)
