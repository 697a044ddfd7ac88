"""Matrix multiplication with NumPy's semantics: 1-D vectors, 2-D matrices, broadcast batches."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError
from ..kernels.matmul import matmul_on_threads


class MatMul(Function):
    """a @ b. Backward: dA = dC @ B^T and dB = A^T @ dC, summed over broadcast batch axes."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: both operands need at least 1 dimension; got shapes {a.shape} and {b.shape}")
        if a.dtype != b.dtype:  # as PyTorch: a product never promotes silently (float32 @ float64)
            raise TypeError(
                f"matmul: expected both operands to have the same dtype, got {a.dtype} (shape {a.shape}) "
                f"and {b.dtype} (shape {b.shape}); convert one with .float() or .double()"
            )
        k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} do not fit: the last axis of a ({k_a}) must "
                f"equal the {'only' if b.ndim == 1 else 'second-to-last'} axis of b ({k_b})"
            )
        try:
            out = matmul_on_threads(a, b)
        except ValueError:
            raise ShapeError(
                f"matmul: the batch axes (all but the last two) of shapes {a.shape} and {b.shape} "
                f"cannot be broadcast together: {a.shape[:-2]} vs {b.shape[:-2]}; aligned from the "
                f"right, each batch axis must have equal lengths or length 1"
            ) from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Treat vectors as matrices: a (k,) -> (1, k), b (k,) -> (k, 1), and the gradient to match.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2 if b.ndim > 1 else 0)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = (g2 @ b2.transpose(*_swap_last(b2.ndim))).sum_to(a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = (a2.transpose(*_swap_last(a2.ndim)) @ g2).sum_to(b2.shape).reshape(b.shape)
        return ga, gb


def _swap_last(ndim: int) -> list[int]:
    """The permutation that swaps the last two axes."""
    return list(range(ndim - 2)) + [ndim - 1, ndim - 2]
