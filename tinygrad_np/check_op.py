"""Prove a new op in one call: `check_op(fn, *example_inputs)` sweeps the properties every
differentiable op must have, on inputs derived from the examples.

- gradients: `gradcheck` and (with `second_order`) `gradgradcheck` in float64;
- float32: float32 inputs give float32 outputs and float32 gradients, close to the float64 ones;
- non-contiguous: transposed, strided views of the inputs give the same values and gradients;
- stand-in: inputs made by an op and large enough (`function.STAND_IN_BYTES`) for a node to hold
  them as stand-ins (their data freed) give the same gradients as the normal path;
- empty batch: a batch of 0 along `batch_axis` runs forward and backward, with zero-size or zero
  gradients;
- routed: an input element that no output depends on keeps a gradient of exactly 0 even when
  every upstream gradient is inf (a gradient routed away is selected out, not multiplied by 0).
  It runs on the examples as given, so give generic values: an exact 0 that makes a product's
  derivative 0 (d(x * y)/dy at x = 0) looks like a routed-away element, and 0 * inf is NaN there;
- finite: with zeros in an input, the gradient is finite wherever the function and its
  finite-difference derivative are.

Float ndarrays among the examples (and Tensors that require grad) are the checked inputs; anything
else (integer targets, Python numbers, constant Tensors) is passed to `fn` unchanged. Each failing
property is reported with the input, shapes and the worst elements; the error is a
`CheckOpError`, a `GradcheckError`. Keyword options turn off what an op cannot support.

>>> import numpy as np
>>> import tinygrad_np as tg
>>> x = np.random.default_rng(0).standard_normal((3, 4))
>>> tg.check_op(lambda x: x.tanh() * 2, x)
True
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd import function
from .autograd.engine import grad as _grad
from .autograd.grad_mode import enable_grad, no_grad
from .gradcheck import GradcheckError, _call, _fmt_index, gradcheck, gradgradcheck
from .tensor import Tensor

__all__ = ["CheckOpError", "check_op"]

_FINITE_PROBES = 4  # at most this many non-finite gradient entries are probed by finite differences


class CheckOpError(GradcheckError):
    """An op failed one or more of the properties `check_op` sweeps."""


# -- inputs -------------------------------------------------------------------------------------
def _is_checked(x: Any) -> bool:
    if isinstance(x, Tensor):
        return x.requires_grad and x.dtype.kind == "f"
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def _array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else x


def _make(examples: tuple[Any, ...], checked: list[int], arrays: dict[int, np.ndarray],
          dtype: Any = np.float64) -> tuple[Any, ...]:
    """fn's arguments: each checked input a fresh leaf of `dtype` holding arrays[i] (a view is kept as
    it is when it already has that dtype), the others unchanged."""
    out = list(examples)
    for i in checked:
        a = arrays[i]
        out[i] = Tensor(a if a.dtype == dtype else a.astype(dtype), requires_grad=True)
    return tuple(out)


def _batched(examples: tuple[Any, ...], batch_axis: int | None, batched: Sequence[int] | None) -> list[int]:
    """The inputs that carry the batch axis: given, or guessed. The guess takes the float input with
    the most axes as the batch's reference, then every float input with as many axes and every other
    array (integer targets) as long along `batch_axis` as it (an input with fewer axes broadcasts)."""
    if batch_axis is None:
        return []
    if batched is not None:
        return list(batched)
    arrays = [(i, _array(x)) for i, x in enumerate(examples) if isinstance(x, (np.ndarray, Tensor))]
    arrays = [(i, a) for i, a in arrays if a.ndim > batch_axis]
    floats = [a for i, a in arrays if _is_checked(examples[i])]
    if not floats:
        return []
    reference = max(floats, key=lambda a: a.ndim)
    n = reference.shape[batch_axis]
    return [i for i, a in arrays if a.shape[batch_axis] == n
            and (a.ndim == reference.ndim or not _is_checked(examples[i]))]


def _noncontiguous(a: np.ndarray) -> np.ndarray:
    """The same values in a view that is neither C- nor F-contiguous: axes reversed, every other element."""
    if a.ndim == 0:
        return a
    base = np.zeros(a.shape[::-1] + (2,), dtype=a.dtype)
    view = base[..., 0].transpose()
    view[...] = a
    return view


# -- running fn -----------------------------------------------------------------------------------
class _Run:
    """fn's outputs at some inputs and the vector-Jacobian product with fixed upstream gradients."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], checked: list[int],
                 seeds: list[np.ndarray] | None = None, intermediates: bool = False) -> None:
        self.args, self.checked = args, checked
        with enable_grad():
            call = args
            if intermediates:  # each checked input reaches fn as an op's output (x * 1)
                call = tuple(a * 1.0 if i in checked else a for i, a in enumerate(args))
            self.outputs = _call(fn, call, "check_op")
        self.diff = [k for k, o in enumerate(self.outputs) if o.dtype.kind == "f" and o.requires_grad]
        self.seeds = seeds if seeds is not None else _seeds([self.outputs[k] for k in self.diff])
        self.values = [np.array(o.data, copy=True) for o in self.outputs]
        self.grads: list[np.ndarray | None] = [None] * len(checked)
        if self.diff:
            self.grads = self.vjp([s.astype(self.outputs[k].dtype) for k, s in zip(self.diff, self.seeds)])

    def vjp(self, seeds: list[np.ndarray]) -> list[np.ndarray | None]:
        """The gradients of the checked inputs for upstream gradients `seeds` (None: unused)."""
        with enable_grad():
            grads = _grad([self.outputs[k] for k in self.diff], [self.args[i] for i in self.checked],
                          grad_outputs=[Tensor._make(s, None) for s in seeds], retain_graph=True,
                          allow_unused=True)
        return [None if g is None else np.array(g.data, copy=True) for g in grads]


def _seeds(outputs: list[Tensor]) -> list[np.ndarray]:
    rng = np.random.default_rng(20240605)  # fixed and local: every run of a check sees the same numbers
    return [rng.standard_normal(o.shape) for o in outputs]


def _worst(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    """A line naming the worst element of `got` outside |got - expected| <= atol + rtol |expected|."""
    if got.shape != expected.shape:
        return f"shape {got.shape}, expected {expected.shape}"
    g, e = got.astype(np.float64), expected.astype(np.float64)
    with np.errstate(invalid="ignore"):
        same = (g == e) | (np.isnan(g) & np.isnan(e))
        err = np.where(same, 0.0, np.nan_to_num(np.abs(g - e) - rtol * np.abs(e), nan=np.inf))
    bad = err > atol
    if not bad.any():
        return None
    at = np.unravel_index(int(np.argmax(np.where(bad, err, -np.inf))), got.shape)
    return (f"{int(bad.sum())} of {got.size} elements differ (rtol={rtol:g}, atol={atol:g}); worst at "
            f"{_fmt_index(at)}: {g[at]:.9g}, expected {e[at]:.9g}")


def _compare_runs(run: _Run, ref: _Run, what: str, rtol: float, atol: float,
                  shapes: dict[int, tuple[int, ...]] | None = None) -> list[str]:
    """Differences between two runs' outputs and gradients, one line each."""
    problems = []
    for k, (got, expected) in enumerate(zip(run.values, ref.values)):
        line = _worst(got, expected, rtol, atol) if got.dtype.kind in "fc" else (
            None if np.array_equal(got, expected) else "values differ")
        if line:
            problems.append(f"{what}: output {k} (shape {expected.shape}): {line}")
    for j, i in enumerate(run.checked):
        got, expected = run.grads[j], ref.grads[j]
        if (got is None) != (expected is None):
            problems.append(f"{what}: the gradient of input {i} is {'None' if got is None else 'not None'} "
                            f"here but {'None' if expected is None else 'not None'} on the reference run")
        elif got is not None:
            line = _worst(got, expected, rtol, atol)
            if line:
                problems.append(f"{what}: gradient of input {i} (shape {expected.shape}): {line}")
    return problems


# -- the properties ---------------------------------------------------------------------------------
def _float32(fn, examples, checked, ref: _Run, rtol: float, atol: float) -> list[str]:
    arrays = {i: _array(examples[i]) for i in checked}
    run = _Run(fn, _make(examples, checked, arrays, np.float32), checked, ref.seeds)
    problems = []
    for k in run.diff:
        if run.outputs[k].dtype != np.float32:
            problems.append(f"float32: output {k} (shape {run.outputs[k].shape}) has dtype "
                            f"{run.outputs[k].dtype} for float32 inputs; expected float32")
    for j, i in enumerate(checked):
        g = run.grads[j]
        if g is not None and g.dtype != np.float32:
            problems.append(f"float32: the gradient of input {i} (shape {g.shape}) has dtype {g.dtype}; "
                            f"expected float32")
    return problems or _compare_runs(run, ref, "float32 (against float64)", rtol, atol)


def _noncontiguous_inputs(fn, examples, checked, ref: _Run) -> list[str]:
    arrays = {i: _noncontiguous(np.asarray(_array(examples[i]), dtype=np.float64)) for i in checked}
    run = _Run(fn, _make(examples, checked, arrays), checked, ref.seeds)
    return _compare_runs(run, ref, "non-contiguous inputs (against contiguous)", 1e-10, 1e-12)


def _tiled(examples: tuple[Any, ...], checked: list[int], batched: list[int], batch_axis: int,
           reps: int) -> tuple[tuple[Any, ...], dict[int, np.ndarray]]:
    """fn's arguments and the checked inputs' arrays with the batched inputs repeated `reps` times
    along the batch axis."""
    args = list(examples)
    arrays = {i: np.asarray(_array(examples[i]), dtype=np.float64) for i in checked}
    for i in batched:
        a = _array(examples[i])
        tile = [1] * a.ndim
        tile[batch_axis] = reps
        tiled = np.tile(a, tile)
        if i in checked:
            arrays[i] = tiled.astype(np.float64)
        else:
            args[i] = Tensor(tiled) if isinstance(examples[i], Tensor) else tiled
    return tuple(args), arrays


def _grows_with_the_batch(fn, examples, checked, batched: list[int], batch_axis: int) -> bool:
    """Whether doubling the batch at most doubles every output: the batched inputs were guessed
    right (an input broadcast against another along the batch axis would square the output)."""
    sizes = []
    for reps in (1, 2):
        args, arrays = _tiled(examples, checked, batched, batch_axis, reps)
        with no_grad(), np.errstate(all="ignore"):
            sizes.append([o.size for o in _call(fn, _make(args, checked, arrays), "check_op")])
    return all(two <= 2 * one for one, two in zip(*sizes))


def _stand_in(fn, examples, checked, batched: list[int], batch_axis: int | None) -> list[str]:
    """The same inputs as intermediates, once held by stand-ins and once kept: equal gradients.
    The batched inputs are repeated until the largest one passes the stand-in threshold; without a
    batch (or if the batch guess is wrong) every intermediate counts as large instead."""
    threshold = function.STAND_IN_BYTES
    tiled = [i for i in batched if i in checked]
    if tiled and batch_axis is not None and _grows_with_the_batch(fn, examples, checked, batched, batch_axis):
        largest = max(max(np.asarray(_array(examples[i])).size * 8, 1) for i in tiled)  # as float64
        args, arrays = _tiled(examples, checked, batched, batch_axis, max(1, math.ceil(threshold / largest)))
    else:
        args, arrays = _tiled(examples, checked, [], 0, 1)
        threshold = 0
    saved = function.STAND_IN_BYTES
    try:
        function.STAND_IN_BYTES = threshold
        run = _Run(fn, _make(args, checked, arrays), checked, intermediates=True)
        function.STAND_IN_BYTES = 1 << 62  # nothing is large: the normal path
        ref = _Run(fn, _make(args, checked, arrays), checked, run.seeds, intermediates=True)
    finally:
        function.STAND_IN_BYTES = saved
    return _compare_runs(run, ref, f"stand-in path (intermediate inputs of {_shapes(arrays, checked)}, "
                                   f"against the path that keeps them)", 1e-12, 1e-14)


def _shapes(arrays: dict[int, np.ndarray], checked: list[int]) -> str:
    return ", ".join(f"input {i} {arrays[i].shape}" for i in checked)


def _empty(fn, examples, checked, batched: list[int], batch_axis: int) -> list[str]:
    args = list(examples)
    arrays = {i: np.asarray(_array(examples[i]), dtype=np.float64) for i in checked}
    for i in batched:
        a = np.take(_array(examples[i]), np.arange(0), axis=batch_axis)
        if i in checked:
            arrays[i] = a.astype(np.float64)
        else:
            args[i] = Tensor(a) if isinstance(examples[i], Tensor) else a
    what = f"empty batch (axis {batch_axis}; {_shapes(arrays, checked)})"
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice": NaN is the answer
            run = _Run(fn, _make(tuple(args), checked, arrays), checked)
    except Exception as exc:  # noqa: BLE001 - reported as the property's failure
        return [f"{what}: raised {type(exc).__name__}: {exc}"]
    problems = []
    for j, i in enumerate(checked):
        g = run.grads[j]
        if g is None:
            continue  # no path from this input: its gradient is zero
        if g.shape != arrays[i].shape:
            problems.append(f"{what}: the gradient of input {i} has shape {g.shape}, expected {arrays[i].shape}")
        elif np.any(g != 0):
            at = np.unravel_index(int(np.argmax(g != 0)), g.shape)
            problems.append(f"{what}: the gradient of input {i} (shape {g.shape}) is not zero: "
                            f"{g[at]:.6g} at {_fmt_index(at)}")
    return problems


def _routed(fn, examples, checked, ref: _Run) -> list[str]:
    """An inf upstream gradient at every output leaves the input elements that no output depends
    on (a zero gradient for random finite upstream gradients) at exactly 0, not 0 * inf = NaN."""
    if not ref.diff:
        return []
    with np.errstate(all="ignore"):
        infinite = ref.vjp([np.full(ref.outputs[k].shape, np.inf, ref.outputs[k].dtype) for k in ref.diff])
    problems = []
    for j, i in enumerate(checked):
        if ref.grads[j] is None:
            continue
        leaked = (ref.grads[j] == 0) & (infinite[j] != 0)
        if leaked.any():
            at = np.unravel_index(int(np.argmax(leaked)), leaked.shape)
            problems.append(
                f"routed: with an inf upstream gradient at every output, input {i} (shape {leaked.shape}) "
                f"gets the gradient {infinite[j][at]:.6g} at {_fmt_index(at)} ({int(leaked.sum())} "
                f"element(s)), although no output depends on that element (its gradient is 0 for finite "
                f"upstream gradients): route a gradient by selecting (np.where), not by multiplying with "
                f"a 0/1 mask")
    return problems


def _finite_at_zeros(fn, examples, checked, eps: float) -> list[str]:
    problems = []
    base = {i: np.asarray(_array(examples[i]), dtype=np.float64) for i in checked}
    for i in checked:
        for pattern in ("every other element", "all elements"):
            arrays = dict(base)
            zeroed = base[i].copy()
            if pattern == "all elements":
                zeroed[...] = 0
            else:
                zeroed.reshape(-1)[::2] = 0
            arrays[i] = zeroed
            with np.errstate(all="ignore"):
                run = _Run(fn, _make(examples, checked, arrays), checked)
            if not all(np.isfinite(run.values[k]).all() for k in run.diff):
                continue  # the function itself is not finite here
            for j, jj in enumerate(checked):
                g = run.grads[j]
                if g is None or np.isfinite(g).all():
                    continue
                for c in np.flatnonzero(~np.isfinite(g))[:_FINITE_PROBES]:
                    slope = _numerical_slope(fn, examples, checked, arrays, jj, int(c), run.seeds, eps)
                    if np.isfinite(slope):
                        at = _fmt_index(np.unravel_index(int(c), g.shape))
                        problems.append(
                            f"finite: with zeros in {pattern} of input {i} (shape {zeroed.shape}), the "
                            f"gradient of input {jj} at {at} is {g.reshape(-1)[c]:.6g}, but the function "
                            f"is finite there and its finite-difference derivative is {slope:.6g}")
                        break
    return problems


def _numerical_slope(fn, examples, checked, arrays, i: int, c: int, seeds: list[np.ndarray], eps: float) -> float:
    """d (sum of outputs * seeds) / d arrays[i].flat[c] by a central difference."""
    values = []
    for step in (eps, -eps):
        moved = dict(arrays)
        moved[i] = arrays[i].copy()
        moved[i].reshape(-1)[c] += step
        with no_grad(), np.errstate(all="ignore"):
            outs = _call(fn, _make(examples, checked, moved), "check_op")
        diff = [o for o in outs if o.dtype.kind == "f"]
        values.append(sum(float(np.sum(o.data * s)) for o, s in zip(diff, seeds)))
    return (values[0] - values[1]) / (2 * eps)


# -- public API -----------------------------------------------------------------------------------
def check_op(fn: Callable[..., Tensor | Sequence[Tensor]], *example_inputs: Any,
             eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, nondet_tol: float = 0.0,
             second_order: bool = True, check_float32: bool = True, float32_rtol: float = 1e-3,
             float32_atol: float = 1e-4, check_noncontiguous: bool = True, check_stand_in: bool = True,
             batch_axis: int | None = 0, batched: Sequence[int] | None = None, check_empty: bool = True,
             check_routed: bool = True, check_finite: bool = True, raise_exception: bool = True) -> bool:
    """Check every property of a differentiable op (see the module docstring) on `example_inputs`.

    `eps`, `atol`, `rtol`, `nondet_tol` go to gradcheck/gradgradcheck; `float32_rtol`/`float32_atol`
    bound float32 results against float64 ones. `batch_axis` is the axis along which examples are
    independent samples (None: no batch, so no empty-batch check), and `batched` the positions of
    the inputs that carry it; by default the float input with the most axes, the float inputs with
    as many axes and the integer arrays as long along `batch_axis` as it. The other flags turn
    single properties off. Returns True, or raises `CheckOpError` listing every failed property
    (returns False with `raise_exception=False`).
    """
    __tracebackhide__ = True
    examples = tuple(example_inputs)
    checked = [i for i, x in enumerate(examples) if _is_checked(x)]
    if not checked:
        raise ValueError("check_op: no example input is a float array (or a Tensor that requires grad), "
                         "so there is no gradient to check.")
    arrays = {i: np.asarray(_array(examples[i]), dtype=np.float64) for i in checked}
    problems: list[str] = []

    def prove(name: str, check: Callable[[], Any]) -> None:
        try:
            check()
        except GradcheckError as exc:
            problems.append(f"{name}: {exc}")

    prove("gradcheck (float64)", lambda: gradcheck(fn, _make(examples, checked, arrays), eps=eps, atol=atol,
                                                   rtol=rtol, nondet_tol=nondet_tol))
    if second_order:
        prove("gradgradcheck (float64)", lambda: gradgradcheck(fn, _make(examples, checked, arrays), eps=eps,
                                                               atol=atol, rtol=rtol))
    ref = _Run(fn, _make(examples, checked, arrays), checked)
    batched_inputs = _batched(examples, batch_axis, batched)
    properties: list[tuple[str, bool, Callable[[], list[str]]]] = [
        ("float32", check_float32, lambda: _float32(fn, examples, checked, ref, float32_rtol, float32_atol)),
        ("non-contiguous", check_noncontiguous, lambda: _noncontiguous_inputs(fn, examples, checked, ref)),
        ("stand-in", check_stand_in, lambda: _stand_in(fn, examples, checked, batched_inputs, batch_axis)),
        ("empty batch", check_empty and bool(batched_inputs),
         lambda: _empty(fn, examples, checked, batched_inputs, batch_axis)),  # type: ignore[arg-type]
        ("routed", check_routed, lambda: _routed(fn, examples, checked, ref)),
        ("finite", check_finite, lambda: _finite_at_zeros(fn, examples, checked, eps)),
    ]
    for name, enabled, check in properties:
        if enabled:
            try:
                problems.extend(check())
            except Exception as exc:  # noqa: BLE001 - a property that cannot even run is a failure
                problems.append(f"{name}: raised {type(exc).__name__}: {exc}")
    if not problems:
        return True
    if raise_exception:
        shapes = ", ".join(f"input {i} {arrays[i].shape}" for i in checked)
        raise CheckOpError(f"check_op failed ({shapes}), {len(problems)} problem(s):\n- " + "\n- ".join(problems))
    return False
