"""A faithful copy of the document's loss experiment (SPEC P5), kept only to time it against.

What makes it slow is kept on purpose: a `Dataset` that returns one image at a time as new
tensors, a shuffled `DataLoader` collating batches of 64, and losses that loop over the samples
of a batch in Python. The recipe is the document's: `nn.Linear(784, 1, bias=False)` with its
default initialisation, SGD lr 0.0255, batch 64, 3 epochs, a prediction correct when z·y ≥ 0,
"MSE" the squared distance between the one-hot target and [σ(−z), σ(z)]. torchvision is not
used (the images come from lenetlab's verified MNIST); everything else is as written there.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class DigitPair(Dataset):
    """One (image, label) pair at a time, converted per item like ToTensor does."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels  # uint8 [N, 28, 28], ±1 float [N]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.tensor(self.images[i], dtype=torch.float32).div(255).flatten()
        return x, torch.tensor(self.labels[i], dtype=torch.float32)


def cross_entropy_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = 0
    for i in range(len(y)):
        loss = loss + torch.log(1 + torch.exp(-y[i] * z[i]))
    return loss / len(y)


def mse_loss(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = 0
    for i in range(len(y)):
        p = torch.stack([torch.sigmoid(-z[i]), torch.sigmoid(z[i])])
        target = torch.tensor([1.0, 0.0]) if y[i] < 0 else torch.tensor([0.0, 1.0])
        loss = loss + torch.sum((target - p) ** 2)
    return loss / len(y)


LOSSES = {"ce": cross_entropy_loss, "mse": mse_loss}


def train_and_test(loss_name: str, train: DigitPair, test: DigitPair, seed: int = 0,
                   epochs: int = 3) -> dict[str, float]:
    """The document's loop for one loss; returns test accuracy, mean test loss and seconds."""
    loss_fn = LOSSES[loss_name]
    torch.manual_seed(seed)
    model = nn.Linear(784, 1, bias=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0255)
    loader = DataLoader(train, batch_size=64, shuffle=True)
    start = time.perf_counter()
    for _ in range(epochs):
        for x, y in loader:
            z = model(x).squeeze(1)
            loss = loss_fn(z, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    correct, total_loss, batches = 0, 0.0, 0
    with torch.no_grad():
        for x, y in DataLoader(test, batch_size=64):
            z = model(x).squeeze(1)
            correct += int((z * y >= 0).sum())
            total_loss += float(loss_fn(z, y))
            batches += 1
    return {"accuracy": correct / len(test), "loss": total_loss / batches, "seconds": seconds}
