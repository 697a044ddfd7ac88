"""What the graph drawing and the summary say about one op: its key attributes, whether it is
elementwise (foldable into a chain), and its FLOPs. Everything is read from the op's ctx.

The lookup order for attributes is: the op's own `describe()` method, then a small table for the
core ops whose ctx keeps bookkeeping rather than the user's arguments, then a generic rule (public,
small, non-callable attributes of the ctx instance).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..ops import elementwise as ew
from ..ops import linalg, linear, reduction
from ..ops import shape as sh
from ..tensor import Tensor

# Attributes every ctx has (set by Function.apply), never shown.
_INTERNAL = frozenset({"inputs", "needs_input_grad", "creation_traceback", "saved_tensors", "output", "name"})
_MAX_ITEMS = 8  # longest tuple shown in full
_MAX_TEXT = 48  # longest formatted attribute value


def _known_elementwise() -> frozenset[type]:
    from ..ops import activation, loss

    core = {ew.Add, ew.Sub, ew.Mul, ew.Div, ew.Pow, ew.Neg, ew.Exp, ew.Log, ew.Sqrt, ew.Abs, ew.ReLU,
            ew.Sigmoid, ew.Tanh, ew.Clip, ew.Cast, ew.Maximum, ew.Minimum, ew.Where}
    # activations map each element on its own (softmax and log_softmax do not: they mix an axis)
    extra = [getattr(activation, name, None) for name in ("LeakyReLU", "GELU", "Erf", "Dropout")]
    extra.append(getattr(loss, "Softplus", None))
    return frozenset(core | {cls for cls in extra if isinstance(cls, type)})


_ELEMENTWISE = _known_elementwise()


def is_elementwise(fn: Function) -> bool:
    """True for ops that map each element independently (core ops, or a class with `elementwise = True`)."""
    flag = getattr(type(fn), "elementwise", None)
    if flag is not None:
        return bool(flag)
    return type(fn) in _ELEMENTWISE


# -- attributes ------------------------------------------------------------------------------------
def _out_shape(out: Tensor | None) -> tuple[int, ...] | None:
    return None if out is None else out.shape


def _reduction(fn: Function, out: Tensor | None) -> dict[str, Any]:
    return {"axes": fn.axes}


def _var(fn: Function, out: Tensor | None) -> dict[str, Any]:
    count = int(np.prod([fn.in_shape[a] for a in fn.axes]))
    return {"axes": fn.axes, "ddof": count - fn.divisor}


def _target_shape(fn: Function, out: Tensor | None) -> dict[str, Any]:
    shape = _out_shape(out)
    return {"shape": shape} if shape is not None else {"from": fn.in_shape}


def _pad(fn: Function, out: Tensor | None) -> dict[str, Any]:
    if out is None:
        return {"before": tuple(s.start for s in fn.window)}
    return {"pad": tuple((s.start, n - s.stop) for s, n in zip(fn.window, out.shape))}


def _pow(fn: Function, out: Tensor | None) -> dict[str, Any]:
    return {} if fn.constant_exponent is None else {"exponent": fn.constant_exponent}


def _cast(fn: Function, out: Tensor | None) -> dict[str, Any]:
    return {"from": fn.in_dtype} if out is None else {"from": fn.in_dtype, "to": out.dtype}


def _index(fn: Function, out: Tensor | None) -> dict[str, Any]:
    return {"index": format_index(fn.index)}


def _index_add(fn: Function, out: Tensor | None) -> dict[str, Any]:
    return {"index": format_index(fn.index), **({} if out is None else {"shape": out.shape})}


def _axis(fn: Function, out: Tensor | None) -> dict[str, Any]:
    return {"axis": fn.axis}


def _nothing(fn: Function, out: Tensor | None) -> dict[str, Any]:
    return {}


# Core ops whose ctx holds backward bookkeeping (input shapes, masks) instead of the user's
# arguments: these read the argument back from the ctx (or from the op's output shape).
_CORE: dict[type, Callable[[Function, Tensor | None], dict[str, Any]]] = {
    ew.Add: _nothing, ew.Sub: _nothing, ew.Where: _nothing, ew.Pow: _pow, ew.Cast: _cast,
    reduction.Sum: _reduction, reduction.Mean: _reduction, reduction.Max: _reduction,
    reduction.Min: _reduction, reduction.LogSumExp: _reduction, reduction.Var: _var,
    sh.Reshape: _target_shape, sh.BroadcastTo: _target_shape, sh.SumTo: _target_shape, sh.Pad: _pad,
    sh.GetItem: _index, sh.IndexAdd: _index_add, sh.Concatenate: _axis, sh.Stack: _axis,
    linalg.MatMul: _nothing, linear.Linear: _nothing,
}


def op_attributes(fn: Function, out: Tensor | None = None) -> dict[str, str]:
    """The op's key attributes as display strings: `fn.describe()` if defined, else read from the ctx."""
    describe = getattr(fn, "describe", None)
    if callable(describe):
        raw = dict(describe())
    elif type(fn) in _CORE:
        try:
            raw = _CORE[type(fn)](fn, out)
        except AttributeError:  # a ctx that never finished its forward
            raw = generic_attributes(fn)
    else:
        raw = generic_attributes(fn)
    return {str(k): format_value(v) for k, v in raw.items()}


def generic_attributes(fn: Function) -> dict[str, Any]:
    """Public, non-callable, small (scalar, short tuple, short string) attributes of the ctx.

    A named tuple (e.g. a convolution's geometry) is shown field by field.
    """
    found: dict[str, Any] = {}
    for key, value in vars(fn).items():
        if key.startswith("_") or key in _INTERNAL or callable(value):
            continue
        fields = getattr(value, "_fields", None)
        if isinstance(value, tuple) and fields:
            found.update((f, v) for f, v in zip(fields, value) if _is_small(v) and f not in found)
        elif _is_small(value):
            found[key] = value
    return found


def _is_small(value: Any, depth: int = 0) -> bool:
    if value is None or value is Ellipsis or isinstance(value, (bool, int, float, np.generic, np.dtype, slice)):
        return True
    if isinstance(value, str):
        return len(value) <= _MAX_TEXT
    if isinstance(value, (tuple, list)) and depth < 2:
        return len(value) <= 4 * _MAX_ITEMS and all(_is_small(v, depth + 1) for v in value)
    return False


def format_value(value: Any) -> str:
    """A short, readable string for an attribute value (tuples truncated, floats in %g)."""
    text = _format(value, 0)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _format(value: Any, depth: int) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, slice):
        return _format_slice(value)
    if value is Ellipsis:
        return "..."
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{list(value.shape)}"
    if isinstance(value, Tensor):
        return f"Tensor{list(value.shape)}"
    if isinstance(value, (tuple, list)):
        if depth > 2:
            return "(…)"
        items = [_format(v, depth + 1) for v in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            items.append(f"… {len(value) - _MAX_ITEMS} more")
        if isinstance(value, tuple):
            return "(" + ", ".join(items) + ("," if len(value) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    return str(value)


def _format_slice(s: slice) -> str:
    parts = ["" if s.start is None else str(s.start), "" if s.stop is None else str(s.stop)]
    if s.step is not None:
        parts.append(str(s.step))
    return ":".join(parts)


def pack_items(items: Iterable[str], width: int) -> list[str]:
    """Join `key=value` items with ", " into lines of about `width` characters (never splitting one)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            lines.append(item)
    return lines


def format_index(index: Any) -> str:
    """An indexing expression as written in code: `[0, 1:3, ...]`, arrays shown by dtype and shape."""
    items = index if isinstance(index, tuple) else (index,)
    parts = []
    for item in items:
        if item is None:
            parts.append("None")
        else:
            parts.append(_format(item, 1))
    return "[" + ", ".join(parts) + "]"


# -- FLOPs ------------------------------------------------------------------------------------------
def op_flops(fn: Function, inputs: tuple[Tensor | None, ...], out_shape: tuple[int, ...] | None) -> int | None:
    """Multiply-add FLOPs (2 per multiply-accumulate) of a matmul, linear or convolution op, else None.

    An op may define `flops(self) -> int` itself. Matmul and linear: 2 * output size * K. Conv2d (weight
    (C_out, C_in/groups, KH, KW)): 2 * output size * C_in/groups * KH * KW, i.e.
    2 * N * C_out * OH * OW * C_in/groups * KH * KW; its backward ops count the same products.
    """
    custom = getattr(fn, "flops", None)
    if callable(custom):
        return int(custom())
    kind = type(fn)
    if kind is linalg.MatMul or kind is linear.Linear:
        if out_shape is None or not inputs or inputs[0] is None:
            return None
        return 2 * _size(out_shape) * int(inputs[0].shape[-1])
    conv = _conv_ops()
    if kind in conv and len(inputs) >= 2 and inputs[0] is not None and inputs[1] is not None:
        first, second = inputs[0], inputs[1]
        if kind is conv[0] and out_shape is not None:  # Conv2d(x, weight): per output, C_in/g*KH*KW products
            return 2 * _size(out_shape) * _size(second.shape[1:])
        if kind is conv[1]:  # ConvTranspose2d(y, weight): per input element of y, C_in/g*KH*KW products
            return 2 * first.size * _size(second.shape[1:])
        if kind is conv[2] and out_shape is not None:  # Conv2dWeightGrad(x, grad): per grad element
            return 2 * second.size * _size(out_shape[1:])
    return None


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _conv_ops() -> tuple[type | None, type | None, type | None]:
    """(Conv2d, ConvTranspose2d, Conv2dWeightGrad), the convolution ops, whose FLOPs are counted."""
    from ..ops import conv

    return (getattr(conv, "Conv2d", None), getattr(conv, "ConvTranspose2d", None),
            getattr(conv, "Conv2dWeightGrad", None))
