"""Intra-op threads: on by default from the first large kernel, splitting is invisible in the results,
and BLAS is held at one thread meanwhile.

Each kernel that splits its batch is run on small inputs with splitting forced (no size threshold)
and compared with the same kernel on one thread: exactly where no arithmetic is regrouped (pooling,
ReLU), to float32 rounding where BLAS blocks a smaller product differently or parts of a sum are
added in another order (convolutions, matrix products).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.functional as F
from tinygrad_np.kernels import threads


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two threads and no size threshold, so every kernel with a batch of 2 or more splits."""
    monkeypatch.setattr(threads, "MIN_PARALLEL_BYTES", 0)
    previous = tg.get_num_threads()
    tg.set_num_threads(2)
    try:
        yield
    finally:
        tg.set_num_threads(previous)


def _results(fn: Callable[[], list[np.ndarray]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """fn() on one thread, then on two (under the `split` fixture), checking that something split."""
    previous, batch_parts = tg.get_num_threads(), threads.batch_parts
    splits = []

    def counting(n: int, nbytes: int) -> list[slice]:
        parts = batch_parts(n, nbytes)
        splits.append(len(parts))
        return parts

    tg.set_num_threads(1)
    serial = fn()
    tg.set_num_threads(2)
    threads.batch_parts = counting
    try:
        threaded = fn()
    finally:
        threads.batch_parts = batch_parts
        tg.set_num_threads(previous)
    assert max(splits) == 2, "no kernel split its work"
    return serial, threaded


def _forward_backward(op: Callable[..., tg.Tensor], *arrays: np.ndarray) -> Callable[[], list[np.ndarray]]:
    """A function computing op's output and the gradients of a weighted sum of it."""
    def run() -> list[np.ndarray]:
        inputs = [tg.Tensor(a, requires_grad=True) for a in arrays]
        out = op(*inputs)
        weights = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        (out * weights).sum().backward()
        return [out.numpy()] + [t.grad.numpy() for t in inputs]
    return run


def _assert_same(serial: list[np.ndarray], threaded: list[np.ndarray], exact: bool) -> None:
    for a, b in zip(serial, threaded, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


RNG = np.random.default_rng(0)


def _rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# -- the switch ------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
THREAD_VARS = (threads.THREADS_ENV, "OMP_NUM_THREADS")

# Run in a fresh process: the state right after import, after a small and after a large kernel.
FIRST_KERNELS = """
import json, threading
from threadpoolctl import threadpool_info
import numpy as np
import tinygrad_np as tg
from tinygrad_np.kernels import memory, threads

def blas():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

def state():
    return {"threads": threads._threads, "get": tg.get_num_threads(), "pool": threads._pool is not None,
            "workers": threads._pool._max_workers if threads._pool is not None else 0,
            "python_threads": threading.active_count(), "blas": blas(), "memory_chosen": memory._chosen}

{setup}
seen = {"import": state()}
tg.Tensor(np.ones(1000, np.float32)).relu()
seen["small"] = state()
tg.Tensor(np.ones((64, 8192), np.float32)).relu()  # 2 MiB: large enough to split
seen["large"] = state()
print(json.dumps(seen))
"""


def _first_kernels(setup: str = "", **env: str) -> dict[str, dict]:
    """The thread state in a fresh process at import and after its first small and large kernel."""
    environ = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    environ.update(env, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", FIRST_KERNELS.replace("{setup}", setup)], env=environ, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def test_default_is_every_usable_core_started_by_the_first_large_kernel() -> None:
    seen = _first_kernels()
    cores = _cores()
    for when in ("import", "small"):  # importing and small kernels start nothing and hold no BLAS threads
        assert seen[when]["threads"] is None and seen[when]["get"] == cores
        assert not seen[when]["pool"] and seen[when]["python_threads"] == 1
        assert seen[when]["blas"] == seen["import"]["blas"] and not seen[when]["memory_chosen"]
    large = seen["large"]
    assert large["threads"] == large["get"] == cores and large["memory_chosen"]
    if cores > 1:
        assert large["workers"] == cores - 1  # the calling thread runs one part
        assert large["blas"] == [1] * len(seen["import"]["blas"])


def test_environment_sets_the_default() -> None:
    seen = _first_kernels(**{threads.THREADS_ENV: "3", "OMP_NUM_THREADS": "2"})
    assert seen["import"]["get"] == 3 and seen["large"]["threads"] == 3 and seen["large"]["workers"] == 2


def test_set_num_threads_overrides_the_environment() -> None:
    seen = _first_kernels("tg.set_num_threads(1)", **{threads.THREADS_ENV: "3"})
    assert seen["large"]["threads"] == 1 and not seen["large"]["pool"]
    assert seen["large"]["blas"] == seen["import"]["blas"] and seen["large"]["memory_chosen"]


@pytest.mark.parametrize("env, expected", [
    ({}, None), ({"OMP_NUM_THREADS": "2"}, 2), ({"OMP_NUM_THREADS": "4,2"}, 4), ({"OMP_NUM_THREADS": ""}, None),
    ({threads.THREADS_ENV: "5"}, 5), ({threads.THREADS_ENV: "5", "OMP_NUM_THREADS": "2"}, 5),
])
def test_default_num_threads_reads_the_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                   expected: int | None) -> None:
    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert threads.default_num_threads() == (expected if expected is not None else _cores())


@pytest.mark.parametrize("var", THREAD_VARS)
@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_thread_count_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    for name in THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(var, value)
    with pytest.raises(ValueError, match=f"{var}: expected an int >= 1, got '{value}'"):
        threads.default_num_threads()


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", None])
def test_set_num_threads_rejects_bad_values(bad: object) -> None:
    previous = tg.get_num_threads()
    with pytest.raises(ValueError, match=r"set_num_threads: expected an int >= 1, got"):
        tg.set_num_threads(bad)  # type: ignore[arg-type]
    assert tg.get_num_threads() == previous


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_blas_is_held_at_one_thread_while_splitting_and_given_back() -> None:
    previous = tg.get_num_threads()
    tg.set_num_threads(1)
    before = _blas_threads()
    try:
        if not before:
            pytest.skip("no BLAS library that threadpoolctl can see is loaded")  # e.g. NumPy built without one
        tg.set_num_threads(2)
        assert tg.get_num_threads() == 2
        assert _blas_threads() == [1] * len(before)
        tg.set_num_threads(3)  # changing the count keeps the hold, and one restore gives it all back
        assert _blas_threads() == [1] * len(before)
        tg.set_num_threads(1)
        assert _blas_threads() == before
    finally:
        tg.set_num_threads(previous)


@pytest.mark.usefixtures("split")
@pytest.mark.parametrize("n, expected", [(1, [(0, 1)]), (2, [(0, 1), (1, 2)]), (5, [(0, 2), (2, 5)])])
def test_batch_parts_cover_the_batch_in_order(n: int, expected: list[tuple[int, int]]) -> None:
    assert [(p.start, p.stop) for p in threads.batch_parts(n, 1)] == expected


def test_small_work_stays_on_one_thread() -> None:
    previous = tg.get_num_threads()
    tg.set_num_threads(2)
    try:
        assert threads.batch_parts(64, threads.MIN_PARALLEL_BYTES - 1) == [slice(0, 64)]
        assert len(threads.batch_parts(64, threads.MIN_PARALLEL_BYTES)) == 2
        tg.set_num_threads(1)
        assert threads.batch_parts(64, 1 << 30) == [slice(0, 64)]
    finally:
        tg.set_num_threads(previous)


@pytest.mark.usefixtures("split")
def test_parts_run_on_two_threads_and_do_not_split_again() -> None:
    import threading

    seen = {}

    def part(rows: slice) -> int:
        seen[rows.start] = threading.get_ident()
        return len(threads.batch_parts(10, 1 << 30))  # a kernel called inside a part stays whole

    assert threads.over_batch(part, 4, 1) == [1, 1]
    assert len(set(seen.values())) == 2 and seen[0] == threading.get_ident()


@pytest.mark.usefixtures("split")
def test_an_error_in_a_part_reaches_the_caller() -> None:
    def part(rows: slice) -> None:
        if rows.start > 0:
            raise ValueError("second part failed")

    with pytest.raises(ValueError, match="second part failed"):
        threads.over_batch(part, 4, 1)


# -- the kernels: the same results on two threads ---------------------------------------------------
CONVS = [  # (input shape, weight shape, keyword arguments): both im2col layouts, strides, groups
    ((3, 2, 7, 6), (4, 2, 3, 3), {"padding": 1}),                     # per-image GEMMs (K = 18)
    ((5, 4, 6, 7), (6, 4, 3, 3), {"padding": 1}),                     # one GEMM (K = 36)
    ((4, 8, 5, 6), (4, 4, 3, 3), {"padding": 1, "groups": 2}),        # one GEMM per group
    ((3, 4, 9, 8), (6, 2, 3, 2), {"stride": 2, "groups": 2}),         # strided input gradient
    ((3, 4, 9, 9), (4, 4, 3, 3), {"stride": 2, "dilation": (1, 2)}),  # one GEMM, strided and dilated
    ((2, 8, 5, 5), (4, 8, 1, 1), {}),                                 # 1x1: the input is its own im2col
    ((3, 6, 8, 8), (6, 1, 3, 3), {"padding": 2, "dilation": 2, "groups": 6}),
]


@pytest.mark.usefixtures("split")
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONVS)
def test_conv2d_matches_one_thread(x_shape: tuple[int, ...], w_shape: tuple[int, ...], kwargs: dict) -> None:
    x, w, b = _rand(*x_shape), _rand(*w_shape), _rand(w_shape[0])
    serial, threaded = _results(_forward_backward(lambda *t: F.conv2d(*t, **kwargs), x, w, b))
    _assert_same(serial, threaded, exact=False)


@pytest.mark.usefixtures("split")
def test_conv2d_input_gradient_in_chunks_within_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    from tinygrad_np.kernels import im2col

    monkeypatch.setattr(im2col, "_CHUNK_BYTES", 1)  # one image per chunk: several chunks in each part
    x, w = _rand(5, 3, 6, 6), _rand(4, 3, 3, 3)
    serial, threaded = _results(_forward_backward(lambda *t: F.conv2d(*t, padding=1), x, w))
    _assert_same(serial, threaded, exact=False)


@pytest.mark.usefixtures("split")
@pytest.mark.parametrize("shape, kwargs", [
    ((3, 2, 8, 6), {"kernel_size": 2}),                             # windows tile the image
    ((5, 3, 7, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),  # overlapping, padded
    ((2, 1, 5, 4), {"kernel_size": (1, 3), "stride": 1}),
])
def test_max_pool2d_matches_one_thread(shape: tuple[int, ...], kwargs: dict) -> None:
    x = _rand(*shape)
    x[0, 0, :2, :2] = 1.0  # ties: the first maximum must win on every thread count
    serial, threaded = _results(_forward_backward(lambda t: F.max_pool2d(t, **kwargs), x))
    _assert_same(serial, threaded, exact=True)


@pytest.mark.usefixtures("split")
@pytest.mark.parametrize("shape", [(5, 3, 4), (2,), (7, 1)])
def test_relu_and_its_gradient_match_one_thread(shape: tuple[int, ...]) -> None:
    serial, threaded = _results(_forward_backward(F.relu, _rand(*shape)))
    _assert_same(serial, threaded, exact=True)


@pytest.mark.usefixtures("split")
def test_relu_of_a_0d_tensor() -> None:
    x = tg.Tensor(np.float32(-1.5), requires_grad=True)
    y = F.relu(x)
    y.backward()
    assert y.item() == 0.0 and x.grad.item() == 0.0


@pytest.mark.usefixtures("split")
@pytest.mark.parametrize("a_shape, b_shape", [((6, 5), (5, 3)), ((2, 5), (5, 9)), ((1, 4), (4, 1)), ((4, 3), (3,))])
def test_matmul_matches_one_thread(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> None:
    serial, threaded = _results(_forward_backward(lambda a, b: a @ b, _rand(*a_shape), _rand(*b_shape)))
    _assert_same(serial, threaded, exact=False)


@pytest.mark.usefixtures("split")
def test_gradients_stay_exact_when_split() -> None:
    x = tg.Tensor(np.random.default_rng(2).standard_normal((3, 2, 6, 6)), requires_grad=True)
    w = tg.Tensor(np.random.default_rng(3).standard_normal((4, 2, 3, 3)), requires_grad=True)
    assert tg.gradcheck(lambda x, w: F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2), (x, w))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
@pytest.mark.usefixtures("split")
def test_a_forked_child_can_still_split() -> None:
    import os
    import signal

    threads.over_batch(lambda rows: None, 4, 1)  # the parent's worker thread exists now
    pid = os.fork()
    if pid == 0:  # the child: without a pool of its own, this would wait forever for a thread it lacks
        signal.alarm(10)  # so a hang ends the child (killed by SIGALRM) and fails the test
        try:
            ok = threads.over_batch(lambda rows: rows.start, 4, 1) == [0, 2]
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
