"""Gradient clipping and flat parameter vectors, as torch.nn.utils; clearing gradients for Module and Optimizer."""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from ..functions import concatenate
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm(array: np.ndarray, norm_type: float) -> np.float64:
    """The norm_type-norm of an array's elements, in float64."""
    a = np.abs(array.astype(np.float64, copy=False)).ravel()
    if a.size == 0:
        return np.float64(0.0)
    if norm_type == math.inf:
        return a.max()
    if norm_type == -math.inf:
        return a.min()
    if norm_type == 0:
        return np.float64(np.count_nonzero(a))
    return np.sum(a ** norm_type) ** (1.0 / norm_type)


def zero_grads(parameters: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Clear every gradient: to None (default) or to a fresh array of zeros (Module.zero_grad and
    Optimizer.zero_grad)."""
    for p in parameters:
        if p.grad is not None:
            p.grad = None if set_to_none else Tensor._make(np.zeros_like(p.grad.data), None)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients in place so their joint norm (the norm of the per-tensor norms) is at most
    max_norm; returns that total norm before clipping. Gradients are multiplied by
    min(1, max_norm / (total + 1e-6)), as PyTorch; a NaN or inf total raises if error_if_nonfinite."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.float32(0.0))
    total = _norm(np.array([_norm(g.data, norm_type) for g in grads]), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, "
                           f"so they cannot be clipped; pass error_if_nonfinite=False to scale them anyway")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g.mul_(g.dtype.type(coef))
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.copy_(np.clip(g.data, -clip_value, clip_value))


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector (differentiable)."""
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of a vector into the parameters, in place (the inverse of
    parameters_to_vector)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.size for p in params)
    if vec.ndim != 1 or vec.size != total:
        raise ShapeError(f"vector_to_parameters: vec must be 1-D with {total} elements (the parameters' total), "
                         f"got shape {vec.shape}")
    offset = 0
    with no_grad():
        for p in params:
            p.copy_(vec.data[offset:offset + p.size].reshape(p.shape))
            offset += p.size
