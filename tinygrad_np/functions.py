"""The free functions of the top-level namespace (`tg.where`, `tg.cat`, ...): ops over several
tensors (where, maximum, minimum, concatenate, stack), and the function forms of Tensor methods
under PyTorch's names (`tg.gather`, `tg.sort`, `tg.sin`, ...). The layer functions (`F.conv2d`,
`F.cross_entropy`, ...) are in `tinygrad_np.functional`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ops import elementwise, shape
from .tensor import Tensor, ValuesIndices
from .torch_names import torch_aliases


def _as_operands(*items: Any) -> list[Tensor]:
    """The operands of an op over several tensors, as Tensors: numbers, arrays and lists take the dtype
    of the first Tensor among them (as operands of `+` do)."""
    first = next((t for t in items if isinstance(t, Tensor)), None)
    if first is None:
        return [Tensor(t) for t in items]
    return [t if isinstance(t, Tensor) else first._operand(t) for t in items]


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise `a if condition else b`; the gradient flows only to the branch taken."""
    a, b = _as_operands(a, b)
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return elementwise.Where.apply(Tensor(cond.astype(bool)), a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum of two tensors (ties split the gradient equally)."""
    return elementwise.Maximum.apply(*_as_operands(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum of two tensors (ties split the gradient equally)."""
    return elementwise.Minimum.apply(*_as_operands(a, b))


@torch_aliases
def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return shape.Concatenate.apply(*_as_operands(*tensors), axis=axis)


@torch_aliases
def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return shape.Stack.apply(*_as_operands(*tensors), axis=axis)


cat = concatenate  # PyTorch's name


# -- function forms of Tensor methods (PyTorch's torch.gather, torch.sort, ...) -------------------
@torch_aliases
def gather(input: Tensor, axis: int, index: Any) -> Tensor:
    """`input.gather(axis, index)`."""
    return input.gather(axis, index)


@torch_aliases
def scatter(input: Tensor, axis: int, index: Any, src: Any) -> Tensor:
    """`input.scatter(axis, index, src)`."""
    return input.scatter(axis, index, src)


@torch_aliases
def scatter_add(input: Tensor, axis: int, index: Any, src: Tensor) -> Tensor:
    """`input.scatter_add(axis, index, src)`."""
    return input.scatter_add(axis, index, src)


@torch_aliases
def index_select(input: Tensor, axis: int, index: Any) -> Tensor:
    """`input.index_select(axis, index)`."""
    return input.index_select(axis, index)


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """`input.masked_fill(mask, value)`."""
    return input.masked_fill(mask, value)


@torch_aliases
def sort(input: Tensor, axis: int = -1, descending: bool = False, stable: bool = True) -> ValuesIndices:
    """`input.sort(axis, descending)` (always stable)."""
    return input.sort(axis=axis, descending=descending)


@torch_aliases
def topk(input: Tensor, k: int, axis: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """`input.topk(k, axis, largest, sorted)`."""
    return input.topk(k, axis=axis, largest=largest, sorted=sorted)


@torch_aliases
def cumsum(input: Tensor, axis: int | None = None) -> Tensor:
    """`input.cumsum(axis)`."""
    return input.cumsum(axis=axis)


@torch_aliases
def flip(input: Tensor, axis: Any = None) -> Tensor:
    """`input.flip(axis)`."""
    return input.flip(axis=axis)


@torch_aliases
def roll(input: Tensor, shifts: Any, axis: Any = None) -> Tensor:
    """`input.roll(shifts, axis)`."""
    return input.roll(shifts, axis=axis)


def sin(input: Tensor) -> Tensor:
    """`input.sin()`."""
    return input.sin()


def cos(input: Tensor) -> Tensor:
    """`input.cos()`."""
    return input.cos()


def log1p(input: Tensor) -> Tensor:
    """`input.log1p()`."""
    return input.log1p()


def expm1(input: Tensor) -> Tensor:
    """`input.expm1()`."""
    return input.expm1()
