"""Prove an op's gradient: compare its backward with central finite differences, in float64.

`gradcheck(fn, inputs)` builds the full Jacobian of `fn` twice. The *numerical* Jacobian perturbs
each element of each checked input by ``+eps`` and ``-eps`` in place and evaluates
``(f(x + eps) - f(x - eps)) / (2 * eps)`` under `no_grad`; the *analytical* Jacobian runs one
backward per output element (a vector-Jacobian product with a one-hot vector). Every entry must
satisfy ``|analytical - numerical| <= atol + rtol * |numerical|``. The cost is 2N forwards and M
backwards for N input elements and M output elements, so keep the inputs small (tens to a few
hundred elements).

`gradgradcheck(fn, inputs)` checks second derivatives: it gradchecks the function
``(inputs, v) -> grad(fn(inputs), inputs, grad_outputs=v, create_graph=True)``, which only passes
if every backward is itself written with differentiable Tensor ops.

Only inputs with ``requires_grad=True`` are checked, and they must be float64: float32 inputs are
refused with a TypeError (central differences with eps=1e-6 need double precision to mean
anything). Convert them with ``tg.Tensor(x.data.astype(np.float64), requires_grad=True)``.

Avoiding kinks. Central differences see the function on both sides of each point, so an input
within ``eps`` of a point where the function is not differentiable gives a numerical derivative
that is the average of two slopes, and the check fails although the backward is right. Build
inputs that stay far (much more than eps) from every kink:

- relu/abs: no value near 0, e.g. ``sign * (0.1 + rng.random(shape))``;
- max/min/maximum/minimum/argmax-based ops: no ties, e.g. distinct values spaced 0.1 apart
  from a permutation, ``rng.permutation(n).reshape(shape) * 0.1``;
- clip: no value within 0.05 of a bound;
- log/sqrt/pow with a tensor exponent: strictly positive bases away from 0, e.g. ``0.5 + rng.random()``;
- division: denominators away from 0.

A failure raises `GradcheckError` (an AssertionError, so pytest shows it as a failed check) whose
message names the output and input, the worst entries with their element indices, analytical and
numerical values and errors, how many entries failed and the tolerance.

Example:

>>> import numpy as np
>>> import tinygrad_np as tg
>>> from tinygrad_np.gradcheck import gradcheck, gradgradcheck
>>> rng = np.random.default_rng(0)
>>> x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
>>> w = tg.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
>>> gradcheck(lambda x, w: (x @ w).tanh(), (x, w))
True
>>> gradgradcheck(lambda x, w: (x @ w).tanh(), (x, w))
True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autograd.engine import grad as _grad
from .autograd.function import stand_ins_for_all_sizes
from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from .errors import GradientShapeError, GraphError
from .tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]

_WORST = 5  # how many of the worst entries a failure report lists


class GradcheckError(AssertionError):
    """An op's analytical gradient disagrees with its numerical gradient (or backward misbehaved)."""


# -- small helpers ------------------------------------------------------------------------------
def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _fmt_index(index: tuple[int, ...]) -> str:
    """An element's multi-index as `[1, 2]` (`[()]` for a 0-d tensor)."""
    return "[" + (", ".join(str(i) for i in index) if index else "()") + "]"


def _is_differentiable(t: Any) -> bool:
    return isinstance(t, Tensor) and t.dtype.kind == "f"


def _checked_inputs(inputs: tuple[Any, ...], who: str) -> list[int]:
    """Positions of the inputs to check; refuses anything that is not float64."""
    checked = []
    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        if t.dtype != np.float64:
            raise TypeError(
                f"{who}: input {i} (shape {t.shape}) has dtype {t.dtype}, but gradients are checked in "
                f"float64 only (finite differences with eps=1e-6 are meaningless in lower precision). "
                f"Convert it: tg.Tensor(x.data.astype(np.float64), requires_grad=True)."
            )
        checked.append(i)
    if not checked:
        raise ValueError(f"{who}: no input has requires_grad=True, so there is nothing to check.")
    return checked


def _call(fn: Callable[..., Any], inputs: tuple[Any, ...], who: str) -> tuple[Tensor, ...]:
    outputs = _as_tuple(fn(*inputs))
    for k, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{who}: fn must return a Tensor or a tuple of Tensors; output {k} is a "
                            f"{type(out).__name__}.")
    return outputs


def _as_intermediates(inputs: tuple[Any, ...], checked: list[int]) -> tuple[Any, ...]:
    """The inputs fn gets for the analytical Jacobian: each checked leaf times 1, an intermediate, so
    fn's ops see graph outputs as in a training step, where an input that backward does not save
    is held as a data-free StandIn (gradcheck forces that for all sizes, so a backward that reads
    an unsaved input fails here with the StandIn's error instead of in training)."""
    fed = list(inputs)
    with enable_grad():
        for i in checked:
            fed[i] = inputs[i] * 1.0
    return tuple(fed)


def _values(outputs: tuple[Tensor, ...]) -> list[np.ndarray]:
    """Copies of the outputs' values (an output may share memory with a perturbed input)."""
    return [np.array(out.data, copy=True) for out in outputs]


def _snapshot(inputs: tuple[Any, ...]) -> list[np.ndarray | None]:
    return [np.array(t.data, copy=True) if isinstance(t, Tensor) else None for t in inputs]


def _check_not_mutated(inputs: tuple[Any, ...], before: list[np.ndarray | None]) -> str | None:
    for i, (t, old) in enumerate(zip(inputs, before)):
        if old is None:
            continue
        if t.data.shape != old.shape or not np.array_equal(t.data, old, equal_nan=old.dtype.kind in "fc"):
            return (f"fn modified input {i} (shape {old.shape}) in place; gradcheck needs a pure "
                    f"function of its inputs. Use out-of-place ops inside fn.")
    return None


def _check_deterministic(first: list[np.ndarray], second: list[np.ndarray], nondet_tol: float) -> str | None:
    if len(first) != len(second):
        return f"fn returned {len(first)} outputs on one call and {len(second)} on another."
    for k, (a, b) in enumerate(zip(first, second)):
        if a.shape != b.shape:
            return f"fn is not deterministic: output {k} had shape {a.shape}, then {b.shape}."
        if a.dtype.kind in "fc":
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
            same_nan = np.isnan(a) & np.isnan(b)
            worst = float(np.max(np.where(same_nan, 0.0, np.nan_to_num(diff, nan=np.inf)), initial=0.0))
            if worst > nondet_tol:
                return (f"fn is not deterministic: two evaluations at the same inputs differ in output "
                        f"{k} (shape {a.shape}) by up to {worst:.3g} (nondet_tol={nondet_tol:g}). "
                        f"Seed any randomness inside fn, or raise nondet_tol.")
        elif not np.array_equal(a, b):
            return f"fn is not deterministic: two evaluations of output {k} (dtype {a.dtype}) differ."
    return None


# -- the Jacobians ----------------------------------------------------------------------------
def _numerical_jacobian(fn: Callable[..., Any], inputs: tuple[Any, ...], checked: list[int],
                        out_sizes: list[int], eps: float, who: str) -> list[list[np.ndarray]]:
    """jac[k][j][r, c] = d output_k[r] / d input_j[c] by central differences (perturbing in place)."""
    jac = [[np.zeros((m, inputs[i].size)) for i in checked] for m in out_sizes]
    for j, i in enumerate(checked):
        x = inputs[i]
        original_array = x.data
        if not (x.data.flags.writeable and x.data.flags.c_contiguous):
            x.data = np.array(x.data, order="C", copy=True)  # a private writable copy; the original is put back
        flat = x.data.reshape(-1)  # a view, since the data is C-contiguous
        try:
            for c in range(flat.size):
                orig = flat[c]
                flat[c] = orig + eps
                with no_grad():
                    plus = _values(_call(fn, inputs, who))
                flat[c] = orig - eps
                with no_grad():
                    minus = _values(_call(fn, inputs, who))
                flat[c] = orig
                for k, m in enumerate(out_sizes):
                    if m:
                        jac[k][j][:, c] = (plus[k].astype(np.float64).reshape(-1)
                                           - minus[k].astype(np.float64).reshape(-1)) / (2 * eps)
        finally:
            x.data = original_array
    return jac


def _blame_shape_error(exc: GraphError, inputs: tuple[Any, ...], checked: list[int]) -> str:
    """Turn the engine's wrong-shape error into a message naming the gradcheck input it hit."""
    if not isinstance(exc, GradientShapeError):
        return f"backward failed: {exc}"
    op, arg, got, expected = exc.op, exc.index, exc.shape, exc.expected
    t = exc.node.inputs[arg]
    by_id = {id(inputs[i]): i for i in checked}
    # an input fed as an intermediate may be held by its consumer as a StandIn: match its node too
    by_id.update({id(inputs[i].grad_fn): i for i in checked if inputs[i].grad_fn is not None})
    i = by_id.get(id(t), by_id.get(id(t.grad_fn))) if t is not None else None
    where = f"input {i} (shape {t.shape})" if i is not None else \
        f"an intermediate tensor of shape {expected} (argument {arg} of {op})"
    return (f"wrong gradient shape for {where}: {op}.backward returned a gradient of shape {got} "
            f"where {expected} was expected (did backward forget to sum a broadcast gradient back, "
            f"e.g. with .sum_to(shape)?). Engine: {exc}")


def _analytical_jacobian(outputs: tuple[Tensor, ...], inputs: tuple[Any, ...], checked: list[int],
                         fed: tuple[Any, ...]) -> tuple[list[list[np.ndarray]], list[list[bool]]]:
    """jac[k][j] by one vector-Jacobian product per output element; also whether any grad was None."""
    targets = [inputs[i] for i in checked]
    jac = [[np.zeros((out.size, t.size)) for t in targets] for out in outputs]
    unused = [[True] * len(targets) for _ in outputs]
    for k, out in enumerate(outputs):
        if not (_is_differentiable(out) and out.requires_grad):
            continue  # constant output: its analytical Jacobian is zero
        flat_seed = np.zeros(out.size, dtype=out.dtype)
        for r in range(out.size):
            flat_seed[r] = 1
            seed = Tensor._make(flat_seed.reshape(out.shape).copy(), None)
            flat_seed[r] = 0
            try:
                with enable_grad():
                    grads = _grad(out, targets, grad_outputs=seed, retain_graph=True, allow_unused=True)
            except GraphError as exc:
                raise GradcheckError(f"{_blame_shape_error(exc, fed, checked)} (while "
                                     f"back-propagating output {k}, shape {out.shape})") from exc
            except Exception as exc:
                raise GradcheckError(
                    f"backward raised {type(exc).__name__} while back-propagating output {k} (shape "
                    f"{out.shape}) from element {_fmt_index(np.unravel_index(r, out.shape))}: {exc}") from exc
            for j, g in enumerate(grads):
                if g is None:
                    continue
                if g.shape != targets[j].shape:
                    raise GradcheckError(
                        f"wrong gradient shape for input {checked[j]}: its gradient has shape {g.shape} "
                        f"but the input has shape {targets[j].shape}.")
                unused[k][j] = False
                jac[k][j][r, :] = g.data.astype(np.float64).reshape(-1)
    return jac, unused


def _compare(jac_a: np.ndarray, jac_n: np.ndarray, out_shape: tuple[int, ...], in_shape: tuple[int, ...],
             k: int, i: int, atol: float, rtol: float, eps: float, none_grad: bool) -> str | None:
    """A report of the entries of one Jacobian block that are out of tolerance (None if all pass)."""
    head = f"output {k} (shape {out_shape}) w.r.t. input {i} (shape {in_shape})"
    if none_grad:
        nonzero = np.abs(jac_n) > atol
        if not np.any(nonzero):
            return None
        rows, cols = np.nonzero(nonzero)
        r, c = rows[0], cols[0]
        return (f"{head}: the analytical gradient is None (backward returned no gradient, or the "
                f"output is not connected to the input in the graph), but the output depends on the "
                f"input numerically: {int(nonzero.sum())} of {jac_n.size} entries are non-zero, e.g. "
                f"d out{_fmt_index(np.unravel_index(r, out_shape))} / d in{_fmt_index(np.unravel_index(c, in_shape))}"
                f" = {jac_n[r, c]:.6g}.")
    err = np.abs(jac_a - jac_n)
    bad = ~(err <= atol + rtol * np.abs(jac_n))  # NaN anywhere counts as a failure
    n_bad = int(bad.sum())
    if n_bad == 0:
        return None
    excess = np.where(bad, np.nan_to_num(err - rtol * np.abs(jac_n), nan=np.inf), -np.inf).reshape(-1)
    order = np.argsort(-excess, kind="stable")[:min(_WORST, n_bad)]
    lines = [
        f"{head}: {n_bad} of {jac_n.size} Jacobian entries differ beyond the tolerance "
        f"|analytical - numerical| <= atol + rtol * |numerical| (atol={atol:g}, rtol={rtol:g}, eps={eps:g}).",
        f"  worst {len(order)}:",
        f"    {'d out[...]':<16} {'d in[...]':<16} {'analytical':>13} {'numerical':>13} {'abs err':>10} {'rel err':>10}",
    ]
    for flat in order:
        r, c = divmod(int(flat), jac_n.shape[1])
        a, n = jac_a[r, c], jac_n[r, c]
        rel = err[r, c] / abs(n) if n != 0 else np.inf
        lines.append(
            f"    {_fmt_index(np.unravel_index(r, out_shape)):<16} {_fmt_index(np.unravel_index(c, in_shape)):<16} "
            f"{a:>13.6g} {n:>13.6g} {err[r, c]:>10.3g} {rel:>10.3g}")
    return "\n".join(lines)


def _fail(message: str, raise_exception: bool) -> bool:
    __tracebackhide__ = True  # pytest shows the failing check, not gradcheck's internals
    if raise_exception:
        raise GradcheckError(message)
    return False


# -- public API -----------------------------------------------------------------------------------
def gradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Tensor | Sequence[Any], *,
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
              nondet_tol: float = 0.0) -> bool:
    """Check `fn`'s backward against central finite differences for every input with requires_grad.

    Returns True, or raises `GradcheckError` (returns False if `raise_exception=False`) describing
    the worst mismatches. The backward runs as in a training step: fn gets each checked input as an
    intermediate (times 1), and every input an op does not save is held as a data-free stand-in
    whatever its size, so a backward that reads an unsaved input fails here. Checked inputs must be
    float64: float32 ones are refused with a TypeError that says how to convert (usage errors raise
    even with `raise_exception=False`).
    """
    __tracebackhide__ = True
    return _gradcheck(fn, inputs, eps, atol, rtol, raise_exception, nondet_tol, "gradcheck", True)


def _gradcheck(fn: Callable[..., Any], inputs: Any, eps: float, atol: float, rtol: float,
               raise_exception: bool, nondet_tol: float, who: str, as_intermediates: bool,
               headline: Callable[[list[int]], str | None] | None = None) -> bool:
    __tracebackhide__ = True
    inputs = _as_tuple(inputs)
    checked = _checked_inputs(inputs, who)
    before = _snapshot(inputs)

    fed = _as_intermediates(inputs, checked) if as_intermediates else inputs
    with enable_grad(), stand_ins_for_all_sizes():
        outputs = _call(fn, fed, who)
    problem = _check_not_mutated(inputs, before)
    if problem is None:
        for k, out in enumerate(outputs):
            if _is_differentiable(out) and out.dtype != np.float64:
                problem = (f"output {k} (shape {out.shape}) has dtype {out.dtype}: with float64 inputs the "
                           f"forward must stay in float64, or the finite differences are meaningless. "
                           f"Something in fn casts to {out.dtype}.")
                break
    if problem is None:
        first = _values(outputs)
        with no_grad():
            again = _values(_call(fn, inputs, who))
        problem = _check_not_mutated(inputs, before) or _check_deterministic(first, again, nondet_tol)
    if problem is not None:
        return _fail(f"{who}: {problem}", raise_exception)

    try:
        jac_a, unused = _analytical_jacobian(outputs, inputs, checked, fed)
    except GradcheckError as exc:
        if raise_exception:
            raise GradcheckError(f"{who}: {exc}") from exc.__cause__
        return False
    out_sizes = [out.size if _is_differentiable(out) else 0 for out in outputs]
    jac_n = _numerical_jacobian(fn, inputs, checked, out_sizes, eps, who)

    reports = []
    disconnected = []  # inputs the analytical gradient does not reach although the output depends on them
    for k, out in enumerate(outputs):
        if not _is_differentiable(out):
            continue
        for j, i in enumerate(checked):
            none_grad = unused[k][j] and out.size > 0
            report = _compare(jac_a[k][j], jac_n[k][j], out.shape, inputs[i].shape, k, i,
                              atol, rtol, eps, none_grad)
            if report is not None:
                reports.append(report)
                if none_grad:
                    disconnected.append(i)
    if reports:
        first = headline(disconnected) if headline is not None else None
        return _fail((f"{first}\n" if first else "") + f"{who} failed:\n" + "\n".join(reports), raise_exception)
    return True


def gradgradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Tensor | Sequence[Any],
                  grad_outputs: Tensor | np.ndarray | Sequence[Any] | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck the map (inputs, v) -> grad(fn(inputs), inputs, v).

    `grad_outputs` (one per differentiable output) defaults to seeded random float64 tensors that
    require grad, so the check also covers the gradient's dependence on v; given arrays become such
    tensors, given Tensors are used as they are. The backward must be built from Tensor ops
    (`create_graph=True` records it) for this to pass.
    """
    __tracebackhide__ = True
    who = "gradgradcheck"
    inputs = _as_tuple(inputs)
    checked = _checked_inputs(inputs, who)
    with enable_grad():
        outputs = _call(fn, inputs, who)
    diff_out = [k for k, out in enumerate(outputs) if _is_differentiable(out) and out.requires_grad]
    if not diff_out:
        raise ValueError(f"{who}: no output of fn requires grad, so there is no gradient to differentiate.")

    if grad_outputs is None:
        rng = np.random.default_rng(20240601)  # local and fixed: the check is reproducible, global RNG untouched
        vs: list[Any] = [Tensor(rng.standard_normal(outputs[k].shape), requires_grad=True) for k in diff_out]
    else:
        given = [grad_outputs] if isinstance(grad_outputs, (Tensor, np.ndarray)) else list(grad_outputs)
        if len(given) != len(diff_out):
            raise ValueError(f"{who}: got {len(given)} grad_outputs for {len(diff_out)} differentiable "
                             f"outputs of fn.")
        vs = []
        for k, v in zip(diff_out, given):
            if not isinstance(v, Tensor):
                v = Tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
            if v.shape != outputs[k].shape:
                raise ValueError(f"{who}: grad_outputs for output {k} has shape {v.shape}, but the output "
                                 f"has shape {outputs[k].shape}.")
            vs.append(v)
    n_in = len(inputs)

    def first_derivative(*args: Any) -> tuple[Tensor, ...]:
        xs, v = args[:n_in], args[n_in:]
        recording = is_grad_enabled()  # values only when called for finite differences
        with enable_grad():
            outs = _as_tuple(fn(*xs))
            roots = [outs[k] for k in diff_out]
            grads = _grad(roots, [xs[i] for i in checked], grad_outputs=list(v),
                          retain_graph=recording, create_graph=recording, allow_unused=True)
        return tuple(Tensor._make(np.zeros(xs[i].shape), None) if g is None else g
                     for i, g in zip(checked, grads))

    legend = (f"{who} (checking the map from fn's inputs and grad_outputs to fn's gradients: output k "
              f"is the gradient w.r.t. fn's input {checked}[k]; input j < {n_in} is fn's input j, input "
              f"{n_in} + k is the grad_output of fn's output {diff_out}[k])")
    def left_the_graph(disconnected: list[int]) -> str | None:
        """One line first when a gradient of fn does not reach fn's own inputs: its backward left the graph."""
        inputs_hit = sorted({i for i in disconnected if i < n_in})
        if not inputs_hit:
            return None
        return (f"{who}: fn's backward is not differentiable: it left the graph (NumPy in backward, e.g. on "
                f"`.data`), so its gradient w.r.t. input {', '.join(map(str, inputs_hit))} has no second "
                f"derivative; write backward with Tensor ops, see docs/howto/new-op.md.")

    # fed the leaves themselves: first_derivative differentiates w.r.t. what it is given, and fn may
    # use leaves it closes over (gradcheck is the check that feeds intermediates)
    return _gradcheck(first_derivative, tuple(inputs) + tuple(vs), eps, atol, rtol, raise_exception,
                      0.0, legend, False, left_the_graph)
