"""The training engine: the whole data set as one tensor on the device, batches by shuffled
index, plain SGD on cross-entropy — the document's recipe — with checkpoints and resume.

Determinism: one `--seed` drives the initial weights (drawn on the CPU, so every device starts
from the same numbers) and a CPU `torch.Generator` that draws each epoch's permutation. Its
state is saved in every checkpoint, so a resumed run draws the same batches as an unbroken one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lenetlab.accounting import count_parameters
from lenetlab.devices import resolve_device, synchronize
from lenetlab.errors import CheckpointError, TrainingDiverged
from lenetlab.models import build_model

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = "lenetlab-checkpoint-1"
ENGINES = ("auto", "eager", "compile", "graphs")
# torch.compile's mode per engine. "graphs" also records the compiled step as CUDA graphs (one
# launch per graph instead of one per kernel); on the CPU it is the same as "compile". Not yet
# measured on a GPU, so "auto" never picks it.
COMPILE_MODES = {"compile": "default", "graphs": "reduce-overhead"}
# torch.compile costs tens of seconds up front and then runs each step about 2-3x faster on
# these CPUs (benchmarks/README.md); below this many steps eager mode finishes first.
COMPILE_MIN_STEPS = 2_000


@dataclass(frozen=True)
class TrainConfig:
    """The document's LeNet-5 recipe (SPEC P7) as defaults."""

    model: str = "lenet5"
    epochs: int = 10  # passes over the training set
    batch_size: int = 100  # images per SGD step; the last batch of an epoch may be smaller
    lr: float = 0.1  # SGD step size; no momentum, no weight decay
    seed: int = 0  # initial weights and the order of every epoch
    device: str = "auto"  # "auto" | "cpu" | "cuda"; changes speed, never the arithmetic recipe
    train_limit: int | None = None  # recorded: the run used only the first N training images
    engine: str = "auto"  # "eager" | "compile" | "graphs" | "auto": compile long enough runs

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")


@dataclass
class EpochRecord:
    epoch: int  # 1-based
    train_loss: float  # mean over the epoch's batches, as the weights changed
    train_accuracy: float  # fraction of the epoch's examples classified right when seen
    test_loss: float
    test_accuracy: float
    seconds: float  # training time of this epoch, evaluation excluded


@dataclass
class TrainResult:
    config: TrainConfig
    history: list[EpochRecord]
    params: int
    device: str
    model: nn.Module = field(repr=False)
    engine: str = "eager"  # how the training step ran: "eager", "compile" or "graphs"

    @property
    def test_accuracy(self) -> float:
        return self.history[-1].test_accuracy

    @property
    def train_seconds(self) -> float:
        return sum(r.seconds for r in self.history)

    def metrics(self) -> dict[str, Any]:
        """Everything worth saving as JSON (the weights go in the checkpoint)."""
        return {
            "test_accuracy": self.test_accuracy,
            "test_loss": self.history[-1].test_loss,
            "train_seconds": self.train_seconds,
            "params": self.params,
            "epochs": len(self.history),
            "seed": self.config.seed,
            "device": self.device,
            "engine": self.engine,
            "config": asdict(self.config),
            "history": [asdict(r) for r in self.history],
        }


@dataclass(frozen=True)
class Split:
    """Images as float32 [N, 1, 28, 28] in [0, 1] and labels int64 [N], on one device."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def from_arrays(
        cls, images: np.ndarray, labels: np.ndarray, device: torch.device, limit: int | None = None
    ) -> Split:
        images, labels = images[:limit], labels[:limit]
        x = torch.tensor(images, device=device).float().div_(255)
        return cls(x.unsqueeze(1), torch.tensor(labels, dtype=torch.long, device=device))

    def __len__(self) -> int:
        return len(self.y)


# A progress display: called with (total steps, description), returns an object with
# update(n) and set_postfix_str(s) and close() — tqdm's interface. None shows nothing.
ProgressFactory = Callable[[int, str], Any]


class _Silent:
    def update(self, n: int = 1) -> None: ...
    def set_postfix_str(self, s: str) -> None: ...
    def close(self) -> None: ...


def open_bar(progress: ProgressFactory | None, total: int, desc: str) -> Any:
    """A progress bar from `progress`, or one that shows nothing."""
    return progress(total, desc) if progress is not None else _Silent()


def seeded_model(name: str, seed: int, **options: Any) -> nn.Module:
    """Build `name` with initial weights drawn from `seed` on the CPU, leaving global RNG alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(name, **options)


@torch.no_grad()
def evaluate(model: nn.Module, data: Split, batch_size: int = 2000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` on `data`, in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    loss = torch.zeros((), device=data.x.device)
    correct = torch.zeros((), device=data.x.device, dtype=torch.long)
    for i in range(0, len(data), batch_size):
        logits = model(data.x[i : i + batch_size])
        y = data.y[i : i + batch_size]
        loss += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    return loss.item() / len(data), correct.item() / len(data)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Logits of `model` for every row of `x`, in eval mode."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return out


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a run killed while saving leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | os.PathLike, expected: str = CHECKPOINT_FORMAT) -> dict[str, Any]:
    """Load tensors and plain values only (weights_only): a checkpoint cannot run code.

    `expected` is the format tag the caller can use: the 1998 recipes write their own."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint there") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    found = state.get("format") if isinstance(state, dict) else None
    if not isinstance(found, str) or not found.startswith("lenetlab-"):
        raise CheckpointError(f"{path}: not a lenetlab checkpoint")
    if found != expected:
        raise CheckpointError(f"{path}: a {found} checkpoint, not the {expected} kind needed here")
    return state


def check_same_run(saved: dict[str, Any], config: Any, free: tuple[str, ...]) -> None:
    """A resumed run must be the same run: only the settings named in `free` may change.

    `saved` is the checkpoint's copy of the (dataclass) `config`; a setting the checkpoint
    predates is taken to match."""
    ours = asdict(config)
    clash = [k for k, v in saved.items() if k not in free and ours.get(k, v) != v]
    if clash:
        detail = ", ".join(f"{k}: checkpoint {saved[k]!r} vs now {ours.get(k)!r}" for k in clash)
        raise CheckpointError(f"cannot resume a different run ({detail})")


def train(
    config: TrainConfig,
    train_data: Split,
    test_data: Split,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: ProgressFactory | None = None,
) -> TrainResult:
    """Train `config.model` with SGD on cross-entropy; evaluate and checkpoint after each epoch.

    With `out_dir`, `checkpoint.pt` is rewritten atomically after every epoch; with `resume`,
    training continues from it bit for bit. A NaN or infinite loss stops the run with
    `TrainingDiverged` before anything bad is saved.
    """
    device = resolve_device(config.device)
    ckpt_path = Path(out_dir) / CHECKPOINT if out_dir is not None else None
    layout = memory_layout(device)
    model = seeded_model(config.model, config.seed).to(device, memory_format=layout)
    steps = math.ceil(len(train_data) / config.batch_size)
    engine = choose_engine(config.engine, steps * config.epochs)
    forward = (torch.compile(model, dynamic=False, mode=COMPILE_MODES[engine])
               if engine in COMPILE_MODES else model)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)
    history: list[EpochRecord] = []
    if resume:
        if ckpt_path is None or not ckpt_path.exists():
            raise CheckpointError(f"--resume: no checkpoint in {out_dir}")
        state = load_checkpoint(ckpt_path)
        check_same_run(state["config"], config, free=("epochs", "device", "engine"))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        order.set_state(state["order"])
        history = [EpochRecord(**r) for r in state["history"]]

    n, bs = len(train_data), config.batch_size
    check_every = 50  # steps between loss read-backs: a host sync, so not every step
    for epoch in range(len(history) + 1, config.epochs + 1):
        bar = open_bar(progress, steps, f"epoch {epoch}/{config.epochs}")
        perm = torch.randperm(n, generator=order).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        synchronize(device)
        start = time.perf_counter()
        model.train()
        shown = 0
        for step in range(steps):
            idx = perm[step * bs : (step + 1) * bs]
            x, y = train_data.x[idx].contiguous(memory_format=layout), train_data.y[idx]
            logits = forward(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach()
            correct += (logits.detach().argmax(1) == y).sum()
            if (step + 1) % check_every == 0 or step + 1 == steps:
                mean = loss_sum.item() / (step + 1)
                if not math.isfinite(mean):
                    bar.close()
                    raise TrainingDiverged(
                        f"the loss became {mean} in epoch {epoch} by step {step + 1}; "
                        f"training stopped (last good checkpoint: epoch {len(history)}). "
                        f"Try a smaller learning rate than {config.lr}."
                    )
                bar.update(step + 1 - shown)
                shown = step + 1
                bar.set_postfix_str(f"loss {mean:.4f}")
        synchronize(device)
        seconds = time.perf_counter() - start
        bar.close()
        test_loss, test_acc = evaluate(model, test_data)
        history.append(EpochRecord(epoch, loss_sum.item() / steps, correct.item() / n,
                                   test_loss, test_acc, seconds))
        if ckpt_path is not None:
            save_checkpoint(ckpt_path, {
                "format": CHECKPOINT_FORMAT,
                "config": asdict(config),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "order": order.get_state(),
                "history": [asdict(r) for r in history],
            })
    return TrainResult(config, history, count_parameters(model), str(device), model, engine)


def memory_layout(device: torch.device) -> torch.memory_format:
    """Channels-last (NHWC) on the CPU, where oneDNN's small convolutions run faster in it.

    Measured on the 2-core CPU here, batch 100, two threads: C1 (one input map) forward plus
    weight gradient 8.9 → 5.6 ms, and the whole compiled step 21 → 14.5 ms. The arithmetic is
    the same; only the order of the elements in memory changes. Unmeasured on a GPU: left as is.
    """
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def choose_engine(engine: str, total_steps: int) -> str:
    """"auto" compiles long runs when a C++ compiler is there for TorchInductor."""
    if engine != "auto":
        return engine
    has_compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    return "compile" if total_steps >= COMPILE_MIN_STEPS and has_compiler else "eager"


def model_from_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, TrainConfig, dict]:
    """Rebuild the trained model a checkpoint describes; also return its config and state."""
    state = load_checkpoint(path)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in state["config"].items() if k in fields})
    model = build_model(config.model)
    model.load_state_dict(state["model"])
    return model, config, state
