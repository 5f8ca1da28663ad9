"""A faithful copy of the document's LeNet-5 code path, for timing against lenetlab.

What makes it the document's: MNIST goes through a `Dataset` that converts one image at a time
(PIL image -> tensor, as torchvision's `ToTensor` does) and a shuffling `DataLoader`; C3 is 16
separate `Conv2d` layers whose outputs are concatenated. torchvision itself is not needed (it
does not import beside the CPU build of torch used here), so the per-sample conversion is
written out with Pillow and NumPy, doing the same work.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lenetlab.layers import C3_TABLE


class MnistImages(Dataset):
    """Per-sample conversion, like torchvision.datasets.MNIST with transforms.ToTensor()."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = Image.fromarray(self.images[i], mode="L")
        x = torch.from_numpy(np.array(img, np.uint8)).float().div(255).unsqueeze(0)
        return x, int(self.labels[i])


class C3(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(len(ins), 1, 5) for ins in C3_TABLE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(x[:, list(ins)]) for conv, ins in zip(self.convs, C3_TABLE,
                                                                      strict=True)], dim=1)


class DocumentLeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.s2 = nn.AvgPool2d(2)
        self.c3 = C3()
        self.s4 = nn.AvgPool2d(2)
        self.c5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.s2(torch.tanh(self.c1(x))))
        x = torch.tanh(self.s4(torch.tanh(self.c3(x))))
        x = torch.tanh(self.f6(torch.tanh(self.c5(x.view(x.size(0), -1)))))
        return self.output(x)


def train_document(train, test, epochs: int = 10, seed: int = 0, device: str = "cpu") -> dict:
    """The document's loop: DataLoader(batch 100, shuffle), SGD lr 0.1, cross-entropy; each
    batch is moved to the device as it comes."""
    torch.manual_seed(seed)
    model = DocumentLeNet5().to(device)
    train_loader = DataLoader(MnistImages(*train), batch_size=100, shuffle=True)
    test_loader = DataLoader(MnistImages(*test), batch_size=100, shuffle=False)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            correct += (model(images.to(device)).argmax(1).cpu() == labels).sum().item()
    return {"model": model, "train_seconds": seconds, "test_accuracy": correct / len(test[1])}
