"""The Optimizer base class: params arguments, groups, gradient handling, state dicts, convergence."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim
from tinygrad_np.errors import ShapeError


def _leaf(*shape, seed=0, dtype=np.float64):
    return tg.Tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype), requires_grad=True)


def test_params_as_list_generator_dict_and_module():
    a, b = _leaf(2), _leaf(3, seed=1)
    for params in ([a, b], (t for t in [a, b]), {"w": a, "b": b}):
        got = optim.SGD(params, lr=0.1).param_groups[0]["params"]
        assert [id(t) for t in got] == [id(a), id(b)]
    model = nn.Linear(3, 2)
    got = optim.SGD(model.parameters(), lr=0.1).param_groups[0]["params"]
    assert [id(t) for t in got] == [id(model.weight), id(model.bias)]


def test_param_group_dict_params_may_be_a_dict():
    a, b = _leaf(2), _leaf(3, seed=1)
    opt = optim.SGD([{"params": {"a": a}}, {"params": b, "lr": 1.0}], lr=0.1)
    assert [id(t) for t in opt.param_groups[0]["params"]] == [id(a)]
    assert [id(t) for t in opt.param_groups[1]["params"]] == [id(b)]


def test_bad_params_arguments():
    a = _leaf(2)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([tg.Tensor(np.arange(3))], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([a, a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(ValueError, match="no 'params'"):
        optim.SGD([{"lr": 0.1}])
    with pytest.raises(TypeError, match="dict of params"):
        optim.SGD({"a": a, "b": 3}, lr=0.1)


def test_groups_use_their_own_lr_and_defaults():
    a, b = _leaf(3), _leaf(3, seed=1)
    a0, b0 = a.data.copy(), b.data.copy()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 1.0
    assert opt.param_groups[1]["momentum"] == 0
    a.grad = tg.Tensor(np.ones(3))
    b.grad = tg.Tensor(np.ones(3))
    opt.step()
    np.testing.assert_allclose(a.data, a0 - 0.1)
    np.testing.assert_allclose(b.data, b0 - 1.0)


def test_add_param_group_later():
    a, b = _leaf(3), _leaf(3, seed=1)
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["betas"] == (0.9, 0.999)


def test_params_without_grad_are_skipped():
    a, b = _leaf(3), _leaf(3, seed=1)
    b0 = b.data.copy()
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.Tensor(np.ones(3))
    opt.step()
    np.testing.assert_array_equal(b.data, b0)
    assert b not in opt.state or not opt.state[b]


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1),
    lambda ps: optim.AdamW(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.1, weight_decay=0.1, centered=True, momentum=0.5),
    lambda ps: optim.Adagrad(ps, lr=0.1, weight_decay=0.1),
    lambda ps: optim.NAdam(ps, lr=0.1, weight_decay=0.1, maximize=True),
    lambda ps: optim.RAdam(ps, lr=0.1, weight_decay=0.1, maximize=True),
], ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam"])
def test_shared_gradient_is_never_modified(make):
    a, b = _leaf(3), _leaf(3, seed=1)
    shared = tg.Tensor(np.array([1.0, -2.0, 3.0]))
    a.grad = shared
    b.grad = shared
    opt = make([a, b])
    for _ in range(3):
        opt.step()
    np.testing.assert_array_equal(shared.data, [1.0, -2.0, 3.0])


def test_step_under_grad_mode_records_nothing():
    w = _leaf(3)
    loss = (w * w).sum()
    loss.backward()
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    assert tg.is_grad_enabled()
    opt.step()
    assert w.grad_fn is None and w.is_leaf and w.requires_grad


def test_step_after_forward_invalidates_saved_graph():
    # the update is in place and bumps the version, so a stale graph refuses to backprop
    w = _leaf(3)
    w.grad = tg.Tensor(np.ones(3))
    loss = (w * w).sum()
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(tg.InplaceModificationError):
        loss.backward()


def test_gradient_shape_mismatch_is_reported():
    w = _leaf(3)
    w.grad = tg.Tensor(np.ones(4))
    with pytest.raises(ShapeError, match=r"\(3,\).*\(4,\)"):
        optim.SGD([w], lr=0.1).step()


def test_zero_grad():
    a, b = _leaf(3), _leaf(2, seed=1)
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = tg.Tensor(np.ones(3))
    shared = a.grad
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.data, np.zeros(3))
    np.testing.assert_array_equal(shared.data, np.ones(3))  # a fresh array, not zeroed in place
    assert b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_closure_is_called_with_grad_enabled():
    w = _leaf(3)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    w0 = w.data.copy()
    with tg.no_grad():
        loss = opt.step(closure)
    np.testing.assert_allclose(loss.item(), (w0 * w0).sum())
    np.testing.assert_allclose(w.data, w0 - 0.1 * 2 * w0)


OPTIMIZERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "Adam": lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.05),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
    "NAdam": lambda ps: optim.NAdam(ps, lr=0.05, weight_decay=1e-3),
    "RAdam": lambda ps: optim.RAdam(ps, lr=0.05, weight_decay=1e-3, decoupled_weight_decay=True),
}


def _train(opt, params, steps, seed):
    """A few steps of a least-squares problem with real gradients."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = tg.Tensor(rng.standard_normal((8, 3)))
        y = tg.Tensor(rng.standard_normal((8, 2)))
        opt.zero_grad()
        loss = ((x @ params["w"] + params["b"] - y) ** 2).mean()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_continues_identically(name):
    make = OPTIMIZERS[name]
    params = {"w": _leaf(3, 2), "b": _leaf(2, seed=1)}
    opt = make(params)
    _train(opt, params, 3, seed=0)
    saved_params = {k: v.data.copy() for k, v in params.items()}
    saved = opt.state_dict()
    # the state dict is a copy: more training does not change it
    snapshot = {i: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                for i, s in saved["state"].items()}
    _train(opt, params, 3, seed=1)
    for i, s in saved["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(v, snapshot[i][k])
    expected = {k: v.data.copy() for k, v in params.items()}

    params2 = {k: tg.Tensor(v.copy(), requires_grad=True) for k, v in saved_params.items()}
    opt2 = make(params2)
    opt2.load_state_dict(saved)
    _train(opt2, params2, 3, seed=1)
    for k in params:
        np.testing.assert_array_equal(params2[k].data, expected[k])


def test_state_dict_layout_is_pytorch_like():
    a, b = _leaf(3), _leaf(2, seed=1)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = tg.Tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == [0]
    assert sd["state"][0]["step"] == 1
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert sd["param_groups"][1]["lr"] == 0.5


def test_load_state_dict_restores_hyper_parameters_and_casts():
    a = _leaf(3, dtype=np.float32)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    sd = {"state": {0: {"momentum_buffer": np.ones(3, dtype=np.float64)}},
          "param_groups": [{"lr": 0.7, "momentum": 0.5, "dampening": 0, "weight_decay": 0, "nesterov": False,
                            "params": [0]}]}
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["lr"] == 0.7 and opt.param_groups[0]["momentum"] == 0.5
    assert opt.state[a]["momentum_buffer"].dtype == np.float32
    sd["state"][0]["momentum_buffer"][:] = 5  # the optimizer holds a copy
    assert opt.state[a]["momentum_buffer"][0] == 1


def test_load_state_dict_errors():
    a, b = _leaf(3), _leaf(2, seed=1)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = tg.Tensor(np.ones(3)), tg.Tensor(np.ones(2))
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="sizes differ"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="1 parameter group"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    c, d = _leaf(4), _leaf(5)
    with pytest.raises(ShapeError, match=r"(?s)state\[0\].*\(4,\).*\(3,\).*state\[1\].*\(5,\).*\(2,\)"):
        optim.SGD([c, d], lr=0.1, momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_tiny_regression_converges(name):
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((64, 3)).astype(np.float32))
    true_w = np.array([[1.5], [-2.0], [0.5]], dtype=np.float32)
    y = tg.Tensor(x.data @ true_w + 0.3)
    w = tg.Tensor(np.zeros((3, 1), np.float32), requires_grad=True)
    b = tg.Tensor(np.zeros(1, np.float32), requires_grad=True)
    opt = OPTIMIZERS[name]({"w": w, "b": b})
    first = None
    for _ in range(300):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.05 * first, (first, loss.item())
