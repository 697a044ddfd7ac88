"""keep_freed_memory: the allocator setting that the first large kernel turns on by default."""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.kernels import memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _faults_of_reallocation(n: int = 1 << 24) -> int:
    """Page faults taken while filling a fresh 64 MiB array right after freeing one of that size."""
    np.ones(n, dtype=np.float32)  # allocated, touched and freed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    np.ones(n, dtype=np.float32)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
def test_freed_memory_is_reused_without_page_faults() -> None:
    try:
        assert tg.keep_freed_memory(False) is True
        released = _faults_of_reallocation()
        assert tg.keep_freed_memory() is True
        kept = _faults_of_reallocation()
    finally:
        tg.keep_freed_memory(False)
    assert released > 0 and kept < released / 4, (released, kept)


def test_keep_freed_memory_off_glibc_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert tg.keep_freed_memory() is False


ROOT = Path(__file__).resolve().parents[2]

# In a fresh process: whether freeing a 64 MiB array keeps its memory in the process (resident), after
# import and after the first large kernel.
FIRST_KERNEL = """
import json, os
import numpy as np
import tinygrad_np as tg

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def keeps_freed():
    before = resident()
    a = np.ones(1 << 24, dtype=np.float32)
    del a
    return resident() - before > (1 << 25)

{setup}
seen = {"import": keeps_freed()}
tg.Tensor(np.ones((64, 8192), np.float32)).relu()  # large enough to split over threads
seen["large"] = keeps_freed()
print(json.dumps(seen))
"""


def _kept_around_first_kernel(setup: str = "", **env: str) -> dict[str, bool]:
    environ = {k: v for k, v in os.environ.items() if k != memory.KEEP_FREED_MEMORY_ENV}
    environ.update(env, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", FIRST_KERNEL.replace("{setup}", setup)], env=environ,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
def test_the_first_large_kernel_keeps_freed_memory_by_default() -> None:
    assert _kept_around_first_kernel() == {"import": False, "large": True}  # importing changes nothing


@pytest.mark.skipif(not GLIBC, reason="mallopt exists only in glibc")
@pytest.mark.parametrize("setup, env", [("", {memory.KEEP_FREED_MEMORY_ENV: "0"}),
                                        ("tg.keep_freed_memory(False)", {})])
def test_the_default_can_be_turned_off(setup: str, env: dict[str, str]) -> None:
    assert _kept_around_first_kernel(setup, **env) == {"import": False, "large": False}
