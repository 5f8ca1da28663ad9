"""`lenetlab filters` (SPEC P1 and P3 on image files) and `lenetlab check` (SPEC P4)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lenetlab.cli.common import (
    add_command,
    add_data_dir,
    add_device,
    add_seed,
    positive_int,
    print_table,
    progress_factory,
)
from lenetlab.commutation import PROOF
from lenetlab.data import load_mnist
from lenetlab.data.idx import atomic_write_bytes
from lenetlab.errors import ImageError, LenetlabError
from lenetlab.experiments import commutation, filters
from lenetlab.experiments.filters import WORKED_PIXEL, FiltersConfig
from lenetlab.images import find_images, read_rgb
from lenetlab.sections.commutation import HEADER, verdict_row
from lenetlab.sections.filters import panel, sample_photo

log = logging.getLogger("lenetlab.cli")


def register(sub) -> None:
    parser = add_command(
        sub, "filters", run_filters, "grayscale, finite differences and edge maps of images",
        "For each image (any format Pillow reads; folders are expanded) writes to OUT:\n"
        "  NAME_gray.png        BT.601 grayscale (a 1×1 convolution)\n"
        "  NAME_vertical.png    X[i+1, j] − X[i, j] (a 2×2 convolution), grey = 128 + d/2\n"
        "  NAME_horizontal.png  X[i, j+1] − X[i, j], grey = 128 + d/2\n"
        "  NAME_magnitude.png   √(vertical² + horizontal²), clipped at 255\n"
        "  NAME_panel.png       the four side by side, with titles\n"
        "and prints how exactly the layers match numpy.diff and Pillow's convert(\"L\").",
    )
    parser.add_argument("images", nargs="*", type=Path, metavar="IMAGE",
                        help="image files or folders of them")
    parser.add_argument("--sample", action="store_true",
                        help="add matplotlib's sample photo (grace_hopper.jpg)")
    parser.add_argument("--out", type=Path, default=Path("filters"), help="output folder")
    add_device(parser)

    check = add_command(
        sub, "check", run_check, "does σ(pool(X)) = pool(σ(X))? verdicts with counterexamples",
        "Compares both sides for max-pooling with monotone and non-monotone activations and "
        "for average pooling, on random pooling geometries and inputs (after a seeded search "
        "for the smallest counterexample) and on MNIST test digits.\nExit code 0 when every "
        "case the theory says holds held and every case it says fails was refuted.",
    )
    check.add_argument("--trials", type=positive_int, default=commutation.CheckConfig.trials,
                       help="random (geometry, X) draws per case")
    check.add_argument("--mnist-images", type=positive_int, default=16, metavar="N",
                       help="MNIST test digits to check on")
    add_seed(check, "the counterexample search and the random inputs")
    add_device(check)
    add_data_dir(check)


def inputs(args: argparse.Namespace) -> list[Path]:
    """The image files to process; two that would write the same PNG names are an error."""
    paths = find_images(args.images) + ([sample_photo()] if args.sample else [])
    if not paths:
        raise LenetlabError("no images given: name IMAGE files or folders, or use --sample")
    stems = [p.stem for p in paths]
    if clash := sorted({s for s in stems if stems.count(s) > 1}):
        raise LenetlabError(f"several inputs are called {clash[0]!r}; their PNGs would collide")
    return paths


def process(path: Path, out: Path, config: FiltersConfig) -> list[object]:
    """Write one image's PNGs; its row of the summary table."""
    rgb = read_rgb(path)  # [3, H, W]
    if min(rgb.shape[1:]) < 2:
        raise ImageError(f"{path}: {rgb.shape[2]}×{rgb.shape[1]} pixels, differences need 2×2")
    maps = filters.run(rgb, config)
    checks = filters.check_photo(rgb, config)
    pngs = maps.pngs() | {"panel": panel(maps, path.name)}
    for name, data in pngs.items():
        atomic_write_bytes(out / f"{path.stem}_{name}.png", data)
    return [path.name, f"{rgb.shape[2]}×{rgb.shape[1]}", len(pngs),
            f"{checks.diff_max_error:g}", checks.pillow_max_error]


def run_filters(args: argparse.Namespace) -> int:
    paths = inputs(args)
    config = FiltersConfig(device=args.device)
    make_bar = progress_factory(args) if len(paths) > 1 else None
    bar = make_bar(len(paths), "images") if make_bar else None
    rows, errors = [], []
    for path in paths:
        try:
            rows.append(process(path, args.out, config))
        except ImageError as exc:
            errors.append(exc)
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    if rows:
        print_table(["image", "size", "PNGs", "max |conv − numpy.diff|",
                     "max |ours − Pillow L|"], rows, right={2, 3, 4})
        print(f"BT.601 of the document's pixel {WORKED_PIXEL}: "
              f"{filters.worked_example():.1f}; wrote {args.out}")
    if len(errors) == 1:
        raise errors[0]
    if errors:
        for exc in errors:
            log.warning("%s", exc)
        raise ImageError(f"{len(errors)} of {len(paths)} images could not be read (listed above)")
    return 0


def run_check(args: argparse.Namespace) -> int:
    config = commutation.CheckConfig(seed=args.seed, trials=args.trials, device=args.device)
    images = load_mnist("test", args.data_dir)[0][: args.mnist_images]
    result = commutation.run(config, images)
    print_table(HEADER, [verdict_row(v) for v in result.verdicts], right={5, 6})
    print(f"\nProof. {PROOF}")
    if not result.ok:
        print("Some verdicts contradict the theory (marked UNEXPECTED).")
        return 1
    print("Every verdict agrees with the theory.")
    return 0
