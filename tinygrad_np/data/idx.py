"""Read and write the IDX format used by MNIST-style datasets.

Layout (all big-endian): two zero bytes, a type code, the number of dimensions `ndim`,
then `ndim` uint32 sizes, then the data in C order.
"""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from ..fileio import atomic_write

PathLike = str | Path

# IDX type code -> big-endian NumPy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A buffer or file is not a valid IDX file (bad magic, unknown type, truncated, ...)."""


def parse_idx(data: bytes | bytearray | memoryview, name: str = "<buffer>") -> np.ndarray:
    """Parse an uncompressed IDX buffer into an array without copying (native byte order for 1-byte types).

    The result shares memory with `data`: writable if `data` is a bytearray, read-only for bytes.
    """
    buf = memoryview(data).cast("B")
    if len(buf) < 4:
        raise IDXError(f"{name}: truncated IDX file: {len(buf)} bytes, the header needs at least 4")
    if bytes(buf[:2]) == _GZIP_MAGIC:
        raise IDXError(f"{name}: this is a gzip file; decompress it first (or use read_idx, which does)")
    if buf[0] != 0 or buf[1] != 0:
        raise IDXError(f"{name}: bad magic {bytes(buf[:4]).hex()}: an IDX file starts with 00 00")
    code, ndim = buf[2], buf[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IDXError(f"{name}: unknown IDX type code 0x{code:02X} (known: {known})")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise IDXError(f"{name}: truncated IDX header: {len(buf)} bytes, {ndim} dimensions need {header}")
    shape = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(buf) - header
    if got < expected:
        raise IDXError(f"{name}: truncated IDX data: shape {shape} of {dtype.name} needs {expected} bytes "
                       f"after the header, found {got}")
    if got > expected:
        raise IDXError(f"{name}: {got - expected} unexpected trailing bytes after the IDX data of shape {shape}")
    arr = np.frombuffer(buf, dtype=dtype, count=expected // dtype.itemsize, offset=header).reshape(shape)
    if dtype.itemsize == 1:
        return arr.view(dtype.newbyteorder("="))
    return arr.astype(dtype.newbyteorder("="))  # multi-byte types: convert to native order


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a writable NumPy array."""
    p = Path(path)
    with open(p, "rb") as f:
        data = bytearray(f.read())
    if bytes(data[:2]) == _GZIP_MAGIC:
        try:
            data = bytearray(gzip.decompress(data))
        except (OSError, EOFError) as e:
            raise IDXError(f"{p}: corrupt gzip data: {e}") from e
    return parse_idx(data, name=str(p))


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise an array to IDX bytes (uint8, int8, int16, int32, float32, float64)."""
    a = np.asarray(array)
    code = _CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise IDXError(f"IDX cannot store dtype {a.dtype}; supported: "
                       + ", ".join(dt.newbyteorder('=').name for dt in IDX_DTYPES.values()))
    if a.ndim > 255 or any(s > 0xFFFFFFFF for s in a.shape):
        raise IDXError(f"shape {a.shape} does not fit the IDX header")
    header = struct.pack(f">BBBB{a.ndim}I", 0, 0, code, a.ndim, *a.shape)
    return header + np.ascontiguousarray(a, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write an array as an uncompressed IDX file, atomically (gzip-compressed if `path` ends in .gz)."""
    data = idx_bytes(array)
    if str(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with atomic_write(path) as f:
        f.write(data)
