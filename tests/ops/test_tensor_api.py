"""The Tensor API under PyTorch's names, without PyTorch: the dim/keepdim aliases, in-place writes
(versions, rebased history), results against NumPy, dtypes, size-0 inputs, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.torch_names import torch_aliases

_rng = np.random.default_rng(11)


def randn(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape).astype(np.float32)


# -- dim / keepdim ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["sum", "mean", "max", "min", "var", "std", "logsumexp", "prod", "norm"])
def test_dim_and_keepdim_are_aliases_of_axis_and_keepdims(method: str) -> None:
    x = tg.Tensor(randn(2, 3, 4))
    a = getattr(x, method)(dim=1, keepdim=True)
    b = getattr(x, method)(axis=1, keepdims=True)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.shape == (2, 1, 4)


@pytest.mark.parametrize("call", [
    lambda x: x.sum(axis=0, dim=0),
    lambda x: x.mean(keepdims=True, keepdim=True),
    lambda x: x.var(ddof=1, correction=1),
    lambda x: x.softmax(axis=0, dim=0),
    lambda x: tg.cat([x, x], axis=0, dim=0),
    lambda x: x.argmax(axis=0, dim=0),
])
def test_both_spellings_is_an_error(call) -> None:
    with pytest.raises(TypeError, match="both .* and its PyTorch alias"):
        call(tg.Tensor(randn(2, 3)))


def test_aliases_on_functions_and_index_results() -> None:
    x = tg.Tensor(randn(3, 4))
    np.testing.assert_array_equal(x.argmax(dim=1).data, np.argmax(x.data, axis=1))
    np.testing.assert_array_equal(x.argmin(dim=0, keepdim=True).data, np.argmin(x.data, axis=0, keepdims=True))
    np.testing.assert_array_equal(F.softmax(x, dim=0).data, F.softmax(x, axis=0).data)
    np.testing.assert_array_equal(tg.stack([x, x], dim=1).data, np.stack([x.data, x.data], axis=1))
    assert x.unsqueeze(dim=0).shape == (1, 3, 4) and x[None].squeeze(dim=0).shape == (3, 4)


def test_torch_aliases_keeps_the_signature_for_the_docs() -> None:
    import inspect

    @torch_aliases
    def f(x: int, axis: int = 0) -> int:
        """Doc."""
        return x + axis

    assert f(1, dim=2) == 3 and f.__doc__ == "Doc." and "axis" in inspect.signature(f).parameters


# -- __setitem__ and index_put -----------------------------------------------------------------------
def test_setitem_without_grad_writes_in_place_and_bumps_the_version() -> None:
    x = tg.Tensor(np.zeros((2, 3), np.float32))
    shared = x.data
    x[0, 1:] = [1.0, 2.0]
    x[np.array([True, False])] += 0  # read-modify-write through __getitem__ and __setitem__
    x[x > 1.5] = -1.0
    assert x.data is shared and x._version == 3
    np.testing.assert_array_equal(x.data, [[0, 1, -1], [0, 0, 0]])
    assert x.dtype == np.float32 and not x.requires_grad and x.is_leaf


def test_setitem_rebases_the_history() -> None:
    x = tg.Tensor(np.arange(4.0), requires_grad=True)
    y = x * 1.0
    y[np.array([0, 3])] = 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 0.0])
    assert y.grad_fn.name == "IndexPut"


def test_setitem_on_a_tensor_recorded_ops_already_used_is_refused() -> None:
    """Ops recorded before the write find their parent through the tensor, so a rebase would send
    their gradient into the new history: refused with an error instead of a wrong gradient."""
    x = tg.Tensor(np.arange(4.0), requires_grad=True)
    y = x * 1.0
    before = y.sum()
    with pytest.raises(tg.GraphError, match=r"__setitem__: .*already used .*shape \(4,\)"):
        y[np.array([0, 3])] = 0.0
    before.backward()  # the earlier graph is untouched
    np.testing.assert_array_equal(x.grad.data, np.ones(4))


def test_setitem_value_gets_the_gradient_summed_over_its_broadcast() -> None:
    v = tg.Tensor(np.array(2.0), requires_grad=True)
    y = tg.zeros(3, 4, dtype=np.float64)
    y[:, 1:3] = v
    (y * tg.Tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
    assert v.grad.item() == 1 + 2 + 5 + 6 + 9 + 10


def test_setitem_errors_name_the_op_and_the_shapes() -> None:
    y = tg.Tensor(randn(3, 4))
    with pytest.raises(tg.ShapeError, match=r"index_put: cannot write a value of shape \(3,\) into .* \(4,\)"):
        y[0] = np.ones(3, np.float32)
    with pytest.raises(IndexError, match=r"index_put: .*tensor shape \(3, 4\)"):
        y[5] = 1.0
    with pytest.raises(IndexError, match="index_put"):
        y[np.array([True, False])] = 1.0
    assert y._version == 0  # a failed write changes nothing


def test_index_put_is_out_of_place() -> None:
    x = tg.Tensor(randn(2, 3))
    out = x.index_put((slice(None), 0), 7.0)
    assert out.data[:, 0].tolist() == [7.0, 7.0] and x.data[0, 0] != 7.0 and x._version == 0


# -- gather / scatter / index_select / masked_fill --------------------------------------------------
def test_gather_and_scatter_against_numpy() -> None:
    x = randn(3, 4)
    idx = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])
    np.testing.assert_array_equal(tg.Tensor(x).gather(0, idx).data, np.take_along_axis(x, idx, 0))
    expected = x.copy()
    np.put_along_axis(expected, idx[:1], 9.0, 0)
    np.testing.assert_array_equal(tg.Tensor(x).scatter(0, idx[:1], 9.0).data, expected)
    summed = x.copy()
    np.add.at(summed, (idx, np.arange(4)), 1.0)
    np.testing.assert_allclose(tg.Tensor(x).scatter_add(0, idx, tg.ones(2, 4)).data, summed)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.gather(0, np.array([[0, 3]])), IndexError, r"gather: index 3 is out of range for axis 0 of length 3"),
    (lambda x: x.gather(0, np.array([[-1, 0]])), IndexError, r"gather: index -1 is out of range"),
    (lambda x: x.gather(0, np.array([0, 1])), tg.ShapeError, r"gather: index has 1 dimension\(s\)"),
    (lambda x: x.gather(2, np.array([[0]])), tg.ShapeError, r"gather: axis 2 is out of range"),
    (lambda x: x.gather(1, np.zeros((4, 1), np.int64)), tg.ShapeError, "longer than the tensor"),
    (lambda x: x.gather(0, np.array([[0.5]])), TypeError, "gather: index must be integers"),
    (lambda x: x.scatter(0, np.array([[0, 1]]), tg.ones(1, 1)), tg.ShapeError, "scatter: src of shape"),
    (lambda x: x.scatter_add(1, np.array([[4]]), tg.ones(1, 1)), IndexError, "scatter_add: index 4"),
    (lambda x: x.index_select(1, np.array([0, 4])), IndexError, "index_select: index 4 is out of range"),
    (lambda x: x.index_select(0, np.array([[0]])), tg.ShapeError, "index_select: index must be 0-d or 1-d"),
    (lambda x: x.masked_fill(np.array([1, 0, 1, 0]), 0.0), TypeError, "masked_fill: mask must be boolean"),
    (lambda x: x.masked_fill(np.ones((2, 3, 4), bool), 0.0), tg.ShapeError, "does not broadcast"),
    (lambda x: x.masked_fill(np.ones(4, bool), tg.ones(2)), tg.ShapeError, "value must be a number or a 0-d"),
])
def test_index_op_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call(tg.Tensor(randn(3, 4)))


def test_masked_fill_routes_the_gradient_by_selection() -> None:
    x = tg.Tensor(np.array([np.inf, 1.0, 2.0]), requires_grad=True)
    out = x.masked_fill(np.array([True, False, False]), 0.0)
    (out * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 2.0])  # no 0 * inf = NaN


# -- math ----------------------------------------------------------------------------------------------
def test_elementwise_math_against_numpy_in_float32() -> None:
    x = randn(5)
    t = tg.Tensor(x)
    for name, ref in [("sin", np.sin), ("cos", np.cos), ("expm1", np.expm1), ("sign", np.sign),
                      ("floor", np.floor), ("ceil", np.ceil), ("round", np.round), ("square", np.square)]:
        out = getattr(t, name)()
        assert out.dtype == np.float32, name
        np.testing.assert_allclose(out.data, ref(x), rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(tg.Tensor(np.abs(x)).log1p().data, np.log1p(np.abs(x)), rtol=1e-6)
    np.testing.assert_allclose(tg.Tensor(np.abs(x) + 0.1).rsqrt().data, 1 / np.sqrt(np.abs(x) + 0.1), rtol=1e-6)
    assert tg.Tensor(np.array([0.5, 1.5, 2.5, -0.5])).round().tolist() == [0.0, 2.0, 2.0, -0.0]


def test_rounding_ops_have_zero_gradient() -> None:
    x = tg.Tensor(np.array([-1.5, 0.0, 0.3, np.inf]), requires_grad=True)
    for name in ("sign", "floor", "ceil", "round"):
        x.grad = None
        getattr(x, name)().backward(np.ones(4))
        np.testing.assert_array_equal(x.grad.data, np.zeros(4))


def test_prod_cumsum_std_against_numpy() -> None:
    x = randn(3, 4)
    np.testing.assert_allclose(tg.Tensor(x).prod(axis=1).data, np.prod(x, axis=1), rtol=1e-6)
    np.testing.assert_allclose(tg.Tensor(x).cumsum(axis=0).data, np.cumsum(x, axis=0), rtol=1e-6)
    np.testing.assert_allclose(tg.Tensor(x).cumsum().data, np.cumsum(x), rtol=1e-6)
    np.testing.assert_allclose(tg.Tensor(x).std(axis=1, ddof=1).data, np.std(x, axis=1, ddof=1), rtol=1e-6)
    assert tg.Tensor(np.zeros((0, 3))).prod(axis=0).tolist() == [1.0, 1.0, 1.0]
    assert tg.Tensor(np.zeros((2, 0))).cumsum(axis=1).shape == (2, 0)


def test_prod_gradient_with_zeros_is_exact() -> None:
    x = tg.Tensor(np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]]), requires_grad=True)
    x.prod(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [8.0, 4.0, 2.0]])


def test_norm_values_and_bad_p() -> None:
    x = randn(3, 4)
    t = tg.Tensor(x)
    np.testing.assert_allclose(t.norm().data, np.linalg.norm(x), rtol=1e-6)
    np.testing.assert_allclose(t.norm(1, axis=1).data, np.linalg.norm(x, 1, axis=1), rtol=1e-6)
    np.testing.assert_allclose(t.norm(np.inf, axis=0).data, np.abs(x).max(0), rtol=1e-6)
    np.testing.assert_allclose(t.norm(-np.inf).data, np.abs(x).min(), rtol=1e-6)
    with pytest.raises(ValueError, match="norm: p must be 1, 2, 'fro', inf or -inf, got 3"):
        t.norm(3)


def test_sort_topk_and_max_with_indices() -> None:
    x = tg.Tensor(np.array([[3.0, 1.0, 2.0, 1.0]]))
    values, indices = x.sort()
    assert values.tolist() == [[1.0, 1.0, 2.0, 3.0]] and indices.tolist() == [[1, 3, 2, 0]]
    assert x.topk(2).indices.tolist() == [[0, 2]] and x.topk(0).values.shape == (1, 0)
    assert x.max(1, return_indices=True).indices.tolist() == [0]
    assert x.min(dim=1, keepdim=True, return_indices=True).indices.tolist() == [[1]]
    assert x.max(axis=1).tolist() == [3.0]  # without return_indices: NumPy's max, values only
    with pytest.raises(tg.ShapeError, match=r"topk: k must be an int in \[0, 4\]"):
        x.topk(5)
    with pytest.raises(TypeError, match="return_indices=True needs one int axis"):
        x.max(return_indices=True)
    with pytest.raises(tg.ShapeError, match="sort: axis 2 is out of range"):
        x.sort(2)


# -- shape ops ---------------------------------------------------------------------------------------
def test_shape_ops_against_numpy() -> None:
    x = randn(2, 3, 4)
    t = tg.Tensor(x)
    np.testing.assert_array_equal(t.permute(2, 0, 1).data, x.transpose(2, 0, 1))
    np.testing.assert_array_equal(t.swapaxes(0, -1).data, x.swapaxes(0, -1))
    np.testing.assert_array_equal(t[:, :1].expand(5, -1, 3, -1).data, np.broadcast_to(x[:, :1], (5, 2, 3, 4)))
    np.testing.assert_array_equal(t.view(6, 4).data, x.reshape(6, 4))
    np.testing.assert_array_equal(t.tile(2).data, np.tile(x, 2))
    np.testing.assert_array_equal(t.tile((2, 1, 1, 3)).data, np.tile(x, (2, 1, 1, 3)))
    np.testing.assert_array_equal(t.repeat(1, 2, 1).data, np.tile(x, (1, 2, 1)))
    np.testing.assert_array_equal(t.roll(-5).data, np.roll(x, -5))
    np.testing.assert_array_equal(t.roll((1, 7), axis=(0, 2)).data, np.roll(x, (1, 7), axis=(0, 2)))
    np.testing.assert_array_equal(t.flip().data, np.flip(x))
    np.testing.assert_array_equal(t.flip((0, 2)).data, np.flip(x, (0, 2)))
    assert [p.shape for p in t.split(3, axis=2)] == [(2, 3, 3), (2, 3, 1)]
    assert [p.shape for p in t.chunk(2, dim=1)] == [(2, 2, 4), (2, 1, 4)]
    assert [p.shape for p in tg.Tensor(np.zeros(6)).chunk(4)] == [(2,), (2,), (2,)]  # as PyTorch: 3 chunks


@pytest.mark.parametrize("call, message", [
    (lambda t: t.expand(3), "expand: the number of sizes"),
    (lambda t: t.expand(-1, 2, 3), "-1 is not allowed for the new leading axes"),
    (lambda t: t.expand(4, 3), "broadcast_to: cannot broadcast"),
    (lambda t: t.split([1, 2]), r"split: sections \[1, 2\] must be >= 0 and sum to the length 2"),
    (lambda t: t.split(0), "split: split_size must be a positive int"),
    (lambda t: t.chunk(0), "chunk: chunks must be a positive int"),
    (lambda t: t.repeat(2), r"repeat: got 1 repeat size\(s\)"),
    (lambda t: t.roll((1, 2), axis=0), "roll: got 2 shift"),
    (lambda t: t.permute(0, 0), "not a permutation"),
    (lambda t: t.flip(3), "flip: axis 3 is out of range"),
])
def test_shape_op_errors(call, message) -> None:
    with pytest.raises(tg.ShapeError, match=message):
        call(tg.Tensor(randn(2, 3)))


def test_cat_is_concatenate_and_tensor_reads_a_list_of_tensors() -> None:
    assert tg.cat is tg.concatenate
    a, b = tg.Tensor([1.0, 2.0], requires_grad=True), tg.Tensor([3.0, 4.0])
    t = tg.tensor([a, b])
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]] and t.dtype == np.float32 and t.is_leaf and not t.requires_grad
    assert tg.tensor([[a[0], 5.0]]).tolist() == [[1.0, 5.0]]
    assert tg.stack([a, b]).requires_grad  # stack keeps the history


def test_setitem_keeps_earlier_hooks_on_the_old_history() -> None:
    x = tg.Tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    seen: list[np.ndarray] = []
    y.register_hook(lambda g: seen.append(g.data.copy()))
    y[0] = 5.0
    y.register_hook(lambda g: seen.append(-g.data))
    (y * 3.0).sum().backward()
    np.testing.assert_array_equal(seen[0], [-3.0, -3.0, -3.0])  # the new y's gradient, new hook only
    np.testing.assert_array_equal(seen[1], [0.0, 3.0, 3.0])  # the old y's gradient, old hook only
    np.testing.assert_array_equal(x.grad.data, [0.0, 6.0, 6.0])


def test_setitem_rebase_with_large_tensors_held_as_stand_ins() -> None:
    x = tg.Tensor(np.ones((100, 200)), requires_grad=True)  # large enough for nodes to hold stand-ins
    y = x * 2.0
    y[:, 0] = 0.0
    shifted = y + 1.0  # its node holds a stand-in of the rebased y
    (shifted.sum() + y.sum()).backward()
    expected = np.full((100, 200), 2.0 + 2.0)
    expected[:, 0] = 0.0
    np.testing.assert_array_equal(x.grad.data, expected)


def test_function_forms_are_the_methods() -> None:
    x = tg.Tensor(randn(3, 4))
    idx = np.array([[2, 0, 1, 1]])
    mask = np.array([True, False, False, True])
    pairs = [
        (tg.sort(x, dim=0, descending=True).values, x.sort(axis=0, descending=True).values),
        (tg.topk(x, 2).indices, x.topk(2).indices),
        (tg.scatter(x, 0, idx, 1.0), x.scatter(0, idx, 1.0)),
        (tg.scatter_add(x, 0, idx, tg.ones(1, 4)), x.scatter_add(0, idx, tg.ones(1, 4))),
        (tg.index_select(x, dim=1, index=np.array([1])), x.index_select(1, np.array([1]))),
        (tg.masked_fill(x, mask, 2.0), x.masked_fill(mask, 2.0)),
        (tg.cumsum(x, dim=1), x.cumsum(1)),
        (tg.flip(x, dims=0), x.flip(0)),
        (tg.roll(x, 1, dims=1), x.roll(1, 1)),
        (tg.sin(x), x.sin()), (tg.cos(x), x.cos()), (tg.expm1(x), x.expm1()), (tg.log1p(x.abs()), x.abs().log1p()),
    ]
    for i, (a, b) in enumerate(pairs):
        np.testing.assert_array_equal(a.data, b.data, err_msg=str(i))
