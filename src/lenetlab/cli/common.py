"""Flags and output helpers that several sub-commands share."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lenetlab.data.idx import atomic_write_bytes
from lenetlab.devices import DEVICES


class Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each flag's default and keeps the description's line breaks.

    A default of None or False means "not given": the help text says what happens then."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def add_command(sub: Any, name: str, func: Any, help: str, description: str = "") -> Any:
    parser = sub.add_parser(name, help=help, description=description or help,
                            formatter_class=Formatter)
    parser.set_defaults(func=func)
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=None, metavar="DIR",
        help="folder holding (or to receive) the four MNIST IDX files; default "
        "$LENETLAB_DATA or ~/.cache/lenetlab/mnist",
    )


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where to compute; 'auto' takes CUDA when present")


def add_seed(parser: argparse.ArgumentParser,
             what: str = "initial weights and data order") -> None:
    parser.add_argument("--seed", type=int, default=0, help=f"seed for {what}")


def progress_factory(args: argparse.Namespace):
    """tqdm bars on stderr, or None when --quiet."""
    if getattr(args, "quiet", False):
        return None
    return lambda total, desc: tqdm(total=total, desc=desc, unit="step", leave=False,
                                    file=sys.stderr, dynamic_ncols=True)


def print_table(header: list[str], rows: list[list[Any]], right: set[int] = frozenset()) -> None:
    """A plain-text table; columns in `right` are right-aligned (numbers)."""
    cells = [list(map(str, header))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def write_json(path: str | os.PathLike, payload: Any) -> None:
    atomic_write_bytes(Path(path), json.dumps(payload, indent=2, default=str).encode())
