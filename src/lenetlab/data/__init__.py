"""MNIST: the IDX format, verified sources, and loading into arrays."""

from lenetlab.data.idx import parse_idx, read_idx, write_idx
from lenetlab.data.mnist import RESOURCES, default_root, digit_pair, fetch, load_mnist, verify

__all__ = [
    "RESOURCES",
    "default_root",
    "digit_pair",
    "fetch",
    "load_mnist",
    "parse_idx",
    "read_idx",
    "verify",
    "write_idx",
]
