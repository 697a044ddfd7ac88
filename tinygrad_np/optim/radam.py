"""RAdam: Adam whose adaptive step is switched on gradually, as the variance estimate becomes
reliable (PyTorch's rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .adam import check_adam_hyper, decay_weights, update_moments
from .optimizer import Optimizer, ParamsT

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Adam's moments m, v; rho_inf = 2 / (1 - b2) - 1, rho_t = rho_inf - 2 t b2^t / (1 - b2^t).
    While rho_t <= 5, p -= lr * m / (1 - b1^t) (momentum SGD); after, that step is scaled by
    sqrt(1 - b2^t) / (sqrt(v) + eps) and the rectification r_t =
    sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        check_adam_hyper("RAdam", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        state["step"] = t = state.get("step", 0) + 1
        grad = decay_weights(p, grad, group)
        update_moments(p, grad, state, group["betas"])
        bias_correction2 = 1 - beta2 ** t
        step = state["exp_avg"] / (1 - beta1 ** t)
        step *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2 ** t) / bias_correction2
        if rho_t > 5.0:
            denom = np.sqrt(state["exp_avg_sq"])
            denom += eps
            step *= np.divide(bias_correction2 ** 0.5, denom, out=denom)
            step *= ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        p -= step
