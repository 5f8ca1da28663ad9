"""K copies of the document's recipe with different seeds (seed studies), at once or in a row.

Each copy is exactly the run `training.train` makes with its seed: the same initial weights,
the same per-epoch order from its own generator, the same SGD steps on the same batches. The
K parameter sets are stacked on a leading axis and one `torch.func.vmap` step trains all of
them: PyTorch turns K convolutions with K weights into one grouped convolution and K small
matrix products into one batched product, so K models cost far fewer kernel launches (and far
less Python) than K runs in a row. That is the whole trick: same function, fewer, larger calls.

It pays where kernel launches dominate (a GPU). On a 2-core CPU the grouped convolutions are
slower than K ordinary ones (benchmarks/README.md), so `train_many` runs the seeds one after
another there, each by `training.train` with its fastest engine.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from lenetlab.devices import resolve_device, synchronize
from lenetlab.errors import TrainingDiverged
from lenetlab.training import (
    ProgressFactory,
    Split,
    TrainConfig,
    open_bar,
    seeded_model,
    train,
)

Params = dict[str, torch.Tensor]
PATHS = ("auto", "vmap", "sequential")


@dataclass
class ManyResult:
    config: TrainConfig  # the shared recipe; its `seed` is unused, see `seeds`
    seeds: list[int]
    test_accuracy: list[float]  # per seed, after the last epoch
    train_seconds: float  # all K models together, evaluation excluded
    device: str
    params: Params = field(repr=False)  # stacked: every tensor [K, ...]
    path: str = "vmap"  # "vmap" (all at once) or "sequential" (one `training.train` per seed)

    @property
    def models_per_second(self) -> float:
        """Complete training runs per second of training time."""
        return len(self.seeds) / self.train_seconds

    def spread(self) -> tuple[float, float]:
        """(mean, sample standard deviation) of the test accuracies; sd 0 for one seed."""
        accuracy = torch.tensor(self.test_accuracy, dtype=torch.float64)
        return accuracy.mean().item(), accuracy.std().item() if len(accuracy) > 1 else 0.0

    def metrics(self) -> dict[str, Any]:
        """Everything worth saving as JSON."""
        mean, sd = self.spread()
        return {"seeds": self.seeds, "test_accuracy": self.test_accuracy, "mean": mean, "sd": sd,
                "path": self.path, "train_seconds": self.train_seconds,
                "models_per_second": self.models_per_second, "device": self.device,
                "config": asdict(self.config)}


def check_seeds(seeds: list[int]) -> None:
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError("seeds must be distinct and at least one")


def stacked_models(name: str, seeds: list[int],
                   device: torch.device) -> tuple[nn.Module, Params, Params]:
    """(the model to call functionally, the K seeds' weights stacked [K, ...], its buffers).

    Buffers are shared: only index tables such as TableConv2d's rows are allowed, which are the
    same for every seed."""
    models = [seeded_model(name, s).to(device) for s in seeds]
    if any(b.is_floating_point() for b in models[0].buffers()):
        raise ValueError(f"{name} has state beyond its weights; many-seed training needs none")
    params, _ = stack_module_state(models)
    return models[0], {k: v.detach() for k, v in params.items()}, dict(models[0].named_buffers())


def train_seeds(
    config: TrainConfig,
    seeds: list[int],
    train_data: Split,
    test_data: Split,
    progress: ProgressFactory | None = None,
) -> ManyResult:
    """Train `config` once per seed, all K runs in one vmapped step; test accuracy per seed."""
    check_seeds(seeds)
    device = resolve_device(config.device)
    base, params, buffers = stacked_models(config.model, seeds, device)

    def loss_of(p: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(functional_call(base, (p, buffers), (x,)), y)

    step_grads = vmap(grad_and_value(loss_of))  # over models: params [K,...], x [K,B,...], y [K,B]
    orders = [torch.Generator().manual_seed(s) for s in seeds]
    n, bs, k = len(train_data), config.batch_size, len(seeds)
    steps = math.ceil(n / bs)
    weights = list(params.values())  # updated in place, so one list serves every step
    seconds = 0.0
    for epoch in range(1, config.epochs + 1):
        perms = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)  # [K, N]
        bar = open_bar(progress, steps, f"epoch {epoch}/{config.epochs} ({k} models)")
        loss_sum, bar_at = torch.zeros(k, device=device), 0
        synchronize(device)
        start = time.perf_counter()
        for step in range(steps):
            idx = perms[:, step * bs : (step + 1) * bs]  # [K, B]
            grads, loss = step_grads(params, train_data.x[idx], train_data.y[idx])
            with torch.no_grad():
                torch._foreach_add_(weights, list(grads.values()), alpha=-config.lr)
            loss_sum += loss
            if (step + 1) % 50 == 0 or step + 1 == steps:  # the bar's cost off most steps
                bar.update(step + 1 - bar_at)
                bar_at = step + 1
        synchronize(device)
        seconds += time.perf_counter() - start
        bar.close()
        if not torch.isfinite(loss_sum).all():
            raise TrainingDiverged(f"a model's loss became non-finite in epoch {epoch}; "
                                   f"try a smaller learning rate than {config.lr}")
    accuracy = accuracies(base, params, buffers, test_data)
    return ManyResult(config, list(seeds), accuracy, seconds, str(device), params)


@torch.no_grad()
def accuracies(base: nn.Module, params: Params, buffers: Params, data: Split,
               batch_size: int = 2000) -> list[float]:
    """Test accuracy of each of the K stacked models."""
    def logits(p: Params, x: torch.Tensor) -> torch.Tensor:
        return functional_call(base, (p, buffers), (x,))

    k = next(iter(params.values())).shape[0]
    correct = torch.zeros(k, device=data.x.device)
    for i in range(0, len(data), batch_size):
        x, y = data.x[i : i + batch_size], data.y[i : i + batch_size]
        out = vmap(logits, in_dims=(0, None))(params, x)  # [K, B, 10]
        correct += (out.argmax(-1) == y).sum(1)
    return (correct / len(data)).tolist()


def choose_path(path: str, device: torch.device) -> str:
    """"auto": all at once on a GPU, one after another on the CPU (faster there, measured)."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {', '.join(PATHS)}, not {path!r}")
    if path != "auto":
        return path
    return "vmap" if device.type == "cuda" else "sequential"


def train_many(
    config: TrainConfig,
    seeds: list[int],
    train_data: Split,
    test_data: Split,
    path: str = "auto",
    progress: ProgressFactory | None = None,
) -> ManyResult:
    """Train `config` once per seed by the faster path for the device (see `choose_path`)."""
    path = choose_path(path, resolve_device(config.device))
    if path == "vmap":
        return train_seeds(config, seeds, train_data, test_data, progress)
    check_seeds(seeds)
    runs = [train(replace(config, seed=s), train_data, test_data, progress=progress)
            for s in seeds]
    params, _ = stack_module_state([r.model for r in runs])
    return ManyResult(config, list(seeds), [r.test_accuracy for r in runs],
                      sum(r.train_seconds for r in runs), runs[0].device,
                      {k: v.detach() for k, v in params.items()}, path)
