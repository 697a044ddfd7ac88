"""Every differentiable op, proven: gradcheck (and gradgradcheck) on each case in tests/cases/.

Cases live next to the ops' areas (tests/cases/<area>.py, each with a `CASES` dict keyed by the
Function class name); this file finds whatever modules exist, and fails if an op has no case.
"""
from __future__ import annotations

import gc
import importlib
import inspect
import pkgutil
import traceback
from typing import Any

import numpy as np
import pytest

import tests.cases as cases_package
from tests.cases import Case
import tinygrad_np as tg
from tinygrad_np.autograd import function
from tinygrad_np.autograd.function import Function
from tinygrad_np.gradcheck import gradcheck, gradgradcheck

# Subpackages whose ops must be covered once they exist (ModuleNotFoundError is fine until then).
_OP_MODULES = ("tinygrad_np", "tinygrad_np.functional", "tinygrad_np.nn")


def _load_cases() -> tuple[dict[str, list[Case]], dict[str, str]]:
    """All CASES merged by op name, and the import error of any case module that failed."""
    merged: dict[str, list[Case]] = {}
    errors: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(cases_package.__path__), key=lambda m: m.name):
        name = f"{cases_package.__name__}.{info.name}"
        try:
            module = importlib.import_module(name)
        except Exception:  # reported by test_case_modules_import, without hiding the other modules
            errors[name] = traceback.format_exc(limit=3)
            continue
        for op, cases in getattr(module, "CASES", {}).items():
            merged.setdefault(op, []).extend(cases)
    return merged, errors


CASES, IMPORT_ERRORS = _load_cases()
PARAMS = [
    pytest.param(case, id=f"{op}-{case.name or i}")
    for op, cases in sorted(CASES.items())
    for i, case in enumerate(cases)
]


def _leaves(case: Case) -> tuple[Any, ...]:
    """Fresh inputs for one run: float64 arrays become leaves that require grad, the rest passes through."""
    return tuple(
        tg.Tensor(np.array(x, copy=True), requires_grad=True)
        if isinstance(x, np.ndarray) and x.dtype == np.float64 else x
        for x in case.inputs
    )


@pytest.mark.parametrize("case", PARAMS)
def test_gradcheck(case: Case) -> None:
    assert gradcheck(case.fn, _leaves(case), **case.kwargs)


@pytest.mark.parametrize("case", [p for p in PARAMS if p.values[0].second_order],
                         ids=[p.id for p in PARAMS if p.values[0].second_order])
def test_gradgradcheck(case: Case) -> None:
    kwargs = {k: v for k, v in case.kwargs.items() if k != "nondet_tol"}
    assert gradgradcheck(case.fn, _leaves(case), **kwargs)


FIRST_CASES = {id(cases[0]) for cases in CASES.values()}


@pytest.mark.parametrize("case", PARAMS)
def test_check_op(case: Case) -> None:
    """Every case through tg.check_op: float32, non-contiguous, stand-in, routed and finite-at-zero
    properties; an op's first case also takes the batch along axis 0 (enlarged for the stand-in
    path, and emptied). Options in a case's `check_op` say what it cannot support, and why."""
    options = dict(case.kwargs, second_order=case.second_order)
    if id(case) not in FIRST_CASES:  # the batch-dependent properties run once per op
        options["batch_axis"] = None
    options.update(case.check_op)
    assert tg.check_op(case.fn, *case.inputs, **options)


def test_case_modules_import() -> None:
    assert not IMPORT_ERRORS, "case modules that failed to import:\n" + "\n".join(
        f"{name}:\n{tb}" for name, tb in IMPORT_ERRORS.items())


def _all_subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def _is_abstract(cls: type) -> bool:
    """Shared helper bases: named with a leading underscore or marked `_abstract = True` themselves."""
    return cls.__name__.startswith("_") or bool(cls.__dict__.get("_abstract", False)) or inspect.isabstract(cls)


def library_ops() -> dict[str, type]:
    """Every concrete Function subclass defined in tinygrad_np, by class name."""
    for name in _OP_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the subpackage exists but something it imports is missing
                raise
    ops: dict[str, type] = {}
    for cls in _all_subclasses(Function):
        if cls.__module__.startswith("tinygrad_np.") and not _is_abstract(cls):
            ops[cls.__name__] = cls
    return ops


def uncovered(ops: dict[str, type], cases: dict[str, list[Case]]) -> list[str]:
    """The ops (with their modules) that have no case."""
    return sorted(f"{name} ({cls.__module__})" for name, cls in ops.items() if not cases.get(name))


def test_every_op_has_a_case() -> None:
    ops = library_ops()
    assert "Add" in ops and "MatMul" in ops  # the enumeration itself works
    missing = uncovered(ops, CASES)
    assert not missing, f"{len(missing)} op(s) have no gradcheck case in tests/cases/: " + ", ".join(missing)


def test_op_enumeration_finds_new_ops_and_skips_helpers() -> None:
    module = {"__module__": "tinygrad_np.ops.not_a_real_module"}
    new_op = type("BrandNewOp", (Function,), dict(module))
    helper = type("_SharedHelper", (Function,), dict(module))
    marked = type("MarkedBase", (Function,), dict(module, _abstract=True))
    child = type("ChildOfMarked", (marked,), dict(module))
    user_op = type("UserOp", (Function,), {"__module__": "someone_elses_project"})
    ops: dict[str, type] = {}
    try:
        ops = library_ops()
        assert ops["BrandNewOp"] is new_op and ops["ChildOfMarked"] is child
        assert not {"_SharedHelper", "MarkedBase", "UserOp", "_Reduction", "Function"} & set(ops)
        assert "Sum" in ops  # a subclass of the helper _Reduction is still an op
        assert "BrandNewOp (tinygrad_np.ops.not_a_real_module)" in uncovered(ops, CASES)
    finally:  # drop the classes so no other test sees them among Function's subclasses
        del new_op, helper, marked, child, user_op, ops
        gc.collect()
    assert "BrandNewOp" not in library_ops()


def test_case_keys_name_real_ops() -> None:
    # a typo in a CASES key would leave the real op unchecked while looking covered
    unknown = sorted(set(CASES) - set(library_ops()))
    assert not unknown, f"CASES keys that are not Function subclasses of tinygrad_np: {unknown}"


def _through_intermediates(case: Case) -> Any:
    """The case's function fed intermediates (each leaf times 1), so every op's inputs are graph
    outputs that a node may hold as stand-ins."""
    def fn(*args: Any) -> Any:
        return case.fn(*(a * 1.0 if isinstance(a, tg.Tensor) and a.requires_grad else a for a in args))
    return fn


@pytest.mark.parametrize("case", PARAMS)
def test_gradcheck_with_every_unread_input_a_stand_in(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(function, "STAND_IN_BYTES", 0)  # no data that backward does not read survives
    fn, kwargs = _through_intermediates(case), {k: v for k, v in case.kwargs.items() if k != "nondet_tol"}
    assert gradcheck(fn, _leaves(case), **case.kwargs)
    if case.second_order:
        assert gradgradcheck(fn, _leaves(case), **kwargs)
