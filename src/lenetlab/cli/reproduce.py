"""`lenetlab reproduce`: every part of the document, one report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lenetlab.cli.common import add_command, add_data_dir, add_device, add_seed, progress_factory
from lenetlab.reproduce import PARTS, Context, reproduce


def register(sub) -> None:
    parser = add_command(
        sub, "reproduce", run, "run every part of the document and write the report",
        "Runs the parts in order and writes OUT/report.html (one self-contained page), "
        "OUT/results.json (every number, with versions, device, seeds and timings) and "
        "OUT/figures/*.png.\nParts: " + ", ".join(k.upper() for k, _, _ in PARTS) + ".",
    )
    parser.add_argument("--out", type=Path, default=Path("out"), help="report folder")
    parser.add_argument("--quick", action="store_true",
                        help="subsets and fewer epochs: a labelled preview in a few minutes")
    parser.add_argument("--only", nargs="+", choices=[k for k, _, _ in PARTS], default=(),
                        metavar="PART", help="run only these parts")
    add_seed(parser)
    add_device(parser)
    add_data_dir(parser)


def run(args: argparse.Namespace) -> int:
    ctx = Context(out=args.out, device_name=args.device, quick=args.quick, seed=args.seed,
                  data_dir=args.data_dir, progress=progress_factory(args),
                  log=lambda msg: print(msg, file=sys.stderr, flush=True))
    path, sections = reproduce(ctx, tuple(args.only))
    for s in sections:
        for c in s.comparisons:
            print(f"{s.key.upper():4} {c.quantity:45} document {c.document:>12}   "
                  f"lenetlab {c.ours:>10}")
    print(f"report: {path}")
    return 0
