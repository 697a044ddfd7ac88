"""Adam (L2 weight decay added to the gradient, or decoupled), AdamW (decoupled), PyTorch's rules."""
from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamsT, check_hyper, lerp_

__all__ = ["Adam", "AdamW"]


def check_adam_hyper(op: str, lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    """The checks every Adam-family optimizer makes (lr, eps, weight decay >= 0, betas in [0, 1))."""
    check_hyper(op, lr=(lr >= 0, lr), eps=(eps >= 0, eps), weight_decay=(weight_decay >= 0, weight_decay))
    check_hyper(op, **{"beta parameter at index 0": (0 <= betas[0] < 1, betas[0]),
                        "beta parameter at index 1": (0 <= betas[1] < 1, betas[1])})


def decay_weights(p: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
    """Weight decay of the Adam family: shrink p in place by lr * weight_decay when decoupled (AdamW),
    else add the L2 penalty's gradient; returns the gradient to use."""
    wd = group["weight_decay"]
    if wd == 0:
        return grad
    if group["decoupled_weight_decay"]:
        p *= 1 - group["lr"] * wd
        return grad
    return grad + wd * p


def update_moments(p: np.ndarray, grad: np.ndarray, state: dict[str, Any], betas: tuple[float, float]) -> None:
    """m = lerp(m, g, 1 - b1) and v = b2*v + (1-b2)*g^2, in place (the zeros they start from are made here)."""
    if "exp_avg" not in state:
        state["exp_avg"] = np.zeros_like(p)
        state["exp_avg_sq"] = np.zeros_like(p)
    beta1, beta2 = betas
    lerp_(state["exp_avg"], grad, 1 - beta1)
    v = state["exp_avg_sq"]
    v *= beta2
    v += (1 - beta2) * (grad * grad)


class Adam(Optimizer):
    """m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2 (g includes weight_decay * p unless the decay is
    decoupled), then p -= lr / (1 - b1^t) * m / (sqrt(v_hat) / sqrt(1 - b2^t) + eps), with
    v_hat = v, or its running maximum with amsgrad."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        check_adam_hyper(type(self).__name__, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        state["step"] = t = state.get("step", 0) + 1
        grad = decay_weights(p, grad, group)
        update_moments(p, grad, state, group["betas"])
        v_hat = state["exp_avg_sq"]
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros_like(p)
            v_hat = np.maximum(state["max_exp_avg_sq"], v_hat, out=state["max_exp_avg_sq"])
        denom = np.sqrt(v_hat)
        denom /= (1 - beta2 ** t) ** 0.5
        denom += eps
        p -= (lr / (1 - beta1 ** t)) * (state["exp_avg"] / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
