"""The Tensor API under PyTorch's names agrees with PyTorch: forward values, gradients (with a
random upstream gradient), index results, and the semantics of in-place writes. Skipped without torch."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_np as tg

torch = pytest.importorskip("torch")

_rng = np.random.default_rng(7)


def _both(fn_tg: Callable[..., Any], fn_torch: Callable[..., Any], *arrays: np.ndarray,
          atol: float = 1e-10) -> None:
    """Run both frameworks on float64 copies of `arrays`, backward a random gradient through the
    first output, and compare outputs and every input's gradient."""
    ours = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    out, ref = fn_tg(*ours), fn_torch(*theirs)
    out = out[0] if isinstance(out, tuple) else out
    ref = ref[0] if isinstance(ref, tuple) else ref
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=atol, rtol=1e-10)
    g = _rng.standard_normal(ref.shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        expected = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad.data
        np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-10, err_msg=f"gradient of input {i}")


def randn(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape)


IDX = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])


@pytest.mark.parametrize("name, fn_tg, fn_torch, shapes", [
    ("sin", lambda x: x.sin(), lambda x: x.sin(), [(3, 4)]),
    ("cos", lambda x: tg.cos(x), lambda x: torch.cos(x), [(3, 4)]),
    ("log1p", lambda x: (x * x).log1p(), lambda x: (x * x).log1p(), [(5,)]),
    ("expm1", lambda x: x.expm1(), lambda x: x.expm1(), [(2, 3)]),
    ("square", lambda x: x.square(), lambda x: x.square(), [(2, 3)]),
    ("rsqrt", lambda x: (x * x + 0.1).rsqrt(), lambda x: (x * x + 0.1).rsqrt(), [(4,)]),
    ("softplus", lambda x: (x * 15).softplus(beta=1.5, threshold=10.0),
     lambda x: torch.nn.functional.softplus(x * 15, beta=1.5, threshold=10.0), [(4, 5)]),
    ("sign", lambda x: x.sign() * x, lambda x: x.sign() * x, [(3, 3)]),
    ("floor", lambda x: (x * 3).floor() + x, lambda x: (x * 3).floor() + x, [(6,)]),
    ("ceil", lambda x: (x * 3).ceil() * x, lambda x: (x * 3).ceil() * x, [(6,)]),
    ("round", lambda x: (x * 3).round() * x, lambda x: (x * 3).round() * x, [(6,)]),
    ("std", lambda x: x.std(dim=1, correction=1), lambda x: x.std(dim=1, correction=1), [(3, 5)]),
    ("std-all-ddof0", lambda x: x.std(), lambda x: x.std(correction=0), [(3, 5)]),
    ("prod-dim", lambda x: x.prod(dim=1, keepdim=True), lambda x: x.prod(dim=1, keepdim=True), [(3, 4)]),
    ("prod-all", lambda x: x.prod(), lambda x: x.prod(), [(2, 3)]),
    ("cumsum", lambda x: x.cumsum(dim=1), lambda x: x.cumsum(dim=1), [(3, 4)]),
    ("cumsum-0", lambda x: tg.cumsum(x, 0), lambda x: torch.cumsum(x, 0), [(3, 4)]),
    ("norm-2", lambda x: x.norm(), lambda x: x.norm(), [(3, 4)]),
    ("norm-2-dim", lambda x: x.norm(dim=1, keepdim=True), lambda x: x.norm(dim=1, keepdim=True), [(3, 4)]),
    ("norm-1", lambda x: x.norm(p=1, axis=0), lambda x: x.norm(p=1, dim=0), [(3, 4)]),
    ("norm-inf", lambda x: x.norm(p=np.inf, axis=1), lambda x: x.norm(p=float("inf"), dim=1), [(3, 4)]),
    ("norm--inf", lambda x: x.norm(p=-np.inf), lambda x: torch.linalg.vector_norm(x, ord=-float("inf")), [(3, 4)]),
    ("norm-fro", lambda x: x.norm(p="fro", axis=(0, 1)), lambda x: x.norm(p="fro", dim=(0, 1)), [(3, 4)]),
    ("gather", lambda x: x.gather(0, IDX), lambda x: x.gather(0, torch.tensor(IDX)), [(3, 4)]),
    ("gather-dim1", lambda x: tg.gather(x, dim=1, index=IDX.T[:3]),
     lambda x: torch.gather(x, dim=1, index=torch.tensor(IDX.T[:3])), [(3, 4)]),
    ("scatter", lambda x, s: x.scatter(0, IDX[:1], s), lambda x, s: x.scatter(0, torch.tensor(IDX[:1]), s),
     [(3, 4), (1, 4)]),
    ("scatter-value", lambda x: x.scatter(1, IDX[:, :2], 2.5), lambda x: x.scatter(1, torch.tensor(IDX[:, :2]), 2.5),
     [(3, 4)]),
    ("scatter_add", lambda x, s: x.scatter_add(0, IDX, s), lambda x, s: x.scatter_add(0, torch.tensor(IDX), s),
     [(3, 4), (2, 4)]),
    ("index_select", lambda x: x.index_select(1, np.array([3, 0, 3])),
     lambda x: x.index_select(1, torch.tensor([3, 0, 3])), [(2, 4)]),
    ("masked_fill", lambda x, v: x.masked_fill(np.array([True, False, True]), v.sum()),
     lambda x, v: x.masked_fill(torch.tensor([True, False, True]), v.sum()), [(2, 3), (2,)]),
    ("sort", lambda x: x.sort(dim=0), lambda x: x.sort(dim=0), [(4, 3)]),
    ("sort-desc", lambda x: x.sort(descending=True), lambda x: x.sort(descending=True), [(4, 3)]),
    ("topk", lambda x: x.topk(2), lambda x: x.topk(2), [(3, 5)]),
    ("topk-smallest-dim0", lambda x: x.topk(3, dim=0, largest=False), lambda x: x.topk(3, dim=0, largest=False),
     [(4, 2)]),
    ("max-dim", lambda x: x.max(dim=1, return_indices=True), lambda x: x.max(dim=1), [(3, 4)]),
    ("min-dim-keepdim", lambda x: x.min(0, keepdim=True, return_indices=True), lambda x: x.min(0, keepdim=True),
     [(3, 4)]),
    ("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("swapaxes", lambda x: x.swapaxes(0, 2), lambda x: x.transpose(0, 2), [(2, 3, 4)]),
    ("expand", lambda x: x.expand(2, -1, 4), lambda x: x.expand(2, -1, 4), [(3, 1)]),
    ("view", lambda x: x.view(4, -1), lambda x: x.view(4, -1), [(2, 6)]),
    ("split", lambda x: x.split(2, dim=1)[2], lambda x: x.split(2, dim=1)[2], [(3, 5)]),
    ("split-list", lambda x: x.split([1, 3, 1], dim=1)[1], lambda x: x.split([1, 3, 1], dim=1)[1], [(3, 5)]),
    ("chunk", lambda x: x.chunk(3)[1], lambda x: x.chunk(3)[1], [(7, 2)]),
    ("repeat", lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), [(2, 3)]),
    ("tile", lambda x: x.tile((2,)), lambda x: x.tile((2,)), [(2, 3)]),
    ("roll", lambda x: x.roll(-1, dims=1), lambda x: x.roll(-1, dims=1), [(2, 3)]),
    ("roll-flat", lambda x: x.roll(5), lambda x: x.roll(5), [(2, 3)]),
    ("roll-two", lambda x: x.roll((1, 2), dims=(0, 1)), lambda x: x.roll((1, 2), dims=(0, 1)), [(3, 4)]),
    ("flip", lambda x: x.flip(dims=(0, 1)), lambda x: x.flip(dims=(0, 1)), [(2, 3)]),
    ("cat", lambda a, b: tg.cat([a, b], dim=1), lambda a, b: torch.cat([a, b], dim=1), [(2, 1), (2, 3)]),
    ("stack", lambda a, b: tg.stack([a, b], dim=1), lambda a, b: torch.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    ("sum-dim", lambda x: x.sum(dim=(0, 2), keepdim=True), lambda x: x.sum(dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    ("mean-dim", lambda x: x.mean(dim=1), lambda x: x.mean(dim=1), [(2, 3)]),
    ("var-dim", lambda x: x.var(dim=1, correction=1), lambda x: x.var(dim=1, correction=1), [(2, 3)]),
    ("logsumexp-dim", lambda x: x.logsumexp(dim=1), lambda x: x.logsumexp(dim=1), [(2, 3)]),
    ("softmax-dim", lambda x: x.softmax(dim=0), lambda x: x.softmax(dim=0), [(2, 3)]),
    ("log_softmax-dim", lambda x: tg.functional.log_softmax(x, dim=0),
     lambda x: torch.nn.functional.log_softmax(x, dim=0), [(2, 3)]),
])
def test_matches_torch(name: str, fn_tg: Callable[..., Any], fn_torch: Callable[..., Any], shapes: list) -> None:
    _both(fn_tg, fn_torch, *[randn(*s) for s in shapes])


def test_sort_and_topk_indices_match_torch_with_ties_and_nan() -> None:
    x = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, 3.0], [0.0, 0.0, -1.0, 0.0, 5.0, 5.0]])
    for descending in (False, True):
        ours, theirs = tg.Tensor(x).sort(dim=1, descending=descending), torch.tensor(x).sort(
            dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
        np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
    np.testing.assert_array_equal(tg.Tensor(x[1:]).topk(3).indices.data,
                                  torch.tensor(x[1:]).sort(descending=True, stable=True).indices[:, :3].numpy())


def test_max_with_indices_gives_the_gradient_to_the_first_maximum_as_torch() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    _both(lambda t: t.max(dim=1, return_indices=True), lambda t: t.max(dim=1), x)
    ours, theirs = tg.Tensor(x).max(1, return_indices=True), torch.tensor(x).max(1)
    np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
    assert ours.indices.dtype == np.int64


@pytest.mark.parametrize("x", [np.array([2.0, 0.0, 3.0, -1.5]), np.array([0.0, 2.0, 0.0, 4.0]),
                               np.array([[0.0, 2.0], [3.0, 0.0], [0.0, 0.0]]), np.zeros(3)])
def test_prod_with_zeros_matches_torch(x: np.ndarray) -> None:
    _both(lambda t: t.prod(), lambda t: t.prod(), x)
    if x.ndim == 2:
        _both(lambda t: t.prod(dim=1), lambda t: t.prod(dim=1), x)
        _both(lambda t: t.prod(dim=0), lambda t: t.prod(dim=0), x)


def test_norm_gradient_at_zero_vector_is_zero_as_torch() -> None:
    x = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]])
    _both(lambda t: t.norm(dim=1), lambda t: t.norm(dim=1), x)
    _both(lambda t: t.norm(), lambda t: t.norm(), np.zeros(4))


def test_softplus_float32_and_threshold_match_torch() -> None:
    x = np.array([-30.0, -1.0, 0.0, 19.9, 20.0, 20.1, 50.0], dtype=np.float32)
    ours = tg.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, ref = ours.softplus(), torch.nn.functional.softplus(theirs)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6)


# -- __setitem__ ------------------------------------------------------------------------------------
def _setitem_both(index_tg: Any, index_torch: Any, target: np.ndarray, value: np.ndarray) -> None:
    """`y = x * 2; y[index] = v; (y * y).sum()` in both frameworks: the gradient of x sees the
    values that stayed, v's the written ones."""
    def run(lib: Any, x: Any, v: Any, index: Any) -> Any:
        y = x * 2
        y[index] = v
        return (y * y).sum()
    _both(lambda x, v: run(tg, x, v, index_tg), lambda x, v: run(torch, x, v, index_torch), target, value)


@pytest.mark.parametrize("index, value_shape", [
    ((1, slice(None)), (4,)),
    ((slice(None), 2), ()),
    ((slice(None), slice(1, 3)), (3, 1)),
    ((np.array([0, 2]), np.array([1, 3])), (2,)),
    ((np.array([2, 0, 2]),), (3, 4)),  # a repeated row: every value gets the gradient of its position
    (np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]]), (6,)),
    (np.array([True, False, True]), (4,)),
    ((Ellipsis, None, 0), (3, 1)),
])
def test_setitem_matches_torch(index: Any, value_shape: tuple[int, ...]) -> None:
    torch_index = tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index) \
        if isinstance(index, tuple) else torch.tensor(index)
    _setitem_both(index, torch_index, randn(3, 4), randn(*value_shape))


def test_setitem_on_a_constant_makes_it_require_grad_as_torch() -> None:
    v = tg.Tensor(randn(2), requires_grad=True)
    tv = torch.tensor(v.data.copy(), requires_grad=True)
    out, ref = tg.zeros(3, 2, dtype=np.float64), torch.zeros(3, 2, dtype=torch.float64)
    used = out.sum()  # taken before the write: it does not depend on v
    out[1] = v
    ref[1] = tv
    assert out.requires_grad and not out.is_leaf and not used.requires_grad
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(v.grad.data, tv.grad.numpy())


def test_setitem_on_an_output_its_op_saved_keeps_the_old_values_for_that_op() -> None:
    """PyTorch raises here (exp saved its output, then it was overwritten); the write hands exp a copy
    of the values it computed, so the gradient is exact instead."""
    x = tg.Tensor(randn(3), requires_grad=True)
    y = x.exp()
    y[0] = 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, *np.exp(x.data[1:])])
    tx = torch.tensor(randn(3), requires_grad=True)
    ty = tx.exp()
    ty[0] = 1.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()


def test_setitem_after_a_consumer_that_saved_it_raises() -> None:
    x = tg.Tensor(randn(3), requires_grad=True)
    y = x * 1.0
    z = y * y  # saves y
    with pytest.raises(tg.GraphError, match="already used"):
        y[1] = 0.0
    z.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_setitem_on_a_leaf_that_requires_grad() -> None:
    x = tg.Tensor(randn(3), requires_grad=True)
    with pytest.raises(tg.GraphError, match="leaf that requires grad"):
        x[0] = 1.0
    tx = torch.tensor(randn(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        tx[0] = 1.0
    version = x._version
    with tg.no_grad():
        x[0] = 5.0
    assert x.data[0] == 5.0 and x._version == version + 1 and x.is_leaf


def test_std_gradient_is_zero_where_all_values_are_equal_as_torch() -> None:
    x = tg.Tensor(np.ones(3), requires_grad=True)
    tx = torch.ones(3, dtype=torch.float64, requires_grad=True)
    x.std().backward()
    tx.std(correction=0).backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    y = tg.Tensor(np.array([[1.0, 1.0], [1.0, 3.0]]), requires_grad=True)
    ty = torch.tensor(y.data.copy(), requires_grad=True)
    y.std(axis=1, ddof=1).sum().backward()
    ty.std(dim=1).sum().backward()
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy())
