"""Functions that make new tensors: constants, ranges and random draws (float32 by default)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .random import get_rng
from .tensor import Tensor, _shape_arg


def _new(data: np.ndarray, requires_grad: bool, name: str | None = None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, name=name)


def zeros(*shape: int | Sequence[int], dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad)


def ones(*shape: int | Sequence[int], dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_shape_arg(shape), dtype=dtype), requires_grad)


def full(shape: int | Sequence[int], fill_value: float, dtype: Any = np.float32,
         requires_grad: bool = False) -> Tensor:
    return _new(np.full(shape, fill_value, dtype=dtype), requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(t.shape, dtype=dtype or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(t.shape, dtype=dtype or t.dtype), requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop); integers give int64, floats give float32."""
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and data.dtype == np.float64:
        dtype = np.float32
    return _new(data.astype(dtype) if dtype is not None else data, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return _new(np.eye(n, m, dtype=dtype), requires_grad)


def randn(*shape: int | Sequence[int], dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the library's seeded generator."""
    return _new(get_rng().standard_normal(_shape_arg(shape), dtype=np.float64).astype(dtype), requires_grad)


def rand(*shape: int | Sequence[int], dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the library's seeded generator."""
    return _new(get_rng().random(_shape_arg(shape)).astype(dtype), requires_grad)


def uniform(*shape: int | Sequence[int], low: float = 0.0, high: float = 1.0, dtype: Any = np.float32,
            requires_grad: bool = False) -> Tensor:
    """Uniform samples in [low, high) from the library's seeded generator."""
    return _new(get_rng().uniform(low, high, _shape_arg(shape)).astype(dtype), requires_grad)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None) -> Tensor:
    """Same as `Tensor(...)`, for those used to `torch.tensor`; a (nested) list of Tensors is read as
    their values, so the result is a new leaf without their history (use `tg.stack` to keep it)."""
    return Tensor(_values(data), requires_grad=requires_grad, dtype=dtype, name=name)


def _values(data: Any) -> Any:
    """`data` with every Tensor inside (nested) lists and tuples replaced by its array."""
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (list, tuple)) and any(isinstance(d, (Tensor, list, tuple)) for d in data):
        return [_values(d) for d in data]
    return data
