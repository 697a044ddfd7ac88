"""`Tensor`: a NumPy array that remembers the op that made it, so gradients can flow back.

This module is the core class: data, grad, grad_fn, the version counter, in-place updates, backward,
hooks and Python's protocols. It imports no op. The operators and op methods (`+`, `@`, `exp`, `sum`,
`reshape`, indexing, ...) are defined next to the ops, in `tinygrad_np/ops/tensor_methods.py`, and
bound to Tensor there by `install(Tensor)`, which `tinygrad_np/__init__.py` calls once.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, NoReturn, Union

import numpy as np

from .autograd import grad_mode
from .errors import GraphError, ShapeError

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
        from .autograd import engine  # the engine builds on Tensor, so it is imported when first used

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

    # -- operands ------------------------------------------------------------------------------
    # (operators and op methods: tinygrad_np/ops/tensor_methods.py, bound by its install(Tensor))
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


class Parameter(Tensor):
    """A Tensor that is a trainable weight: assigning it to a Module attribute registers it (it is
    defined here, in the core, so that checkpoints can store it without importing tinygrad_np.nn).

    It requires grad by default; lists and Python floats become float32, ndarrays keep their dtype.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True, dtype: Any = None) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Parameter(", threshold=64)
        extra = [f"dtype={self.dtype}"] if self.dtype != np.float32 else []
        if not self.requires_grad:
            extra.append("requires_grad=False")
        return f"Parameter({body}{''.join(', ' + e for e in extra)})"


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
