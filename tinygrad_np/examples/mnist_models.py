"""Three MNIST classifiers written as plain functions: a dict of parameter Tensors and `forward`.

No Module is needed: `init_params(model)` returns ``{"conv1.weight": Tensor, ...}`` and
`forward(model, params, x)` maps images of shape (N, 1, 28, 28) to logits of shape (N, 10).

- ``cnn`` (the default): conv(1->32, 3x3, pad 1) - ReLU - maxpool 2 - conv(32->64, 3x3, pad 1) - ReLU
  - maxpool 2 - affine(3136->128) - ReLU - affine(128->10);
- ``simple``: conv(1->30, 5x5) - ReLU - maxpool 2 - affine(4320->100) - ReLU - affine(100->10);
- ``tiny``: conv(1->8, 3x3) - maxpool 2 - affine(1352->10).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np

from .. import functional as F
from ..errors import ShapeError
from ..nn import init
from ..random import get_rng_state, manual_seed, set_rng_state
from ..tensor import Tensor

__all__ = ["IMAGE_SHAPE", "LAYERS", "MODELS", "Layer", "forward", "init_params", "num_params", "param_shapes"]

MODELS = ("cnn", "simple", "tiny")
IMAGE_SHAPE = (1, 28, 28)  # one channel, 28 x 28 pixels


class Layer(NamedTuple):
    """One layer with weights: a 2-D convolution (weight (out, in, k, k)) or an affine map (weight (out, in))."""

    name: str
    weight_shape: tuple[int, ...]

    @property
    def fan_in(self) -> int:
        """Inputs feeding one output unit (in * k * k for a convolution)."""
        return math.prod(self.weight_shape[1:])


LAYERS: dict[str, tuple[Layer, ...]] = {
    "cnn": (
        Layer("conv1", (32, 1, 3, 3)),   # 28x28 (padded) -> 32 x 28 x 28, pooled to 14 x 14
        Layer("conv2", (64, 32, 3, 3)),  # -> 64 x 14 x 14, pooled to 7 x 7
        Layer("fc1", (128, 64 * 7 * 7)),
        Layer("fc2", (10, 128)),
    ),
    "simple": (
        Layer("conv1", (30, 1, 5, 5)),   # 28x28 -> 30 x 24 x 24, pooled to 12 x 12
        Layer("fc1", (100, 30 * 12 * 12)),
        Layer("fc2", (10, 100)),
    ),
    "tiny": (
        Layer("conv1", (8, 1, 3, 3)),    # 28x28 -> 8 x 26 x 26, pooled to 13 x 13
        Layer("fc1", (10, 8 * 13 * 13)),
    ),
}


def _check_model(model: str, op: str) -> tuple[Layer, ...]:
    if model not in LAYERS:
        raise ValueError(f"{op}: unknown model {model!r}; choose one of {', '.join(MODELS)}")
    return LAYERS[model]


def param_shapes(model: str = "cnn") -> dict[str, tuple[int, ...]]:
    """The name and shape of every parameter of `model`, in layer order (weight, then bias)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in _check_model(model, "param_shapes"):
        shapes[f"{layer.name}.weight"] = layer.weight_shape
        shapes[f"{layer.name}.bias"] = layer.weight_shape[:1]
    return shapes


def num_params(params: Mapping[str, Tensor]) -> int:
    """The total number of scalar parameters in a parameter dict."""
    return sum(p.size for p in params.values())


def init_params(model: str = "cnn", seed: int | None = None) -> dict[str, Tensor]:
    """Fresh float32 parameters with PyTorch's default init for conv and linear layers.

    Weights and biases are uniform in +-1/sqrt(fan_in) (kaiming_uniform with a=sqrt(5) for the
    weights). Draws come from the library generator; with `seed`, from a generator seeded with it,
    leaving the library generator's state as it was.
    """
    layers = _check_model(model, "init_params")
    if seed is None:
        return _draw(layers)
    saved = get_rng_state()
    manual_seed(seed)
    try:
        return _draw(layers)
    finally:
        set_rng_state(saved)


def _draw(layers: tuple[Layer, ...]) -> dict[str, Tensor]:
    params: dict[str, Tensor] = {}
    for layer in layers:
        weight = Tensor(np.empty(layer.weight_shape, dtype=np.float32), requires_grad=True,
                        name=f"{layer.name}.weight")
        bias = Tensor(np.empty(layer.weight_shape[:1], dtype=np.float32), requires_grad=True,
                      name=f"{layer.name}.bias")
        bound = 1.0 / math.sqrt(layer.fan_in)
        init.kaiming_uniform_(weight, a=math.sqrt(5))
        init.uniform_(bias, -bound, bound)
        params[weight.name] = weight
        params[bias.name] = bias
    return params


# -- the forward passes ------------------------------------------------------------------------
# Max-pooling and ReLU commute (both are monotone), so each block pools first and applies ReLU
# to a quarter of the values: the same outputs and gradients as conv - ReLU - pool, for less work.
def _cnn(p: Mapping[str, Tensor], x: Tensor) -> Tensor:
    x = F.relu(F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"], padding=1), 2))
    x = F.relu(F.max_pool2d(F.conv2d(x, p["conv2.weight"], p["conv2.bias"], padding=1), 2))
    x = F.relu(F.linear(x.flatten(1), p["fc1.weight"], p["fc1.bias"]))
    return F.linear(x, p["fc2.weight"], p["fc2.bias"])


def _simple(p: Mapping[str, Tensor], x: Tensor) -> Tensor:
    x = F.relu(F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]), 2))
    x = F.relu(F.linear(x.flatten(1), p["fc1.weight"], p["fc1.bias"]))
    return F.linear(x, p["fc2.weight"], p["fc2.bias"])


def _tiny(p: Mapping[str, Tensor], x: Tensor) -> Tensor:
    x = F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]), 2)
    return F.linear(x.flatten(1), p["fc1.weight"], p["fc1.bias"])


_FORWARD: dict[str, Callable[[Mapping[str, Tensor], Tensor], Tensor]] = {
    "cnn": _cnn, "simple": _simple, "tiny": _tiny,
}


def forward(model: str, params: Mapping[str, Tensor], x: Tensor) -> Tensor:
    """Logits (N, 10) of `model` for normalised images `x` of shape (N, 1, 28, 28)."""
    _check_model(model, "forward")
    if not isinstance(x, Tensor):
        raise TypeError(f"forward({model!r}): x must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"forward({model!r}): images must be floating point (normalised), got dtype {x.dtype}")
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        raise ShapeError(f"forward({model!r}): expected images of shape (N, 1, 28, 28), got {x.shape}")
    for name, shape in param_shapes(model).items():
        if name not in params:
            raise KeyError(f"forward({model!r}): parameter {name!r} is missing (have: {', '.join(params)})")
        if params[name].shape != shape:
            raise ShapeError(f"forward({model!r}): parameter {name!r} has shape {params[name].shape}, expected {shape}")
    return _FORWARD[model](params, x)
