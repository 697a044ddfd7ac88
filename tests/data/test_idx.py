"""IDX parsing and writing on generated files."""
import gzip
import struct

import numpy as np
import pytest

from tinygrad_np.data.idx import IDXError, idx_bytes, parse_idx, read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 2), (2, 1, 3, 2), (0, 28, 28)])
def test_round_trip(tmp_path, dtype, shape):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / "a.idx"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == shape
    np.testing.assert_array_equal(a, b)


def test_header_layout_matches_mnist_convention():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = idx_bytes(a)
    assert data[:4] == bytes([0, 0, 0x08, 3])
    assert struct.unpack(">3I", data[4:16]) == (2, 3, 4)
    assert data[16:] == a.tobytes()
    labels = idx_bytes(np.array([5, 0, 4], dtype=np.uint8))
    assert labels == bytes([0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4])


def test_multibyte_values_are_big_endian():
    data = idx_bytes(np.array([1, 256], dtype=np.int32))
    assert data[8:] == b"\x00\x00\x00\x01\x00\x00\x01\x00"
    out = parse_idx(data)
    assert out.dtype == np.int32 and out.dtype.isnative
    assert out.tolist() == [1, 256]


def test_parse_bytearray_is_zero_copy_and_writable():
    buf = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    arr = parse_idx(buf)
    assert arr.flags.writeable
    arr[0, 0] = 7
    assert buf[-4] == 7  # shares memory with the buffer


def test_read_gzip_and_write_gzip(tmp_path):
    a = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), a)
    write_idx(tmp_path / "b.idx.gz", a)
    assert (tmp_path / "b.idx.gz").read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(tmp_path / "b.idx.gz"), a)


def test_bad_magic():
    data = bytearray(idx_bytes(np.zeros(3, np.uint8)))
    data[0] = 0x12
    with pytest.raises(IDXError, match="bad magic"):
        parse_idx(data, name="x.idx")


def test_gzip_bytes_given_to_parse():
    with pytest.raises(IDXError, match="gzip"):
        parse_idx(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))


def test_unknown_type_code():
    data = bytearray(idx_bytes(np.zeros(3, np.uint8)))
    data[2] = 0x07
    with pytest.raises(IDXError, match="unknown IDX type code 0x07"):
        parse_idx(data)


@pytest.mark.parametrize("cut", [0, 2, 3])
def test_too_short_for_magic(cut):
    with pytest.raises(IDXError, match="truncated"):
        parse_idx(idx_bytes(np.zeros((2, 2), np.uint8))[:cut])


def test_truncated_header():
    data = idx_bytes(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(IDXError, match="truncated IDX header"):
        parse_idx(data[:10])


def test_truncated_data(tmp_path):
    data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(data[:-5])
    with pytest.raises(IDXError, match=r"truncated IDX data.*7840 bytes.*found 7835") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_trailing_bytes():
    with pytest.raises(IDXError, match="trailing"):
        parse_idx(idx_bytes(np.zeros(4, np.uint8)) + b"\x00")


def test_corrupt_gzip_file(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(1000, np.uint8)))[:-12])
    with pytest.raises(IDXError, match="corrupt gzip"):
        read_idx(path)


def test_unsupported_dtype():
    with pytest.raises(IDXError, match="cannot store dtype"):
        idx_bytes(np.zeros(3, np.int64))


def test_idx_error_is_value_error():
    assert issubclass(IDXError, ValueError)
