"""RMSprop with optional momentum and centring (PyTorch's rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, check_hyper, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """s = alpha*s + (1-alpha)*g^2 (g includes weight_decay * p); avg = sqrt(s - a^2) + eps with
    a = alpha*a + (1-alpha)*g when centered, else sqrt(s) + eps; then p -= lr * g / avg, or with
    momentum b = momentum*b + g / avg and p -= lr * b."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        check_hyper("RMSprop", lr=(lr >= 0, lr), eps=(eps >= 0, eps), momentum=(momentum >= 0, momentum),
                    weight_decay=(weight_decay >= 0, weight_decay), alpha=(alpha >= 0, alpha))
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered = group["momentum"], group["centered"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if centered:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        g = grad + wd * p if wd != 0 else grad
        s = state["square_avg"]
        s *= alpha
        s += (1 - alpha) * (g * g)
        if centered:
            a = lerp_(state["grad_avg"], g, 1 - alpha)
            avg = s - a * a
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(s)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            p -= lr * buf
        else:
            p -= lr * (g / avg)
