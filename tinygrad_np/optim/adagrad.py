"""Adagrad with learning-rate decay (PyTorch's rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, check_hyper

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """s += g^2 (g includes weight_decay * p, s starts at initial_accumulator_value), then
    p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps) at step t."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *, maximize: bool = False) -> None:
        check_hyper("Adagrad", lr=(lr >= 0, lr), lr_decay=(lr_decay >= 0, lr_decay), eps=(eps >= 0, eps),
                    weight_decay=(weight_decay >= 0, weight_decay),
                    initial_accumulator_value=(initial_accumulator_value >= 0, initial_accumulator_value))
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize))

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, lr_decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        g = grad + wd * p if wd != 0 else grad
        clr = lr / (1 + (state["step"] - 1) * lr_decay)
        s = state["sum"]
        s += g * g
        std = np.sqrt(s)
        std += eps
        p -= clr * (g / std)
