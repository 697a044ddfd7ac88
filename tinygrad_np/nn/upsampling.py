"""Upsample: the layer form of F.interpolate."""
from __future__ import annotations

from collections.abc import Sequence

from .. import functional as F
from ..tensor import Tensor
from .layers import _check_input
from .module import Module

__all__ = ["Upsample"]


class Upsample(Module):
    """Resize the spatial axes of (N, C, ...) input to `size` or by `scale_factor` (nearest, linear,
    bilinear or trilinear; see F.interpolate)."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor: float | tuple[float, ...] | None = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(_check_input(x, "Upsample"), self.size, self.scale_factor, self.mode,
                             self.align_corners, self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"
