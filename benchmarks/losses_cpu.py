"""P5 on the CPU: the document's loss experiment for ONE seed against `lenetlab compare-losses`
for 200 seeds, in the same run.

    python benchmarks/losses_cpu.py [--seeds 200] [--doc-seed 0]

Both train both losses by the same recipe (MNIST 4 vs 9, SGD lr 0.0255, batch 64, 3 epochs).
The document's side is `document_losses.py` (per-sample Dataset, DataLoader, Python loop over
each batch's samples); ours is the whole `lenetlab compare-losses` command run in-process: data,
training, testing, statistics, figures and JSON. The machine's load average is printed before
and after, because the 2-core CPU here is shared and timings move with it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from lenetlab.cli import main
from lenetlab.data import load_mnist

from document_losses import DigitPair, train_and_test


def document_pair(split: str) -> DigitPair:
    images, labels = load_mnist(split)
    keep = (labels == 4) | (labels == 9)
    return DigitPair(images[keep], np.where(labels[keep] == 9, 1.0, -1.0).astype(np.float32))


def run_document(seed: int) -> dict[str, dict[str, float]]:
    train, test = document_pair("train"), document_pair("test")
    return {loss: train_and_test(loss, train, test, seed) for loss in ("ce", "mse")}


def run_ours(seeds: int) -> tuple[float, dict]:
    """Wall time of the whole command, and its JSON."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["-q", "compare-losses", "--seeds", str(seeds), "--out", out,
                         "--device", "cpu"])
        seconds = time.perf_counter() - start
        assert code == 0
        return seconds, json.loads((Path(out) / "losses.json").read_text())


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--doc-seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), python "
          f"{platform.python_version()}; load average before {os.getloadavg()[0]:.2f}")
    load_mnist("train"), load_mnist("test")  # read the files once, outside both timings

    doc = run_document(args.doc_seed)
    doc_train = sum(r["seconds"] for r in doc.values())
    ours_seconds, ours = run_ours(args.seeds)

    print(f"\ndocument's code, seed {args.doc_seed}, 1 seed × 2 losses:")
    for loss, r in doc.items():
        print(f"  {loss:4} test accuracy {100 * r['accuracy']:.2f}%, test loss "
              f"{r['loss']:.4f}, training {r['seconds']:.1f} s")
    print(f"  training, both losses: {doc_train:.1f} s")
    print(f"\nlenetlab compare-losses --seeds {args.seeds} ({args.seeds} seeds × 2 losses):")
    for loss, s in ours["summary"].items():
        acc = s["accuracy"]
        print(f"  {loss:4} test accuracy {100 * acc['mean']:.2f}% ± {100 * acc['sd']:.2f} "
              f"(95% CI {100 * acc['low']:.2f}-{100 * acc['high']:.2f}), test loss "
              f"{s['loss']['mean']:.4f}")
    print(f"  training {ours['train_seconds']:.1f} s, training + testing {ours['seconds']:.1f} s,"
          f" whole command (data, figures, JSON) {ours_seconds:.1f} s")
    print(f"\nratio: the document's one-seed training takes {doc_train / ours_seconds:.1f}× "
          f"the wall time of our whole {args.seeds}-seed command "
          f"({doc_train / ours['train_seconds']:.1f}× our training alone); "
          f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main_()
