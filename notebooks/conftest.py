"""The environment of the notebooks' kernels when pytest runs them (nbmake): this checkout, one BLAS thread.

nbmake runs each notebook in a fresh Jupyter kernel, a separate process that does not see pytest's
`pythonpath` setting but inherits the environment, so while a notebook runs:

- the repository root goes first on PYTHONPATH, so the kernel imports this checkout, installed or not;
- BLAS gets one thread unless the environment already says otherwise. The notebooks multiply small
  matrices, where more threads gain little, and on a shared machine with busy cores BLAS threads wait
  for each other: on two busy cores all five notebooks took 3 minutes with OpenBLAS's default two
  threads and 41 seconds with one. OMP_NUM_THREADS=1 also keeps tinygrad_np's own kernels on one
  thread, as it does PyTorch's.

The changes last only for the notebook's own test, so other tests and their subprocesses are unaffected.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parent.parent)
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def kernel_environment(environ: dict[str, str]) -> dict[str, str]:
    """The variables to set for a notebook kernel, given the current environment."""
    paths = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != ROOT]
    changes = {"PYTHONPATH": os.pathsep.join([ROOT, *paths])}
    changes.update({var: "1" for var in THREAD_VARS if var not in environ})
    return changes


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    changes = kernel_environment(dict(os.environ))
    saved = {var: os.environ.get(var) for var in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
