"""The graph is freed by reference counting alone: after backward and `del loss`, no intermediate
tensor, node or saved array survives, even with the cycle collector off."""
from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.autograd.function import Function, StandIn
from tinygrad_np.tensor import Tensor


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def leaf(*shape: int, seed: int = 0) -> Tensor:
    return tg.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def graph_nodes(*roots: Tensor) -> list[Function]:
    """Every node reachable from `roots`."""
    seen: dict[int, Function] = {}
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(t.grad_fn for t in node.inputs if t is not None and t.grad_fn is not None)
    return list(seen.values())


def model(w1: Tensor, b1: Tensor, w2: Tensor, x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """A small model that touches every kind of engine op; returns the loss and its intermediates."""
    h = (x @ w1 + b1).tanh()
    h2 = tg.where(h.data > 0, h, h * 0.1)
    z = tg.concatenate([h2, h2[:, ::-1]], axis=1) @ w2
    z = tg.stack([z, z.sigmoid()], axis=0).sum(axis=0)
    z = tg.maximum(z, z.exp().clip(0.0, 5.0)).reshape(-1, 1).transpose()
    pooled = z.max(axis=1) + z.logsumexp(axis=1) + z.var() + z.mean() + z.abs().sqrt().sum()
    loss = (pooled ** 2).sum() / 3.0 - z[0, [0, 1, 1]].sum()
    return loss, [h, h2, z, pooled]


def _build() -> tuple[tuple[Tensor, ...], Tensor, list[Tensor]]:
    params = (leaf(5, 4, seed=1), leaf(4, seed=2), leaf(8, 3, seed=3))
    x = tg.Tensor(np.random.default_rng(4).standard_normal((6, 5)))
    loss, inter = model(*params, x)
    return params, loss, inter


def test_everything_dies_after_backward_and_del() -> None:
    with no_cycle_collector():
        params, loss, inter = _build()
        nodes = graph_nodes(loss)
        assert len(nodes) > 25
        refs = [weakref.ref(t) for t in inter] + [weakref.ref(n) for n in nodes] + [weakref.ref(loss)]
        arrays = [weakref.ref(t.data) for t in inter]
        del nodes
        loss.backward()
        del loss, inter
        alive = [r() for r in refs + arrays if r() is not None]
        assert not alive, f"{len(alive)} objects survived: {alive[:5]}"
        assert all(p.grad is not None and p.grad.grad_fn is None for p in params)


def test_dropping_the_loss_without_backward_frees_the_graph() -> None:
    with no_cycle_collector():
        _, loss, inter = _build()
        refs = [weakref.ref(n) for n in graph_nodes(loss)] + [weakref.ref(t) for t in inter]
        del loss, inter
        assert all(r() is None for r in refs)


def test_backward_releases_saved_arrays_while_the_loss_is_still_held() -> None:
    """Activations saved for backward are released by backward itself, not when the loss dies."""
    with no_cycle_collector():
        w = leaf(64, 64)
        x = tg.Tensor(np.ones((16, 64)))
        h = (x @ w).tanh()
        activation = weakref.ref(h.data)
        loss = (h * h).sum()
        del h
        assert activation() is not None  # saved by Tanh (its output) and Mul (its inputs)
        loss.backward()
        assert activation() is None
        nodes = graph_nodes(loss)
        assert len(nodes) == 4  # the structure stays (for drawings), as in PyTorch
        assert all(n._freed and n._saved == () for n in nodes)
        assert all(isinstance(t, StandIn) or (t.is_leaf and t.requires_grad)  # no data but the parameters'
                   for n in nodes for t in n.inputs if t is not None)


def test_retain_graph_keeps_the_graph_until_the_loss_dies() -> None:
    with no_cycle_collector():
        params, loss, inter = _build()
        refs = [weakref.ref(n) for n in graph_nodes(loss)]
        loss.backward(retain_graph=True)
        first = [p.grad.numpy().copy() for p in params]
        for p in params:
            p.grad = None
        loss.backward()
        for p, g in zip(params, first):
            np.testing.assert_array_equal(p.grad.numpy(), g)
        del loss, inter
        assert all(r() is None for r in refs)


def test_grad_with_create_graph_is_freed_after_del() -> None:
    """Double backward through tg.grad: the first-order graph and the gradient graph both die."""
    with no_cycle_collector():
        params, loss, inter = _build()
        grads = tg.grad(loss, params, create_graph=True)
        penalty = sum((g * g).sum() for g in grads)
        refs = [weakref.ref(n) for n in graph_nodes(penalty)]
        assert len(refs) > len(graph_nodes(loss))
        penalty.backward()
        del loss, inter, grads, penalty
        assert all(r() is None for r in refs)


def test_backward_create_graph_cycle_is_broken_by_clearing_grad() -> None:
    """backward(create_graph=True) stores a graph in x.grad that refers back to x (a cycle, as in
    PyTorch); setting x.grad = None, as zero_grad does, breaks it without the cycle collector."""
    with no_cycle_collector():
        x = leaf(3)
        y = (x * x * x).sum()
        y.backward(create_graph=True)
        refs = [weakref.ref(n) for n in graph_nodes(x.grad)]
        assert refs
        del y
        x.grad = None
        assert all(r() is None for r in refs)


@pytest.mark.parametrize("fail", ["inplace", "anomaly"])
def test_graph_is_freed_after_a_backward_that_raised(fail: str) -> None:
    with no_cycle_collector():
        params, loss, inter = _build()
        refs = [weakref.ref(n) for n in graph_nodes(loss)] + [weakref.ref(t) for t in inter]
        if fail == "inplace":
            with tg.no_grad():
                inter[0].mul_(1.0)  # h was saved by Tanh as its output
            expected: Callable[[], None] = loss.backward
            error: type[BaseException] = tg.InplaceModificationError
        else:
            expected = lambda: loss.backward(np.array(np.nan))  # noqa: E731
            error = tg.AnomalyError
        with pytest.raises(error):
            with tg.detect_anomaly():
                expected()
        del loss, inter, expected
        assert all(r() is None for r in refs)


def test_saved_inputs_are_indexes_so_the_cycle_collector_drops_the_saved_tuple() -> None:
    x, w = leaf(3, 4), leaf(4, 2, seed=1)
    y = x @ w  # MatMul saves both inputs
    gc.collect()  # a tuple of numbers and arrays only is untracked at its first collection
    assert not gc.is_tracked(y.grad_fn._saved)
    saved = y.grad_fn.saved_tensors
    assert saved[0] is x and saved[1] is w
