"""Batch normalisation and layer normalisation, with PyTorch's argument order and semantics.

Both are fused Functions: the forward standardises in NumPy, and the backward is the closed form
(dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat)), d weight = sum g * x_hat, d bias = sum g)
written in Tensor ops, so it can be differentiated again.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import const as _const, require_float_tensor

__all__ = ["batch_norm", "layer_norm"]


def _array_rsqrt(v: np.ndarray) -> np.ndarray:
    return np.power(v, -0.5)


def _tensor_rsqrt(v: Tensor) -> Tensor:
    return v ** -0.5  # Pow's forward is np.power(v, -0.5): the same numbers as _array_rsqrt


def _standardize(x: Any, axes: tuple[int, ...], eps: float, rsqrt: Callable[[Any], Any]) -> tuple[Any, Any, Any, Any]:
    """(x_hat, inv_std, mean, biased var) over `axes` (keepdims), for an array or a Tensor.

    The forward runs it on arrays and a create_graph backward on Tensors: the same expression, so
    both give bit-identical x_hat and inv_std (a recorded backward matches a plain one exactly).
    """
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    inv_std = rsqrt(var + eps)
    return centered * inv_std, inv_std, mean, var


def _affine(x_hat: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
            param_shape: tuple[int, ...]) -> np.ndarray:
    """x_hat * weight + bias, the parameters reshaped to broadcast (either may be None)."""
    out = x_hat if weight is None else x_hat * weight.reshape(param_shape)
    if bias is not None:
        out = out + bias.reshape(param_shape)
    return out


def _saved_stats(ctx: Function, x: Tensor, x_hat: Tensor, inv_std: Tensor) -> tuple[Tensor, Tensor]:
    """x_hat and inv_std for backward: the forward's arrays as constants for a plain backward; with
    create_graph rebuilt from x with Tensor ops, so the second derivative sees they depend on x."""
    if is_grad_enabled():
        x_hat_t, inv_std_t, _, _ = _standardize(x, ctx.axes, ctx.eps, _tensor_rsqrt)
        return x_hat_t, inv_std_t
    return _const(x_hat.data), _const(inv_std.data)


class BatchNorm(Function):
    """Batch normalisation with the batch statistics (training mode) of (N, C, ...) input, per channel.

    `running_mean` / `running_var` (Tensors or None, keyword arguments, not graph inputs) are
    updated in place with `momentum`, the variance unbiased, as PyTorch.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps=1e-5, running_mean=None, running_var=None, momentum=0.1):
        ctx.axes = (0,) + tuple(range(2, x.ndim))
        ctx.eps = eps
        channels = x.shape[1]
        ctx.param_shape = (1, channels) + (1,) * (x.ndim - 2)
        with warnings.catch_warnings():  # an empty batch: NaN statistics, an empty result
            if not x.size:
                warnings.simplefilter("ignore", RuntimeWarning)
            x_hat, inv_std, mean, var = _standardize(x, ctx.axes, eps, _array_rsqrt)
        if running_mean is not None and x.size:  # an empty batch leaves them alone, as PyTorch
            n = x.size // channels
            with no_grad():  # one in-place update each, in the buffers' own dtype
                running_mean.copy_(running_mean.data * (1 - momentum) + mean.reshape(channels) * momentum)
                running_var.copy_(running_var.data * (1 - momentum) + var.reshape(channels) * (momentum * n / (n - 1)))
        ctx.save_for_backward(x, weight, x_hat, inv_std)
        return _affine(x_hat, weight, bias, ctx.param_shape)

    @staticmethod
    def backward(ctx, grad):
        x, weight, x_hat_saved, inv_std_saved = ctx.saved_tensors
        x_hat, inv_std = _saved_stats(ctx, x, x_hat_saved, inv_std_saved)
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = gw = gb = None
        count = max(x.size // x.shape[1], 1)  # an empty batch: every sum is 0
        g_sum = grad.sum(axis=ctx.axes, keepdims=True) if need_x or need_b else None
        gx_sum = (grad * x_hat).sum(axis=ctx.axes, keepdims=True) if need_x or need_w else None
        if need_x:  # the weight is constant over the reduced axes, so it factors out of the formula
            scale = inv_std if weight is None else inv_std * weight.reshape(ctx.param_shape)
            gx = (grad - (g_sum * (1 / count) + x_hat * (gx_sum * (1 / count)))) * scale
        if need_w:
            gw = gx_sum.reshape(weight.shape)
        if need_b:
            gb = g_sum.reshape(x.shape[1])
        return gx, gw, gb


class LayerNorm(Function):
    """Normalise over the last `normalized_ndim` axes, then scale and shift elementwise."""

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim=1, eps=1e-5):
        ctx.axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        ctx.eps = eps
        x_hat, inv_std, _, _ = _standardize(x, ctx.axes, eps, _array_rsqrt)
        ctx.save_for_backward(x, weight, x_hat, inv_std)
        return _affine(x_hat, weight, bias, x.shape[x.ndim - normalized_ndim:])

    @staticmethod
    def backward(ctx, grad):
        x, weight, x_hat_saved, inv_std_saved = ctx.saved_tensors
        x_hat, inv_std = _saved_stats(ctx, x, x_hat_saved, inv_std_saved)
        need_x, need_w, need_b = ctx.needs_input_grad
        batch_axes = tuple(range(x.ndim - len(ctx.axes)))
        gx = gw = gb = None
        if need_x:  # the weight varies along the normalised axes: apply it before the projection
            gy = grad if weight is None else grad * weight
            gx = (gy - (gy.mean(axis=ctx.axes, keepdims=True)
                        + x_hat * (gy * x_hat).mean(axis=ctx.axes, keepdims=True))) * inv_std
        if need_w:
            gw = (grad * x_hat).sum(axis=batch_axes)
        if need_b:
            gb = grad.sum(axis=batch_axes)
        return gx, gw, gb


def _param(t: Any, name: str, shape: tuple[int, ...], x: Tensor, op: str, what: str) -> None:
    """Check an optional per-channel (or per-feature) tensor: its shape, and for weight/bias the dtype."""
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
    if t.shape != shape:
        raise ShapeError(f"{op}: {name} has shape {t.shape}, but {what} (input shape {x.shape}) needs "
                         f"shape {shape}")
    if name in ("weight", "bias") and t.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {t.dtype} but the input has dtype {x.dtype}; convert one "
                        f"with .astype(...)")


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise (N, C, ...) input per channel C, then scale by weight and shift by bias (shape (C,)).

    training=True uses the batch's mean and biased variance and updates the running statistics in
    place (running = (1 - momentum) * running + momentum * batch, the variance unbiased);
    training=False normalises with the running statistics.
    """
    op = "batch_norm"
    require_float_tensor(x, op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected input of shape (N, C) or (N, C, ...), got shape {x.shape}")
    channels = (x.shape[1],)
    what = f"the input has {x.shape[1]} channels"
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        _param(t, name, channels, x, op, what)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if training:
        if x.size // x.shape[1] == 1:  # an empty batch is fine (an empty result), as PyTorch
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got input "
                             f"shape {x.shape}")
        return BatchNorm.apply(x, weight, bias, eps=eps, running_mean=running_mean,
                               running_var=running_var, momentum=momentum)
    if running_mean is None:
        raise ValueError(f"{op}: running_mean and running_var are needed when training=False (or pass "
                         f"training=True to normalise with the batch statistics)")
    # eval: a per-channel affine map x * scale + shift, from the running statistics (constants)
    param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = _const(running_mean.data.astype(x.dtype, copy=False))
    scale = (_const(running_var.data.astype(x.dtype, copy=False)) + eps) ** -0.5
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale if bias is None else bias - mean * scale
    return x * scale.reshape(param_shape) + shift.reshape(param_shape)


def layer_norm(x: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing axes `normalized_shape` (mean 0, biased variance 1) per sample,
    then scale and shift elementwise by weight and bias of that shape."""
    op = "layer_norm"
    require_float_tensor(x, op)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    shape = tuple(int(n) for n in shape)
    if not shape:
        raise ShapeError(f"{op}: normalized_shape must name at least one trailing axis, got {normalized_shape!r}")
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ShapeError(f"{op}: input shape {x.shape} does not end with normalized_shape {shape}")
    what = f"normalized_shape is {shape}"
    _param(weight, "weight", shape, x, op, what)
    _param(bias, "bias", shape, x, op, what)
    return LayerNorm.apply(x, weight, bias, normalized_ndim=k, eps=eps)


def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise (N, C, ...) input over each of num_groups groups of C / num_groups channels (and all
    spatial positions), then scale and shift per channel by weight and bias (shape (C,))."""
    op = "group_norm"
    require_float_tensor(x, op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected input of shape (N, C, ...), got shape {x.shape}")
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) or num_groups <= 0 \
            or x.shape[1] % num_groups:
        raise ShapeError(f"{op}: the {x.shape[1]} channels of input shape {x.shape} must divide into "
                         f"num_groups={num_groups!r} groups")
    channels = (x.shape[1],)
    what = f"the input has {x.shape[1]} channels"
    _param(weight, "weight", channels, x, op, what)
    _param(bias, "bias", channels, x, op, what)
    per_group = x.shape[1] // num_groups * int(np.prod(x.shape[2:]))  # given, not -1: N may be 0
    grouped = x.reshape(x.shape[0], num_groups, per_group)  # each group's values on one axis: a layer norm of it
    out = LayerNorm.apply(grouped, None, None, normalized_ndim=1, eps=eps).reshape(x.shape)
    param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(param_shape)
    if bias is not None:
        out = out + bias.reshape(param_shape)
    return out


__all__ += ["group_norm"]
