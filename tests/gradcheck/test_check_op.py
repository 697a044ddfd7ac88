"""tg.check_op: passes a correct op, and each property catches the op that breaks it, with a
located message (every op of the library runs through it in test_op_cases.py)."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import Function, Tensor

rng = np.random.default_rng(7)
X = rng.standard_normal((3, 4))


def fails(fn, *inputs, match: str, **options) -> str:
    """check_op's message for an op that must fail; also checks the error type and raise_exception=False."""
    with pytest.raises(tg.CheckOpError, match=match) as info:
        tg.check_op(fn, *inputs, **options)
    assert tg.check_op(fn, *inputs, raise_exception=False, **options) is False
    return str(info.value)


def test_a_correct_op_passes_and_the_error_is_a_gradcheck_error():
    assert tg.check_op(lambda x, w: (x @ w).tanh(), X, rng.standard_normal((4, 2))) is True
    assert issubclass(tg.CheckOpError, tg.GradcheckError)


def test_non_array_inputs_pass_through():
    target = np.array([0, 2, 1])
    assert tg.check_op(lambda z, t: tg.functional.cross_entropy(z, t), X, target)


def test_no_float_input_is_a_usage_error():
    with pytest.raises(ValueError, match="no example input is a float array"):
        tg.check_op(lambda t: t, np.arange(3))


class WrongSlope(Function):  # d(2x)/dx is 2, not 3
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad):
        return grad * 3


def test_gradcheck_failures_are_reported():
    message = fails(lambda x: WrongSlope.apply(x), X, match=r"gradcheck \(float64\)")
    assert "analytical" in message and "numerical" in message


class Upcast(Function):  # forgets the input's dtype
    @staticmethod
    def forward(ctx, x):
        return x.astype(np.float64) * 2

    @staticmethod
    def backward(ctx, grad):
        return (grad * 2).astype(np.float32) if grad.dtype == np.float32 else grad * 2


def test_float32_output_dtype():
    message = fails(lambda x: Upcast.apply(x), X, match=r"float32: output 0 \(shape \(3, 4\)\) has dtype float64")
    assert "expected float32" in message
    assert tg.check_op(lambda x: Upcast.apply(x), X, check_float32=False)


class MemoryOrder(Function):  # reads the elements in memory order: wrong for a transposed view
    @staticmethod
    def forward(ctx, x):
        return x.ravel(order="K").reshape(x.shape) * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_non_contiguous_inputs():
    fails(lambda x: MemoryOrder.apply(x), X, match=r"non-contiguous inputs \(against contiguous\): output 0 \(shape \(3, 4\)\)")


class ReadsItsInput(Function):  # backward reads an input it never saved
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor(2 * ctx.inputs[0].data)


class SavesItsInput(Function):  # the same op written right: what backward reads, forward saves
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


def test_stand_in_path():
    """Reading an unsaved input in backward fails both on gradcheck's own memory path and on the
    enlarged batch that takes the stand-in path, with the error that says what to save."""
    message = fails(lambda x: ReadsItsInput.apply(x), X, match=r"stand-in: raised GraphError")
    assert "were not kept" in message and "ctx.save_for_backward(x)" in message
    assert tg.check_op(lambda x: SavesItsInput.apply(x), X)


class NoEmpty(Function):  # the identity, but it takes np.max over the batch, which raises for none
    @staticmethod
    def forward(ctx, x):
        return x + 0 * np.max(x, axis=0)

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_empty_batch():
    message = fails(lambda x: NoEmpty.apply(x), X, match=r"empty batch \(axis 0; input 0 \(0, 4\)\): raised")
    assert "1 problem(s)" in message
    assert tg.check_op(lambda x: NoEmpty.apply(x), X, check_empty=False)
    assert tg.check_op(lambda x: NoEmpty.apply(x), X, batch_axis=None)


def test_batched_inputs_are_found_by_length_and_can_be_given():
    w = rng.standard_normal((4, 2))
    assert tg.check_op(lambda x, w: x @ w, X, w)  # w's axis 0 is 4, not the batch of 3
    assert tg.check_op(lambda x, w: x @ w, X, w, batched=(0,), batch_axis=0)
    assert tg.check_op(lambda x: x.sum(axis=1), X, batch_axis=None)
    # both (3, 1) inputs look batched, but b.T puts b's batch on the other axis: doubling the batch
    # would quadruple the output, so the stand-in check does not enlarge it
    col = rng.standard_normal((3, 1))
    assert tg.check_op(lambda a, b: a * b.T, col, col + 1)


class MultipliedMask(Function):  # ReLU routed by multiplying with a 0/1 mask: 0 * inf is NaN
    @staticmethod
    def forward(ctx, x):
        ctx.mask = (x > 0).astype(x.dtype)
        return x * ctx.mask

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor(ctx.mask)


def test_routed_gradient():
    x = np.array([[-1.0, 2.0], [0.5, -0.3]])
    message = fails(lambda x: MultipliedMask.apply(x), x, match=r"routed: with an inf upstream gradient")
    assert "gets the gradient nan at [0, 0] (2 element(s))" in message
    assert tg.check_op(lambda x: x.relu(), x)


class NaivePow(Function):  # d(x**y)/dy = x**y * log(x): 0 * -inf = NaN at x = 0
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x ** y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y * x ** (y - 1), grad * x ** y * x.log()


def test_finite_where_the_function_and_its_derivative_are():
    x, y = 0.5 + rng.random((2, 3)), 0.5 + rng.random((2, 3))
    message = fails(lambda x, y: NaivePow.apply(x, y), x, y, match=r"finite: with zeros in every other element of input 0")
    assert "the gradient of input 1 at [0, 0] is nan" in message and "finite-difference derivative is 0" in message
    assert tg.check_op(lambda x, y: x ** y, x, y)


def test_every_failing_property_is_listed():
    message = fails(lambda x: Upcast.apply(MemoryOrder.apply(x)), X, match=r"2 problem\(s\)")
    assert "- float32" in message and "- non-contiguous" in message
