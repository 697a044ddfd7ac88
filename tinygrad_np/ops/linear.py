"""The fully connected layer's op: y = x @ weight.T + bias, with PyTorch's (out, in) weight layout."""
from __future__ import annotations

from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from ..kernels.matmul import matmul_on_threads
from ._util import require_float_tensor

__all__ = ["linear"]


class Linear(Function):
    """x @ weight.T + bias as one node (PyTorch's addmm), x flattened to rows (N, in).

    Backward: dx = g @ W, dW = g^T @ x (already in the weight's (out, in) layout, so nothing is
    transposed or copied on its way to weight.grad), db = g summed over the rows.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        out = matmul_on_threads(x.reshape(-1, x.shape[-1]), weight.T)  # BLAS reads the transposed view as is
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + weight.shape[:1])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need = ctx.needs_input_grad
        rows = grad.reshape(-1, grad.shape[-1])
        gx = (rows @ weight).reshape(x.shape) if need[0] else None
        gw = rows.T @ x.reshape(-1, x.shape[-1]) if need[1] else None
        gb = rows.sum(axis=0) if need[2] else None
        return gx, gw, gb


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map of the last axis: x (..., in) with weight (out, in) and bias (out,) gives (..., out)."""
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
    return Linear.apply(x, weight, bias)
