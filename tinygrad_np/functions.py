"""Free functions over several tensors: where, maximum, minimum, concatenate, stack."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ops import elementwise, shape
from .tensor import Tensor


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Make both operands Tensors, constants taking the dtype of the Tensor operand."""
    if isinstance(a, Tensor):
        return a, a._operand(b)
    if isinstance(b, Tensor):
        return b._operand(a), b
    return Tensor(a), Tensor(b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise `a if condition else b`; the gradient flows only to the branch taken."""
    a, b = _pair(a, b)
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return elementwise.Where.apply(Tensor(cond.astype(bool)), a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum of two tensors (ties split the gradient equally)."""
    return elementwise.Maximum.apply(*_pair(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum of two tensors (ties split the gradient equally)."""
    return elementwise.Minimum.apply(*_pair(a, b))


def _joined(items: Sequence[Any]) -> list[Tensor]:
    """Tensors for concatenate/stack: arrays and lists take the first Tensor's dtype (as operands of `+` do)."""
    first = next((t for t in items if isinstance(t, Tensor)), None)
    if first is None:
        return [Tensor(t) for t in items]
    return [t if isinstance(t, Tensor) else first._operand(t) for t in items]


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return shape.Concatenate.apply(*_joined(tensors), axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return shape.Stack.apply(*_joined(tensors), axis=axis)
