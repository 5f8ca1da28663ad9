"""P4: does σ(pool(X)) = pool(σ(X))? Every case of the catalogue on random data (with a search
for the smallest counterexample) and on real MNIST digits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lenetlab.commutation import (
    ACTIVATIONS,
    Counterexample,
    Pool,
    compare,
    expected_to_hold,
    merge,
    random_sweep,
    smallest_counterexample,
)
from lenetlab.devices import resolve_device

# Max pooling with every activation; average pooling with three nonlinear ones and one affine.
CASES: tuple[tuple[str, str], ...] = tuple(("max", name) for name in ACTIVATIONS) + tuple(
    ("avg", name) for name in ("relu", "tanh", "square", "negate")
)

# The usual MNIST normalisation: inputs get both signs (on [0, 1], x² is monotone and could
# not fail).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def mnist_pools(kind: str) -> tuple[Pool, ...]:
    """LeNet's 2×2 blocks, overlapping 3×3 windows with padding, and a ceil-mode remainder."""
    return (Pool(kind), Pool(kind, (3, 3), (2, 2), (1, 1)),
            Pool(kind, (3, 3), (3, 3), ceil_mode=True))


@dataclass(frozen=True)
class CheckConfig:
    seed: int = 0
    trials: int = 300  # random (geometry, X) draws per case
    device: str = "auto"


@dataclass
class Verdict:
    pool: str  # "max" or "avg"
    activation: str  # key of ACTIVATIONS
    data: str  # "random" or "MNIST"
    expected: bool | None  # holds / fails; None where the data decides (MNIST, failing cases)
    max_difference: float
    counterexample: Counterexample | None
    compared: int  # pooled outputs compared

    @property
    def holds(self) -> bool:
        return self.counterexample is None

    @property
    def agrees(self) -> bool:
        return self.expected is None or self.expected == self.holds

    @property
    def case(self) -> str:
        return f"{self.pool}-pool ∘ {self.activation}"


@dataclass
class CheckResult:
    config: CheckConfig
    verdicts: list[Verdict]
    mnist_images: int

    @property
    def ok(self) -> bool:
        """Every case the theory says holds held; every one it says fails was refuted."""
        return all(v.agrees for v in self.verdicts)


def standardize(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 [N, 28, 28] → float32 [N, 1, 28, 28], mean ≈ 0 and std ≈ 1 over MNIST."""
    x = torch.from_numpy(np.array(images, dtype=np.float32)).to(device).div(255)[:, None]
    return (x - MNIST_MEAN) / MNIST_STD


def run(config: CheckConfig, mnist_images: np.ndarray | None = None) -> CheckResult:
    """Every case on random data, and on the given MNIST images (uint8 [N, 28, 28]) if any."""
    device = resolve_device(config.device)
    mnist = standardize(mnist_images, device) if mnist_images is not None else None
    verdicts = []
    for kind, name in CASES:
        activation = ACTIVATIONS[name]
        theory = expected_to_hold(activation, kind)
        random = merge([
            smallest_counterexample(activation.fn, kind, config.seed, device=device),
            random_sweep(activation.fn, kind, config.trials, config.seed, device),
        ])
        verdicts.append(Verdict(kind, name, "random", theory, random.max_difference,
                                random.counterexample, random.compared))
        if mnist is not None:
            real = merge([compare(activation.fn, pool, mnist) for pool in mnist_pools(kind)])
            verdicts.append(Verdict(kind, name, "MNIST", theory or None, real.max_difference,
                                    real.counterexample, real.compared))
    return CheckResult(config, verdicts, 0 if mnist is None else len(mnist))
