"""`lenetlab reproduce`: every part of the document in order, one report at the end.

Each part is a function `part(ctx: Context) -> Section` in its `lenetlab.sections` module:
it loads what it needs through the context, runs its experiment and draws. The full run follows the
document's recipes, `quick` shrinks data and epochs so that the whole report builds in minutes
(and says so on the page).
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

import lenetlab
from lenetlab.data import load_mnist
from lenetlab.devices import describe, resolve_device
from lenetlab.report import Section, write_report
from lenetlab.sections import backprop as backprop_section
from lenetlab.sections import commutation as commutation_section
from lenetlab.sections import filters as filters_section
from lenetlab.sections import lenet as lenet_section
from lenetlab.sections import losses as losses_section
from lenetlab.sections import paper as paper_section
from lenetlab.sections import parameters as parameters_section
from lenetlab.training import ProgressFactory, Split


@dataclass
class Context:
    """What every part may use: flags, the device, MNIST loaded once, the progress display."""

    out: Path
    device_name: str = "auto"
    quick: bool = False
    seed: int = 0
    data_dir: Path | None = None
    progress: ProgressFactory | None = None
    log: Callable[[str], None] = field(default=lambda _msg: None)

    @cached_property
    def device(self) -> torch.device:
        return resolve_device(self.device_name)

    def mnist(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        return load_mnist(split, self.data_dir)

    def split(self, split: str, limit: int | None = None) -> Split:
        return Split.from_arrays(*self.mnist(split), self.device, limit)

    def command(self, cmd: str) -> str:
        """The command that reproduces one number alone, with this run's flags."""
        flags = f" --seed {self.seed}" if self.seed else ""
        return cmd + flags


# (key, what the progress display calls it, the part)
PARTS: list[tuple[str, str, Callable[[Context], Section]]] = [
    ("p1", "P1 finite differences as a convolution", filters_section.part_p1),
    ("p2", "P2 parameter counts", parameters_section.part),
    ("p3", "P3 grayscale as a 1×1 convolution", filters_section.part_p3),
    ("p4", "P4 max-pooling and monotone activations", commutation_section.part),
    ("p5", "P5 cross-entropy vs squared loss (many seeds)", losses_section.part),
    ("p6", "P6 backpropagation by hand (NumPy)", backprop_section.part),
    ("p7", "P7 LeNet-5 training (table and full C3)", lenet_section.part),
    ("p7+", "P7+ the 1998 LeNet-5 (RBF outputs, SDLM)", paper_section.part),
]


def versions() -> dict[str, Any]:
    return {
        "lenetlab": lenetlab.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def reproduce(ctx: Context, only: tuple[str, ...] = ()) -> tuple[Path, list[Section]]:
    """Run the parts (all, or those in `only`), write the report, return its path."""
    started = time.perf_counter()
    sections = []
    todo = [p for p in PARTS if not only or p[0] in only]
    for i, (_key, label, part) in enumerate(todo, 1):
        ctx.log(f"[{i}/{len(todo)}] {label}")
        t = time.perf_counter()
        section = part(ctx)
        section.seconds = time.perf_counter() - t
        sections.append(section)
        ctx.log(f"[{i}/{len(todo)}] {label}: done in {section.seconds:.1f} s")
    meta = versions() | {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "device": describe(ctx.device),
        "seed": ctx.seed,
        "quick": ctx.quick,
        "command": " ".join(["lenetlab", *sys.argv[1:]]),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    return write_report(sections, ctx.out, meta), sections
