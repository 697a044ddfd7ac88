"""The layers people train with, as Modules over the functional ops, with PyTorch's layouts and init.

Each layer holds its Parameters (and buffers), checks its input's shape with a clear error, and
calls the matching function in `tinygrad_np.functional`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from ..ops.windows import IntPair, check_window_args, pair
from ..tensor import Tensor
from ..torch_names import torch_aliases
from . import init
from .module import Module, Parameter

__all__ = ["AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten", "Linear",
           "MaxPool2d", "ReLU", "Sigmoid", "Tanh"]


def _positive(value: int, name: str, op: str) -> int:
    """A size argument (features, channels, groups) as an int: a TypeError if it is not an int, a
    ShapeError if it is not positive."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ShapeError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


def _check_input(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(x).__name__}")
    return x


def _register_weight_and_bias(module: Module, weight_shape: tuple[int, ...], bias: int | None) -> None:
    """An uninitialised float32 weight of `weight_shape` and a bias of `bias` elements (None: no bias,
    a placeholder), for reset_parameters to fill."""
    module.weight = Parameter(np.empty(weight_shape, dtype=np.float32))
    if bias is not None:
        module.bias = Parameter(np.empty(bias, dtype=np.float32))
    else:
        module.register_parameter("bias", None)


def _default_init(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's Linear/Conv init: kaiming_uniform_(a=sqrt(5)) weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x @ weight.T + bias over the last axis; weight has shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = _positive(in_features, "in_features", "Linear")
        self.out_features = _positive(out_features, "out_features", "Linear")
        _register_weight_and_bias(self, (out_features, in_features), out_features if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with PyTorch's default initialisation."""
        _default_init(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(f"Linear: expected an input whose last axis has {self.in_features} features "
                             f"(in_features), got shape {x.shape}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-d convolution over (N, C, H, W); weight has shape (out_channels, in_channels // groups, kh, kw)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: IntPair = 0, dilation: IntPair = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros") -> None:
        super().__init__()
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.in_channels = _positive(in_channels, "in_channels", "Conv2d")
        self.out_channels = _positive(out_channels, "out_channels", "Conv2d")
        self.groups = _positive(groups, "groups", "Conv2d")
        if in_channels % groups or out_channels % groups:
            raise ShapeError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                             f"be divisible by groups ({groups})")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
            self.padding: tuple[int, int] | str = padding
        else:
            self.padding = pair(padding, "padding", "Conv2d")
        self.dilation = pair(dilation, "dilation", "Conv2d")
        ph, pw = (0, 0) if isinstance(self.padding, str) else self.padding
        check_window_args("Conv2d", self.kernel_size, self.stride, (ph, ph, pw, pw), self.dilation)
        if padding == "same" and self.stride != (1, 1):
            raise ShapeError(f"Conv2d: padding='same' needs stride 1, got stride={self.stride}")
        _register_weight_and_bias(self, (out_channels, in_channels // groups, *self.kernel_size),
                                  out_channels if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with PyTorch's default initialisation."""
        _default_init(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "Conv2d")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"Conv2d: expected input of shape (N, {self.in_channels}, H, W) "
                             f"(in_channels={self.in_channels}), got shape {x.shape}")
        if self.padding_mode != "zeros":  # pad explicitly, then convolve without padding
            x = F.pad(x, self._explicit_padding(), mode=self.padding_mode)
            return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=0, dilation=self.dilation,
                            groups=self.groups)
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                        dilation=self.dilation, groups=self.groups)

    def _explicit_padding(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) for F.pad; 'same' puts the odd extra pixel after, as PyTorch."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            (th, tw) = total
            return (tw // 2, tw - tw // 2, th // 2, th - th // 2)
        ph, pw = self.padding
        return (pw, pw, ph, ph)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"  # a string ('same'/'valid') prints bare, as PyTorch
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"  # unquoted, as PyTorch prints it
        return s


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _Pool2d(Module):
    _fn_name = ""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        op = type(self).__name__
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        k, s, p = (pair(kernel_size, "kernel_size", op), pair(self.stride, "stride", op),
                   pair(padding, "padding", op))
        check_window_args(op, k, s, (p[0], p[0], p[1], p[1]), (1, 1))
        if p[0] > k[0] // 2 or p[1] > k[1] // 2:
            raise ShapeError(f"{op}: padding {padding} must be at most half of kernel_size {kernel_size}")

    def _options(self) -> dict[str, Any]:
        return {"ceil_mode": self.ceil_mode}

    def forward(self, x: Tensor) -> Any:
        op = type(self).__name__
        _check_input(x, op)
        if x.ndim != 4:
            raise ShapeError(f"{op}: expected input of shape (N, C, H, W), got shape {x.shape}")
        return getattr(F, self._fn_name)(x, self.kernel_size, stride=self.stride, padding=self.padding,
                                         **self._options())

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max over each kernel window of (N, C, H, W); stride defaults to kernel_size. With
    return_indices the output comes with the positions of the maxima (for MaxUnpool2d)."""

    _fn_name = "max_pool2d"

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 dilation: IntPair = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        pair(dilation, "dilation", "MaxPool2d")
        self.dilation = dilation
        self.return_indices = return_indices

    def _options(self) -> dict[str, Any]:
        return {"dilation": self.dilation, "ceil_mode": self.ceil_mode, "return_indices": self.return_indices}

    def extra_repr(self) -> str:  # dilation and ceil_mode shown when not the default
        s = super().extra_repr()
        if self.dilation not in (1, (1, 1)) or self.ceil_mode:
            s += f", dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        return s


class AvgPool2d(_Pool2d):
    """Mean over each kernel window of (N, C, H, W); stride defaults to kernel_size; padding counts in
    the mean unless count_include_pad=False."""

    _fn_name = "avg_pool2d"

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def _options(self) -> dict[str, Any]:
        return {"ceil_mode": self.ceil_mode, "count_include_pad": self.count_include_pad,
                "divisor_override": self.divisor_override}


class _BatchNorm(Module):
    _expected = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        op = type(self).__name__
        self.num_features = _positive(num_features, "num_features", op)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=np.float32))
            self.bias = Parameter(np.zeros(num_features, dtype=np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset running statistics, weight to 1 and bias to 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_ndim(self, x: Tensor) -> None:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        op = type(self).__name__
        _check_input(x, op)
        self._check_ndim(x)
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{op}: expected input of shape {self._expected} with C={self.num_features} "
                             f"(num_features), got shape {x.shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1  # a plain counter, no gradient
            self.num_batches_tracked._version += 1
            if self.momentum is None:  # cumulative moving average, as PyTorch
                momentum = 1.0 / float(self.num_batches_tracked.data)
        # batch statistics in training (updating the running ones, if tracked), or whenever there
        # are no running statistics to use
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=use_batch_stats, momentum=momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L), per channel C."""

    _expected = "(N, C) or (N, C, L)"

    def _check_ndim(self, x: Tensor) -> None:
        if x.ndim not in (2, 3):
            raise ShapeError(f"BatchNorm1d: expected a 2-d (N, C) or 3-d (N, C, L) input, got shape {x.shape}")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W), per channel C."""

    _expected = "(N, C, H, W)"

    def _check_ndim(self, x: Tensor) -> None:
        if x.ndim != 4:
            raise ShapeError(f"BatchNorm2d: expected a 4-d (N, C, H, W) input, got shape {x.shape}")


class Dropout(Module):
    """Zero each element with probability p in training and scale the rest by 1/(1-p); identity in eval."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(_check_input(x, "Dropout"), p=self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return _check_input(x, "ReLU").relu()


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return _check_input(x, "Sigmoid").sigmoid()


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return _check_input(x, "Tanh").tanh()


class Flatten(Module):
    """Merge axes start_axis..end_axis (PyTorch's start_dim..end_dim) into one (by default everything
    but the batch axis)."""

    @torch_aliases
    def __init__(self, start_axis: int = 1, end_axis: int = -1) -> None:
        super().__init__()
        self.start_axis = start_axis
        self.end_axis = end_axis

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "Flatten")
        ndim = max(x.ndim, 1)
        start = self.start_axis + ndim if self.start_axis < 0 else self.start_axis
        end = self.end_axis + ndim if self.end_axis < 0 else self.end_axis
        if not (0 <= start < ndim and 0 <= end < ndim) or start > end:
            raise ShapeError(f"Flatten: start_axis={self.start_axis}, end_axis={self.end_axis} do not fit an "
                             f"input of shape {x.shape}")
        if x.ndim == 0:
            return x.reshape(1)
        return x.reshape(*x.shape[:start], math.prod(x.shape[start:end + 1]), *x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"
