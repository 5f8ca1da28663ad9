"""`lenetlab params`: the per-layer accounting of SPEC P2."""

from __future__ import annotations

import argparse

from lenetlab.accounting import account
from lenetlab.cli.common import add_command, print_table
from lenetlab.models import MODELS, build_model, input_shape


def register(sub) -> None:
    parser = add_command(
        sub, "params", run, "per-layer shapes, parameters, multiply-adds and connections",
        "For each layer: output shape, weight shape, trainable parameters, multiply-adds and "
        "the 1998 paper's connections (a shared weight counts once per use), for one image.\n"
        "lenet5 (C3 by the table) has 60,806 parameters; lenet5-full 61,706.",
    )
    parser.add_argument("models", nargs="*", default=["lenet5"], choices=list(MODELS),
                        metavar="MODEL", help=f"models to describe: {', '.join(MODELS)}")
    parser.add_argument("--c3", choices=("table", "full"), default=None,
                        help="shorthand: 'full' describes lenet5-full instead of lenet5")


def run(args: argparse.Namespace) -> int:
    names = args.models
    if args.c3 == "full":
        names = ["lenet5-full" if n == "lenet5" else n for n in names]
    for name in names:
        rows = account(build_model(name), input_shape(name))
        print(f"{name} (input {'×'.join(map(str, input_shape(name)))})")

        def fmt(shape):
            return "×".join(map(str, shape)) if shape else "-"

        print_table(
            ["layer", "kind", "output", "weight", "params", "mult-adds", "connections"],
            [[r.name, r.kind, fmt(r.output_shape), fmt(r.weight_shape), f"{r.params:,}",
              f"{r.macs:,}", f"{r.connections:,}"] for r in rows]
            + [["total", "", "", "", f"{sum(r.params for r in rows):,}",
                f"{sum(r.macs for r in rows):,}", f"{sum(r.connections for r in rows):,}"]],
            right={4, 5, 6},
        )
        print()
    return 0
