"""`Tensor`: a NumPy array that remembers the op that made it, so gradients can flow back."""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, NoReturn, Union

import numpy as np

from .autograd import grad_mode
from .errors import GraphError, ShapeError
from .torch_names import torch_aliases

ArrayLike = Union["Tensor", np.ndarray, float, int, bool, Sequence[Any]]
Axis = Union[int, Sequence[int], None]
Hooks = dict[int, Callable[["Tensor"], Union["Tensor", None]]]  # key -> hook(grad) -> replacement or None


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data to an ndarray: Python floats become float32, arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    return array


class Tensor:
    """A node of the dynamic graph: `data` (an ndarray), `grad`, and `grad_fn` (the op that made it).

    Floats default to float32; a float64 array stays float64. `requires_grad=True` marks a leaf
    whose gradient is accumulated into `.grad` by `backward()`.
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "_counter", "_retains_grad",
                 "_hooks", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__ instead of NumPy's loop

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self.data = _to_array(data, dtype)
        if self.data.dtype.kind not in "biufc":
            raise TypeError(f"Tensor: data must be numbers or booleans, got dtype {self.data.dtype} "
                            f"(shape {self.data.shape}); convert strings or objects to numbers first")
        self.grad: Tensor | None = None
        self.grad_fn = None
        self.name = name
        self._counter: VersionCounter | None = None  # made on first in-place update, view or detach
        self._retains_grad = False
        self._hooks: Hooks | None = None  # made on first hook
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data: np.ndarray, grad_fn: Any) -> Tensor:
        """Wrap an op's result without re-checking it (the hot path of every op)."""
        t = object.__new__(Tensor)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t.name = None
        t._counter = None
        t._retains_grad = False
        t._hooks = None
        return t

    # -- properties --------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded op (the user's inputs and parameters)."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed."""
        return self.transpose()

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=64)
        extra = [f"dtype={self.dtype}"] if self.dtype not in (np.float32, np.int64, np.bool_) else []
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if self.name:
            extra.append(f"name={self.name!r}")
        return f"Tensor({body}{''.join(', ' + e for e in extra)})"

    def __bool__(self) -> bool:
        try:
            return bool(self.data)
        except ValueError:
            raise ValueError(
                f"bool: the truth value of a tensor with {self.size} elements (shape {self.shape}) is "
                f"ambiguous; use a one-element tensor, or reduce first, e.g. `(t > 0).numpy().all()`"
            ) from None

    def __hash__(self) -> int:
        return id(self)

    # -- Python protocols: numbers, formatting, indexes and NumPy arrays, as in PyTorch ----------------
    def _scalar(self, op: str) -> Any:
        """The value of a one-element tensor as a Python number (for float(t), int(t), ...)."""
        if self.size != 1:
            raise ValueError(f"{op}: only one element tensors can be converted to Python scalars; this one has "
                             f"{self.size} elements (shape {self.shape}): reduce it (e.g. .sum()) or index one")
        return self.data.item()

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))  # a float truncates towards zero, as int(2.7) == 2

    def __complex__(self) -> complex:
        return complex(self._scalar("complex"))

    def __index__(self) -> int:
        """An integer one-element tensor as an index: `items[t]`, `range(t)`."""
        if self.dtype.kind not in "biu" or self.size != 1:
            raise TypeError(f"index: only integer tensors of a single element can be converted to an index; "
                            f"got dtype {self.dtype} with shape {self.shape}")
        return int(self.data.item())

    def __round__(self, ndigits: int | None = None) -> Any:
        raise TypeError("round: a Tensor does not support round(), as in PyTorch; round its number, "
                        "round(t.item(), 3), or its values, np.round(t.numpy(), 3)")

    def __format__(self, spec: str) -> str:
        """f"{loss:.3f}": a one-element tensor formats as its number; a 0-d one also without a spec
        (as PyTorch), any other as str(t)."""
        if self.ndim == 0 or (spec and self.size == 1):
            return format(self.data.item(), spec)
        if spec:
            raise TypeError(f"format: only one-element tensors take a format spec such as {spec!r}; this one "
                            f"has shape {self.shape}: format its values, e.g. np.array2string(t.numpy(), precision=3)")
        return str(self)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """`np.asarray(t)`: the tensor's array, shared as `numpy()` shares it. A copy with `copy=True`
        or another `dtype`; `copy=False` with another dtype raises, as for NumPy's own arrays."""
        array = self.numpy()
        if dtype is not None and np.dtype(dtype) != array.dtype:
            if copy is False:
                raise ValueError(f"__array__: converting dtype {array.dtype} to {np.dtype(dtype)} needs a copy, "
                                 f"but copy=False was asked for; use np.asarray(t, dtype=...) to allow one")
            return array.astype(dtype)
        return array.copy() if copy else array

    # -- autograd API --------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark this leaf as needing a gradient (floating-point tensors only)."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"Tensor: only floating-point tensors can require gradients, but this one has dtype "
                f"{self.dtype} (shape {self.shape}). Convert it first, e.g. tg.Tensor(x, dtype=np.float32)."
            )
        if not requires_grad and self.grad_fn is not None:
            raise GraphError("requires_grad_(False) is only for leaves; use detach() on a computed tensor.")
        self.requires_grad = requires_grad
        return self

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`, walking the graph once in reverse.

        `grad` is required unless self has one element. The graph's saved values are freed
        afterwards unless `retain_graph` (or `create_graph`, which records the backward pass itself).
        """
        engine.backward(self, grad, retain_graph, create_graph)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is not None:
            self._retains_grad = True
            self.grad_fn.track_output(self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _HookHandle:
        """Call `hook(grad)` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise GraphError("register_hook: cannot register a hook on a tensor that does not require grad.")
        key = next(_hook_ids)
        if self._hooks is None:
            self._hooks = {}
        if self.grad_fn is not None:  # a non-leaf's hooks are kept by its node too: they outlive the tensor
            self.grad_fn.track_output(self)
            self.grad_fn.output_hooks = self._hooks
        self._hooks[key] = hook
        return _HookHandle(self._hooks, key)

    def detach(self) -> Tensor:
        """A new tensor sharing this one's data and version counter, cut from the graph
        (requires_grad=False): an in-place update through it is seen by the graph's checks."""
        t = Tensor._make(self.data, None)
        t._counter = self._version_counter(shared=True)
        return t

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array, shared, not copied. For a tensor that requires grad it is a
        read-only view: writing through it would change values the graph saved, unseen by its
        version checks (update such a tensor in place under `no_grad()`, or copy the array)."""
        if not self.requires_grad:
            return self.data
        view = self.data.view()
        view.flags.writeable = False
        return view

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python number; shape is {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def astype(self, dtype: Any) -> Tensor:
        """Cast to another dtype (differentiable between float dtypes)."""
        return elementwise.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    # -- version counter: how many times the memory was changed in place ---------------------------
    @property
    def _version(self) -> int:
        """The version of this tensor's memory; a node saves it and backward checks it is unchanged."""
        counter = self._counter
        return 0 if counter is None else counter.value

    @_version.setter
    def _version(self, value: int) -> None:
        self._version_counter().value = value

    def _version_counter(self, shared: bool = False) -> VersionCounter:
        """This tensor's version counter, made on first use; `shared=True` marks it as shared with a
        view or a detached tensor of the same memory."""
        counter = self._counter
        if counter is None:
            counter = self._counter = VersionCounter()
        if shared:
            counter.shared = True
        return counter

    # -- in-place updates --------------------------------------------------------------------------
    # Under no_grad (optimizers, initialisers) they only change the memory and bump the version.
    # In grad mode, an update with an operand that requires grad, or of a tensor in a recorded graph,
    # is recorded: the tensor becomes the output of the op applied to its old version (PyTorch
    # rebases the history the same way). A leaf that requires grad is refused, as in PyTorch.
    def _recorded(self, op: str, value: Any) -> bool:
        """Whether an in-place update of self with `value` must enter the graph (refusing a leaf)."""
        if not grad_mode._grad_enabled:
            return False
        if self.requires_grad and self.grad_fn is None:
            self._refuse(op, "a leaf that requires grad")
        return self.grad_fn is not None or (isinstance(value, Tensor) and value.requires_grad)

    def _refuse(self, op: str, kind: str) -> NoReturn:
        raise GraphError(
            f"{op}: in-place operation on {kind} (shape {self.shape}) while grad mode is on. "
            f"Wrap it in `with tg.no_grad():` (as optimizers do) or use the out-of-place op."
        )

    def _update(self, op: str, update: Callable[[np.ndarray, Any], Any], value: Any,
                recorded: Callable[[Tensor, Any], Tensor] | None = None) -> Tensor:
        """Apply `update(self.data, value)` in place, turning NumPy's errors into ones naming `op`.
        `recorded(old, value)` is the same update as graph ops, used when it must be recorded."""
        if self._recorded(op, value):
            if recorded is None:
                self._refuse(op, "a tensor in a recorded graph")
            return self._rebase(op, recorded, value)
        raw = value.data if isinstance(value, Tensor) else value
        try:
            update(self.data, raw)
        except ValueError:
            raise ShapeError(_update_shape_message(op, self.shape, np.shape(raw))) from None
        except TypeError:
            raise TypeError(_update_dtype_message(op, self, np.asarray(raw).dtype)) from None
        self._version += 1
        return self

    def _rebase(self, op: str, recorded: Callable[[Tensor, Any], Tensor], value: Any) -> Tensor:
        """Record an in-place update: compute it as graph ops on a copy of the old version (which
        backward may read), write the result into this tensor's memory and make the last op's node
        this tensor's grad_fn. A view or a detached tensor of the same memory would keep the old
        history, so a tensor that shares its memory with one is refused."""
        if self._counter is not None and self._counter.shared:
            self._refuse(op, "a tensor that shares its memory with a view or a detached tensor")
        if self.grad_fn is not None and self.grad_fn.consumed:
            self._refuse(op, "a tensor that recorded ops already used (their gradients would follow "
                             "its new history)")
        old = Tensor._make(self.data.copy(), self.grad_fn)
        old.name = self.name
        new = recorded(old, value)
        if new.shape != self.shape:
            raise ShapeError(_update_shape_message(op, self.shape, np.shape(value)))
        try:
            np.copyto(self.data, new.data, casting="same_kind")
        except TypeError:
            raise TypeError(_update_dtype_message(op, self, new.dtype)) from None
        if self.grad_fn is not None and self.grad_fn.output is self:
            self.grad_fn.replace_output(old)  # its hooks, retained grad and saved output: the old version
        if new.dtype != self.dtype:
            new = new.astype(self.dtype)
        self.grad_fn, self.requires_grad, self._hooks = new.grad_fn, True, None
        if self._retains_grad:
            self.grad_fn.track_output(self, replace=True)
        self._version += 1
        return self

    def zero_(self) -> Tensor:
        return self._update("zero_", _assign, 0)

    def fill_(self, value: float) -> Tensor:
        return self._update("fill_", _assign, value)

    def copy_(self, src: ArrayLike) -> Tensor:
        src = src if isinstance(src, Tensor) else _to_array(src)
        return self._update("copy_", _copy, src, None if self.grad_fn is not None else _copied)

    def add_(self, other: ArrayLike, alpha: float = 1.0) -> Tensor:
        value = other if alpha == 1.0 else _scaled(other, alpha, self.dtype)
        return self._update("add_", _add, value, lambda old, v: old + v)

    def sub_(self, other: ArrayLike, alpha: float = 1.0) -> Tensor:
        value = other if alpha == 1.0 else _scaled(other, alpha, self.dtype)
        return self._update("sub_", _subtract, value, lambda old, v: old - v)

    def mul_(self, other: ArrayLike) -> Tensor:
        return self._update("mul_", _multiply, other, lambda old, v: old * v)

    def div_(self, other: ArrayLike) -> Tensor:
        return self._update("div_", _divide, other, lambda old, v: old / v)

    # `w -= lr * w.grad` updates w in place (allowed under no_grad, like the methods above)
    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    # -- arithmetic ---------------------------------------------------------------------------
    def _operand(self, other: Any) -> Tensor:
        """Turn a scalar, list or array into a constant Tensor of this tensor's float dtype."""
        if isinstance(other, Tensor):
            return other
        array = np.asarray(other)
        if self.dtype.kind == "f" and array.dtype.kind in "biuf":
            array = array.astype(self.dtype, copy=False)
        elif array.dtype == np.float64 and not isinstance(other, np.ndarray):
            array = array.astype(np.float32)
        return Tensor._make(array, None)

    def _arith_operand(self, other: Any) -> Tensor | np.ndarray:
        """The other operand of + - * / ** @. A Python number becomes a 0-d array of this tensor's
        float dtype: a constant outside the graph, as PyTorch's wrapped numbers, so `x * 2` makes
        one node and no constant Tensor."""
        if (type(other) is float or type(other) is int) and self.data.dtype.kind == "f":
            return np.array(other, dtype=self.data.dtype)
        return self._operand(other)

    def __add__(self, other: ArrayLike) -> Tensor:
        return elementwise.Add.apply(self, self._arith_operand(other))

    def __radd__(self, other: ArrayLike) -> Tensor:
        return elementwise.Add.apply(self._arith_operand(other), self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return elementwise.Sub.apply(self, self._arith_operand(other))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return elementwise.Sub.apply(self._arith_operand(other), self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return elementwise.Mul.apply(self, self._arith_operand(other))

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return elementwise.Mul.apply(self._arith_operand(other), self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return elementwise.Div.apply(self, self._arith_operand(other))

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return elementwise.Div.apply(self._arith_operand(other), self)

    def __pow__(self, exponent: ArrayLike) -> Tensor:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            return elementwise.Pow.apply(self, exponent)  # a constant exponent stays a Python number
        return elementwise.Pow.apply(self, self._arith_operand(exponent))

    def __rpow__(self, base: ArrayLike) -> Tensor:
        return elementwise.Pow.apply(self._arith_operand(base), self)

    def __neg__(self) -> Tensor:
        return elementwise.Neg.apply(self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return linalg.MatMul.apply(self, self._arith_operand(other))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return linalg.MatMul.apply(self._arith_operand(other), self)

    def matmul(self, other: ArrayLike) -> Tensor:
        return self @ other

    # comparisons: boolean results, never differentiable
    def _compare(self, other: Any, fn: Callable[[Any, Any], np.ndarray]) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(np.asarray(fn(self.data, other)), None)

    def __lt__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, np.greater_equal)

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    # -- elementwise ----------------------------------------------------------------------------
    def exp(self) -> Tensor:
        return elementwise.Exp.apply(self)

    def log(self) -> Tensor:
        return elementwise.Log.apply(self)

    def sqrt(self) -> Tensor:
        return elementwise.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return elementwise.Abs.apply(self)

    def relu(self) -> Tensor:
        return elementwise.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return elementwise.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return elementwise.Tanh.apply(self)

    @torch_aliases
    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along `axis`, computed stably (shifted by the max)."""
        return activation.softmax(self, axis=axis)

    @torch_aliases
    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - logsumexp(x) along `axis`: finite even for huge logits."""
        return activation.log_softmax(self, axis=axis)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        """Limit values to [lo, hi]; the gradient is 1 inside (bounds included) and 0 outside."""
        return elementwise.Clip.apply(self, lo=lo, hi=hi)

    # -- reductions --------------------------------------------------------------------------
    @torch_aliases
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return reduction.Sum.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return reduction.Mean.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def max(self, axis: Axis = None, keepdims: bool = False, return_indices: bool = False) -> Tensor | ValuesIndices:
        """Maximum; tied maxima share the gradient equally. With `return_indices=True` (an int axis),
        PyTorch's `max(dim)`: (values, indices), the gradient going to the first maximum only."""
        if return_indices:
            return self._extreme_along("max", axis, keepdims)
        return reduction.Max.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def min(self, axis: Axis = None, keepdims: bool = False, return_indices: bool = False) -> Tensor | ValuesIndices:
        """Minimum; tied minima share the gradient equally. With `return_indices=True` (an int axis),
        PyTorch's `min(dim)`: (values, indices), the gradient going to the first minimum only."""
        if return_indices:
            return self._extreme_along("min", axis, keepdims)
        return reduction.Min.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance (NumPy's default ddof=0: the biased estimate)."""
        return reduction.Var.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    @torch_aliases
    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) computed stably (shifted by the max)."""
        return reduction.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._make(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)), None)

    @torch_aliases
    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._make(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)), None)

    # -- shape ---------------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return shape_ops.Reshape.apply(self, shape=_shape_arg(shape))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute axes; with no arguments reverse them (as NumPy)."""
        return shape_ops.Transpose.apply(self, axes=_shape_arg(axes) if axes else None)

    @torch_aliases
    def flatten(self, start_axis: int = 0) -> Tensor:
        """Merge the axes from `start_axis` on into one."""
        start = shape_ops.normalize_axis(start_axis, self.ndim, "flatten", self.shape) if self.ndim else 0
        return self.reshape(*self.shape[:start], -1)

    @torch_aliases
    def squeeze(self, axis: Axis = None) -> Tensor:
        """Remove axes of length 1 (all of them, or the given ones, which must have length 1)."""
        if axis is None:
            axes = tuple(i for i, n in enumerate(self.shape) if n == 1)
        else:
            axes = shape_ops.normalize_axes(axis, self.ndim, "squeeze", self.shape)
            wrong = [a for a in axes if self.shape[a] != 1]
            if wrong:
                raise ShapeError(f"squeeze: axis {wrong[0]} has length {self.shape[wrong[0]]}, not 1 (shape {self.shape})")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    @torch_aliases
    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of length 1 at `axis` (counted in the result, as NumPy's expand_dims)."""
        axis = shape_ops.normalize_axis(axis, self.ndim + 1, "unsqueeze", self.shape)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return shape_ops.BroadcastTo.apply(self, shape=tuple(shape))

    def sum_to(self, shape: Sequence[int]) -> Tensor:
        """Sum broadcast axes away so the result has `shape` (the backward of broadcasting)."""
        if tuple(shape) == self.shape:
            return self
        return shape_ops.SumTo.apply(self, shape=tuple(shape))

    def pad(self, pad_width: Any, value: float = 0.0) -> Tensor:
        """Constant padding with NumPy's `pad_width` convention."""
        return shape_ops.Pad.apply(self, pad_width=pad_width, value=value)

    def __getitem__(self, index: Any) -> Tensor:
        return shape_ops.GetItem.apply(self, index=index)

    # -- writing by index (PyTorch's setitem, masked_fill, gather, scatter) ------------------------
    def __setitem__(self, index: Any, value: ArrayLike) -> None:
        """`t[index] = value` in place (basic, integer-array or boolean-mask index; value broadcast).

        In a recorded graph this tensor becomes the output of an IndexPut op whose inputs are its
        old self and the value (PyTorch's rebase): the old values get gradient 0 at `index`, the
        value the gradient of where it went. A leaf that requires grad cannot be written in grad
        mode (use `with tg.no_grad():`), and writing bumps the version, so a graph that saved this
        tensor for backward raises instead of using the new values.
        """
        value = value if isinstance(value, Tensor) else self._operand(value)
        index = shape_ops._plain_index(index)
        if self._recorded("__setitem__", value):
            self._rebase("__setitem__", lambda old, v: indexing.IndexPut.apply(old, v, index=index), value)
            return
        indexing.IndexPut.apply(Tensor._make(self.data, None), value.data, index=index, inplace=True)
        self._version += 1

    def index_put(self, index: Any, value: ArrayLike) -> Tensor:
        """A copy with `value` written at `index` (the out-of-place `t[index] = value`)."""
        value = value if isinstance(value, Tensor) else self._operand(value)
        return indexing.IndexPut.apply(self, value, index=shape_ops._plain_index(index))

    def masked_fill(self, mask: ArrayLike, value: ArrayLike) -> Tensor:
        """A copy with `value` (a number or a 0-d tensor) where the boolean `mask` (broadcast to this
        tensor's shape) is True; the gradient is routed to this tensor elsewhere, to value there."""
        cond = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if cond.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be boolean, got dtype {cond.dtype} (shape {cond.shape})")
        if not _broadcastable(cond.shape, self.shape) or np.broadcast_shapes(cond.shape, self.shape) != self.shape:
            raise ShapeError(f"masked_fill: mask of shape {cond.shape} does not broadcast to the tensor's "
                             f"shape {self.shape}")
        value = value if isinstance(value, Tensor) else self._operand(value)
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)
        return elementwise.Where.apply(Tensor._make(cond, None), value, self)

    @torch_aliases
    def index_select(self, axis: int, index: ArrayLike) -> Tensor:
        """The entries at the 1-d integer `index` along `axis` (PyTorch's index_select)."""
        axis = shape_ops.normalize_axis(axis, max(self.ndim, 1), "index_select", self.shape)  # 0-d counts as 1-d
        idx = indexing.index_array(index, "index_select")
        if idx.ndim > 1:
            raise ShapeError(f"index_select: index must be 0-d or 1-d, got shape {idx.shape}")
        length = self.shape[axis] if self.ndim else 1
        if idx.size and (idx.min() < 0 or idx.max() >= length):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise IndexError(f"index_select: index {bad} is out of range for axis {axis} of length {length} "
                             f"(tensor shape {self.shape}); expected indexes in [0, {length - 1}]")
        if self.ndim == 0:
            return self.reshape(1)[idx.reshape(-1)].reshape(())
        return self[(slice(None),) * axis + (idx.reshape(-1),)]

    @torch_aliases
    def gather(self, axis: int, index: ArrayLike) -> Tensor:
        """out[i][j] = self[index[i][j]][j] for axis 0 (PyTorch's gather; index has self's number of axes)."""
        return indexing.Gather.apply(self, index=indexing.index_array(index, "gather"), axis=axis)

    @torch_aliases
    def scatter(self, axis: int, index: ArrayLike, src: ArrayLike) -> Tensor:
        """A copy with src (a tensor, or a number) written at `index` along `axis` (PyTorch's scatter;
        with a repeated index which value stays is unspecified, as in PyTorch)."""
        idx = indexing.index_array(index, "scatter")
        if isinstance(src, Tensor):
            return indexing.Scatter.apply(self, src, index=idx, axis=axis)
        return indexing.Scatter.apply(self, np.asarray(src, dtype=self.dtype), index=idx, axis=axis, scalar=True)

    @torch_aliases
    def scatter_add(self, axis: int, index: ArrayLike, src: Tensor) -> Tensor:
        """A copy with src added at `index` along `axis`; repeated indexes accumulate."""
        src = src if isinstance(src, Tensor) else self._operand(src)
        return indexing.ScatterAdd.apply(self, src, index=indexing.index_array(index, "scatter_add"), axis=axis)

    # -- more math (PyTorch's names) -----------------------------------------------------------------
    def sin(self) -> Tensor:
        return elementwise.Sin.apply(self)

    def cos(self) -> Tensor:
        return elementwise.Cos.apply(self)

    def log1p(self) -> Tensor:
        """log(1 + x), accurate for tiny x."""
        return elementwise.Log1p.apply(self)

    def expm1(self) -> Tensor:
        """exp(x) - 1, accurate for tiny x."""
        return elementwise.Expm1.apply(self)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        """log(1 + exp(beta x)) / beta, and x where beta x > threshold (PyTorch's softplus)."""
        return elementwise.Softplus.apply(self, beta=float(beta), threshold=float(threshold))

    def square(self) -> Tensor:
        return self * self

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return 1.0 / self.sqrt()

    def sign(self) -> Tensor:
        """-1, 0 or 1 (NaN stays NaN); the gradient is 0."""
        return elementwise.PiecewiseConstant.apply(self, fn=np.sign)

    def floor(self) -> Tensor:
        """Round down; the gradient is 0."""
        return elementwise.PiecewiseConstant.apply(self, fn=np.floor)

    def ceil(self) -> Tensor:
        """Round up; the gradient is 0."""
        return elementwise.PiecewiseConstant.apply(self, fn=np.ceil)

    def round(self, decimals: int = 0) -> Tensor:
        """Round half to even (as NumPy and PyTorch); the gradient is 0."""
        fn = np.round if decimals == 0 else functools.partial(np.round, decimals=decimals)
        return elementwise.PiecewiseConstant.apply(self, fn=fn)

    @torch_aliases
    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Standard deviation sqrt(var) (NumPy's default ddof=0; PyTorch's `correction` is ddof); the
        gradient is 0 where all values are equal, as PyTorch."""
        return reduction.Std.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    @torch_aliases
    def prod(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Product; exact gradients when some factors are 0 (no division by zero)."""
        return reduction.Prod.apply(self, axis=axis, keepdims=keepdims)

    @torch_aliases
    def cumsum(self, axis: int | None = None) -> Tensor:
        """Running sum along `axis` (None: over the flattened tensor, as NumPy)."""
        return reduction.CumSum.apply(self, axis=axis)

    @torch_aliases
    def norm(self, p: float | str = 2, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The p-norm over `axis` (all axes by default): p = 2 or 'fro' (sqrt of the sum of squares;
        gradient 0 at a zero vector, as PyTorch), 1 (the sum of abs(x)), inf (the max of abs(x)) or
        -inf (the min of abs(x))."""
        if p in (2, "fro"):
            return reduction.L2Norm.apply(self, axis=axis, keepdims=keepdims)
        if p == 1:
            return self.abs().sum(axis=axis, keepdims=keepdims)
        if p == np.inf:
            return self.abs().max(axis=axis, keepdims=keepdims)
        if p == -np.inf:
            return self.abs().min(axis=axis, keepdims=keepdims)
        raise ValueError(f"norm: p must be 1, 2, 'fro', inf or -inf, got {p!r} (tensor shape {self.shape})")

    # -- sorting ----------------------------------------------------------------------------------------
    @torch_aliases
    def sort(self, axis: int = -1, descending: bool = False, stable: bool = True) -> ValuesIndices:
        """(values, indices) sorted along `axis`, always stable (equal values keep their order, which
        PyTorch's `stable=False` allows too; NaN counts as the largest, as PyTorch). The values are
        differentiable, the indices are not."""
        axis = shape_ops.normalize_axis(axis, max(self.ndim, 1), "sort", self.shape)  # 0-d counts as 1-d
        if self.ndim == 0:
            return ValuesIndices(self * 1, Tensor._make(np.zeros((), np.int64), None))
        order = _stable_order(self.data, axis, descending)
        return ValuesIndices(self.gather(axis, order), Tensor._make(order, None))

    @torch_aliases
    def topk(self, k: int, axis: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
        """The k largest (or smallest) entries along `axis` as (values, indices), in sorted order
        (also when sorted=False); ties keep their order. The values are differentiable."""
        at = shape_ops.normalize_axis(axis, max(self.ndim, 1), "topk", self.shape)
        length = self.shape[at] if self.ndim else 1
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= length:
            raise ShapeError(f"topk: k must be an int in [0, {length}] for axis {axis} of a tensor of shape "
                             f"{self.shape}, got {k!r}")
        values, indices = self.sort(axis=axis, descending=largest)
        if self.ndim == 0:
            return ValuesIndices(values, indices)
        first = (slice(None),) * at + (slice(0, k),)
        return ValuesIndices(values[first], indices[first])

    def _extreme_along(self, op: str, axis: Any, keepdims: bool) -> ValuesIndices:
        """PyTorch's max(dim) / min(dim): (values, indices) of the first extreme along an int axis."""
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"{op}: return_indices=True needs one int axis (PyTorch's dim), got {axis!r}")
        if self.size == 0:
            raise ShapeError(f"{op}: cannot reduce a tensor with no elements (shape {self.shape})")
        find = np.argmax if op == "max" else np.argmin
        at = shape_ops.normalize_axis(axis, max(self.ndim, 1), op, self.shape)  # 0-d counts as 1-d
        indices = np.expand_dims(find(self.data, axis=at), at) if self.ndim else np.zeros((), np.int64)
        values = self.gather(at, indices) if self.ndim else self * 1
        if not keepdims and self.ndim:
            values, indices = values.squeeze(at), indices.squeeze(at)
        return ValuesIndices(values, Tensor._make(np.asarray(indices, dtype=np.int64), None))

    # -- more shape ops (PyTorch's names) ------------------------------------------------------------
    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        """Reorder the axes: result axis i is input axis axes[i] (all axes must be named)."""
        return shape_ops.Transpose.apply(self, axes=_shape_arg(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes (PyTorch's transpose(dim0, dim1))."""
        order = list(range(self.ndim))
        a = shape_ops.normalize_axis(axis1, self.ndim, "swapaxes", self.shape)
        b = shape_ops.normalize_axis(axis2, self.ndim, "swapaxes", self.shape)
        order[a], order[b] = order[b], order[a]
        return self.transpose(order)

    def expand(self, *sizes: int | Sequence[int]) -> Tensor:
        """Broadcast to `sizes` without copying; -1 keeps an axis's length, new axes go in front."""
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's "
                             f"number of dimensions ({self.ndim}, shape {self.shape})")
        if any(n == -1 for n in sizes[:lead]):
            raise ShapeError(f"expand: -1 is not allowed for the new leading axes (sizes {sizes}, shape {self.shape})")
        shape = sizes[:lead] + tuple(own if n == -1 else n for n, own in zip(sizes[lead:], self.shape))
        return self.broadcast_to(shape)

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        """Same as reshape (the result shares data whenever NumPy can; no contiguity required)."""
        return self.reshape(*shape)

    @torch_aliases
    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple[Tensor, ...]:
        """Pieces along `axis`: of `split_size` each (the last may be shorter), or of the given sizes."""
        axis = shape_ops.normalize_axis(axis, self.ndim, "split", self.shape)
        length = self.shape[axis]
        if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(split_size_or_sections, bool):
            size = int(split_size_or_sections)
            if size <= 0 and not (size == 0 and length == 0):
                raise ShapeError(f"split: split_size must be a positive int, got {size} (shape {self.shape})")
            sizes = [min(size, length - start) for start in range(0, length, size)] if length else [0]
        else:
            sizes = [int(n) for n in split_size_or_sections]
            if sum(sizes) != length or any(n < 0 for n in sizes):
                raise ShapeError(f"split: sections {sizes} must be >= 0 and sum to the length {length} of axis "
                                 f"{axis} (shape {self.shape})")
        starts = np.cumsum([0] + sizes).tolist()
        lead = (slice(None),) * axis
        return tuple(self[lead + (slice(a, b),)] for a, b in zip(starts[:-1], starts[1:]))

    @torch_aliases
    def chunk(self, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
        """At most `chunks` pieces of ceil(length / chunks) along `axis` (PyTorch's chunk)."""
        if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
            raise ShapeError(f"chunk: chunks must be a positive int, got {chunks!r} (shape {self.shape})")
        length = self.shape[shape_ops.normalize_axis(axis, self.ndim, "chunk", self.shape)]
        return self.split(max(-(-length // int(chunks)), 1), axis=axis)

    def tile(self, *reps: int | Sequence[int]) -> Tensor:
        """Repeat the whole tensor `reps[i]` times along axis i (NumPy's tile; missing reps count as 1)."""
        reps = _shape_arg(reps)
        if any(r < 0 for r in reps):
            raise ShapeError(f"tile: repetitions must be >= 0, got {reps} (shape {self.shape})")
        ndim = max(len(reps), self.ndim)
        reps = (1,) * (ndim - len(reps)) + tuple(reps)
        shape = (1,) * (ndim - self.ndim) + self.shape
        spread = self.reshape(tuple(n for s in shape for n in (1, s)))
        spread = spread.broadcast_to(tuple(n for r, s in zip(reps, shape) for n in (r, s)))
        return spread.reshape(tuple(r * s for r, s in zip(reps, shape)))

    def repeat(self, *sizes: int | Sequence[int]) -> Tensor:
        """PyTorch's repeat: NumPy's tile, with at least one size per axis."""
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: got {len(sizes)} repeat size(s) for a tensor of shape {self.shape}; "
                             f"expected at least {self.ndim} (one per axis)")
        return self.tile(sizes)

    @torch_aliases
    def flip(self, axis: Axis = None) -> Tensor:
        """Reverse the order along `axis` (all axes when None, as NumPy)."""
        axes = shape_ops.normalize_axes(axis, self.ndim, "flip", self.shape)
        return self[tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(self.ndim))]

    @torch_aliases
    def roll(self, shifts: int | Sequence[int], axis: Axis = None) -> Tensor:
        """Shift entries by `shifts` along `axis`, wrapping around (None: over the flattened tensor)."""
        if axis is None:
            if not isinstance(shifts, (int, np.integer)):
                raise ShapeError(f"roll: without an axis, shifts must be one int, got {shifts!r}")
            return self.reshape(-1).roll(int(shifts), axis=0).reshape(self.shape) if self.ndim else self * 1
        shift_list = [shifts] if isinstance(shifts, (int, np.integer)) else list(shifts)
        axis_list = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
        if len(shift_list) != len(axis_list):
            raise ShapeError(f"roll: got {len(shift_list)} shift(s) for {len(axis_list)} axis/axes")
        out = self
        for shift, a in zip(shift_list, axis_list):
            a = shape_ops.normalize_axis(a, self.ndim, "roll", self.shape)
            n = self.shape[a]
            k = int(shift) % n if n else 0
            if k:
                lead = (slice(None),) * a  # the last k entries move to the front
                out = shape_ops.Concatenate.apply(out[lead + (slice(n - k, None),)],
                                                  out[lead + (slice(0, n - k),)], axis=a)
        return out if out is not self else self * 1


class _HookHandle:
    """Returned by `register_hook`; call `remove()` to unregister."""

    def __init__(self, hooks: dict[int, Any], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


_hook_ids = itertools.count()


# In-place updates of `target` (the `update` functions of Tensor._update).
def _assign(target: np.ndarray, value: Any) -> None:
    target[...] = value


def _copy(target: np.ndarray, value: np.ndarray) -> None:
    np.copyto(target, value, casting="same_kind")


def _add(target: np.ndarray, value: Any) -> None:
    np.add(target, value, out=target)


def _subtract(target: np.ndarray, value: Any) -> None:
    np.subtract(target, value, out=target)


def _multiply(target: np.ndarray, value: Any) -> None:
    np.multiply(target, value, out=target)


def _divide(target: np.ndarray, value: Any) -> None:
    np.true_divide(target, value, out=target)


def _scaled(value: Any, alpha: float, dtype: np.dtype) -> Any:
    """alpha * value in the target's dtype (a Tensor that requires grad stays in the graph)."""
    if isinstance(value, Tensor):
        if value.requires_grad:
            return value * alpha
        value = value.data
    return alpha * np.asarray(value, dtype=dtype)


def _copied(old: Tensor, src: Tensor) -> Tensor:
    """copy_ as a graph op: the source broadcast to the target's shape (the old values are gone)."""
    return src.broadcast_to(old.shape) if src.shape != old.shape else src * 1.0


def _update_shape_message(op: str, shape: tuple[int, ...], value_shape: tuple[int, ...]) -> str:
    return (f"{op}: cannot update a tensor of shape {shape} in place with a value of shape "
            f"{value_shape}: the value must broadcast to {shape}")


def _update_dtype_message(op: str, tensor: Tensor, dtype: np.dtype) -> str:
    return (f"{op}: cannot update a tensor of dtype {tensor.dtype} (shape {tensor.shape}) in place with "
            f"a value of dtype {dtype}: the result cannot be stored as {tensor.dtype} "
            f"(NumPy's same-kind casting rule); use an out-of-place op or astype()")


class VersionCounter:
    """How many times a tensor's memory was changed in place. Views and detached tensors share
    their base's counter, so an update through any of them is seen by the graph's checks."""

    __slots__ = ("value", "shared")

    def __init__(self) -> None:
        self.value = 0
        self.shared = False  # True once a view or a detached tensor shares it


def _shape_arg(args: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)  # type: ignore[arg-type]


class ValuesIndices(NamedTuple):
    """What sort, topk and max/min(return_indices=True) return, as PyTorch's (values, indices)."""

    values: Tensor
    indices: Tensor


def _stable_order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Indices that sort `data` along `axis`, equal values keeping their order and NaN counting as the
    largest; descending sorts the reversed array ascending and reverses back, so it stays stable."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    n = data.shape[axis]
    reverse = (slice(None),) * axis + (slice(None, None, -1),)
    return (n - 1 - np.argsort(data[reverse], axis=axis, kind="stable"))[reverse]


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


# The ops and the engine use Tensor, so they are imported once it exists.
from .autograd import engine  # noqa: E402
from .autograd.function import Function  # noqa: E402
from .ops import activation, elementwise, indexing, linalg, reduction  # noqa: E402
from .ops import shape as shape_ops  # noqa: E402
