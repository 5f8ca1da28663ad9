"""P5: cross-entropy against the squared-probability loss on MNIST 4 vs 9, over many seeds.

Every seed trains one linear model per loss from the same initial weights on the same batches
(`lenetlab.losses.train_many`), so the two losses can be compared seed by seed: the paired
difference has a much narrower interval than either mean alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from lenetlab.devices import resolve_device
from lenetlab.losses import LOSSES, evaluate, train_many
from lenetlab.training import ProgressFactory

# t_{0.975, ν} for ν = 1..30 (scipy.stats.t.ppf, 4 decimals). Beyond 30 the Cornish–Fisher
# expansion in `t_quantile` is within 2e-6 of it, so no scipy is needed at run time.
T_975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
Z_975 = 1.959963984540054  # standard normal 0.975 quantile


def t_quantile(df: int) -> float:
    """0.975 quantile of Student's t with `df` degrees of freedom (two-sided 95%)."""
    if df < 1:
        raise ValueError(f"need at least 1 degree of freedom, got {df}")
    if df <= len(T_975):
        return T_975[df - 1]
    z, v = Z_975, df
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


@dataclass(frozen=True)
class Interval:
    """Mean over n seeds, their standard deviation and the 95% interval of the mean."""

    mean: float
    sd: float  # sample standard deviation (n − 1)
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: np.ndarray) -> Interval:
        values = np.asarray(values, dtype=np.float64)
        n, mean = len(values), float(values.mean())
        sd = float(values.std(ddof=1)) if n > 1 else math.nan
        half = t_quantile(n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
        return cls(mean, sd, mean - half, mean + half, n)


@dataclass(frozen=True)
class LossConfig:
    """The document's recipe (SPEC P5) as defaults, run for `seeds` seeds."""

    digits: tuple[int, int] = (4, 9)  # (label −1, label +1)
    seeds: int = 200  # independent models per loss, seeds first_seed .. first_seed + seeds − 1
    first_seed: int = 0
    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.0255  # written 255e-4 in the document
    losses: tuple[str, ...] = ("ce", "mse")
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {self.seeds}")
        if len(self.digits) != 2 or self.digits[0] == self.digits[1]:
            raise ValueError(f"need two different digits, got {self.digits}")
        unknown = set(self.losses) - set(LOSSES)
        if unknown:
            raise ValueError(f"unknown losses {sorted(unknown)}; choose from {list(LOSSES)}")


@dataclass
class LossResult:
    config: LossConfig
    device: str
    n_train: int
    n_test: int
    test_accuracy: np.ndarray  # [E+1, K, L]; row 0 before training, then after each epoch
    test_loss: np.ndarray  # [E+1, K, L], each model's own loss
    train_loss: np.ndarray  # [E, steps, K, L] mean loss of each batch as it was trained on
    weights: np.ndarray  # [K, L, 784] after training
    train_seconds: float  # wall time of training all seeds and losses
    seconds: float  # training plus evaluation

    @property
    def seeds(self) -> list[int]:
        return list(range(self.config.first_seed, self.config.first_seed + self.config.seeds))

    def summary(self, loss: str) -> dict[str, Interval]:
        """Final test accuracy and test loss of `loss` across seeds."""
        j = self.config.losses.index(loss)
        return {"accuracy": Interval.of(self.test_accuracy[-1, :, j]),
                "loss": Interval.of(self.test_loss[-1, :, j])}

    def paired(self, first: str = "mse", second: str = "ce") -> Interval:
        """Test accuracy of `first` minus `second`, seed by seed (same start, same batches)."""
        acc = self.test_accuracy[-1]
        losses = self.config.losses
        return Interval.of(acc[:, losses.index(first)] - acc[:, losses.index(second)])

    def per_seed(self) -> list[dict]:
        return [
            {"seed": seed} | {
                f"{name}_{what}": float(values[-1, k, j])
                for j, name in enumerate(self.config.losses)
                for what, values in (("accuracy", self.test_accuracy), ("loss", self.test_loss))
            }
            for k, seed in enumerate(self.seeds)
        ]

    def metrics(self) -> dict:
        """Everything worth saving as JSON: config, summaries and every seed's result."""
        out = {
            "config": asdict(self.config),
            "device": self.device,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "train_seconds": self.train_seconds,
            "seconds": self.seconds,
            "summary": {name: {k: asdict(v) for k, v in self.summary(name).items()}
                        for name in self.config.losses},
            "seeds": self.per_seed(),
        }
        if {"ce", "mse"} <= set(self.config.losses):
            out["paired_accuracy_mse_minus_ce"] = asdict(self.paired())
        return out


def run(
    config: LossConfig,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    progress: ProgressFactory | None = None,
) -> LossResult:
    """Train every seed with every loss on `train` (x [N, 784] in [0, 1], y ±1), test on
    `test` after each epoch."""
    device = resolve_device(config.device)
    x, y = (torch.tensor(a, device=device) for a in train)
    x_test, y_test = (torch.tensor(a, device=device) for a in test)
    start = time.perf_counter()
    seeds = range(config.first_seed, config.first_seed + config.seeds)
    many = train_many(x, y, seeds, config.losses, config.epochs, config.batch_size, config.lr,
                      progress=progress)
    loss, accuracy = evaluate(many.snapshots, x_test, y_test, config.losses)
    return LossResult(
        config=config,
        device=str(device),
        n_train=len(y),
        n_test=len(y_test),
        test_accuracy=accuracy.numpy(),
        test_loss=loss.double().numpy(),
        train_loss=many.train_loss.numpy(),
        weights=many.weights.numpy(),
        train_seconds=many.seconds,
        seconds=time.perf_counter() - start,
    )
