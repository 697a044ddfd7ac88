"""In-place updates: NumPy's results, one version bump each, and clear errors (naming the method,
the shapes or dtypes) when the value does not fit the tensor."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.errors import GraphError, ShapeError

START = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
ROW = np.array([0.5, -1.0, 2.0])

CASES = [  # (method, args, the same update written with NumPy)
    ("add_", (ROW,), lambda a: a + ROW),
    ("add_", (ROW, 3.0), lambda a: a + 3.0 * ROW),
    ("sub_", (ROW,), lambda a: a - ROW),
    ("sub_", (ROW, 0.5), lambda a: a - 0.5 * ROW),
    ("mul_", (ROW,), lambda a: a * ROW),
    ("div_", (ROW,), lambda a: a / ROW),
    ("copy_", (ROW,), lambda a: np.broadcast_to(ROW, a.shape)),
    ("fill_", (7.5,), lambda a: np.full_like(a, 7.5)),
    ("zero_", (), lambda a: np.zeros_like(a)),
]


@pytest.mark.parametrize("method, args, reference", CASES, ids=[f"{c[0]}{len(c[1])}" for c in CASES])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_inplace_update_matches_numpy(method, args, reference, as_tensor) -> None:
    w = tg.Tensor(START.copy(), requires_grad=True)
    data = w.data
    if as_tensor and args:
        args = (tg.Tensor(args[0]),) + args[1:]
    with tg.no_grad():
        result = getattr(w, method)(*args)
    assert result is w and w.data is data  # really in place
    np.testing.assert_array_equal(w.numpy(), reference(START))
    assert w._version == 1


def test_augmented_assignment_is_in_place_for_every_operator() -> None:
    w = tg.Tensor(START.copy(), requires_grad=True)
    data = w.data
    with tg.no_grad():
        w += ROW
        w -= 1.0
        w *= 2.0
        w /= 4.0
    assert w.data is data and w._version == 4
    np.testing.assert_array_equal(w.numpy(), (START + ROW - 1.0) * 2.0 / 4.0)


def test_integer_tensors_update_in_place_when_the_result_fits() -> None:
    counts = tg.Tensor(np.arange(4))
    counts += 2
    counts -= np.ones(4, dtype=np.int64)
    counts *= 3
    np.testing.assert_array_equal(counts.numpy(), (np.arange(4) + 1) * 3)
    assert counts.dtype == np.int64


@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "div_", "copy_"])
def test_a_value_that_does_not_broadcast_is_a_shape_error(method) -> None:
    w = tg.Tensor(START.copy(), requires_grad=True)
    with tg.no_grad(), pytest.raises(ShapeError, match=rf"{method}: cannot update a tensor of shape \(2, 3\) in "
                                                        rf"place with a value of shape \(2,\): the value must "
                                                        rf"broadcast to \(2, 3\)"):
        getattr(w, method)(np.ones(2))
    np.testing.assert_array_equal(w.numpy(), START)


@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "div_", "copy_", "fill_", "zero_"])
def test_every_inplace_method_refuses_a_leaf_in_grad_mode(method) -> None:
    w = tg.Tensor(START.copy(), requires_grad=True)
    args = () if method == "zero_" else (1.0,)
    with pytest.raises(GraphError, match=rf"{method}: in-place operation on a leaf that requires grad \(shape "
                                         rf"\(2, 3\)\) while grad mode is on"):
        getattr(w, method)(*args)
    assert w._version == 0
    np.testing.assert_array_equal(w.numpy(), START)
