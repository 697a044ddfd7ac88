"""nn.utils: gradient clipping by norm (every norm type, PyTorch's coefficient and return value) and
by value, and flat parameter vectors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.errors import ShapeError
from tinygrad_np import nn
from tinygrad_np.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters


def _params_with_grads(seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    params = [tg.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 4), (4,), (2, 2, 2)]]
    for p in params:
        p.grad = tg.Tensor(scale * rng.standard_normal(p.shape))
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_a_reference(norm_type, max_norm):
    params = _params_with_grads()
    grads = [p.grad.data.copy() for p in params]
    flat = np.concatenate([g.ravel() for g in grads])
    expected = np.abs(flat).max() if norm_type == math.inf else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    total = clip_grad_norm_(params, max_norm, norm_type)
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    coef = min(1.0, max_norm / (expected + 1e-6))
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.data, g * coef, rtol=1e-12)


def test_clip_grad_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    for norm_type in (2.0, math.inf, 1.0):
        ours = _params_with_grads(1)
        theirs = [torch.tensor(p.data, requires_grad=True) for p in ours]
        for p, q in zip(ours, theirs):
            q.grad = torch.tensor(p.grad.data)
        total = clip_grad_norm_(ours, 0.7, norm_type)
        ref = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type)
        np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-12)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_skips_missing_grads_accepts_one_tensor_and_module_parameters():
    model = nn.Linear(3, 2)
    (model(tg.ones(1, 3)) * 100).sum().backward()
    model.bias.grad = None
    total = clip_grad_norm_(model.parameters(), 1.0)
    assert total.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(model.weight.grad.data), 1.0, rtol=1e-5)
    single = _params_with_grads()[0]
    clip_grad_norm_(single, 0.1)
    np.testing.assert_allclose(np.linalg.norm(single.grad.data), 0.1, rtol=1e-5)
    assert clip_grad_norm_([tg.Tensor([1.0], requires_grad=True)], 1.0).item() == 0.0  # no gradients at all


def test_clip_grad_norm_nonfinite():
    params = _params_with_grads()
    params[1].grad.data[0] = np.nan
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 of the gradients is nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert np.isnan(clip_grad_norm_(params, 1.0).item())


def test_clip_grad_value_():
    params = _params_with_grads()
    before = [p.grad.data.copy() for p in params]
    clip_grad_value_(params, 0.5)
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad.data, np.clip(g, -0.5, 0.5))


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 2 + 2 + 2 + 1,)
    np.testing.assert_array_equal(vec.data[:6], model[0].weight.data.ravel())
    (vec * tg.arange(11).astype(np.float32)).sum().backward()  # differentiable: each parameter gets its slice
    np.testing.assert_array_equal(model[0].bias.grad.data, [6, 7])
    vector_to_parameters(tg.Tensor(np.arange(11, dtype=np.float32)), model.parameters())
    np.testing.assert_array_equal(model[1].weight.data, [[8, 9]])
    with pytest.raises(ShapeError, match="vector_to_parameters: vec must be 1-D with 11 elements"):
        vector_to_parameters(tg.zeros(10), model.parameters())
    with pytest.raises(TypeError, match="expected vec to be a Tensor"):
        vector_to_parameters(np.zeros(11), model.parameters())
