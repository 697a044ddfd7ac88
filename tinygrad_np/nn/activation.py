"""Activation layers beyond ReLU/Sigmoid/Tanh, and Identity: Modules over the functional ops."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from ..tensor import Tensor
from ..torch_names import torch_aliases
from .layers import _check_input
from .module import Module

__all__ = ["GELU", "Identity", "LeakyReLU", "LogSoftmax", "SiLU", "Softmax"]


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (a placeholder layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class GELU(Module):
    """x * Phi(x) elementwise; approximate="tanh" uses the tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(_check_input(x, "GELU"), approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    """x for x > 0, else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(_check_input(x, "LeakyReLU"), self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class SiLU(Module):
    """x * sigmoid(x) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(_check_input(x, "SiLU"))


class Softmax(Module):
    """Probabilities along `axis` (PyTorch's `dim`)."""

    @torch_aliases
    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(_check_input(x, "Softmax"), axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along `axis` (PyTorch's `dim`), computed stably."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(_check_input(x, "LogSoftmax"), axis=self.axis)
