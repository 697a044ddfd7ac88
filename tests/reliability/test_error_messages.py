"""Every misuse in the catalog raises the documented exception type with a message that names the
op, the shapes or dtypes involved, and what was expected."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.errors import ShapeError
from tests.reliability.misuse import MISUSES, Misuse


@pytest.mark.parametrize("misuse", MISUSES, ids=[m.name for m in MISUSES])
def test_misuse_raises_a_clear_error(misuse: Misuse, tmp_path: Path) -> None:
    with pytest.raises(misuse.error, match=misuse.pattern):
        misuse.trigger(tmp_path)


def test_catalog_names_are_unique() -> None:
    names = [m.name for m in MISUSES]
    assert len(names) == len(set(names))


def test_shape_errors_are_value_errors() -> None:
    """Code that catches ValueError (as for NumPy) also catches our shape errors."""
    with pytest.raises(ValueError, match=r"Add: input shapes \(2, 3\), \(4,\)"):
        tg.Tensor(np.ones((2, 3))) + tg.Tensor(np.ones(4))


@pytest.mark.parametrize("shapes, axis, lengths", [
    (((2, 3), (4,)), -1, "3 vs 4"),
    (((7, 1, 3), (2, 4, 3)), -3, "2 vs 7"),
    (((3, 1), (2,), (4, 4, 1)), -2, "3 vs 4"),
    (((5,), (1, 6)), -1, "5 vs 6"),
])
def test_broadcast_error_names_the_first_clashing_axis(shapes, axis, lengths) -> None:
    """The clashing axis is found from the right, as NumPy aligns shapes; length-1 axes never clash."""
    arrays = [np.ones(s) for s in shapes]
    with pytest.raises(ValueError):  # NumPy agrees that these do not broadcast
        np.broadcast_shapes(*shapes)
    expected = ", ".join(str(s) for s in shapes)
    pattern = rf"input shapes {re.escape(expected)} cannot be broadcast together: .*axis {axis} has lengths {lengths}"
    with pytest.raises(ShapeError, match=pattern):
        if len(arrays) == 2:
            tg.Tensor(arrays[0], requires_grad=True) * tg.Tensor(arrays[1])
        else:
            tg.where(arrays[0] > 0, tg.Tensor(arrays[1], requires_grad=True), tg.Tensor(arrays[2]))


def test_failed_op_leaves_the_graph_usable() -> None:
    """A shape error in the middle of a model does not poison the tensors used so far."""
    x = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    with pytest.raises(ShapeError):
        y + tg.Tensor(np.ones(2))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_failed_inplace_update_leaves_data_unchanged() -> None:
    w = tg.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with tg.no_grad(), pytest.raises(ShapeError):
        w.mul_(np.ones(2))
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0, 3.0])
