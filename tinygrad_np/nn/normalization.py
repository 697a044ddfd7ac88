"""LayerNorm and GroupNorm layers, with PyTorch's parameter names, init and repr."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from ..errors import ShapeError
from ..tensor import Tensor
from . import init
from .layers import _check_input, _positive
from .module import Module, Parameter

__all__ = ["GroupNorm", "LayerNorm"]


class _AffineNorm(Module):
    """A normalisation layer's optional scale and shift: weight (init 1) and bias (init 0)."""

    def _register_affine(self, shape: tuple[int, ...], affine: bool, bias: bool) -> None:
        """weight and bias Parameters of `shape` (bias only if `bias`); None placeholders without `affine`."""
        if affine:
            self.weight = Parameter(np.ones(shape, dtype=np.float32))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(np.zeros(shape, dtype=np.float32))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Weight to 1 and bias to 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)


class LayerNorm(_AffineNorm):
    """Normalise over the trailing `normalized_shape` axes, then scale by weight (init 1) and shift by
    bias (init 0), both of that shape, if elementwise_affine (bias only if `bias`)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not all(isinstance(n, (int, np.integer)) for n in shape):
            raise TypeError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        if not shape or min(shape) <= 0:
            raise ShapeError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.use_bias = bias and elementwise_affine  # shown in the repr, as PyTorch
        self._register_affine(self.normalized_shape, elementwise_affine, bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "LayerNorm")
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ShapeError(f"LayerNorm: expected an input ending in normalized_shape {self.normalized_shape}, "
                             f"got shape {x.shape}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.use_bias}")


class GroupNorm(_AffineNorm):
    """Normalise (N, C, ...) input over groups of C / num_groups channels, then scale and shift per
    channel (weight init 1, bias init 0 unless bias=False) if affine."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_groups = _positive(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _positive(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ShapeError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.eps = eps
        self.affine = affine
        self.use_bias = bias and affine
        self._register_affine((self.num_channels,), affine, bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "GroupNorm")
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm: expected input of shape (N, {self.num_channels}, ...) "
                             f"(num_channels={self.num_channels}), got shape {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.use_bias}"
