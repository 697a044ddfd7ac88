"""`Optimizer`: parameter groups, per-parameter state, `step`/`zero_grad` and state dicts, as PyTorch.

A subclass writes only `_update(param, grad, state, group)`: one parameter's update on NumPy
arrays, in place. The base class loops over the groups under no_grad, skips parameters without a
gradient, checks shapes, negates the gradient for groups with `maximize=True` (every optimizer
has the option, as in PyTorch), and bumps each updated parameter's version counter.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ..errors import ShapeError
from ..nn.utils import zero_grads
from ..tensor import Tensor

__all__ = ["Optimizer", "ParamsT"]

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Mapping[str, Tensor]


def _as_list(params: Any, op: str) -> list[Any]:
    """A list of Tensors or of group dicts from any accepted `params` argument."""
    if isinstance(params, Tensor):
        raise TypeError(f"{op}: params must be an iterable of Tensors (e.g. model.parameters()) or of "
                        f"parameter-group dicts, got a single Tensor of shape {params.shape}; wrap it in a list.")
    if isinstance(params, Mapping):
        values = list(params.values())
        if not all(isinstance(v, Tensor) for v in values):
            raise TypeError(f"{op}: a dict of params must map names to Tensors (its values are used, in order); "
                            f"for parameter groups pass a list of dicts: [{{'params': [...], 'lr': 0.1}}, ...]")
        return values
    try:
        return list(params)
    except TypeError:
        raise TypeError(f"{op}: params must be an iterable of Tensors or of parameter-group dicts, "
                        f"got {type(params).__name__}") from None


class Optimizer:
    """Base class: `param_groups` (a list of dicts holding "params" and hyper-parameters) and
    `state` (a dict per parameter, filled lazily by `_update`)."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        items = _as_list(params, type(self).__name__)
        if not items:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = items if isinstance(items[0], dict) else [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    # -- groups ------------------------------------------------------------------------------------
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones take the defaults)."""
        op = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{op}: a parameter group must be a dict with a 'params' entry, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"{op}: parameter group has no 'params' entry (keys: {sorted(group)})")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else _as_list(params, op)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{op}: can only optimize Tensors, but parameter {i} of group "
                                f"{len(self.param_groups)} is a {type(p).__name__}")
            if p.dtype.kind != "f":
                raise TypeError(f"{op}: can only optimize floating-point Tensors, but parameter {i} of group "
                                f"{len(self.param_groups)} has dtype {p.dtype} (shape {p.shape})")
            if not p.is_leaf:
                raise ValueError(f"{op}: can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}); "
                                 f"optimize the leaves it was computed from, or detach() it first")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{op}: parameter group {len(self.param_groups)} contains the same Tensor more than once")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing.intersection(ids):
            raise ValueError(f"{op}: some parameters appear in more than one parameter group")
        new_group = {k: v for k, v in group.items() if k != "params"}
        new_group["params"] = params
        for key, default in self.defaults.items():
            new_group.setdefault(key, default)
        self.param_groups.append(new_group)

    # -- the training-loop API -----------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: to None (default) or to a fresh array of zeros."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; returns `closure()`'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if grad.shape != p.shape:
                        raise ShapeError(f"{type(self).__name__}.step: a parameter of shape {p.shape} has a "
                                         f"gradient of shape {grad.shape}")
                    if group.get("maximize", False):
                        grad = -grad  # ascend: the same rule on the negated gradient
                    self._update(p.data, grad, self.state[p], group)
                    p._version += 1
        self._opt_called = True  # lets a scheduler warn when it is stepped first
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update one parameter array in place from its gradient (never modified), its state and its group."""
        raise NotImplementedError

    # -- state dicts -----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{"state": {param index: {name: value}}, "param_groups": [hyper-parameters + "params": indices]},
        as PyTorch; arrays are copies, so later steps do not change it."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index and s:
                state[index[id(p)]] = {k: v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v)
                                       for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore state and hyper-parameters saved by `state_dict` (arrays are copied, cast to each
        parameter's float dtype); the groups must hold the same numbers of parameters."""
        op = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{op}: expected a dict with 'state' and 'param_groups' entries (from state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{op}: the state dict has {len(saved_groups)} parameter group(s), "
                             f"the optimizer has {len(self.param_groups)}")
        saved_sizes = [len(g["params"]) for g in saved_groups]
        own_sizes = [len(g["params"]) for g in self.param_groups]
        if saved_sizes != own_sizes:
            raise ValueError(f"{op}: parameter group sizes differ: the state dict has {saved_sizes}, "
                             f"the optimizer has {own_sizes}")
        by_index: dict[int, Tensor] = {}
        for saved, group in zip(saved_groups, self.param_groups):
            for i, p in zip(saved["params"], group["params"]):
                by_index[int(i)] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        problems = []
        for key, values in state_dict["state"].items():
            if int(key) not in by_index:
                problems.append(f"  state for parameter index {key}, which no parameter group lists")
                continue
            p = by_index[int(key)]
            entry = {}
            for name, value in values.items():
                if isinstance(value, Tensor):
                    value = value.data
                if isinstance(value, np.ndarray):
                    if value.ndim and value.shape != p.shape:
                        problems.append(f"  state[{key}][{name!r}]: expected shape {p.shape}, found {value.shape}")
                        continue
                    dtype = p.dtype if value.dtype.kind == "f" else value.dtype
                    value = np.array(value, dtype=dtype, copy=True)
                else:
                    value = copy.deepcopy(value)
                entry[name] = value
            new_state[p] = entry
        if problems:
            raise ShapeError(f"{op}: the state does not fit the parameters (nothing was loaded):\n" + "\n".join(problems))
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) and isinstance(group.get(k), tuple) else copy.deepcopy(v)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in group if k != "params"):
                lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


def check_hyper(op: str, **checks: tuple[bool, Any]) -> None:
    """Raise ValueError naming the first hyper-parameter whose condition is False."""
    for name, (ok, value) in checks.items():
        if not ok:
            raise ValueError(f"{op}: invalid {name}: {value!r}")


def lerp_(avg: np.ndarray, target: np.ndarray, weight: float) -> np.ndarray:
    """avg += weight * (target - avg), in place: a running average, rounded as PyTorch's `lerp_`
    (which computes target - (target - avg) * (1 - weight) when weight >= 0.5)."""
    if abs(weight) < 0.5:
        diff = target - avg
        diff *= weight
        avg += diff
    else:
        diff = target - avg
        diff *= 1 - weight
        np.subtract(target, diff, out=avg)
    return avg
