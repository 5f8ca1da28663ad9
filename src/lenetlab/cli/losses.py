"""`lenetlab compare-losses` (P5) and `lenetlab backprop` (P6)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lenetlab.cli.common import (
    add_command,
    add_data_dir,
    add_device,
    add_seed,
    positive_float,
    positive_int,
    print_table,
    progress_factory,
    write_json,
)
from lenetlab.data import digit_pair, load_mnist
from lenetlab.data.idx import atomic_write_bytes
from lenetlab.errors import LenetlabError
from lenetlab.experiments import backprop, losses
from lenetlab.experiments.backprop import BackpropConfig, EpochRecord
from lenetlab.experiments.losses import LossConfig
from lenetlab.reproduce import versions
from lenetlab.sections import backprop as backprop_section
from lenetlab.sections import losses as losses_section

LOSS_DEFAULTS = LossConfig()
BACKPROP_DEFAULTS = BackpropConfig()


def register(sub) -> None:
    cl = add_command(
        sub, "compare-losses", run_compare,
        "cross-entropy against the squared-probability loss over many seeds (P5)",
        "Train z = wᵀx (784 weights, no bias) on two MNIST digits with both losses, for many "
        "seeds at once, by the document's recipe (SGD lr 0.0255, batch 64, 3 epochs). Each "
        "seed has its own initial weights and batch order, shared by both losses.\nPrints mean, "
        "spread and 95% intervals of test accuracy and loss, and the paired difference; "
        "writes OUT/losses.json (every seed) and the figures OUT/p5_*.png.",
    )
    cl.add_argument("--seeds", type=positive_int, default=LOSS_DEFAULTS.seeds,
                    help="number of seeds, starting at --seed")
    cl.add_argument("--digits", type=int, nargs=2, default=list(LOSS_DEFAULTS.digits),
                    metavar=("NEG", "POS"), help="the digit labelled −1 and the one labelled +1")
    cl.add_argument("--epochs", type=positive_int, default=LOSS_DEFAULTS.epochs)
    cl.add_argument("--batch-size", type=positive_int, default=LOSS_DEFAULTS.batch_size)
    cl.add_argument("--lr", type=positive_float, default=LOSS_DEFAULTS.lr, help="SGD step size")
    cl.add_argument("--out", type=Path, default=Path("runs/losses"),
                    help="folder for losses.json and the figures")
    add_seed(cl)
    add_device(cl)
    add_data_dir(cl)

    bp = add_command(
        sub, "backprop", run_backprop, "an MLP trained by backpropagation written in NumPy (P6)",
        "Checks the hand-written gradients against torch.autograd and central differences on "
        "random float64 networks, then trains a 784-…-10 MLP on MNIST with them (NumPy only, "
        "float32, mini-batch SGD on softmax cross-entropy).",
    )
    bp.add_argument("--hidden", type=positive_int, nargs="+",
                    default=list(BACKPROP_DEFAULTS.hidden), metavar="N",
                    help="hidden layer widths")
    bp.add_argument("--activation", choices=list(backprop.ACTIVATIONS),
                    default=BACKPROP_DEFAULTS.activation)
    bp.add_argument("--epochs", type=positive_int, default=BACKPROP_DEFAULTS.epochs)
    bp.add_argument("--batch-size", type=positive_int, default=BACKPROP_DEFAULTS.batch_size)
    bp.add_argument("--lr", type=positive_float, default=BACKPROP_DEFAULTS.lr,
                    help="SGD step size")
    bp.add_argument("--train-limit", type=positive_int, default=None, metavar="N",
                    help="train on the first N training images only")
    bp.add_argument("--out", type=Path, default=None,
                    help="also write OUT/backprop.json with the history and the checks")
    add_seed(bp)
    add_data_dir(bp)


def run_compare(args: argparse.Namespace) -> int:
    negative, positive = args.digits
    if negative == positive or not {negative, positive} <= set(range(10)):
        raise LenetlabError(f"--digits needs two different digits 0-9, got {negative} "
                            f"{positive}")
    config = LossConfig(digits=(negative, positive), seeds=args.seeds, first_seed=args.seed,
                        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        device=args.device)
    train = digit_pair(negative, positive, "train", args.data_dir)
    test = digit_pair(negative, positive, "test", args.data_dir)
    print(f"{config.seeds} seeds × {len(config.losses)} losses, digits {negative} (−1) vs "
          f"{positive} (+1): {len(train[1]):,} training and {len(test[1]):,} test images")
    result = losses.run(config, train, test, progress=progress_factory(args))
    print_table(losses_section.SUMMARY_HEADER, losses_section.summary_rows(result))
    command = f"lenetlab compare-losses --seeds {config.seeds}"
    section = losses_section.section(result, command)
    for fig in section.figures:
        atomic_write_bytes(args.out / f"{fig.name}.png", fig.png)
    write_json(args.out / "losses.json", result.metrics() | {"versions": versions()})
    print(f"trained {config.seeds} seeds × {len(config.losses)} losses in "
          f"{result.train_seconds:.1f} s on {result.device} ({result.seconds:.1f} s with "
          f"testing); wrote {args.out / 'losses.json'} and {len(section.figures)} figures")
    return 0


EPOCH_LINE = "{:>5}  {:>10}  {:>9}  {:>9}  {:>8}  {:>7}"


def print_epoch(r: EpochRecord) -> None:
    print(EPOCH_LINE.format(r.epoch, f"{r.train_loss:.4f}", f"{100 * r.train_accuracy:.2f}%",
                            f"{r.test_loss:.4f}", f"{100 * r.test_accuracy:.2f}%",
                            f"{r.seconds:.1f}"), flush=True)


def run_backprop(args: argparse.Namespace) -> int:
    config = BackpropConfig(hidden=tuple(args.hidden), activation=args.activation,
                            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            seed=args.seed, train_limit=args.train_limit)
    sizes = "-".join(map(str, [784, *config.hidden, 10]))
    print(f"training a {sizes} {config.activation} MLP with NumPy backpropagation, seed "
          f"{config.seed}")
    print(EPOCH_LINE.format("epoch", "train loss", "train acc", "test loss", "test acc",
                            "seconds"))
    result = backprop.run(config, load_mnist("train", args.data_dir),
                          load_mnist("test", args.data_dir), progress=progress_factory(args),
                          on_epoch=print_epoch)
    print("\ngradient checks (float64, relative error):")
    print_table(backprop_section.CHECK_HEADER, backprop_section.check_rows(result.checks),
                right={2, 3, 4})
    if args.out is not None:
        write_json(args.out / "backprop.json", result.metrics() | {"versions": versions()})
    print(f"test accuracy {100 * result.test_accuracy:.2f}% after {config.epochs} epochs, "
          f"{result.train_seconds:.1f} s of training")
    return 0
