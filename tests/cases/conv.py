"""Gradient-check cases for convolution: conv2d, conv_transpose2d, the weight gradient, unfold/fold.

Convolutions are bilinear, so any values work; the sweep covers strides, paddings (also asymmetric
'same'), dilations, groups (depthwise too), non-square kernels and odd sizes, and which inputs
need a gradient (a constant input is the first layer's case, a constant weight a frozen layer's).
"""
from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_np as tg
from tinygrad_np.ops.conv import conv2d, conv2d_weight, conv_transpose2d
from tinygrad_np.ops.im2col import fold, unfold
from tests.cases import FLOAT64_CONSTANT, Case

_rng = np.random.default_rng(20240611)


def randn(*shape: int) -> np.ndarray:
    return np.asarray(_rng.standard_normal(shape))


def _tag(**kw: Any) -> str:
    return ",".join(f"{k}={v}" for k, v in kw.items()).replace(" ", "")


def _conv(x_shape: tuple[int, ...], w_shape: tuple[int, ...], bias: bool = True, **kw: Any) -> Case:
    def fn(x, w, b=None):
        return conv2d(x, w, b, **kw)
    inputs = (randn(*x_shape), randn(*w_shape)) + ((randn(w_shape[0]),) if bias else ())
    return Case(fn, inputs, name=f"x{x_shape}-w{w_shape}-{_tag(bias=bias, **kw)}")


def _conv_t(x_shape: tuple[int, ...], w_shape: tuple[int, ...], bias: bool = True, **kw: Any) -> Case:
    def fn(x, w, b=None):
        return conv_transpose2d(x, w, b, **kw)
    c_out = w_shape[1] * kw.get("groups", 1)
    inputs = (randn(*x_shape), randn(*w_shape)) + ((randn(c_out),) if bias else ())
    return Case(fn, inputs, name=f"x{x_shape}-w{w_shape}-{_tag(bias=bias, **kw)}")


def _constant_input(x_shape: tuple[int, ...], w_shape: tuple[int, ...], **kw: Any) -> Case:
    x = tg.Tensor(randn(*x_shape))  # like a batch of images: no gradient wanted

    def fn(w, b):
        return conv2d(x, w, b, **kw)
    return Case(fn, (randn(*w_shape), randn(w_shape[0])), name=f"constant-input-{_tag(**kw)}",
                check_op=FLOAT64_CONSTANT)


def _constant_weight(x_shape: tuple[int, ...], w_shape: tuple[int, ...], **kw: Any) -> Case:
    w = tg.Tensor(randn(*w_shape))  # a frozen layer

    def fn(x):
        return conv2d(x, w, **kw)
    return Case(fn, (randn(*x_shape),), name=f"constant-weight-{_tag(**kw)}",
                check_op=FLOAT64_CONSTANT)


def _weight_grad(x_shape: tuple[int, ...], w_shape: tuple[int, ...], g_shape: tuple[int, ...], **kw: Any) -> Case:
    def fn(x, g):
        return conv2d_weight(x, w_shape, g, **kw)
    return Case(fn, (randn(*x_shape), randn(*g_shape)), name=f"x{x_shape}-w{w_shape}-{_tag(**kw)}")


def _unfold(x_shape: tuple[int, ...], kernel: Any, **kw: Any) -> Case:
    def fn(x):
        return unfold(x, kernel, **kw)
    return Case(fn, (randn(*x_shape),), name=f"x{x_shape}-{_tag(kernel=kernel, **kw)}")


def _fold(cols_shape: tuple[int, ...], size: Any, kernel: Any, **kw: Any) -> Case:
    def fn(cols):
        return fold(cols, size, kernel, **kw)
    return Case(fn, (randn(*cols_shape),), name=f"cols{cols_shape}-{_tag(size=size, kernel=kernel, **kw)}")


CASES: dict[str, list[Case]] = {}

CASES["Conv2d"] = [
    _conv((2, 3, 5, 6), (4, 3, 3, 3), padding=1),
    _conv((1, 2, 7, 6), (3, 2, 3, 2), stride=2),
    _conv((2, 2, 6, 7), (2, 2, 2, 3), stride=(1, 3), padding=(2, 1), dilation=(2, 1)),
    _conv((1, 4, 6, 6), (6, 2, 3, 3), stride=1, padding=1, dilation=2, groups=2),
    _conv((2, 3, 5, 5), (3, 1, 3, 3), padding=1, groups=3),  # depthwise
    _conv((1, 2, 5, 4), (4, 1, 2, 2), stride=3, padding=2, groups=2, bias=False),
    _conv((2, 3, 4, 5), (2, 3, 1, 1)),  # 1x1: no im2col copy
    _conv((2, 4, 5, 4), (3, 4, 3, 3), padding=1),  # C*KH*KW >= 32: the one-GEMM layout
    _conv((1, 8, 5, 5), (4, 4, 3, 3), stride=2, padding=1, groups=2),  # one GEMM per group
    _conv((1, 4, 6, 7), (3, 4, 3, 4), stride=(2, 1), padding=(1, 2), dilation=(1, 2)),  # one GEMM, dilated
    _conv((1, 1, 6, 5), (2, 1, 5, 4), padding=1),  # the kernel nearly as large as the padded input
    _conv((1, 2, 5, 6), (3, 2, 2, 3), padding="same", dilation=(2, 1)),  # asymmetric padding
    _constant_input((2, 2, 6, 5), (3, 2, 3, 3), padding=1),
    _constant_input((2, 4, 5, 5), (2, 4, 3, 3), padding=1),
    _constant_weight((1, 3, 5, 6), (2, 3, 3, 2), stride=2, padding=1),
    # 3x3, stride 1, 4 or more input channels: Winograd F(2x2,3x3), tiles past the odd edges
    _conv((2, 4, 5, 7), (3, 4, 3, 3), padding=1),
    _conv((1, 5, 6, 5), (2, 5, 3, 3), padding=(2, 0), bias=False),
    _constant_input((2, 4, 4, 5), (3, 4, 3, 3), padding=2),
]

CASES["ConvTranspose2d"] = [
    _conv_t((2, 3, 3, 4), (3, 2, 3, 3), padding=1),
    _conv_t((1, 2, 3, 3), (2, 3, 3, 2), stride=2, padding=1, output_padding=1),
    _conv_t((1, 4, 3, 2), (4, 1, 2, 3), stride=(2, 3), groups=2, dilation=(1, 2)),
    _conv_t((2, 2, 4, 3), (2, 2, 3, 3), stride=1, dilation=2, output_padding=1, padding=2, bias=False),
    _conv_t((1, 3, 2, 3), (3, 1, 2, 2), stride=3, output_padding=(2, 1), groups=3),
    _conv_t((2, 3, 4, 5), (3, 4, 3, 3), padding=1),  # Winograd F(2x2,3x3)
    _conv_t((1, 2, 5, 3), (2, 4, 3, 3), padding=2),  # Winograd, a padding that crops
]

CASES["Conv2dWeightGrad"] = [
    _weight_grad((2, 3, 5, 5), (4, 3, 3, 3), (2, 4, 5, 5), padding=1),
    _weight_grad((1, 4, 6, 7), (4, 2, 2, 3), (1, 4, 3, 2), stride=2, dilation=(1, 2), groups=2),
    _weight_grad((2, 4, 4, 5), (2, 4, 3, 3), (2, 2, 2, 3), padding=(0, 1), stride=(1, 2)),
    _weight_grad((1, 6, 5, 6), (4, 3, 3, 4), (1, 4, 5, 5), padding=1, groups=2),  # one GEMM per group
    _weight_grad((2, 4, 5, 6), (3, 4, 3, 3), (2, 3, 5, 6), padding=1),  # Winograd F(2x2,3x3)
    _weight_grad((1, 4, 6, 5), (2, 4, 3, 3), (1, 2, 4, 3)),  # Winograd, no padding
]

CASES["Im2Col"] = [
    _unfold((2, 2, 5, 6), (2, 3), padding=1, stride=2, dilation=(1, 2)),
    _unfold((1, 3, 4, 4), 3, padding=1),
    _unfold((1, 2, 3, 5), 1),
]

CASES["Col2Im"] = [
    _fold((2, 12, 6), (5, 6), (2, 3), padding=1, stride=2, dilation=(1, 2)),
    _fold((1, 18, 16), (4, 4), 3, padding=1),
]
