"""Anomaly detection: `tg.detect_anomaly()` stops at the first op that makes a NaN or Inf, forward or
backward, names it and points at the user's line that created it; it is off by default."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.autograd import anomaly
from tinygrad_np.tensor import Tensor

THIS_FILE = "test_anomaly.py"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's own divide/log warnings


def leaf(values) -> Tensor:
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


class NaNGrad(tg.Function):
    """Identity forward whose backward returns NaN: a buggy user op."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return Tensor._make(np.full(grad.shape, np.nan), None)


def test_off_by_default_and_nan_propagates() -> None:
    assert anomaly.enabled is False
    x = leaf([-1.0, 4.0])
    y = x.log()
    assert np.isnan(y.numpy()[0]) and y.numpy()[1] == pytest.approx(np.log(4.0))
    z = leaf([0.0, 4.0])
    z.sqrt().sum().backward()
    assert np.isinf(z.grad.numpy()[0]) and z.grad.numpy()[1] == pytest.approx(0.25)
    w = leaf([1.0, 2.0, 3.0])
    NaNGrad.apply(w).sum().backward()
    assert np.isnan(w.grad.numpy()).all()


def test_forward_nan_names_the_op_and_the_call_site() -> None:
    x = leaf([[1.0, -2.0], [3.0, 4.0]])
    with tg.detect_anomaly():
        with pytest.raises(tg.AnomalyError,
                           match=r"Log returned NaN values in its forward output \(shape \(2, 2\)\)") as info:
            x.log()  # the line the message must point at
    message = str(info.value)
    assert THIS_FILE in message and "x.log()  # the line the message must point at" in message


def test_forward_inf_is_caught_too_and_under_no_grad() -> None:
    x = tg.Tensor(np.array([1.0, 1000.0]))
    with tg.detect_anomaly(), tg.no_grad():
        with pytest.raises(tg.AnomalyError, match=r"Exp returned Inf values in its forward output \(shape \(2,\)\)"):
            x.exp()


def test_backward_inf_names_the_op_and_where_it_was_created() -> None:
    """sqrt at 0 has an infinite slope: the error blames Sqrt's backward (not the Div inside it)
    and shows the user's line that created the Sqrt."""
    x = leaf([0.0, 4.0, 9.0])
    with tg.detect_anomaly():
        y = x.sqrt()  # created here
        loss = (y * 2.0).sum()
        with pytest.raises(tg.AnomalyError, match=r"SqrtBackward produced Inf values") as info:
            loss.backward()
    message = str(info.value)
    created = message.split("The Sqrt op was created at:")[1].split("The bad values appeared")[0]
    assert THIS_FILE in created and "y = x.sqrt()  # created here" in created
    assert "Div (called inside Sqrt.backward) returned Inf values (shape (3,))" in message


def test_backward_nan_from_a_custom_function() -> None:
    x = leaf([1.0, 2.0, 3.0])
    with tg.detect_anomaly():
        y = NaNGrad.apply(x * 2.0)  # the buggy op
        with pytest.raises(tg.AnomalyError, match=r"NaNGradBackward returned NaN values in the gradient of "
                                                  r"input 0 \(shape \(3,\)\)") as info:
            y.sum().backward()
    message = str(info.value)
    assert THIS_FILE in message and "y = NaNGrad.apply(x * 2.0)  # the buggy op" in message
    assert x.grad is None  # the pass stopped at the bad node


def test_op_created_before_enabling_is_still_named() -> None:
    x = leaf([0.0, 1.0])
    y = x.sqrt().sum()
    with tg.detect_anomaly():
        with pytest.raises(tg.AnomalyError, match=r"(?s)SqrtBackward produced Inf.*created before anomaly "
                                                  r"detection was enabled"):
            y.backward()


def test_state_is_restored_after_the_block_even_when_it_raised() -> None:
    with pytest.raises(tg.AnomalyError):
        with tg.detect_anomaly():
            assert anomaly.enabled is True
            leaf([-1.0]).log()
    assert anomaly.enabled is False
    x = leaf([0.0])
    loss = x.sqrt().sum()
    with pytest.raises(tg.AnomalyError), tg.detect_anomaly():
        loss.backward()
    assert anomaly.enabled is False and anomaly._running_backward is None
    leaf([-1.0]).log()  # no error once the block is left
    with tg.detect_anomaly():  # nesting restores the outer setting
        with tg.detect_anomaly(check_nan=False):
            assert anomaly.enabled is False
            leaf([-1.0]).log()
        assert anomaly.enabled is True
    assert anomaly.enabled is False


def test_a_healthy_training_step_is_unchanged_by_anomaly_mode() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 5))
    w0, b0 = rng.standard_normal((5, 4)), rng.standard_normal(4)

    def step() -> list[np.ndarray]:
        w, b = leaf(w0), leaf(b0)
        logits = (tg.Tensor(x) @ w + b).tanh()
        loss = (logits.logsumexp(axis=1) - logits.max(axis=1)).mean() + (w * w).sum() * 1e-3
        loss.backward()
        return [w.grad.numpy(), b.grad.numpy()]

    plain = step()
    with tg.detect_anomaly():
        checked = step()
    for a, b in zip(plain, checked):
        np.testing.assert_array_equal(a, b)
