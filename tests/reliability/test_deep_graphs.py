"""Deep graphs: very long chains and very deep networks backprop (and get freed) without recursion,
and their gradients are right."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinygrad_np as tg

CHAIN = 100_000


def test_chain_of_100k_mixed_ops_backprops_with_the_right_gradient() -> None:
    """y <- y * s + 1, 50,000 times: 100,000 recorded ops; dy/dx = s ** 50,000."""
    s = 1.0 - 1e-5
    x = tg.Tensor(np.array([0.5, -2.0]), requires_grad=True)
    y = x
    for _ in range(CHAIN // 2):
        y = y * s
        y = y + 1.0
    assert y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [s ** (CHAIN // 2)] * 2, rtol=1e-9)
    # forward value as a plain recurrence: y_n = s^n x + (1 - s^n) / (1 - s)
    n = CHAIN // 2
    np.testing.assert_allclose(y.numpy(), s ** n * np.array([0.5, -2.0]) + (1 - s ** n) / (1 - s), rtol=1e-9)


def test_dropping_a_100k_chain_without_backward_does_not_recurse() -> None:
    x = tg.Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(CHAIN):
        y = y.tanh() if _ % 2 else y * 0.5
    first = weakref.ref(y.grad_fn)
    gc.disable()
    try:
        del y  # the whole chain is freed by reference counting, one node after another
        assert first() is None
    finally:
        gc.enable()


def test_second_order_through_a_deep_chain() -> None:
    """create_graph=True on a 20,000-op chain: f = (s^n x)^2, f' = 2 s^2n x, f'' = 2 s^2n."""
    n, s = 10_000, 1.0 + 1e-5
    x = tg.Tensor(np.array(0.75), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * s
        y = y - 0.0
    (g,) = tg.grad(y * y, x, create_graph=True)
    (gg,) = tg.grad(g, x)
    assert g.item() == pytest.approx(2 * s ** (2 * n) * 0.75, rel=1e-9)
    assert gg.item() == pytest.approx(2 * s ** (2 * n), rel=1e-9)


def _numpy_mlp_input_grad(x: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray],
                          target: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Forward and backward of h <- tanh(h @ W + b), loss = sum((h - target)^2), by hand in NumPy."""
    hs = [x]
    for w, b in zip(weights, biases):
        hs.append(np.tanh(hs[-1] @ w + b))
    loss = float(np.sum((hs[-1] - target) ** 2))
    g = 2.0 * (hs[-1] - target)
    grad_w0 = None
    for i in range(len(weights) - 1, -1, -1):
        g = g * (1.0 - hs[i + 1] ** 2)  # through tanh
        if i == 0:
            grad_w0 = hs[0].T @ g
        g = g @ weights[i].T
    return g, grad_w0, loss


def test_1000_layer_tanh_mlp_matches_manual_numpy_backprop() -> None:
    depth, width, batch = 1000, 8, 4
    rng = np.random.default_rng(7)
    # weights near an orthogonal scale keep the signal (and the gradient) alive through 1,000 layers
    weights = [np.linalg.qr(rng.standard_normal((width, width)))[0] * 1.1 for _ in range(depth)]
    biases = [rng.standard_normal(width) * 0.05 for _ in range(depth)]
    x0 = rng.standard_normal((batch, width))
    target = rng.standard_normal((batch, width)) * 0.5

    x = tg.Tensor(x0, requires_grad=True)
    ws = [tg.Tensor(w, requires_grad=True) for w in weights]
    bs = [tg.Tensor(b, requires_grad=True) for b in biases]
    h = x
    for w, b in zip(ws, bs):
        h = (h @ w + b).tanh()
    loss = ((h - tg.Tensor(target)) ** 2).sum()
    loss.backward()

    expected_dx, expected_dw0, expected_loss = _numpy_mlp_input_grad(x0, weights, biases, target)
    assert np.abs(expected_dx).max() > 1e-3  # the gradient did not vanish, so the check means something
    assert loss.item() == pytest.approx(expected_loss, rel=1e-9)
    np.testing.assert_allclose(x.grad.numpy(), expected_dx, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(ws[0].grad.numpy(), expected_dw0, rtol=1e-7, atol=1e-12)
    assert all(w.grad is not None and w.grad.shape == (width, width) for w in ws)
