"""Many LeNet-5s at once: K seeds of the document's recipe in one vmapped step, against the
same K runs one after another, same run.

    python benchmarks/many.py [--seeds 8] [--epochs 1] [--device cpu|cuda]

Both sides are lenetlab's eager trainer on the same data tensors; the sequential side is
`training.train` per seed, the batched side `many.train_seeds`. Prints the training time of
each, models per second, the ratio, and the largest weight difference between the two (they
must be the same K models).
"""

from __future__ import annotations

import argparse
import platform

import torch

from lenetlab.data import load_mnist
from lenetlab.devices import describe
from lenetlab.many import train_seeds
from lenetlab.training import Split, TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=8, help="K, the number of models")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()

    device = torch.device(args.device)
    train_data = Split.from_arrays(*load_mnist("train"), device)
    test_data = Split.from_arrays(*load_mnist("test"), device)
    seeds = list(range(args.seeds))
    print(f"# {args.seeds} LeNet-5s, {args.epochs} epoch(s) each, {describe(device)}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"Python {platform.python_version()}")

    config = TrainConfig(epochs=args.epochs, device=args.device, engine="eager")
    many = train_seeds(config, seeds, train_data, test_data)
    sequential = [train(TrainConfig(epochs=args.epochs, device=args.device, engine="eager",
                                    seed=s), train_data, test_data) for s in seeds]
    seq_seconds = sum(r.train_seconds for r in sequential)
    diff = max((p - many.params[name][k]).abs().max().item()
               for k, r in enumerate(sequential) for name, p in r.model.named_parameters())
    print(f"{'':22} {'train s':>9} {'models/s':>9} {'mean test acc':>14}")
    for name, seconds, accs in (
        ("K runs in a row", seq_seconds, [r.test_accuracy for r in sequential]),
        ("K at once (vmap)", many.train_seconds, many.test_accuracy),
    ):
        print(f"{name:22} {seconds:9.1f} {len(seeds) / seconds:9.3f} "
              f"{100 * sum(accs) / len(accs):13.2f}%")
    print(f"largest weight difference between the two: {diff:.2e}")
    print(f"speed-up (models per second): {seq_seconds / many.train_seconds:.2f}x")


if __name__ == "__main__":
    main()
