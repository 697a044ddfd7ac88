"""Checkpoints: `save(obj, path)` and `load(path)` for nested containers of arrays, tensors and numbers.

The file is one `.npz` (zip) archive written with `allow_pickle=False`: each array under a
generated key ("a0", "a1", ...) plus `__manifest__`, a JSON document (stored as a uint8 array)
that describes the tree (dicts, lists, tuples, numbers, strings, None) and, for each array, its
place in the tree, shape, dtype and the SHA-256 of its bytes. Nothing is ever unpickled, so loading
an untrusted file cannot run code. The write is atomic: a crash mid-save leaves the old file intact.

    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
             "rng": tg.get_rng_state()}, "ckpt.npz")
    ckpt = tg.load("ckpt.npz")
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from .fileio import atomic_write
from .tensor import Parameter, Tensor

__all__ = ["CheckpointError", "load", "save"]

FORMAT = "tinygrad_np.checkpoint"
VERSION = 1
MANIFEST_KEY = "__manifest__"

PathLike = str | os.PathLike


class CheckpointError(ValueError):
    """A checkpoint file is truncated, tampered with, or not a tinygrad_np checkpoint."""


def _digest(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes in C order (what a loaded copy must reproduce)."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return hashlib.sha256(flat).hexdigest()


def _descr(dtype: np.dtype) -> Any:
    """A JSON-comparable description of a dtype (byte order and size included)."""
    return json.loads(json.dumps(np.lib.format.dtype_to_descr(dtype)))


# -- saving ----------------------------------------------------------------------------------------
class _Writer:
    """Turns an object tree into a JSON node tree, collecting arrays under generated keys."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.table: dict[str, dict[str, Any]] = {}

    def _array(self, array: np.ndarray, where: str) -> str:
        if array.dtype.hasobject:
            raise TypeError(f"save: the array at {where} has dtype {array.dtype}, which holds Python objects "
                            f"and cannot be stored without pickle; convert it to a numeric dtype")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        self.table[key] = {"where": where, "shape": list(array.shape), "dtype": _descr(array.dtype),
                           "sha256": _digest(array)}
        return key

    def node(self, obj: Any, where: str) -> dict[str, Any]:
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, int):
            return {"type": "int", "value": str(obj)}  # a decimal string keeps big ints exact anywhere
        if isinstance(obj, float):
            return {"type": "float", "value": obj.hex()}  # exact, and covers inf and nan
        if isinstance(obj, str):
            return {"type": "str", "value": obj}
        if isinstance(obj, Tensor):
            return {"type": "tensor", "key": self._array(obj.data, where), "requires_grad": bool(obj.requires_grad),
                    "parameter": isinstance(obj, Parameter), "name": obj.name}
        if isinstance(obj, np.ndarray):
            return {"type": "array", "key": self._array(obj, where)}
        if isinstance(obj, np.generic):
            return {"type": "scalar", "key": self._array(np.asarray(obj), where)}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if k is not None and not isinstance(k, (str, int, float, bool)):
                    raise TypeError(f"save: dict keys must be str, int, float, bool or None, but {where} has a "
                                    f"key of type {type(k).__name__}")
                items.append([self.node(k, where), self.node(v, f"{where}[{k!r}]")])
            return {"type": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
        if isinstance(obj, (list, tuple)):
            return {"type": "list" if isinstance(obj, list) else "tuple",
                    "items": [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        hint = " (save its state_dict() instead)" if callable(getattr(obj, "state_dict", None)) else ""
        raise TypeError(f"save: cannot store {where} of type {type(obj).__name__}{hint}; checkpoints hold "
                        f"dicts, lists, tuples, Tensors, NumPy arrays, numbers, strings, bools and None")


def save(obj: Any, path: PathLike) -> None:
    """Write `obj` (nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None) to `path`
    as an .npz checkpoint, atomically: the file at `path` is either the old one or the complete new one."""
    writer = _Writer()
    root = writer.node(obj, "obj")
    manifest = {"format": FORMAT, "version": VERSION, "root": root, "arrays": writer.table}
    payload = json.dumps(manifest, separators=(",", ":")).encode("utf-8")
    members = dict(writer.arrays)
    members[MANIFEST_KEY] = np.frombuffer(payload, dtype=np.uint8)
    with atomic_write(path, "wb") as f:
        np.savez(f, allow_pickle=False, **members)


# -- loading ---------------------------------------------------------------------------------------
def _read_manifest(archive: Any, path: str) -> dict[str, Any]:
    if MANIFEST_KEY not in archive.files:
        raise CheckpointError(f"load: {path} is a zip/npz archive but not a tinygrad_np checkpoint "
                              f"(it has no {MANIFEST_KEY} entry)")
    try:
        raw = archive[MANIFEST_KEY]
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise CheckpointError(f"load: {path}: the manifest is corrupted ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"load: {path}: the manifest is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"load: {path}: checkpoint format version {manifest.get('version')!r} is not "
                              f"supported (this library reads version {VERSION})")
    if not isinstance(manifest.get("arrays"), dict) or "root" not in manifest:
        raise CheckpointError(f"load: {path}: the manifest is incomplete (no array table or root)")
    return manifest


def _read_arrays(archive: Any, table: dict[str, Any], path: str) -> dict[str, np.ndarray]:
    """Every array named by the manifest, each verified for presence, shape, dtype and checksum."""
    stored = set(archive.files) - {MANIFEST_KEY}
    missing = sorted(set(table) - stored)
    if missing:
        where = ", ".join(f"{k} ({table[k].get('where')})" for k in missing)
        raise CheckpointError(f"load: {path}: arrays listed in the manifest are missing from the file: {where}")
    extra = sorted(stored - set(table))
    if extra:
        raise CheckpointError(f"load: {path}: the file holds arrays the manifest does not list: {', '.join(extra)}")
    arrays = {}
    for key, meta in table.items():
        where = meta.get("where", "?")
        try:
            array = archive[key]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise CheckpointError(f"load: {path}: array {key} ({where}) cannot be read: {exc}") from None
        if list(array.shape) != meta.get("shape"):
            raise CheckpointError(f"load: {path}: array {key} ({where}) has shape {array.shape}, the manifest "
                                  f"says {tuple(meta.get('shape') or ())}")
        if _descr(array.dtype) != meta.get("dtype"):
            raise CheckpointError(f"load: {path}: array {key} ({where}) has dtype {array.dtype}, the manifest "
                                  f"says {meta.get('dtype')!r}")
        if _digest(array) != meta.get("sha256"):
            raise CheckpointError(f"load: {path}: array {key} ({where}) failed its SHA-256 checksum: the data "
                                  f"was changed or corrupted after saving")
        arrays[key] = array
    return arrays


def _build(node: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """Rebuild the object tree from a manifest node."""
    try:
        kind = node["type"]
        if kind == "none":
            return None
        if kind == "bool":
            return bool(node["value"])
        if kind == "int":
            return int(node["value"])
        if kind == "float":
            return float.fromhex(node["value"])
        if kind == "str":
            return str(node["value"])
        if kind == "array":
            return arrays[node["key"]]
        if kind == "scalar":
            return arrays[node["key"]][()]
        if kind == "tensor":
            cls = Parameter if node.get("parameter") else Tensor
            t = cls(arrays[node["key"]], requires_grad=bool(node["requires_grad"]))
            t.name = node.get("name")
            return t
        if kind in ("dict", "odict"):
            pairs = [(_build(k, arrays, path), _build(v, arrays, path)) for k, v in node["items"]]
            return OrderedDict(pairs) if kind == "odict" else dict(pairs)
        if kind == "list":
            return [_build(v, arrays, path) for v in node["items"]]
        if kind == "tuple":
            return tuple(_build(v, arrays, path) for v in node["items"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"load: {path}: the manifest's tree is malformed ({type(exc).__name__}: {exc})") from None
    raise CheckpointError(f"load: {path}: the manifest's tree has a node of unknown type {kind!r}")


def load(path: PathLike) -> Any:
    """Read a checkpoint written by `save`, verifying every array's shape, dtype and SHA-256.

    Tensors come back as Tensors (requires_grad kept), arrays as arrays, ints exactly. A truncated,
    tampered or foreign file raises `CheckpointError` naming the path and what is wrong.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"load: {path} is not a tinygrad_np checkpoint: it is not a zip/npz archive "
                              f"(the file may be truncated or of another format)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"load: {path} cannot be opened as a checkpoint: {exc}") from None
    if not hasattr(archive, "files"):
        raise CheckpointError(f"load: {path} is not a tinygrad_np checkpoint (it is a single .npy array)")
    with archive:
        manifest = _read_manifest(archive, path)
        arrays = _read_arrays(archive, manifest["arrays"], path)
    return _build(manifest["root"], arrays, path)
