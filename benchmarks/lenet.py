"""LeNet-5, the document's recipe: the document's code path against lenetlab, same run.

    python benchmarks/lenet.py [--epochs 10] [--seed 0] [--device cpu|cuda]
                               [--engine auto|eager|compile|graphs[,...]]

Prints both training times, both test accuracies and the speed-up; with several engines
(comma-separated) the document's code runs once and each engine is compared with it. Also
checks that the two implementations compute the same function: the document's weights copied
into lenetlab's model give the same logits.
"""

from __future__ import annotations

import argparse
import platform

import torch

from lenetlab.data import load_mnist
from lenetlab.devices import describe
from lenetlab.models import lenet5
from lenetlab.training import ENGINES, Split, TrainConfig, train

from document_lenet import DocumentLeNet5, train_document


def copy_weights(doc: DocumentLeNet5):
    """lenetlab's LeNet-5 holding the document model's weights (C3 kernels in table order)."""
    ours = lenet5("table")
    state = {k: v for k, v in doc.state_dict().items() if not k.startswith("c3.")}
    state["c3.weight"] = torch.cat([c.weight[0] for c in doc.c3.convs])
    state["c3.bias"] = torch.cat([c.bias for c in doc.c3.convs])
    ours.load_state_dict(state)
    return ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--engine", type=engines, default=["auto"],
                        help=f"one or more of {','.join(ENGINES)}, comma-separated")
    args = parser.parse_args()

    train_arrays, test_arrays = load_mnist("train"), load_mnist("test")
    device = torch.device(args.device)
    print(f"# LeNet-5, {args.epochs} epochs, {describe(device)}, torch {torch.__version__}, "
          f"Python {platform.python_version()}")

    doc = train_document(train_arrays, test_arrays, args.epochs, args.seed, args.device)
    doc_model = doc["model"].cpu()
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        same = torch.allclose(doc_model(x), copy_weights(doc_model)(x), atol=1e-5)
    print(f"same function as the document's model (weights copied across): {same}")

    splits = Split.from_arrays(*train_arrays, device), Split.from_arrays(*test_arrays, device)
    results = [train(TrainConfig(epochs=args.epochs, seed=args.seed, device=args.device,
                                 engine=engine), *splits) for engine in args.engine]
    print(f"{'':20} {'train s':>9} {'s/epoch':>8} {'test acc':>9} {'speed-up':>9} "
          f"{'s/epoch after epoch 1':>22}")
    print(f"{'document code':20} {doc['train_seconds']:9.1f} "
          f"{doc['train_seconds'] / args.epochs:8.2f} {100 * doc['test_accuracy']:8.2f}%")
    for result in results:
        steady = sorted(r.seconds for r in result.history[1:]) or [float("nan")]
        print(f"{'lenetlab (' + result.engine + ')':20} {result.train_seconds:9.1f} "
              f"{result.train_seconds / args.epochs:8.2f} {100 * result.test_accuracy:8.2f}% "
              f"{doc['train_seconds'] / result.train_seconds:8.2f}x "
              f"{steady[len(steady) // 2]:22.2f}")


def engines(text: str) -> list[str]:
    chosen = text.split(",")
    unknown = [e for e in chosen if e not in ENGINES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown engine(s) {', '.join(unknown)}")
    return chosen


if __name__ == "__main__":
    main()
