"""AdaptiveAvgPool2d and MaxUnpool2d layers (MaxPool2d and AvgPool2d live in layers.py)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import functional as F
from ..ops.windows import IntPair
from ..tensor import Tensor
from .layers import _check_input
from .module import Module

__all__ = ["AdaptiveAvgPool2d", "MaxUnpool2d"]


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (OH, OW), whatever the input's (H, W)."""

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(_check_input(x, "AdaptiveAvgPool2d"), self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """Put each value back at the position MaxPool2d(return_indices=True) recorded, zeros elsewhere."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor, indices: Any, output_size: Sequence[int] | None = None) -> Tensor:
        return F.max_unpool2d(_check_input(x, "MaxUnpool2d"), indices, self.kernel_size, self.stride,
                              self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
