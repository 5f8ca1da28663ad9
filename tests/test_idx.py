"""The IDX reader and writer: round trips, and a clear error for every kind of damage."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lenetlab.data.idx import atomic_write_bytes, encode_idx, parse_idx, read_idx, write_idx
from lenetlab.errors import DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@given(
    st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6))
    )
)
def test_round_trip_preserves_values_dtype_and_shape(array):
    back = parse_idx(encode_idx(array))
    assert back.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(back, array)


def test_header_is_big_endian_as_in_the_mnist_files():
    raw = encode_idx(np.zeros((2, 3, 4), np.uint8))
    assert raw[:4] == bytes([0, 0, 0x08, 3])
    assert struct.unpack(">3I", raw[4:16]) == (2, 3, 4)
    assert len(raw) == 16 + 24


def test_file_round_trip_plain_and_gzipped(tmp_path):
    a = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / "x-idx3-ubyte", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte"), a)
    (tmp_path / "x.gz").write_bytes(gzip.compress(encode_idx(a)))
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), a)


GOOD = encode_idx(np.ones((2, 3, 3), np.uint8))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x01" + GOOD[1:], "bad magic"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "bad magic"),
        (b"\x00\x00\x08\x00", "zero dimensions"),
        (GOOD[:10], "truncated header"),
        (GOOD[:-1], "truncated"),
        (GOOD + b"\x00", "trailing bytes"),
    ],
)
def test_malformed_bytes_are_refused_with_the_reason(raw, message):
    with pytest.raises(DataError, match=message):
        parse_idx(raw, "some-file")


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(GOOD[:-5])
    with pytest.raises(DataError, match="train-images-idx3-ubyte: truncated"):
        read_idx(path)
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "missing")
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="bad.gz: cannot read"):
        read_idx(tmp_path / "bad.gz")


def test_encode_refuses_what_idx_cannot_store():
    with pytest.raises(ValueError, match="dtype"):
        encode_idx(np.zeros(3, np.uint64))
    with pytest.raises(ValueError, match="dimensions"):
        encode_idx(np.float32(1.0))


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "f"
    atomic_write_bytes(path, b"old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new data")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]  # no temporary left behind
