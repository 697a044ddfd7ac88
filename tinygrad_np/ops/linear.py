"""The fully connected layer's op: y = x @ weight.T + bias, with PyTorch's (out, in) weight layout."""
from __future__ import annotations

from ..errors import ShapeError
from ..tensor import Tensor
from .activation import require_float_tensor

__all__ = ["linear"]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map of the last axis: x (..., in) with weight (out, in) and bias (out,) gives (..., out).

    Built from matmul (on a transposed view of the weight, which BLAS reads without a copy) and a
    broadcast add, so its gradients are the engine's.
    """
    op = "linear"
    require_float_tensor(x, op)
    require_float_tensor(weight, op, "weight")
    if weight.ndim != 2:
        raise ShapeError(f"{op}: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if x.ndim == 0:
        raise ShapeError(f"{op}: input must have at least 1 dimension (..., in_features), got a 0-d tensor")
    if x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"{op}: input has {x.shape[-1]} features but weight expects {weight.shape[1]} "
                         f"(weight shape {weight.shape}, input shape {x.shape})")
    if x.dtype != weight.dtype:
        raise TypeError(f"{op}: input has dtype {x.dtype} but weight has dtype {weight.dtype}; convert one "
                        f"with .astype(...)")
    if bias is not None:
        require_float_tensor(bias, op, "bias")
        if bias.shape != (weight.shape[0],):
            raise ShapeError(f"{op}: bias has shape {bias.shape} but weight shape {weight.shape} needs "
                             f"({weight.shape[0]},)")
        if bias.dtype != x.dtype:
            raise TypeError(f"{op}: bias has dtype {bias.dtype} but input has dtype {x.dtype}")
    out = x @ weight.T
    return out if bias is None else out + bias
