"""P7: the document's LeNet-5 trained by its recipe, with C3 by the table and fully connected,
plus what the report draws from the trained network (confusions, kernels, feature maps)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from lenetlab.training import ProgressFactory, Split, TrainConfig, TrainResult, predict, train

VARIANTS = {"table": "lenet5", "full": "lenet5-full"}


@dataclass
class Mistake:
    image: np.ndarray  # uint8 [28, 28]
    label: int
    predicted: int
    confidence: float  # softmax probability of the wrong prediction


@dataclass
class LenetResult:
    runs: dict[str, TrainResult]  # "table" / "full"
    confusion: np.ndarray  # int [10, 10], rows true digit, columns predicted (table variant)
    c1_kernels: np.ndarray  # float [6, 5, 5]
    digit: np.ndarray  # uint8 [28, 28], the test digit the maps are shown for
    c1_maps: np.ndarray  # float [6, 28, 28]
    c3_maps: np.ndarray  # float [16, 10, 10]
    mistakes: list[Mistake]  # most confidently wrong test images, worst first


def run(
    config: TrainConfig,
    train_data: Split,
    test_data: Split,
    variants: tuple[str, ...] = ("table", "full"),
    progress: ProgressFactory | None = None,
    n_mistakes: int = 12,
) -> LenetResult:
    """Train each variant with the same seed and recipe, then inspect the table variant."""
    runs = {
        v: train(replace(config, model=VARIANTS[v]), train_data, test_data, progress=progress)
        for v in variants
    }
    model = runs[variants[0]].model
    logits = predict(model, test_data.x).cpu()
    labels = test_data.y.cpu()
    pred = logits.argmax(1)
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)

    prob = logits.softmax(1).max(1).values
    wrong = (pred != labels).nonzero().flatten()
    worst = wrong[prob[wrong].argsort(descending=True)][:n_mistakes]
    images = (test_data.x[:, 0].cpu() * 255).round().to(torch.uint8).numpy()
    mistakes = [Mistake(images[i], int(labels[i]), int(pred[i]), float(prob[i])) for i in worst]

    with torch.no_grad():
        x = test_data.x[:1]
        c1 = torch.tanh(model.c1(x))
        c3 = torch.tanh(model.c3(torch.tanh(model.s2(c1))))
    return LenetResult(
        runs=runs,
        confusion=confusion.numpy(),
        c1_kernels=model.c1.weight.detach().cpu()[:, 0].numpy(),
        digit=images[0],
        c1_maps=c1[0].cpu().numpy(),
        c3_maps=c3[0].cpu().numpy(),
        mistakes=mistakes,
    )
