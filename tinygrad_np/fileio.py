"""Small file helpers shared by the data cache and checkpoints.

Files are published only through an atomic rename, so a reader never sees a half-written
file, and a crash or an exception leaves whatever was there before untouched.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

try:  # POSIX only; elsewhere file_lock degrades to a no-op
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX platforms
    fcntl = None  # type: ignore[assignment]

PathLike = str | os.PathLike[str]

_CHUNK = 1 << 20


def _fsync_dir(directory: PathLike) -> None:
    """Flush a directory entry to disk so a rename inside it survives a power loss."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside `path` for writing; on success it replaces `path` atomically.

    On an exception the temporary file is removed and any previous `path` is left intact.
    """
    if "w" not in mode or any(c in mode for c in "ra+x"):
        raise ValueError(f"atomic_write supports only write modes ('w' or 'wb'), got {mode!r}")
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex SHA-256 of an in-memory buffer."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks so large files need little memory."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def lock_path_for(path: PathLike) -> Path:
    """The lock file used for `path`: `DIR/.lock` for a directory, else `PATH.lock`."""
    p = Path(path)
    return p / ".lock" if p.is_dir() else p.with_name(p.name + ".lock")


@contextmanager
def file_lock(path: PathLike, timeout: float | None = None) -> Iterator[Path]:
    """Hold an exclusive cross-process lock (fcntl.flock) on the `.lock` file of `path`.

    Blocks until the lock is free, or raises TimeoutError after `timeout` seconds.
    """
    lock = lock_path_for(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - no advisory locks available
        yield lock
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(f"could not lock {lock} within {timeout} s") from None
                    time.sleep(0.05)
        try:
            yield lock
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
