"""keep_freed_memory: the allocator setting the training command turns on."""
from __future__ import annotations

import platform
import resource

import numpy as np
import pytest

import tinygrad_np as tg

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
