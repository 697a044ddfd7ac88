"""ConvTranspose2d: the layer form of F.conv_transpose2d, with PyTorch's weight layout and init."""
from __future__ import annotations

from collections.abc import Sequence

from .. import functional as F
from ..errors import ShapeError
from ..ops.windows import IntPair, pair
from ..tensor import Tensor
from .layers import _check_input, _default_init, _positive, _register_weight_and_bias
from .module import Module

__all__ = ["ConvTranspose2d"]


class ConvTranspose2d(Module):
    """Transposed 2-d convolution (the gradient of Conv2d w.r.t. its input) over (N, C, H, W); weight
    has shape (in_channels, out_channels // groups, kh, kw)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: IntPair = 0, output_padding: IntPair = 0, groups: int = 1, bias: bool = True,
                 dilation: IntPair = 1) -> None:
        super().__init__()
        op = "ConvTranspose2d"
        self.in_channels = _positive(in_channels, "in_channels", op)
        self.out_channels = _positive(out_channels, "out_channels", op)
        self.groups = _positive(groups, "groups", op)
        if in_channels % groups or out_channels % groups:
            raise ShapeError(f"{op}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                             f"be divisible by groups ({groups})")
        self.kernel_size = pair(kernel_size, "kernel_size", op)
        self.stride = pair(stride, "stride", op)
        self.padding = pair(padding, "padding", op)
        self.output_padding = pair(output_padding, "output_padding", op)
        self.dilation = pair(dilation, "dilation", op)
        _register_weight_and_bias(self, (in_channels, out_channels // groups, *self.kernel_size),
                                  out_channels if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with PyTorch's default initialisation (fan_in from weight.shape[1])."""
        _default_init(self.weight, self.bias)

    def _output_padding(self, x: Tensor, output_size: Sequence[int] | None) -> tuple[int, int]:
        """The output_padding that makes the output (H, W) = output_size's last two entries."""
        if output_size is None:
            return self.output_padding
        size = tuple(int(n) for n in tuple(output_size)[-2:])
        smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(x.shape[2:], self.stride, self.padding, self.dilation, self.kernel_size)]
        extra = tuple(want - low for want, low in zip(size, smallest))
        if len(size) != 2 or any(e < 0 or e >= max(s, d) for e, s, d in zip(extra, self.stride, self.dilation)):
            raise ShapeError(f"ConvTranspose2d: output_size {tuple(output_size)} is not reachable from input shape "
                             f"{x.shape}: each size must be from {tuple(smallest)} to "
                             f"{tuple(low + max(s, d) - 1 for low, s, d in zip(smallest, self.stride, self.dilation))}")
        return extra[0], extra[1]

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        _check_input(x, "ConvTranspose2d")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"ConvTranspose2d: expected input of shape (N, {self.in_channels}, H, W) "
                             f"(in_channels={self.in_channels}), got shape {x.shape}")
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                                  output_padding=self._output_padding(x, output_size), groups=self.groups,
                                  dilation=self.dilation)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
