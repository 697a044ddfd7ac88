"""A restricted unpickler that can rebuild plain NumPy arrays and nothing else.

Ordinary `pickle.load` runs any callable a file names, so an untrusted pickle can execute
code. This loader resolves only the few globals a pickled ndarray needs and refuses the rest.
"""
from __future__ import annotations

import importlib
import io
import pickle
from typing import IO, Any, Callable

import numpy as np

__all__ = ["RestrictedUnpickler", "safe_load", "safe_loads", "ALLOWED_GLOBALS"]


def _numpy_private(submodule: str, name: str) -> Callable[..., Any]:
    """A private NumPy helper that pickles refer to (numpy.core was renamed numpy._core in 2.0)."""
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"this NumPy has no {submodule}.{name}")  # pragma: no cover


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """Array constructor that admits only the base ndarray type (no subclasses) and no object dtype."""
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing to reconstruct array subtype {subtype!r}")
    if isinstance(dtype, bytes):
        dtype = dtype.decode("latin1")
    if isinstance(dtype, str):
        _check_dtype(np.dtype(dtype))  # the placeholder dtype; the real one arrives with the state
    else:
        _check_dtype(dtype)
    return _numpy_private("multiarray", "_reconstruct")(subtype, shape, dtype)


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
    """Array constructor of protocol-5 pickles (ndarray.__reduce_ex__(5)), limited to numeric dtypes."""
    if not isinstance(buf, (bytes, bytearray, pickle.PickleBuffer)):
        raise pickle.UnpicklingError(f"refusing array buffer of type {type(buf).__name__}")
    _check_dtype(dtype)
    return _numpy_private("numeric", "_frombuffer")(buf, dtype, shape, order)


def _latin1_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """The `_codecs.encode(str, "latin1")` call protocol 0-2 pickles use to carry raw bytes; nothing else."""
    if not isinstance(text, str) or encoding.replace("-", "").replace("_", "").lower() != "latin1":
        raise pickle.UnpicklingError("refusing _codecs.encode other than str -> latin1 bytes")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    """`bytes()`, which protocol 0-2 pickles use for the (empty) data of a zero-size array."""
    if args:
        raise pickle.UnpicklingError("refusing bytes(...) with arguments")
    return b""


def _dtype(spec: Any, align: bool = False, copy: bool = False) -> np.dtype:
    """np.dtype that refuses object-holding dtypes, which could smuggle arbitrary Python objects."""
    if not isinstance(spec, str):
        raise pickle.UnpicklingError(f"refusing dtype built from {type(spec).__name__}; expected a type string")
    dt = np.dtype(spec, align=align, copy=copy)
    _check_dtype(dt)
    return dt


def _check_dtype(dt: Any) -> None:
    if not isinstance(dt, np.dtype):
        raise pickle.UnpicklingError(f"expected a numpy dtype, got {type(dt).__name__}")
    if dt.hasobject:
        raise pickle.UnpicklingError("refusing an object dtype array: it could hold arbitrary Python objects")


# (module, name) as written in the pickle -> the object it resolves to. The classic
# mnist.pkl.gz needs exactly the first three names (_reconstruct, ndarray, dtype); the rest let
# numeric arrays pickled by Python 3 with protocol 0-2 (raw bytes via _codecs.encode) or
# protocol 5 (_frombuffer) load too; bytes() is the data of an empty array under protocol 0-2.
# Array scalars (multiarray.scalar) are not admitted.
ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _latin1_encode,
    ("builtins", "bytes"): _empty_bytes,
    ("__builtin__", "bytes"): _empty_bytes,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler whose find_class admits only ALLOWED_GLOBALS; anything else raises UnpicklingError."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED_GLOBALS)
            raise pickle.UnpicklingError(
                f"refusing to load global '{module}.{name}': this loader only rebuilds NumPy arrays "
                f"(allowed: {allowed})") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(f"refusing persistent id {pid!r}")


def _check_result(obj: Any) -> None:
    """Reject anything but containers of numeric arrays and plain scalars in the loaded result."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            if type(item) is not np.ndarray or item.dtype.hasobject:
                raise pickle.UnpicklingError(f"refusing loaded array of type {type(item).__name__}, "
                                             f"dtype {item.dtype}")
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif item is None or isinstance(item, (bool, int, float, complex, str, bytes)):
            pass
        else:
            raise pickle.UnpicklingError(f"refusing loaded object of type {type(item).__name__}")


def safe_load(file: IO[bytes], encoding: str = "latin1") -> Any:
    """Load a pickle of NumPy arrays from a binary file; latin1 decodes Python 2 pickles' array bytes."""
    obj = RestrictedUnpickler(file, encoding=encoding).load()
    _check_result(obj)
    return obj


def safe_loads(data: bytes | bytearray | memoryview, encoding: str = "latin1") -> Any:
    """Load a pickle of NumPy arrays from an in-memory buffer (see safe_load)."""
    return safe_load(io.BytesIO(data), encoding=encoding)
