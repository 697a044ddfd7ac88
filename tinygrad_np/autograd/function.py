"""`Function`: the base class of every op. An op's forward and backward live side by side.

`forward(ctx, *arrays)` computes on NumPy arrays; `backward(ctx, *grads)` is written with Tensor
ops, so the backward pass can itself be recorded (`create_graph=True`) and differentiated again.
"""
from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import GraphError, InplaceModificationError, ShapeError
from ..tensor import Hooks, Tensor, VersionCounter
from . import anomaly, grad_mode

# What a saved array turned out to be, resolved once when the op is recorded. A node keeps its saved
# arrays as one flat tuple of (kind, object, version) triples, an input as its index in `inputs`:
# every container a node holds is one more object for Python's cycle collector to track, and a tuple
# of numbers and arrays only is untracked at its first collection, so collections stay rarer and short.
_INPUT, _OUTPUT, _VALUE = 0, 1, 2
_NOTHING = (None, None, 0)
# One shared tuple per needs_input_grad pattern, for the same reason.
_NEEDS: dict[tuple[bool, ...], tuple[bool, ...]] = {}
# An intermediate input of at least this size that backward does not read is held as a `StandIn`,
# so its data is freed as soon as the caller drops it. Below it a stand-in would cost more time
# than it saves memory.
STAND_IN_BYTES = 1 << 16


@contextmanager
def stand_ins_for_all_sizes() -> Iterator[None]:
    """Within the block every unread intermediate input is a StandIn, whatever its size: a small
    check then takes the memory path of a large training step (gradcheck runs under it)."""
    global STAND_IN_BYTES
    saved, STAND_IN_BYTES = STAND_IN_BYTES, 0
    try:
        yield
    finally:
        STAND_IN_BYTES = saved


class Function:
    """One node of the graph: subclass it and write `forward` and `backward` as static methods.

    The instance is the `ctx` both methods receive. `ctx.save_for_backward(*arrays)` keeps arrays
    for backward; `ctx.saved_tensors` returns them as Tensors, and an array that is one of the
    op's inputs or its output comes back as that very Tensor, so double backward flows through it.
    Read values in backward only from there: `ctx.inputs` may hold an unsaved input as a StandIn,
    whose shape and dtype are there but whose `data` raises.
    """

    # Defaults live on the class so creating a node costs no __init__ call (the hot path of every op).
    needs_input_grad: tuple[bool, ...] = ()
    inputs: tuple[Tensor | None, ...] = ()
    _to_save: tuple[Any, ...] = ()
    _saved: tuple[Any, ...] = ()
    _output_ref: weakref.ReferenceType[Tensor] | None = None
    # the version counter of the output's memory, kept when the output is saved: it tells whether
    # the saved array was changed in place even once the output tensor itself is gone
    _output_counter: VersionCounter | None = None
    # the hooks registered on the output tensor (its very dict): kept here, they run even once the
    # output itself has been dropped, as PyTorch's do
    output_hooks: Hooks | None = None
    _freed = False
    consumed = False  # set once a recorded op takes this node's output as an input
    creation_traceback: str | None = None
    # True for ops that map each element on its own: graph drawings fold chains of them into one node
    elementwise = False
    # the keyword arguments the op was applied with (`axis=1`, `target=...`), as the graph drawing shows them
    arguments: Mapping[str, Any] = MappingProxyType({})

    # -- the two methods every op writes -------------------------------------------------------
    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> np.ndarray:
        """Compute the op on NumPy arrays (Tensor arguments arrive as their `.data`)."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad_output: Tensor) -> Tensor | None | tuple[Tensor | None, ...]:
        """Return the gradient w.r.t. each forward argument (None where not needed), as Tensors."""
        raise NotImplementedError

    # -- ctx API (PyTorch's names) ---------------------------------------------------------------
    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (or None) for backward; call it from forward."""
        self._to_save = arrays

    @property
    def name(self) -> str:
        """The op's name as shown in errors and graph drawings."""
        return type(self).__name__

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The saved arrays as Tensors; raises if the graph was freed or an input changed in place."""
        if self._freed:
            raise GraphError(_freed_message(self))
        out: list[Tensor | None] = []
        saved = self._saved
        for i in range(0, len(saved), 3):
            kind, obj, version = saved[i], saved[i + 1], saved[i + 2]
            if kind is None:
                out.append(None)
            elif kind == _INPUT:
                tensor = self.inputs[obj]
                if version or tensor._counter is not None:  # no counter: never changed in place
                    _check_version(self, tensor, version, "an input")
                out.append(tensor)
            elif kind == _OUTPUT:
                tensor = self._output_ref() if self._output_ref is not None else None
                if tensor is None:  # the user dropped the output; rebuild it around the same node
                    tensor = Tensor._make(obj, self)
                    tensor._counter = self._output_counter
                _check_version(self, tensor, version, "its output")
                out.append(tensor)
            else:
                out.append(Tensor._make(obj, None) if type(obj) is np.ndarray else Tensor(obj))
        return tuple(out)

    @property
    def output(self) -> Tensor | None:
        """The Tensor this node produced, if it is tracked and still alive (a weak reference)."""
        return self._output_ref() if self._output_ref is not None else None

    # -- recording -------------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run the op on Tensors (and plain arguments) and record it if any input needs a gradient."""
        ctx = cls()
        arrays = []
        needs = []
        inputs = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                needs.append(a.requires_grad)
                inputs.append(a)
                record = record or a.requires_grad
            else:
                arrays.append(a)
                needs.append(False)
                inputs.append(None)
        pattern = tuple(needs)
        ctx.needs_input_grad = _NEEDS.setdefault(pattern, pattern)
        try:
            out_data = cls.forward(ctx, *arrays, **kwargs)
        except ValueError as exc:
            if isinstance(exc, ShapeError):
                raise
            shape_list = [a.shape for a in arrays if isinstance(a, np.ndarray)]
            if "broadcast" in str(exc):
                raise ShapeError(_broadcast_message(cls.__name__, shape_list, exc)) from None
            shapes = ", ".join(str(s) for s in shape_list)
            raise ShapeError(f"{cls.__name__}: {exc} (input shapes: {shapes})") from None
        raw_out = out_data  # ufuncs on 0-d arrays return NumPy scalars: keep the original for _pack
        if type(out_data) is not np.ndarray:
            out_data = out_data.data if isinstance(out_data, Tensor) else np.asarray(out_data)
        if anomaly.enabled:
            anomaly.check_forward(ctx, out_data)
        if not (record and grad_mode._grad_enabled):
            out = Tensor._make(out_data, None)
            if out_data.base is not None:
                _share_counter_if_view(out, inputs)
            return out
        ctx.inputs = inputs = tuple(inputs)
        if kwargs:
            ctx.arguments = kwargs
        out = Tensor._make(out_data, ctx)
        if out_data.base is not None:
            _share_counter_if_view(out, inputs)
        if ctx._to_save:
            saved = []
            for a in ctx._to_save:
                saved += _pack(a, inputs, raw_out, out_data)
            ctx._saved, ctx._to_save = tuple(saved), ()
            if _OUTPUT in saved[::3]:
                ctx.track_output(out)
                ctx._output_counter = out._version_counter()
        large = False
        for t in inputs:
            if t is not None:
                made_by = t.grad_fn
                if made_by is not None:
                    made_by.consumed = True  # its output now feeds a recorded op: no in-place rebase
                    large = large or t.data.nbytes >= STAND_IN_BYTES
        if large:
            ctx.inputs = _stand_ins(inputs, ctx._saved, ctx.name)
        if anomaly.enabled:
            ctx.creation_traceback = anomaly.current_traceback()
        return out

    def track_output(self, tensor: Tensor, replace: bool = False) -> None:
        """Keep a weak reference to the output (made only when needed: a saved output, a hook,
        retain_grad), so the node never keeps its output alive. `replace` points it at another
        tensor (an in-place update makes the old version the node's output)."""
        if self._output_ref is None or replace or self._output_ref() is None:
            self._output_ref = weakref.ref(tensor)

    def replace_output(self, old: Tensor) -> None:
        """An in-place update turned the output into the output of another node: `old`, a copy of
        the values this node computed, becomes its output (and its saved output, if it saved it)."""
        self._output_ref = weakref.ref(old)
        if self._output_counter is not None:
            saved = list(self._saved)
            for i in range(0, len(saved), 3):
                if saved[i] == _OUTPUT:
                    saved[i + 1], saved[i + 2] = old.data, old._version
            self._saved, self._output_counter = tuple(saved), old._version_counter()

    def release(self) -> None:
        """Drop what backward needed (after a non-retained pass): the saved arrays, and the data of
        every input but the leaves that require grad. The structure stays, as in PyTorch: each
        other input becomes a data-free StandIn, so drawings still walk the whole graph."""
        self._saved = ()
        name = type(self).__name__
        kept = []
        for t in self.inputs:
            kept.append(t if t is None or type(t) is StandIn or (t.grad_fn is None and t.requires_grad)
                        else StandIn.of(t, name))
        self.inputs = tuple(kept)
        self._freed = True

    def __repr__(self) -> str:
        return f"<{self.name}>"


class StandIn(Tensor):
    """Holds the place of a tensor in a node's `inputs` once backward needs only its grad_fn, shape
    and dtype (an intermediate that backward does not read, or any input after a non-retained
    backward). It owns no memory, so the real data is freed when the caller drops it (PyTorch's
    nodes keep no more); reading its `data` raises an error that says how to keep it."""

    __slots__ = ("_shape", "_dtype", "_consumer", "_leaf")

    @staticmethod
    def of(tensor: Tensor, consumer: str) -> StandIn:
        """The stand-in of `tensor` in the inputs of the op named `consumer`: its grad_fn, shape,
        dtype and name, none of its memory."""
        stand_in = object.__new__(StandIn)
        if type(tensor) is StandIn:
            stand_in._shape, stand_in._dtype, stand_in._leaf = tensor._shape, tensor._dtype, tensor._leaf
        else:  # the array's own attributes: cheaper than Tensor's shape and dtype properties
            data = tensor.data
            stand_in._shape, stand_in._dtype = data.shape, data.dtype
            # a constant leaf is remembered weakly, so a drawing shows the user's tensor, once
            stand_in._leaf = weakref.ref(tensor) if tensor.grad_fn is None else None
        stand_in._consumer = consumer
        stand_in.grad, stand_in.grad_fn, stand_in.requires_grad = None, tensor.grad_fn, tensor.requires_grad
        stand_in.name, stand_in._counter, stand_in._retains_grad, stand_in._hooks = tensor.name, None, False, None
        return stand_in

    @property
    def leaf(self) -> Tensor | None:
        """The leaf tensor this stand-in holds the place of, while it is alive (None for an
        intermediate, which its grad_fn identifies)."""
        return self._leaf() if self._leaf is not None else None

    @property  # type: ignore[override]
    def data(self) -> np.ndarray:
        made_by = f", made by <{self.grad_fn.name}>" if self.grad_fn is not None else ""
        raise GraphError(
            f"{self._consumer}: the values of an input (shape {self._shape}, dtype {self._dtype}{made_by}) "
            f"were not kept: the graph keeps an input's data only when forward saves it, and frees "
            f"saved data after backward. A backward that reads an input must save it in forward with "
            f"`ctx.save_for_backward(x)` and read it back from `ctx.saved_tensors`."
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return int(np.prod(self._shape))

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        made_by = f", grad_fn=<{self.grad_fn.name}>" if self.grad_fn is not None else ""
        return f"StandIn(shape={self.shape}, dtype={self.dtype}{made_by}{name})"


def _stand_ins(inputs: tuple[Tensor | None, ...], saved: tuple[Any, ...], consumer: str) -> tuple[Tensor | None, ...]:
    """`inputs` with a StandIn for each large intermediate that backward does not read (not saved).
    Its hooks live on its node, and a retained gradient goes to the tensor itself if it is alive."""
    kept = {id(inputs[saved[i + 1]]) for i in range(0, len(saved), 3) if saved[i] == _INPUT}
    return tuple(
        StandIn.of(t, consumer) if (t is not None and t.grad_fn is not None and t.data.nbytes >= STAND_IN_BYTES
                          and id(t) not in kept) else t
        for t in inputs
    )


def _share_counter_if_view(out: Tensor, inputs: list[Tensor | None] | tuple[Tensor | None, ...]) -> None:
    """An output that is a NumPy view of an input's memory shares that input's version counter,
    so an in-place update through either one is seen by the checks of nodes that saved the other."""
    base = out.data.base
    for t in inputs:
        if t is not None and (base is t.data or (base is not None and base is t.data.base)):
            out._counter = t._version_counter(shared=True)
            return


def _pack(array: Any, inputs: tuple[Tensor | None, ...], raw_out: Any, out_data: np.ndarray) -> tuple[Any, ...]:
    """Classify one saved array as (kind, object, version): an input (by its index), the output, a
    plain value, or nothing (kind None)."""
    if array is None:
        return _NOTHING
    i = 0
    for t in inputs:
        if t is not None and t.data is array:
            return (_INPUT, i, 0 if t._counter is None else t._version)  # no counter: never changed in place
        i += 1
    if array is raw_out or array is out_data:
        return (_OUTPUT, out_data, 0)
    return (_VALUE, array, 0)


def _broadcast_message(op: str, shapes: list[tuple[int, ...]], exc: ValueError) -> str:
    """Say which axis stops `shapes` from broadcasting together (NumPy's rules, aligned from the right)."""
    listed = ", ".join(str(s) for s in shapes)
    for axis in range(-1, -max((len(s) for s in shapes), default=0) - 1, -1):
        lengths = sorted({s[axis] for s in shapes if len(s) >= -axis} - {1})
        if len(lengths) > 1:
            return (f"{op}: input shapes {listed} cannot be broadcast together: aligned from the "
                    f"right, each axis must have equal lengths or length 1, but axis {axis} has "
                    f"lengths {' vs '.join(str(n) for n in lengths)}")
    return f"{op}: {exc} (input shapes: {listed})"  # the clash is inside the op, not between inputs


def _check_version(node: Function, tensor: Tensor, version: int, what: str) -> None:
    if tensor._version != version:
        raise InplaceModificationError(
            f"{node.name}: one of the tensors needed for its gradient ({what}, shape "
            f"{tensor.shape}, dtype {tensor.dtype}) was modified by an in-place operation: it was saved "
            f"at version {version} and is now at version {tensor._version}. Use an out-of-place op "
            f"(e.g. `x = x + y` instead of `x.add_(y)`) before calling backward."
        )


def _freed_message(node: Function) -> str:
    return (
        f"{node.name}: trying to backward through the graph a second time; its saved values were "
        f"freed after the first backward. Pass retain_graph=True to the first backward() (or "
        f"tg.grad) if you need to backward through the same graph again."
    )
