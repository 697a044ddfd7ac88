"""tg.save / tg.load: what goes in comes back, exactly; bad files give clear errors."""
from __future__ import annotations

import io
import json
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn
from tinygrad_np.serialization import CheckpointError, load, save


def _tree():
    rng = np.random.default_rng(0)
    return {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "ints": np.arange(6, dtype=np.int64).reshape(2, 3),
        "u8": np.array([0, 255], dtype=np.uint8),
        "bools": np.array([True, False]),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "zero_d": np.array(2.5),
        "fortran": np.asfortranarray(rng.standard_normal((3, 2))),
        "view": rng.standard_normal((4, 4))[::2, 1:],
        "tensor": tg.Tensor(rng.standard_normal(3).astype(np.float32)),
        "leaf": tg.Tensor(rng.standard_normal(2), requires_grad=True, name="w"),
        "param": nn.Parameter(np.ones(2, dtype=np.float32)),
        "frozen": nn.Parameter(np.ones(2, dtype=np.float32), requires_grad=False),
        "np_scalar": np.float32(1.25),
        "np_int": np.int64(-7),
        "none": None,
        "flag": True,
        "off": False,
        "int": 3,
        "big": 2 ** 127 + 12345,
        "neg_big": -(2 ** 90),
        "float": 0.1,
        "inf": float("-inf"),
        "text": "héllo\n\"quoted\"",
        "list": [1, "two", [3.0, None]],
        "tuple": (1, (2, 3), np.arange(2)),
        "ordered": OrderedDict([("z", 1), ("a", 2)]),
        7: "int key",
        2.5: "float key",
        None: "none key",
        "nested": {"deeper": {"deepest": [np.zeros(1)]}},
        "rng": tg.get_rng_state(),
    }


def _assert_same(a, b, where="obj"):
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, tg.Tensor):
        assert a.requires_grad == b.requires_grad and a.name == b.name, where
        _assert_same(a.data, b.data, where)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a == b, where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b, where


def test_round_trip_everything(tmp_path):
    obj = _tree()
    obj["nan"] = float("nan")
    path = tmp_path / "ckpt.npz"
    save(obj, path)
    _assert_same(obj, load(path))
    _assert_same(obj, load(str(path)))


def test_file_is_a_plain_npz_without_pickles(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"a": np.arange(3.0), "b": [np.ones(2)]}, path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["__manifest__", "a0", "a1"]
        manifest = json.loads(archive["__manifest__"].tobytes())
    assert manifest["format"] == "tinygrad_np.checkpoint"
    assert manifest["arrays"]["a0"]["where"] == "obj['a']"
    assert len(manifest["arrays"]["a0"]["sha256"]) == 64


def test_rng_state_round_trip_resumes_the_stream(tmp_path):
    tg.manual_seed(123)
    tg.randn(10)
    save({"rng": tg.get_rng_state()}, tmp_path / "r.npz")
    expected = tg.randn(5).data
    tg.manual_seed(0)
    tg.set_rng_state(load(tmp_path / "r.npz")["rng"])
    np.testing.assert_array_equal(tg.randn(5).data, expected)


def test_loaded_arrays_are_independent_and_writable(tmp_path):
    save({"a": np.arange(3.0)}, tmp_path / "c.npz")
    a = load(tmp_path / "c.npz")["a"]
    a += 1
    np.testing.assert_array_equal(load(tmp_path / "c.npz")["a"], np.arange(3.0))


def test_unsupported_values_are_refused_naming_where(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['model'\]\['x'\].*set"):
        save({"model": {"x": {1, 2}}}, tmp_path / "c.npz")
    with pytest.raises(TypeError, match="Python objects"):
        save({"o": np.array([1, "a"], dtype=object)}, tmp_path / "c.npz")
    with pytest.raises(TypeError, match=r"obj\['net'\] of type Linear \(save its state_dict\(\) instead\)"):
        save({"net": nn.Linear(2, 2)}, tmp_path / "c.npz")
    with pytest.raises(TypeError, match="dict keys"):
        save({(1, 2): 3}, tmp_path / "c.npz")
    assert not os.listdir(tmp_path)  # nothing written, no temporary left behind


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"v": np.arange(4.0)}, path)

    def broken_savez(f, *args, **kwargs):
        f.write(b"PK\x03\x04partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save({"v": np.zeros(4)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["v"], np.arange(4.0))
    assert os.listdir(tmp_path) == ["c.npz"]


# -- damaged and foreign files -------------------------------------------------------------------
def _rewrite(path, change):
    """Rewrite the zip with `change(name, data) -> bytes or None` (None drops the member); CRCs are recomputed."""
    with zipfile.ZipFile(path) as z:
        members = [(n, z.read(n)) for n in z.namelist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            data = change(name, data)
            if data is not None:
                z.writestr(name, data)
    path.write_bytes(buf.getvalue())


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    save({"model": {"fc.weight": np.arange(12.0).reshape(3, 4), "fc.bias": np.ones(3)}, "epoch": 2}, path)
    return path


def test_tampered_array_fails_its_checksum(saved):
    def flip_last_byte(name, data):
        return data[:-1] + bytes([data[-1] ^ 1]) if name == "a1.npy" else data

    _rewrite(saved, flip_last_byte)
    with pytest.raises(CheckpointError) as info:
        load(saved)
    message = str(info.value)
    assert str(saved) in message and "a1" in message and "fc.bias" in message and "checksum" in message


def test_corrupted_bytes_on_disk_are_detected(saved):
    raw = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as z:
        info = z.getinfo("a0.npy")
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size - 3
    raw[offset] ^= 0xFF  # inside a0's data, CRC left stale
    saved.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"a0 \(obj\['model'\]\['fc.weight'\]\)"):
        load(saved)


def test_reshaped_array_is_detected(saved):
    def reshape(name, data):
        if name != "a0.npy":
            return data
        buf = io.BytesIO()
        np.save(buf, np.arange(12.0).reshape(4, 3))
        return buf.getvalue()

    _rewrite(saved, reshape)
    with pytest.raises(CheckpointError, match=r"a0.*shape \(4, 3\).*\(3, 4\)"):
        load(saved)


def test_retyped_array_is_detected(saved):
    def retype(name, data):
        if name != "a1.npy":
            return data
        buf = io.BytesIO()
        np.save(buf, np.ones(3, dtype=np.float32))
        return buf.getvalue()

    _rewrite(saved, retype)
    with pytest.raises(CheckpointError, match=r"a1.*dtype float32"):
        load(saved)


def test_missing_and_extra_members_are_detected(saved, tmp_path):
    _rewrite(saved, lambda name, data: None if name == "a1.npy" else data)
    with pytest.raises(CheckpointError, match=r"missing.*a1 \(obj\['model'\]\['fc.bias'\]\)"):
        load(saved)
    other = tmp_path / "other.npz"
    save({"x": np.ones(2)}, other)
    _rewrite(other, lambda name, data: data)
    with zipfile.ZipFile(other, "a") as z:
        buf = io.BytesIO()
        np.save(buf, np.zeros(1))
        z.writestr("a9.npy", buf.getvalue())
    with pytest.raises(CheckpointError, match="does not list: a9"):
        load(other)


def test_truncated_file(saved):
    raw = saved.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 10, 10):
        saved.write_bytes(raw[:cut])
        with pytest.raises(CheckpointError, match=f"{saved}.*truncated"):
            load(saved)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="not a tinygrad_np checkpoint"):
        load(path)


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.txt is not a tinygrad_np checkpoint"):
        load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(2))
    with pytest.raises(CheckpointError, match="no __manifest__"):
        load(plain)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(CheckpointError, match="no __manifest__"):
        load(other_zip)
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        load(tmp_path / "nothing.npz")


def test_garbage_manifest(saved):
    def garble(name, data):
        if name != "__manifest__.npy":
            return data
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(b"{not json", dtype=np.uint8))
        return buf.getvalue()

    _rewrite(saved, garble)
    with pytest.raises(CheckpointError, match="manifest is corrupted"):
        load(saved)


def test_foreign_manifest(saved):
    def foreign(name, data):
        if name != "__manifest__.npy":
            return data
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(json.dumps({"format": "something else"}).encode(), dtype=np.uint8))
        return buf.getvalue()

    _rewrite(saved, foreign)
    with pytest.raises(CheckpointError, match="not a tinygrad_np.checkpoint manifest"):
        load(saved)


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)
