"""atomic_write, hashing and the cross-process file lock."""
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tinygrad_np.fileio import atomic_write, file_lock, lock_path_for, sha256_bytes, sha256_file

REPO = Path(__file__).resolve().parents[2]


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_creates_and_replaces(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_write(target) as f:
        f.write(b"first")
    assert target.read_bytes() == b"first"
    with atomic_write(target) as f:
        f.write(b"second")
    assert target.read_bytes() == b"second"
    assert _leftovers(tmp_path) == []


def test_atomic_write_text_mode(tmp_path):
    target = tmp_path / "note.txt"
    with atomic_write(target, "w") as f:
        f.write("héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"


def test_atomic_write_exception_keeps_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "model.ckpt"
    target.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target) as f:
            f.write(b"partial new contents")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old contents"
    assert _leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt"]


def test_atomic_write_exception_without_previous_file(tmp_path):
    target = tmp_path / "new.bin"
    with pytest.raises(KeyError):
        with atomic_write(target) as f:
            f.write(b"x")
            raise KeyError("nope")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_file_permissions_follow_umask(tmp_path):
    target = tmp_path / "perm.bin"
    with atomic_write(target) as f:
        f.write(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_rejects_non_write_modes(tmp_path):
    for mode in ("rb", "ab", "r+b", "xb"):
        with pytest.raises(ValueError):
            with atomic_write(tmp_path / "f", mode):
                pass


def test_sha256_helpers_agree_with_hashlib(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)  # spans several read chunks
    path = tmp_path / "blob"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_bytes(data) == expected
    assert sha256_file(path) == expected
    assert sha256_bytes(b"") == hashlib.sha256(b"").hexdigest()


def test_lock_path_for(tmp_path):
    assert lock_path_for(tmp_path) == tmp_path / ".lock"
    assert lock_path_for(tmp_path / "ckpt.npz") == tmp_path / "ckpt.npz.lock"


def test_file_lock_excludes_another_process(tmp_path):
    """While this process holds the lock, another process cannot take it (non-blocking attempt fails)."""
    script = textwrap.dedent("""
        import sys
        from tinygrad_np.fileio import file_lock
        try:
            with file_lock(sys.argv[1], timeout=0.2):
                print("acquired")
        except TimeoutError:
            print("timeout")
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = lambda: subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env,
                                 capture_output=True, text=True, timeout=120).stdout.strip()
    with file_lock(tmp_path):
        assert run() == "timeout"
    assert run() == "acquired"
