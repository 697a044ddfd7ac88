"""PyTorch habits: float(t), int(t), f"{loss:.3f}", items[t], np.asarray(t), the grad-mode decorators,
and dtype rules (elementwise ops promote, matrix products raise), each checked against PyTorch where it
is installed (those comparisons are skipped without it)."""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F

try:
    import torch
except ImportError:  # the comparisons with PyTorch are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", value) or ("error", exception type) of fn()."""
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001  (the type is what is compared)
        return "error", type(exc)


# (description, a function of a tensor constructor, array values)
CONVERSIONS: list[tuple[str, Callable[[Any], Any], Any]] = [
    ("float 0-d", float, 2.5), ("float one-element 2-d", float, [[2.5]]), ("float int", float, 3),
    ("float many", float, [1.0, 2.0]), ("float empty", float, np.zeros(0, np.float32)),
    ("int 0-d", int, 2.7), ("int negative", int, -2.7), ("int one-element", int, [7]), ("int bool", int, True),
    ("int many", int, [1, 2]), ("complex 0-d", complex, 1.5), ("complex many", complex, [1.0, 2.0]),
    ("index int", operator.index, 3), ("index one-element", operator.index, [3]), ("index bool", operator.index, True),
    ("index uint8", operator.index, np.uint8(3)), ("index float", operator.index, 3.0),
    ("index many", operator.index, [1, 2]),
    ("list index", lambda t: [10, 20, 30, 40][t], 2), ("range", lambda t: list(range(t)), 3),
    ("format 0-d", lambda t: f"{t:.3f}", 1.23456), ("format 0-d int", lambda t: f"{t:>4d}", 7),
    ("format 0-d plain", lambda t: f"{t}", 0.5),
    ("format many", lambda t: f"{t:.3f}", [1.0, 2.0]), ("round", lambda t: round(t, 2), 1.2345),
    ("round plain", round, 1.5),
]
EXPECTED_ERRORS = {  # the error types PyTorch raises, which tinygrad_np raises too
    "float many": ValueError, "float empty": ValueError, "int many": ValueError, "complex many": ValueError,
    "index float": TypeError, "index many": TypeError, "format many": TypeError, "round": TypeError,
    "round plain": TypeError,
}


def _tg_tensor(value: Any) -> tg.Tensor:
    array = np.asarray(value)
    return tg.Tensor(array.astype(np.float32) if array.dtype == np.float64 else array)


def _torch_tensor(value: Any) -> Any:
    array = np.asarray(value)
    return torch.tensor(array.astype(np.float32) if array.dtype == np.float64 else array)


@pytest.mark.parametrize("name, fn, value", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_python_conversions(name: str, fn: Callable[[Any], Any], value: Any) -> None:
    kind, result = _outcome(lambda: fn(_tg_tensor(value)))
    if name in EXPECTED_ERRORS:
        assert (kind, result) == ("error", EXPECTED_ERRORS[name])
    else:
        assert kind == "ok", result
        kind_of = name.split()[0]
        if kind_of in ("float", "int", "complex", "index"):  # as the same Python number would convert
            number = np.asarray(value, dtype=np.float32 if isinstance(value, float) else None).reshape(-1)[0].item()
            expected = fn(number)
            assert result == expected and type(result) is (int if kind_of == "index" else type(expected))


@needs_torch
@pytest.mark.parametrize("name, fn, value", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_python_conversions_match_pytorch(name: str, fn: Callable[[Any], Any], value: Any) -> None:
    if name in ("format 0-d plain",):  # PyTorch formats the float32 value in double precision
        assert f"{tg.Tensor(np.float32(value))}" == str(np.float32(value).item())
        return
    ours, theirs = _outcome(lambda: fn(_tg_tensor(value))), _outcome(lambda: fn(_torch_tensor(value)))
    assert ours == theirs


def test_conversion_errors_name_the_op_and_the_shape() -> None:
    t = tg.Tensor([[1.0, 2.0]])
    for op, fn in (("float", float), ("int", int), ("complex", complex)):
        with pytest.raises(ValueError, match=rf"{op}: only one element tensors can be converted to Python "
                                             r"scalars; this one has 2 elements \(shape \(1, 2\)\)"):
            fn(t)
    with pytest.raises(TypeError, match=r"index: only integer tensors of a single element .* float32 with shape \(\)"):
        operator.index(tg.Tensor(1.0))
    with pytest.raises(TypeError, match=r"format: only one-element tensors take a format spec such as '.3f'; "
                                        r"this one has shape \(1, 2\)"):
        f"{t:.3f}"
    with pytest.raises(TypeError, match=r"round: .*round\(t.item\(\), 3\)"):
        round(t, 3)


def test_format_of_a_loss_and_of_larger_tensors() -> None:
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).mean()
    assert f"{loss:.3f}" == "2.500" and f"{loss:.1e}" == "2.5e+00" and f"{loss}" == "2.5"
    assert f"{tg.Tensor([2.5]):.2f}" == "2.50"  # one element of any shape takes a spec
    assert f"{x}" == str(x) == format(x, "")  # no spec: as str(), like PyTorch


def test_numbers_from_a_tensor_that_requires_grad() -> None:
    x = tg.Tensor(3.0, requires_grad=True)
    y = x * 2
    assert float(y) == 6.0 and int(y) == 6 and isinstance(float(y), float)
    y.backward()  # converting records nothing and frees nothing
    assert x.grad.item() == 2.0


# -- NumPy's __array__ ------------------------------------------------------------------------------
def test_asarray_is_the_numeric_array_shared() -> None:
    t = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2, 2) and a is t.numpy()
    assert np.shares_memory(np.array(t, copy=False), t.numpy())
    assert not np.shares_memory(np.array(t), t.numpy())  # np.array copies by default
    assert not np.shares_memory(np.array(t, copy=True), t.numpy())
    np.testing.assert_array_equal(np.asarray(t), [[1, 2], [3, 4]])


def test_asarray_with_a_dtype_converts_and_copy_false_refuses_to() -> None:
    t = tg.Tensor([1.5, 2.5])
    b = np.asarray(t, dtype=np.float64)
    assert b.dtype == np.float64 and not np.shares_memory(b, t.numpy())
    np.testing.assert_array_equal(b, [1.5, 2.5])
    assert np.asarray(t, dtype=np.float32) is t.numpy()  # the same dtype needs no copy
    with pytest.raises(ValueError, match=r"float32 to float64 needs a copy, but copy=False"):
        np.array(t, dtype=np.float64, copy=False)


def test_numpy_functions_and_lists_of_tensors_take_tensors() -> None:
    t = tg.Tensor([3.0, -1.0, 2.0])
    assert np.argmax(t) == 0 and np.allclose(np.sort(t), [-1, 2, 3])
    stacked = np.array([tg.Tensor(1.0), tg.Tensor(2.0)])
    assert stacked.dtype == np.float32 and stacked.tolist() == [1.0, 2.0]
    assert tg.Tensor([tg.Tensor(1.0), tg.Tensor(2.0)]).dtype == np.float32


def test_ndarray_indexed_by_tensors() -> None:
    a = np.arange(10) * 10
    assert a[tg.Tensor(3)] == 30
    assert a[tg.Tensor(np.array([1, 2]))].tolist() == [10, 20]


@needs_torch
def test_asarray_matches_pytorch() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    ours, theirs = np.asarray(tg.Tensor(values)), np.asarray(torch.tensor(values))
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape and (ours == theirs).all()


# -- grad mode --------------------------------------------------------------------------------------
# Each decorator is made inside its test: set_grad_enabled(mode) sets the mode when it is made.
@pytest.mark.parametrize("make", [lambda: tg.no_grad, tg.no_grad, lambda: tg.inference_mode, tg.inference_mode,
                                  lambda: tg.set_grad_enabled(False)],
                         ids=["no_grad", "no_grad()", "inference_mode", "inference_mode()", "set_grad_enabled(False)"])
def test_decorators_that_turn_recording_off(make: Callable[[], Any]) -> None:
    decorator = make()

    @decorator
    def f(x: tg.Tensor) -> tuple[tg.Tensor, bool]:
        return x * 2, tg.is_grad_enabled()

    assert tg.is_grad_enabled()  # decorating changes nothing outside the function
    y, enabled = f(tg.Tensor([1.0], requires_grad=True))
    assert not enabled and y.grad_fn is None and not y.requires_grad
    assert tg.is_grad_enabled() and f.__name__ == "f"


@pytest.mark.parametrize("make", [lambda: tg.enable_grad, tg.enable_grad, lambda: tg.set_grad_enabled(True)],
                         ids=["enable_grad", "enable_grad()", "set_grad_enabled(True)"])
def test_decorators_that_turn_recording_on(make: Callable[[], Any]) -> None:
    decorator = make()

    @decorator
    def f(x: tg.Tensor) -> tg.Tensor:
        return x * 2

    with tg.no_grad():
        y = f(tg.Tensor([1.0], requires_grad=True))
        assert not tg.is_grad_enabled()
    assert y.grad_fn is not None


def test_blocks() -> None:
    x = tg.Tensor([1.0], requires_grad=True)
    for block in (tg.no_grad, tg.inference_mode, lambda: tg.set_grad_enabled(False)):
        with block():
            assert (x * 2).grad_fn is None
        assert tg.is_grad_enabled()
    with tg.no_grad():
        with tg.enable_grad():
            assert (x * 2).grad_fn is not None
        with tg.set_grad_enabled(True):
            assert (x * 2).grad_fn is not None
        with tg.inference_mode(False):  # leaves the mode as it is
            assert not tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    with tg.inference_mode(False):
        assert tg.is_grad_enabled()


def test_set_grad_enabled_as_a_call_sets_the_mode_until_changed() -> None:
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled() and (tg.Tensor([1.0], requires_grad=True) * 2).grad_fn is None
        tg.set_grad_enabled(True)
        assert tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)


def test_a_result_of_inference_mode_can_join_a_later_graph() -> None:
    w = tg.Tensor([2.0], requires_grad=True)
    with tg.inference_mode():
        features = tg.Tensor([3.0]) * 2
    (features * w).sum().backward()
    assert w.grad.item() == 6.0


def test_grad_mode_errors() -> None:
    with pytest.raises(TypeError, match="no_grad"):
        tg.no_grad(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"set_grad_enabled: expected a bool, got function; as a decorator"):
        tg.set_grad_enabled(lambda: None)  # type: ignore[arg-type]
    assert tg.is_grad_enabled()


def test_the_mode_is_restored_when_the_function_raises() -> None:
    @tg.no_grad
    def fails() -> None:
        raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        fails()
    assert tg.is_grad_enabled()


def _grad_mode_forms(lib: Any) -> tuple[bool, ...]:
    """Grad mode inside functions decorated in each form, and after them, with `lib` as tg or torch."""
    @lib.no_grad
    def a() -> bool:
        return lib.is_grad_enabled()

    @lib.inference_mode
    def b() -> bool:
        return lib.is_grad_enabled()

    @lib.set_grad_enabled(False)
    def c() -> bool:
        return lib.is_grad_enabled()

    @lib.enable_grad
    def d() -> bool:
        return lib.is_grad_enabled()

    with lib.no_grad():
        inside = d()
    return a(), b(), c(), inside, lib.is_grad_enabled()


def test_grad_mode_forms() -> None:
    assert _grad_mode_forms(tg) == (False, False, False, True, True)


@needs_torch
def test_grad_mode_forms_match_pytorch() -> None:
    assert _grad_mode_forms(tg) == _grad_mode_forms(torch)


# -- dtypes: elementwise ops promote, products raise ------------------------------------------------
def test_elementwise_ops_promote_float32_with_float64() -> None:
    a32, a64 = tg.Tensor(np.ones(3, np.float32), requires_grad=True), tg.Tensor(np.ones(3), requires_grad=True)
    for out in (a32 + a64, a64 * a32, a32 - a64, a32 / a64):
        assert out.dtype == np.float64
    (a32 * a64).sum().backward()  # each gradient in its own tensor's dtype
    assert a32.grad.dtype == np.float32 and a64.grad.dtype == np.float64


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (3, 4)), ((3,), (3,)), ((5, 2, 3), (3, 4)), ((3,), (3, 2))])
@pytest.mark.parametrize("swap", [False, True])
def test_matmul_of_different_dtypes_raises(a_shape: tuple[int, ...], b_shape: tuple[int, ...], swap: bool) -> None:
    a, b = tg.Tensor(np.ones(a_shape, np.float32)), tg.Tensor(np.ones(b_shape, np.float64))
    first, second = ("float32", "float64")
    if swap:
        a, b = tg.Tensor(np.ones(a_shape, np.float64)), tg.Tensor(np.ones(b_shape, np.float32))
        first, second = second, first
    message = (rf"matmul: expected both operands to have the same dtype, got {first} \(shape "
               rf"{_re_shape(a_shape)}\) and {second} \(shape {_re_shape(b_shape)}\); convert one with "
               r"\.float\(\) or \.double\(\)")
    for product in (lambda: a @ b, lambda: a.matmul(b)):
        with pytest.raises(TypeError, match=message):
            product()
    assert (a.double() @ b.double()).dtype == np.float64 and (a.float() @ b.float()).dtype == np.float32


def _re_shape(shape: tuple[int, ...]) -> str:
    return str(shape).replace("(", r"\(").replace(")", r"\)")


def test_matmul_with_an_integer_tensor_raises_and_arrays_take_the_tensor_dtype() -> None:
    a = tg.Tensor(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="matmul: expected both operands to have the same dtype, got float32"):
        a @ tg.Tensor(np.ones((3, 2), np.int64))
    assert (a @ np.ones((3, 2))).dtype == np.float32  # a plain array is a constant of the tensor's dtype
    assert (np.ones((4, 2)) @ a).dtype == np.float32


def test_linear_and_conv2d_raise_on_different_dtypes_too() -> None:
    with pytest.raises(TypeError, match="linear"):
        F.linear(tg.Tensor(np.ones((2, 3), np.float32)), tg.Tensor(np.ones((4, 3))))
    with pytest.raises(TypeError, match="conv2d"):
        F.conv2d(tg.Tensor(np.ones((1, 1, 4, 4), np.float32)), tg.Tensor(np.ones((1, 1, 3, 3))))


@needs_torch
def test_dtype_rules_match_pytorch() -> None:
    for ops in ((lambda a, b: a + b), (lambda a, b: a * b)):
        assert ops(tg.Tensor(np.ones(2, np.float32)), tg.Tensor(np.ones(2))).dtype == np.float64
        assert ops(torch.ones(2), torch.ones(2, dtype=torch.float64)).dtype == torch.float64
    for a_shape, b_shape in (((2, 3), (3, 4)), ((3,), (3,))):
        assert _outcome(lambda: torch.ones(a_shape) @ torch.ones(b_shape, dtype=torch.float64))[0] == "error"
        assert _outcome(lambda: tg.Tensor(np.ones(a_shape, np.float32)) @ tg.Tensor(np.ones(b_shape)))[0] == "error"
