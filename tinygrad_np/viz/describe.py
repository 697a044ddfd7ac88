"""What the graph drawing and the summary say about one op: its key attributes, whether it is
elementwise (foldable into a chain), and its FLOPs. Everything is read from the op's ctx.

Attributes are the op's own `describe()` if it defines one, else the keyword arguments the op was
applied with (`Function.apply` records them as `ctx.arguments`), minus those at their defaults.
"""
from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..ops import linalg, linear
from ..tensor import Tensor

_MAX_ITEMS = 8  # longest tuple shown in full
_MAX_TEXT = 48  # longest formatted attribute value


def is_elementwise(fn: Function) -> bool:
    """True for ops that map each element independently (their class sets `elementwise = True`)."""
    return bool(type(fn).elementwise)


# -- attributes ------------------------------------------------------------------------------------
def op_attributes(fn: Function) -> dict[str, str]:
    """The op's key attributes as display strings: `fn.describe()` if the op defines it, else the
    keyword arguments it was applied with (`fn.arguments`) that differ from its forward's defaults.

    Arrays among them are not attributes but inputs (a drawing shows them as input nodes: see
    `array_arguments`); a value with an `as_arguments()` method (a convolution's window geometry)
    is shown as the arguments it stands for, and an `index` as written in code.
    """
    describe = getattr(fn, "describe", None)
    if callable(describe):
        raw = dict(describe())
    else:
        defaults = _forward_defaults(type(fn))
        raw = {}
        for key, value in fn.arguments.items():
            if isinstance(value, (np.ndarray, Tensor)) or _is_default(value, defaults.get(key, _NO_DEFAULT)):
                continue
            as_arguments = getattr(value, "as_arguments", None)
            if callable(as_arguments):
                raw.update(as_arguments())
            else:
                raw[key] = _IndexText(format_index(value)) if key == "index" else value
    return {str(k): format_value(v) for k, v in raw.items()}


def array_arguments(fn: Function) -> dict[str, np.ndarray | Tensor]:
    """The op's array-valued keyword arguments (e.g. cross-entropy's integer `target`): data it reads
    that is not a graph input, drawn as an input node of the op."""
    return {k: v for k, v in fn.arguments.items() if isinstance(v, (np.ndarray, Tensor))}


class _IndexText(str):
    """An index already formatted as code (`[0, 1:3]`), shown as is."""


_NO_DEFAULT = object()
_DEFAULTS: dict[type, dict[str, Any]] = {}


def _forward_defaults(cls: type) -> dict[str, Any]:
    """The default values of `cls.forward`'s keyword parameters (read once per op class)."""
    found = _DEFAULTS.get(cls)
    if found is None:
        try:
            params = inspect.signature(cls.forward).parameters.values()
        except (TypeError, ValueError):
            params = []
        found = _DEFAULTS[cls] = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    return found


def _is_default(value: Any, default: Any) -> bool:
    if default is _NO_DEFAULT:
        return False
    if value is default:
        return True
    simple = (bool, int, float, str, tuple, np.generic)
    if not (isinstance(value, simple) and isinstance(default, simple)) or type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def format_value(value: Any) -> str:
    """A short, readable string for an attribute value (tuples truncated, floats in %g)."""
    text = _format(value, 0)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _format(value: Any, depth: int) -> str:
    if isinstance(value, _IndexText):
        return str(value)
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
