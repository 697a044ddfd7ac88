"""NAdam: Adam with Nesterov momentum and a warming-up momentum schedule (PyTorch's rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .adam import check_adam_hyper, decay_weights, update_moments
from .optimizer import Optimizer, ParamsT, check_hyper

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam's moments m, v with momentum mu_t = b1 * (1 - 0.5 * 0.96^(t * momentum_decay)) and
    mu_prod = mu_1 * ... * mu_t; then, with d = sqrt(v / (1 - b2^t)) + eps,
    p -= lr * (1 - mu_t) / (1 - mu_prod) * g / d + lr * mu_{t+1} / (1 - mu_prod * mu_{t+1}) * m / d."""

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        check_adam_hyper("NAdam", lr, betas, eps, weight_decay)
        check_hyper("NAdam", momentum_decay=(momentum_decay >= 0, momentum_decay))
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, psi = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
        state["step"] = t = state.get("step", 0) + 1
        grad = decay_weights(p, grad, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] = mu_product = state.get("mu_product", 1.0) * mu
        update_moments(p, grad, state, group["betas"])
        denom = state["exp_avg_sq"] / (1 - beta2 ** t)
        np.sqrt(denom, out=denom)
        denom += eps
        p += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        p += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (state["exp_avg"] / denom)
