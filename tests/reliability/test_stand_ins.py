"""A node holds a large intermediate input that its backward does not read as a `StandIn`, so the
activation is freed as soon as the caller drops it; gradients, hooks and drawings are unchanged."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.viz import to_dot
from tinygrad_np.autograd import function
from tinygrad_np.autograd.function import StandIn
from tinygrad_np.tensor import Tensor

LARGE = (64, 512)  # 128 KiB of float32: above the stand-in threshold
SMALL = (4, 8)


def leaf(shape: tuple[int, ...], seed: int = 0) -> Tensor:
    return tg.Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), requires_grad=True)


def test_threshold_separates_the_two_shapes_used_here() -> None:
    assert np.prod(SMALL) * 4 < function.STAND_IN_BYTES <= np.prod(LARGE) * 4


def test_an_activation_backward_does_not_read_is_freed_when_dropped() -> None:
    x = leaf(LARGE)
    h = x * 2.0  # ReLU keeps only its mask, so h itself is not needed by backward
    data = weakref.ref(h.data)
    y = F.relu(h)
    held = y.grad_fn.inputs[0]
    assert isinstance(held, StandIn) and held.grad_fn is h.grad_fn
    assert held.shape == h.shape and held.dtype == h.dtype
    with pytest.raises(tg.GraphError, match=r"ReLU: the values of an input \(shape \(64, 512\), dtype float32, "
                                            r"made by <Mul>\) were not kept.*ctx.save_for_backward"):
        held.data  # noqa: B018 - a stand-in hands out no values
    del h
    gc.collect()
    assert data() is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.where(x.data > 0, 2.0, 0.0).astype(np.float32))


@pytest.mark.parametrize("shape", [SMALL, LARGE])
def test_saved_inputs_leaves_and_small_intermediates_are_held_themselves(shape: tuple[int, ...]) -> None:
    x = leaf(shape)
    h = x * 2.0
    y = h * h  # Mul saves both inputs: backward reads h
    z = F.relu(x)  # a leaf
    assert all(t is h for t in y.grad_fn.inputs) and z.grad_fn.inputs[0] is x
    small = F.relu(leaf(SMALL) * 2.0)
    assert not isinstance(small.grad_fn.inputs[0], StandIn)


@pytest.mark.parametrize("when", ["before use", "after use"])
def test_a_hook_on_a_dropped_intermediate_still_runs(when: str) -> None:
    x = leaf(LARGE)
    h = x * 3.0
    seen = []
    if when == "before use":
        h.register_hook(lambda g: seen.append(g.shape))
    y = F.relu(h)
    if when == "after use":
        h.register_hook(lambda g: seen.append(g.shape))
    assert isinstance(y.grad_fn.inputs[0], StandIn)
    del h  # the hooks live on h's node as well
    y.sum().backward()
    assert seen == [LARGE]


def test_a_hook_that_replaces_the_gradient_of_a_dropped_intermediate() -> None:
    x = leaf(LARGE)
    h = x * 3.0
    y = F.relu(h)
    handle = h.register_hook(lambda g: g * 0.0)
    del h
    y.sum().backward(retain_graph=True)
    assert not x.grad.data.any()
    handle.remove()  # removing it through its handle works on the node's hooks too
    x.grad = None
    y.sum().backward()
    assert x.grad.data.any()


def test_retain_grad_and_grad_of_an_intermediate_still_work() -> None:
    x = leaf(LARGE)
    h = x * 2.0
    y = F.relu(h)
    h.retain_grad()  # after h was used: the node holds a stand-in, the gradient goes to h itself
    loss = y.sum()
    (gh,) = tg.grad(loss, h, retain_graph=True)
    loss.backward()
    expected = (h.data > 0).astype(np.float32)
    np.testing.assert_array_equal(gh.data, expected)
    np.testing.assert_array_equal(h.grad.data, expected)


def test_double_backward_through_stand_ins() -> None:
    x = leaf(LARGE)
    h = x * 1.5
    y = (F.relu(h) * h).sum()  # relu(h) * h = h^2 where h > 0
    (gx,) = tg.grad(y, x, create_graph=True)
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(x.data > 0, 2 * 1.5 * 1.5, 0.0), rtol=1e-6)


def test_repr_and_drawing_say_the_values_are_freed() -> None:
    h = leaf(LARGE) * 2.0
    y = h.sum(axis=1)  # a sum's backward needs only h's shape
    held = y.grad_fn.inputs[0]
    assert repr(held) == "StandIn(shape=(64, 512), dtype=float32, grad_fn=<Mul>)"
    del h
    source = to_dot(y, show_values=True)
    assert "values freed" in source and "nan" not in source


def test_draw_graph_names_an_intermediate_through_its_stand_in() -> None:
    h = leaf(LARGE) * 2.0
    y = h.sum(axis=1)
    assert isinstance(y.grad_fn.inputs[0], StandIn) and "hidden" in to_dot(y, params={"hidden": h})
