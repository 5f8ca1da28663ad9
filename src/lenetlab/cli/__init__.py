"""The `lenetlab` command: parsing and printing only; the work is in the library.

Each sub-command lives in a module of this package with a `register(subparsers)` function.
Errors that are the user's to fix (bad flag, bad file, no data, diverged run) print one line
and exit non-zero; only a bug in lenetlab shows a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from lenetlab import __version__
from lenetlab.cli import data, filters, losses, models, reproduce, training
from lenetlab.errors import LenetlabError

COMMANDS = (reproduce, data, models, training, filters, losses)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lenetlab",
        description="The classic foundations of convolutional networks and LeNet-5 with its "
        "sparse C3 table: every result of the document, reproduced and explained.",
        epilog="Run 'lenetlab COMMAND --help' for the flags of each command.",
    )
    parser.add_argument("--version", action="version", version=f"lenetlab {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s", stream=sys.stderr)
    try:
        return args.func(args) or 0
    except LenetlabError as exc:
        print(f"lenetlab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lenetlab: interrupted", file=sys.stderr)
        return 130
