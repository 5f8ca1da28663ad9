"""Margin losses for a ±1 classifier z = wᵀx, and SGD on hundreds of such models at once.

Both losses of the document depend on the margin m = y·z only:

- cross-entropy  ℓ(m) = −log σ(m) = log(1 + e^{−m}),  dℓ/dm = −σ(−m)
- "MSE"          ℓ(m) = ‖onehot(y) − [σ(−z), σ(z)]‖² = 2σ(−m)²,  dℓ/dm = −4σ(−m)²σ(m)

For m ≪ 0 (confidently wrong) the cross-entropy slope tends to −1 while the squared loss's
slope −4σ(−m)²σ(m) ≈ −4e^{m} vanishes: a badly misclassified point stops pulling on w. Every
function here is elementwise, works on any shape, and stays finite at |m| = 1e4 (softplus and
sigmoid never exponentiate a large positive number).

`train_many` trains K seeds × L losses together: one weight tensor [K, L, D], each seed with its
own initial weights (PyTorch's `nn.Linear(D, 1, bias=False)` default, from its own generator)
and its own shuffled batches, the same for every loss (a paired comparison). The gradient is the
closed form (1/b)·Σ ℓ'(m_i)·y_i·x_i, checked against torch.autograd in the tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

# Seeds per batched matrix product on the CPU: 25 seeds × 64 images × 784 pixels × 4 bytes is
# 5 MB, so a chunk's gathered batch stays in cache for the forward and the backward product.
CPU_CHUNK = 25


def logistic_ce(z: Tensor, y: Tensor) -> Tensor:
    """Per-example cross-entropy −log σ(yz) for labels ±1 (elementwise, no reduction)."""
    return ce_of_margin(y * z)


def squared_probability(z: Tensor, y: Tensor) -> Tensor:
    """Per-example squared distance between onehot(y) and [σ(−z), σ(z)], which is 2σ(−yz)²."""
    return squared_of_margin(y * z)


def ce_of_margin(m: Tensor) -> Tensor:
    # log(1 + e^{−m}); beyond −m = 40 it returns −m, off by e^{−40}, below float64's precision
    # (torch's default threshold of 20 is off by 2e-9, visible in float64)
    return F.softplus(-m, threshold=40)


def ce_slope(m: Tensor) -> Tensor:
    """dℓ/dm of the cross-entropy: −σ(−m), which tends to −1 on confidently wrong points."""
    return -torch.sigmoid(-m)


def squared_of_margin(m: Tensor) -> Tensor:
    return 2 * torch.sigmoid(-m) ** 2


def squared_slope(m: Tensor) -> Tensor:
    """dℓ/dm of the squared loss: −4σ(−m)²σ(m), which vanishes both for m ≫ 0 and m ≪ 0."""
    return -4 * torch.sigmoid(-m) ** 2 * torch.sigmoid(m)


@dataclass(frozen=True)
class MarginLoss:
    name: str  # key used by the CLI and in JSON: "ce" / "mse"
    title: str  # for tables and figures
    of_margin: Callable[[Tensor], Tensor]
    slope: Callable[[Tensor], Tensor]  # derivative in the margin


LOSSES = {
    "ce": MarginLoss("ce", "cross-entropy", ce_of_margin, ce_slope),
    "mse": MarginLoss("mse", "squared probability (\"MSE\")", squared_of_margin, squared_slope),
}


def initial_weights(generator: torch.Generator, dim: int = 784) -> Tensor:
    """[dim] weights exactly as `nn.Linear(dim, 1, bias=False)` draws them from this generator:
    U(−1/√dim, 1/√dim) through kaiming_uniform_(a=√5)."""
    w = torch.empty(1, dim)
    torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator)
    return w[0]


@dataclass
class ManySeedRun:
    seeds: list[int]
    losses: tuple[str, ...]
    snapshots: Tensor  # [E+1, K, L, D] weights before training and after each epoch
    train_loss: Tensor  # [E, steps, K, L] mean loss of each batch, as the weights changed
    seconds: float  # wall time of training

    @property
    def weights(self) -> Tensor:
        return self.snapshots[-1]  # [K, L, D]


def _check(losses: Sequence[str], epochs: int, batch_size: int, lr: float) -> None:
    unknown = [name for name in losses if name not in LOSSES]
    if unknown or not losses:
        raise ValueError(f"losses must be among {', '.join(LOSSES)}, got {list(losses)}")
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"need epochs ≥ 1, batch_size ≥ 1, lr > 0; got {epochs}, "
                         f"{batch_size}, {lr}")


def train_many(
    x: Tensor,
    y: Tensor,
    seeds: Sequence[int],
    losses: Sequence[str] = ("ce", "mse"),
    epochs: int = 3,
    batch_size: int = 64,
    lr: float = 0.0255,
    chunk: int | None = None,
    progress: Callable[[int, str], object] | None = None,
) -> ManySeedRun:
    """SGD on z = wᵀx for every (seed, loss) pair; x [N, D] and y [N] (±1) on any device.

    Seed k draws its weights and then each epoch's permutation from `torch.Generator` seeded
    k; all losses of a seed start from those weights and see the same batches (the last batch
    of an epoch may be smaller, as with a DataLoader). Seeds run `chunk` at a time (all of them
    on a GPU); the result for a seed does not depend on which others train beside it.
    """
    _check(losses, epochs, batch_size, lr)
    chunk = chunk or (len(seeds) if x.device.type == "cuda" else CPU_CHUNK)
    steps = math.ceil(len(y) / batch_size)
    # A pixel that is 0 in every training image gets a zero gradient at every step: its weight
    # keeps its initial value, so it can stay out of the products (618 of 784 pixels for 4 vs 9).
    active = (x != 0).any(0)  # [D]
    x_active = x[:, active].contiguous()  # [N, D']
    bar = progress(epochs * len(seeds), "seeds × epochs") if progress else None
    start = time.perf_counter()
    snapshots, curves = [], []
    with _one_cpu_thread(x.device):
        for i in range(0, len(seeds), chunk):
            snaps, curve = _train_chunk(x_active, y, active, seeds[i : i + chunk], losses,
                                        epochs, batch_size, lr, steps, bar)
            snapshots.append(snaps)
            curves.append(curve)
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
    seconds = time.perf_counter() - start
    if bar:
        bar.close()
    return ManySeedRun(list(seeds), tuple(losses), torch.cat(snapshots, 1).cpu(),
                       torch.cat(curves, 2).cpu(), seconds)


@contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """Run the CPU's many small products on one thread, then restore the setting.

    They are a few MB each: a second thread gains little, and on a shared machine the waiting
    OpenMP threads cost a lot (200 seeds on the 2-core CPU here, under load: 57-61 s with two
    threads, 8-10 s with one).
    """
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _train_chunk(
    x: Tensor, y: Tensor, active: Tensor, seeds: Sequence[int], losses: Sequence[str],
    epochs: int, batch_size: int, lr: float, steps: int, bar: object | None,
) -> tuple[Tensor, Tensor]:
    """Train k seeds × L losses on the active pixels x [N, D']; return weight snapshots
    [E+1, k, L, D] (all pixels) and batch losses [E, S, k, L]."""
    n, d_active = x.shape
    k, n_losses = len(seeds), len(losses)
    fns = [LOSSES[name] for name in losses]
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    w0 = torch.stack([initial_weights(g, len(active)) for g in gens])  # [k, D]
    full = w0[:, None, :].repeat(1, n_losses, 1).to(x.device)  # [k, L, D]
    w = full[..., active].contiguous()  # [k, L, D']
    snapshots = [full.clone()]
    curve = torch.empty(epochs, steps, k, n_losses, device=x.device)
    gathered = torch.empty(k * batch_size, d_active, device=x.device)  # reused: no page faults
    for epoch in range(epochs):
        order = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(x.device)  # [k, N]
        y_order = y[order]  # [k, N]
        for step in range(steps):
            idx = order[:, step * batch_size : (step + 1) * batch_size]  # [k, b]
            b = idx.shape[1]
            xb = torch.index_select(x, 0, idx.reshape(-1), out=gathered[: k * b])
            xb = xb.view(k, b, d_active)  # [k, b, D']
            yb = y_order[:, step * batch_size : step * batch_size + b, None]  # [k, b, 1]
            m = yb * torch.bmm(xb, w.transpose(1, 2))  # [k, b, L] margins
            curve[epoch, step] = torch.stack(
                [f.of_margin(m[..., j]).mean(1) for j, f in enumerate(fns)], -1)  # [k, L]
            dm = torch.stack([f.slope(m[..., j]) for j, f in enumerate(fns)], -1)  # [k, b, L]
            # ∂(mean loss)/∂w = (1/b)·Σ_i ℓ'(m_i)·y_i·x_i, for every seed and loss at once
            w.baddbmm_((dm * yb).transpose(1, 2), xb, alpha=-lr / b)  # [k, L, D']
        full[..., active] = w
        snapshots.append(full.clone())
        if bar:
            bar.update(k)
    return torch.stack(snapshots), curve


@torch.no_grad()
def evaluate(weights: Tensor, x: Tensor, y: Tensor, losses: Sequence[str]) -> tuple[Tensor, Tensor]:
    """(mean loss, accuracy) for weights [..., L, D] on x [N, D], y [N]; both shaped [..., L].

    A prediction counts as correct when z·y ≥ 0, as in the document. Loss j is `losses[j]`.
    """
    *lead, n_losses, dim = weights.shape
    z = x @ weights.reshape(-1, dim).T.to(x.device)  # [N, P·L]
    m = (y[:, None] * z).view(len(y), -1, n_losses)  # [N, P, L]
    loss = torch.stack([LOSSES[name].of_margin(m[..., j]).mean(0)
                        for j, name in enumerate(losses)], -1)  # [P, L]
    accuracy = (m >= 0).double().mean(0)  # [P, L]
    return loss.view(*lead, n_losses).cpu(), accuracy.view(*lead, n_losses).cpu()
