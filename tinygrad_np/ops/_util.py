"""Helpers shared by the ops modules: constants (an array wrapped without a gradient, a zero) and
the check of an op's floating-point input."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


def const(array: Any) -> Tensor:
    """A constant (no gradient) wrapped around an array, without copying it."""
    return Tensor._make(np.asarray(array), None)


def zero(dtype: np.dtype) -> Tensor:
    """A 0-d constant zero of `dtype`: the value written where a gradient is cut (it broadcasts anywhere)."""
    return Tensor._make(np.zeros((), dtype=dtype), None)


def require_float_tensor(x: Any, op: str, name: str = "input") -> Tensor:
    """`x` itself if it is a floating-point Tensor; a TypeError naming `op` and the argument otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating-point Tensor, got dtype {x.dtype} (shape {x.shape})")
    return x
