"""Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), PyTorch's rules."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, check_hyper

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2 (g includes weight_decay * p), then
    p -= lr / (1 - b1^t) * m / (sqrt(v_hat) / sqrt(1 - b2^t) + eps), v_hat = v (or its running max, amsgrad)."""

    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False) -> None:
        who = type(self).__name__
        check_hyper(who, lr=(lr >= 0, lr), eps=(eps >= 0, eps), weight_decay=(weight_decay >= 0, weight_decay))
        check_hyper(who, **{"beta parameter at index 0": (0 <= betas[0] < 1, betas[0]),
                            "beta parameter at index 1": (0 <= betas[1] < 1, betas[1])})
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if self._decoupled:
            p *= 1 - lr * wd  # AdamW: shrink the weights directly
        elif wd != 0:
            grad = grad + wd * p  # Adam: L2 penalty in the gradient
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * (grad * grad)
        if group["amsgrad"]:
            v_hat = state["max_exp_avg_sq"]
            np.maximum(v_hat, v, out=v_hat)
        else:
            v_hat = v
        denom = np.sqrt(v_hat)
        denom /= math.sqrt(1 - beta2 ** t)
        denom += eps
        p -= (lr / (1 - beta1 ** t)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
