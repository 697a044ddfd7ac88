"""The engine's contract: accumulation, graph freeing, no_grad, deep graphs, higher order, hooks, dtypes."""
import gc
import weakref

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.autograd.function import StandIn
from tinygrad_np.errors import GraphError, InplaceModificationError


def leaf(values, dtype=np.float64):
    return tg.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_leaf_grads_accumulate_until_reset():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 4])


def test_reused_node_gets_all_its_gradient_before_running():
    # b = a + a; c = b + b: a naive recursive backward gets this wrong
    a = leaf(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond_graph():
    x = leaf(2.0)
    h = x * x
    y = h * 3 + h.exp() + h  # h feeds three consumers
    y.backward()
    expected = (3 + np.exp(4.0) + 1) * 2 * 2.0
    np.testing.assert_allclose(x.grad.item(), expected)


def test_each_node_backward_runs_once():
    calls = []

    class Count(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            return grad

    x = leaf([1.0, 2.0])
    h = Count.apply(x)
    (h * h + h).sum().backward()
    assert calls == [1]
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 5.0])


def test_non_leaf_grad_only_with_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    k = x * 3
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad.numpy(), h.numpy())


def test_second_backward_through_freed_graph_says_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_frees_saved_arrays():
    x = leaf(np.ones((100, 100)))
    y = x.exp()
    node = y.grad_fn
    loss = y.sum()
    loss.backward()
    assert node._saved == () and node.inputs == (x,)  # a leaf parameter is held, as PyTorch's AccumulateGrad
    (held,) = loss.grad_fn.inputs  # an intermediate stays in the structure as a data-free stand-in
    assert isinstance(held, StandIn) and held.grad_fn is node and held.shape == (100, 100)


def test_non_scalar_backward_needs_grad_and_names_shape():
    x = leaf(np.ones((2, 3)))
    y = x * 2
    with pytest.raises(GraphError, match=r"\(2, 3\)"):
        y.backward()
    y.backward(np.ones((2, 3)))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))


def test_backward_grad_of_wrong_shape():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(GraphError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(GraphError, match="does not require grad"):
        tg.Tensor([1.0, 2.0]).sum().backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        tg.Tensor([1, 2, 3], requires_grad=True)


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        y = x * x
    assert y.grad_fn is None and not y.requires_grad

    @tg.no_grad()
    def f(t):
        return t.exp()

    assert f(x).grad_fn is None
    assert tg.is_grad_enabled()
    with tg.no_grad():
        with tg.enable_grad():
            assert (x * x).grad_fn is not None


def test_requires_grad_propagates():
    a = tg.Tensor([1.0])
    b = leaf([2.0], np.float32)
    assert not (a * a).requires_grad
    assert (a * b).requires_grad and (a * b).grad_fn is not None


@pytest.mark.parametrize("make", [lambda x: x * 2.5, lambda x: 2.5 * x, lambda x: 1 - x, lambda x: 3 / x,
                                  lambda x: x + 1, lambda x: 2.0 ** x], ids=["mul", "rmul", "rsub", "rdiv", "add", "rpow"])
def test_a_python_number_is_part_of_the_op_not_a_tensor(make):
    # as PyTorch's wrapped numbers: one node whose only Tensor input is x, and no constant Tensor
    x = leaf([0.5, 2.0])
    y = make(x)
    assert [t is x for t in y.grad_fn.inputs if t is not None] == [True]
    assert sum(t is None for t in y.grad_fn.inputs) == 1
    assert tg.gradcheck(make, x) and tg.gradgradcheck(make, x)


def test_a_number_on_an_integer_tensor_keeps_numpy_promotion():
    counts = tg.Tensor(np.array([1, 2, 3]))
    assert (counts * 2).dtype == np.int64 and (counts * 2).tolist() == [2, 4, 6]
    assert (counts + 0.5).dtype.kind == "f"


def test_chain_of_100k_ops_backprops_iteratively():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_second_derivatives():
    x = leaf(2.0)
    (g,) = tg.grad(x ** 3, x, create_graph=True)
    (gg,) = tg.grad(g, x)
    assert g.item() == pytest.approx(12.0) and gg.item() == pytest.approx(12.0)

    t = leaf(0.7)
    (g,) = tg.grad(t.tanh(), t, create_graph=True)
    (gg,) = tg.grad(g, t)
    th = np.tanh(0.7)
    assert g.item() == pytest.approx(1 - th**2)
    assert gg.item() == pytest.approx(-2 * th * (1 - th**2))


def test_backward_create_graph_gives_differentiable_grad():
    x = leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_hessian_vector_product():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3))
    a = a + a.T
    x = leaf(rng.standard_normal(3))
    v = rng.standard_normal(3)
    f = 0.5 * (x * (tg.Tensor(a) @ x)).sum()
    (g,) = tg.grad(f, x, create_graph=True)
    (hv,) = tg.grad((g * tg.Tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.numpy(), a @ v)


def test_gradient_penalty():
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    x = leaf([0.5, -1.0])
    out = (w @ x).tanh().sum()
    (gx,) = tg.grad(out, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and np.isfinite(w.grad.numpy()).all()


def test_grad_returns_and_leaves_dot_grad_alone():
    x = leaf([1.0, 2.0])
    y = leaf([3.0])
    (gx, gy) = tg.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(gy.numpy(), [3.0])
    assert x.grad is None and y.grad is None


def test_grad_unused_input():
    x, z = leaf([1.0]), leaf([1.0])
    with pytest.raises(GraphError, match="allow_unused"):
        tg.grad((x * 2).sum(), [x, z], retain_graph=True)
    gx, gz = tg.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_user_function_twice_differentiable():
    class Cube(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

    x = leaf(2.0)
    (g,) = tg.grad(Cube.apply(x), x, create_graph=True)
    (gg,) = tg.grad(g, x)
    assert g.item() == 12.0 and gg.item() == 12.0


def test_only_needed_gradients_are_computed():
    seen = []

    class Probe(tg.Function):
        @staticmethod
        def forward(ctx, image, weight):
            ctx.save_for_backward(image, weight)
            return image * weight

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            image, weight = ctx.saved_tensors
            gi = grad * weight if ctx.needs_input_grad[0] else None
            return gi, grad * image

    image = tg.Tensor(np.ones(3))
    weight = leaf(np.ones(3))
    Probe.apply(image, weight).sum().backward()
    assert seen == [(False, True)]


def test_hooks_see_and_replace_gradients():
    x = leaf([1.0, 2.0])
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = x.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("on_leaf", [True, False])
def test_a_hook_may_remove_itself_while_hooks_run(on_leaf: bool) -> None:
    x = leaf([1.0, 2.0])
    t = x if on_leaf else x * 2
    calls = []

    def once(g):
        calls.append("once")
        handle.remove()

    handle = t.register_hook(once)
    t.register_hook(lambda g: calls.append("always"))
    (t * 3).sum().backward(retain_graph=True)
    (t * 3).sum().backward()
    assert calls == ["once", "always", "always"]


def test_float32_graph_never_upcasts():
    x = tg.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = ((x * 2.5 + np.float64(1.0)) ** 2 / 3.0 - np.ones(3)).exp().log().mean()
    y2 = (x @ np.ones((3, 2))).sum() + x.var() + x.logsumexp() + x.max()
    assert y.dtype == np.float32 and y2.dtype == np.float32
    (y + y2).backward()
    assert x.grad.dtype == np.float32


def test_float64_stays_float64_and_lists_default_to_float32():
    assert tg.Tensor([1.0, 2.0]).dtype == np.float32
    assert tg.Tensor(np.ones(2)).dtype == np.float64
    x = leaf([1.0, 2.0])
    y = (x * 2.0).sum()
    y.backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float64


def test_graph_is_freed_without_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        w = leaf(np.ones((50, 50)))
        h = (w @ w).relu().exp()
        loss = h.mean()
        refs = [weakref.ref(h), weakref.ref(loss), weakref.ref(loss.grad_fn), weakref.ref(h.grad_fn)]
        loss.backward()
        del h, loss
        assert all(r() is None for r in refs)
        # and without backward too: dropping the loss drops the whole graph
        h = (w * 2).tanh()
        loss = h.sum()
        refs = [weakref.ref(h), weakref.ref(loss.grad_fn)]
        del h, loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_inplace_change_of_saved_tensor_is_caught():
    x = leaf([1.0, 2.0])
    a = tg.Tensor([3.0, 4.0], dtype=np.float64)
    y = (x * a).sum()
    a += 1  # a was saved by Mul for x's gradient
    with pytest.raises(InplaceModificationError, match="Mul"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_needs_no_grad():
    w = leaf([1.0])
    with pytest.raises(GraphError, match="no_grad"):
        w -= 1.0
    with tg.no_grad():
        w -= 1.0
    assert w.item() == 0.0 and w.requires_grad


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    np.testing.assert_allclose(d.numpy(), [2.0, 4.0])


def test_multiple_roots_via_grad_outputs():
    x = leaf([1.0, 2.0])
    a, b = x * 2, x * x
    (g,) = tg.grad([a.sum(), b.sum()], x)
    np.testing.assert_allclose(g.numpy(), [2 + 2, 2 + 4])


def test_function_returning_wrong_shape_is_named():
    class Bad(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum(axis=0)

        @staticmethod
        def backward(ctx, grad):
            return grad  # should have been broadcast back to (2, 3)

    x = leaf(np.ones((2, 3)))
    with pytest.raises(GraphError, match=r"Bad.backward returned a gradient of shape \(3,\) for input 0"):
        Bad.apply(x).sum().backward()


def test_a_backward_may_return_arrays_and_other_dtypes():
    # a custom op's backward that returns a NumPy array, or a float32 gradient for a float64 input,
    # still delivers a Tensor of the input's dtype
    class Twice(tg.Function):
        @staticmethod
        def forward(ctx, x, y):
            return 2 * x + y

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad.data, grad.astype(np.float32)

    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    Twice.apply(x, y).sum().backward()
    assert isinstance(x.grad, tg.Tensor) and x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 2.0]
    assert y.grad.dtype == np.float64 and y.grad.tolist() == [1.0, 1.0]
