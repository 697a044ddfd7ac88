"""gradcheck itself: it passes correct ops and catches (and clearly reports) broken ones."""
from __future__ import annotations

import doctest
import re

import numpy as np
import pytest

import tinygrad_np as tg
import importlib
from tinygrad_np.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinygrad_np.random import get_rng_state

rng = np.random.default_rng(7)


def leaf(*shape: int, low: float | None = None) -> tg.Tensor:
    values = rng.standard_normal(shape) if low is None else low + rng.random(shape)
    return tg.Tensor(np.asarray(values), requires_grad=True)


def report_rows(message: str) -> list[tuple[str, str, float, float]]:
    """The (out index, in index, analytical, numerical) rows of a failure table."""
    rows = re.findall(r"^\s+(\[[^\]]*\])\s+(\[[^\]]*\])\s+(\S+)\s+(\S+)\s+\S+\s+\S+$", message, re.M)
    return [(o, i, float(a), float(n)) for o, i, a, n in rows]


# -- deliberately broken ops ----------------------------------------------------------------------
class WrongSignSquare(tg.Function):
    """x**2 whose backward has the wrong sign."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -(grad * x * 2)


class UnreducedAdd(tg.Function):
    """a + b that forgets to sum b's gradient over the broadcast axes."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class MatMulNoTranspose(tg.Function):
    """a @ b whose backward for a uses b where b.T belongs."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad @ b if ctx.needs_input_grad[0] else None
        gb = a.T @ grad if ctx.needs_input_grad[1] else None
        return ga, gb


class MatMulReshapeForTranspose(tg.Function):
    """a @ b whose backward for b reshapes (g^T a) where it should transpose it: right shape, wrong values."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad @ b.T if ctx.needs_input_grad[0] else None
        gb = (grad.T @ a).reshape(b.shape) if ctx.needs_input_grad[1] else None
        return ga, gb


class ShiftRight(tg.Function):
    """out[..., j] = x[..., j - 1] (0 at j = 0); `wrong=True` shifts the gradient the same way, not back."""

    @staticmethod
    def forward(ctx, x, wrong=False):
        ctx.wrong = wrong
        out = np.zeros_like(x)
        out[..., 1:] = x[..., :-1]
        return out

    @staticmethod
    def backward(ctx, grad):
        zero = tg.Tensor(np.zeros(grad.shape[:-1] + (1,), dtype=grad.dtype))
        if ctx.wrong:  # off by two: gx[j] = g[j - 1]
            return tg.concatenate([zero, grad[..., :-1]], axis=-1)
        return tg.concatenate([grad[..., 1:], zero], axis=-1)  # gx[j] = g[j + 1]


class ScaleForgetsY(tg.Function):
    """x * y whose backward returns no gradient for y."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y, None


class DetachedCube(tg.Function):
    """x**3 with a correct first derivative computed on constants: not differentiable twice."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * tg.Tensor(3 * x.data ** 2)


class Cube(tg.Function):
    """x**3 written properly, for contrast with DetachedCube."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * x * 3


# -- correct functions pass ---------------------------------------------------------------------
@pytest.mark.parametrize("fn, shapes", [
    (lambda x: x ** 3, [(3, 2)]),
    (lambda x: x.tanh(), [(4,)]),
    (lambda a, b: (a @ b).sigmoid().sum(axis=0), [(2, 3), (3, 4)]),
    (lambda a, b: a * b + a / (b * b + 1), [(2, 3), (3,)]),
    (lambda x: x[1:, ::-1].exp(), [(3, 3)]),
    (lambda x: Cube.apply(x), [(2, 2)]),
    (lambda x: ShiftRight.apply(x), [(2, 4)]),
])
def test_correct_functions_pass(fn, shapes):
    inputs = tuple(leaf(*s) for s in shapes)
    assert gradcheck(fn, inputs) is True
    assert gradgradcheck(fn, inputs) is True


def test_single_tensor_input_and_tuple_output():
    x = leaf(3)
    assert gradcheck(lambda x: (x.exp(), x * 2, x.sum()), x)


def test_non_tensor_and_constant_arguments_pass_through():
    x, w = leaf(2, 3), tg.Tensor(rng.standard_normal((3, 2)))  # w: no requires_grad, not checked
    assert gradcheck(lambda x, w, k, scale: (x @ w) ** k * scale, (x, w, 2, 0.5))


def test_unchecked_input_is_not_checked():
    # a wrong gradient for an input without requires_grad is not looked at
    x, y = leaf(3), tg.Tensor(rng.standard_normal(3))
    assert gradcheck(lambda x, y: ScaleForgetsY.apply(x, y), (x, y))


def test_inputs_are_restored_exactly():
    x = leaf(2, 3)
    before = x.data.copy()
    same_array = x.data
    gradcheck(lambda x: (x * x).sum(), x)
    assert x.data is same_array
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None  # gradcheck returns gradients, it does not accumulate them


def test_read_only_input_array_is_handled():
    base = rng.standard_normal(3)
    x = tg.Tensor(np.broadcast_to(base, (2, 3)), requires_grad=True)  # not writable
    assert gradcheck(lambda x: x.tanh(), x)
    assert not x.data.flags.writeable


def test_output_that_is_an_input():
    x = leaf(2, 2)
    assert gradcheck(lambda x: x, x)
    assert gradgradcheck(lambda x: x, x)


def test_unused_input_has_zero_gradient_and_passes():
    x, unused = leaf(3), leaf(2)
    assert gradcheck(lambda x, u: x.exp(), (x, unused))


# -- broken ops are caught and reported -----------------------------------------------------------
def test_wrong_sign_is_reported_with_indices_and_values():
    x = tg.Tensor(np.array([[0.5, -1.0, 2.0], [1.5, -0.7, 0.3]]), requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: WrongSignSquare.apply(x), x)
    message = str(info.value)
    assert "output 0 (shape (2, 3)) w.r.t. input 0 (shape (2, 3))" in message
    assert "6 of 36 Jacobian entries" in message  # only the diagonal is wrong
    assert "atol=1e-05" in message and "rtol=0.001" in message
    rows = report_rows(message)
    assert len(rows) == 5
    # the worst entry is the largest |x|: x[0, 2] = 2.0, d out/dx = 4 but backward says -4
    assert rows[0][:2] == ("[0, 2]", "[0, 2]")
    assert rows[0][2] == pytest.approx(-4.0) and rows[0][3] == pytest.approx(4.0, rel=1e-6)
    for out_index, in_index, analytical, numerical in rows:
        assert out_index == in_index
        assert analytical == pytest.approx(-numerical, rel=1e-5)


def test_missing_broadcast_reduction_is_a_shape_problem_naming_the_input():
    a, b = leaf(4, 3), leaf(3)
    with pytest.raises(GradcheckError, match=r"wrong gradient shape for input 1 \(shape \(3,\)\)") as info:
        gradcheck(lambda a, b: UnreducedAdd.apply(a, b), (a, b))
    assert "(4, 3)" in str(info.value) and "sum_to" in str(info.value)


def test_missing_reduction_on_an_intermediate_is_still_reported():
    a, b = leaf(4, 3), leaf(3)
    with pytest.raises(GradcheckError, match=r"wrong gradient shape for an intermediate tensor of shape \(3,\)"):
        gradcheck(lambda a, b: UnreducedAdd.apply(a, b.exp()), (a, b))


def test_matmul_backward_without_transpose_fails_on_non_square_shapes():
    a, b = leaf(2, 3), leaf(3, 4)
    with pytest.raises(GradcheckError, match=r"backward raised ShapeError .*output 0 \(shape \(2, 4\)\)") as info:
        gradcheck(lambda a, b: MatMulNoTranspose.apply(a, b), (a, b))
    assert "matmul" in str(info.value)


def test_matmul_backward_without_transpose_gives_wrong_values_for_input_0():
    a, b = leaf(2, 3), leaf(3, 3)  # square b: shapes fit, values do not
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: MatMulNoTranspose.apply(a, b), (a, b))
    message = str(info.value)
    assert "w.r.t. input 0 (shape (2, 3))" in message
    assert "w.r.t. input 1" not in message  # b's gradient is right
    # d out[i, j] / d a[i, k] = b[k, j]; the broken backward gives b[j, k]
    for out_index, in_index, analytical, numerical in report_rows(message):
        (i, j), (i2, k) = eval(out_index), eval(in_index)
        assert i == i2
        assert numerical == pytest.approx(b.data[k, j], rel=1e-5)  # the report prints 6 digits
        assert analytical == pytest.approx(b.data[j, k], rel=1e-5)


def test_reshape_instead_of_transpose_is_caught_for_input_1():
    a, b = leaf(2, 3), leaf(3, 4)
    with pytest.raises(GradcheckError, match=r"output 0 \(shape \(2, 4\)\) w.r.t. input 1 \(shape \(3, 4\)\)"):
        gradcheck(lambda a, b: MatMulReshapeForTranspose.apply(a, b), (a, b))
    assert not gradcheck(lambda a, b: MatMulReshapeForTranspose.apply(a, b), (a, b), raise_exception=False)


def test_off_by_one_shift_reports_the_exact_elements():
    x = leaf(2, 4)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: ShiftRight.apply(x, wrong=True), x)
    message = str(info.value)
    # true Jacobian: d out[r, j] / d x[r, j - 1] = 1; the broken one has d out[r, j] / d x[r, j + 1] = 1
    assert "12 of 64 Jacobian entries" in message  # 6 true entries missing, 6 spurious ones
    rows = report_rows(message)
    assert rows
    for out_index, in_index, analytical, numerical in rows:
        (r, j), (r2, c) = eval(out_index), eval(in_index)
        assert r == r2
        if numerical == pytest.approx(1.0):
            assert c == j - 1 and analytical == 0.0
        else:
            assert numerical == pytest.approx(0.0, abs=1e-9) and analytical == 1.0 and c == j + 1
    # spurious entries (numerical 0) exceed the tolerance by a hair more than missing ones, and
    # ties keep Jacobian order: the first row is d out[0, 0] / d x[0, 1]
    assert rows[0][:3] == ("[0, 0]", "[0, 1]", 1.0)


def test_raise_exception_false_returns_false():
    x = leaf(3)
    assert gradcheck(lambda x: WrongSignSquare.apply(x), x, raise_exception=False) is False
    other = leaf(2, 3)
    assert gradcheck(lambda x, other: UnreducedAdd.apply(x, other), (x, other), raise_exception=False) is False
    assert gradgradcheck(lambda x: DetachedCube.apply(x), x, raise_exception=False) is False
    assert gradcheck(lambda x: Cube.apply(x), x, raise_exception=False) is True


def test_non_deterministic_forward_is_detected():
    noise = np.random.default_rng(3)  # a new draw on every call
    x = leaf(2, 3)
    with pytest.raises(GradcheckError, match=r"not deterministic.*output 0 \(shape \(2, 3\)\)"):
        gradcheck(lambda x: x * 2 + tg.Tensor(noise.standard_normal((2, 3)) * 1e-14), x)


def test_nondet_tol_allows_tiny_noise():
    noise = np.random.default_rng(3)
    x = leaf(2, 3)
    assert gradcheck(lambda x: x * 2 + tg.Tensor(noise.standard_normal((2, 3)) * 1e-14), x, nondet_tol=1e-12)


def test_none_gradient_for_a_used_input_is_detected():
    x, y = leaf(2, 2), leaf(2, 2)
    with pytest.raises(GradcheckError, match=r"w.r.t. input 1 \(shape \(2, 2\)\): the analytical gradient is None"):
        gradcheck(lambda x, y: ScaleForgetsY.apply(x, y), (x, y))


def test_graph_cut_by_detach_is_detected():
    x = leaf(3)
    with pytest.raises(GradcheckError, match=r"output 1 .* input 0 .*analytical gradient is None"):
        gradcheck(lambda x: (x * 2, x.detach() * 3), x)


def test_second_output_is_named():
    x = leaf(3)
    with pytest.raises(GradcheckError, match=r"output 1 \(shape \(3,\)\) w.r.t. input 0") as info:
        gradcheck(lambda x: (x.exp(), WrongSignSquare.apply(x)), x)
    assert "output 0" not in str(info.value)


def test_float32_input_is_refused_with_the_conversion():
    x = tg.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    with pytest.raises(TypeError, match=r"input 0 .*float32.*x\.data\.astype\(np\.float64\)"):
        gradcheck(lambda x: x * 2, x)
    with pytest.raises(TypeError, match="float64"):
        gradgradcheck(lambda x: x * 2, x)


def test_float32_output_is_reported():
    x = leaf(3)
    with pytest.raises(GradcheckError, match=r"output 0 .*dtype float32"):
        gradcheck(lambda x: x.astype(np.float32), x)


def test_no_input_to_check_is_an_error():
    with pytest.raises(ValueError, match="no input has requires_grad"):
        gradcheck(lambda x: x * 2, tg.Tensor(np.ones(2)))


def test_fn_must_return_tensors():
    with pytest.raises(TypeError, match="output 0 is a ndarray"):
        gradcheck(lambda x: x.data * 2, leaf(2))


def test_input_mutated_by_fn_is_detected():
    def sneaky(x):
        with tg.no_grad():
            x.add_(1.0)
        return x * 2

    x = leaf(3)
    with pytest.raises(GradcheckError, match="modified input 0"):
        gradcheck(sneaky, x)


# -- second order -------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, shapes", [
    (lambda x: x ** 3, [(2, 3)]),
    (lambda x: x.tanh(), [(5,)]),
    (lambda a, b, c: ((a @ b).tanh() @ c), [(2, 3), (3, 4), (4, 2)]),
])
def test_gradgradcheck_passes(fn, shapes):
    assert gradgradcheck(fn, tuple(leaf(*s) for s in shapes))


def test_gradgradcheck_catches_a_backward_built_on_constants():
    x = leaf(2, 2)
    assert gradcheck(lambda x: DetachedCube.apply(x), x)  # the first derivative is right
    with pytest.raises(GradcheckError, match=r"(?s)gradgradcheck .*output 0 \(shape \(2, 2\)\) w.r.t. input 0 \(shape \(2, 2\)\)") as info:
        gradgradcheck(lambda x: DetachedCube.apply(x), x)
    # d/dx (3 x^2 v) = 6 x v is missing entirely: the analytical second derivative is None
    assert "analytical gradient is None" in str(info.value)
    # the first line says why, in one line, and where to read how to fix it
    first, *rest = str(info.value).splitlines()
    assert first.startswith("gradgradcheck: fn's backward is not differentiable: it left the graph (NumPy in backward")
    assert "input 0" in first and "docs/howto/new-op.md" in first and rest[0].startswith("gradgradcheck (checking")


def test_gradgradcheck_headline_only_for_a_backward_that_left_the_graph():
    x = leaf(2, 2, low=0.5)

    class WrongButDifferentiable(tg.Function):
        """x**3 whose backward stays in the graph but is wrong at second order (4 x^2 v)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x * x * 3 + (x * x - x.detach() * x.detach()) * grad

    with pytest.raises(GradcheckError) as info:
        gradgradcheck(lambda x: WrongButDifferentiable.apply(x), x)
    assert str(info.value).startswith("gradgradcheck (checking") and "left the graph" not in str(info.value)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class WrongSecond(tg.Function):
        """x**3 whose backward is right at first order but differentiates to 3 x^2 + 3 x v instead of 6 x v."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            xc = tg.Tensor(x.data)  # a constant copy of x
            return grad * x * xc * 3

    x = leaf(3)
    assert gradcheck(lambda x: WrongSecond.apply(x), x)
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(lambda x: WrongSecond.apply(x), x)
    rows = report_rows(str(info.value))
    assert rows and all(o == i for o, i, _, _ in rows)  # only diagonal entries are wrong
    for o, _, analytical, numerical in rows:
        assert analytical == pytest.approx(numerical / 2, rel=1e-4)  # half of 6 x v


def test_gradgradcheck_with_given_grad_outputs():
    x = leaf(2, 3)
    v = np.ones((2, 3))
    assert gradgradcheck(lambda x: x.exp(), x, grad_outputs=v)
    assert gradgradcheck(lambda x: (x.exp(), x.sum()), x, grad_outputs=[v, np.array(2.0)])
    with pytest.raises(ValueError, match="shape"):
        gradgradcheck(lambda x: x.exp(), x, grad_outputs=np.ones(3))


def test_gradgradcheck_leaves_the_library_rng_alone():
    tg.manual_seed(5)
    state = get_rng_state()
    gradgradcheck(lambda x: x.tanh(), leaf(3))
    assert get_rng_state() == state


def test_docstring_example_runs():
    # the package exports the gradcheck *function* under the module's name, so look the module up
    module = importlib.import_module("tinygrad_np.gradcheck")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
