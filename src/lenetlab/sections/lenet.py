"""P7 in the report: LeNet-5 with the C3 table, trained by the document's recipe."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lenetlab.experiments import lenet
from lenetlab.experiments.lenet import LenetResult
from lenetlab.figures import figure, png
from lenetlab.layers import C3_TABLE
from lenetlab.report import Comparison, Figure, Section, Table
from lenetlab.sections.common import pct, thousands
from lenetlab.training import TrainConfig

if TYPE_CHECKING:
    from lenetlab.reproduce import Context


def curves(result: LenetResult) -> bytes:
    with figure(1, 2, figsize=(10, 3.6)) as (fig, (ax_loss, ax_acc)):
        for variant, run in result.runs.items():
            epochs = [r.epoch for r in run.history]
            ax_loss.plot(epochs, [r.train_loss for r in run.history], "o-",
                         label=f"{variant} train")
            ax_loss.plot(epochs, [r.test_loss for r in run.history], "s--",
                         label=f"{variant} test")
            ax_acc.plot(epochs, [100 * r.train_accuracy for r in run.history], "o-",
                        label=f"{variant} train")
            ax_acc.plot(epochs, [100 * r.test_accuracy for r in run.history], "s--",
                        label=f"{variant} test")
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="Loss")
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        ax_acc.set_ylim(90, 100)
        ax_loss.legend()
        ax_acc.legend()
        return png(fig)


def confusion(result: LenetResult) -> bytes:
    cm = result.confusion
    with figure(figsize=(5.2, 4.6)) as (fig, ax):
        off = cm.copy()
        np.fill_diagonal(off, 0)
        im = ax.imshow(off, cmap="Reds")
        for i in range(10):
            for j in range(10):
                if cm[i, j]:
                    ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                            color="black" if i != j else "tab:blue")
        ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit",
               ylabel="true digit", title="Confusion matrix (test set, errors shaded)")
        ax.grid(False)
        fig.colorbar(im, ax=ax, label="test images")
        return png(fig)


def kernels_and_table(result: LenetResult) -> bytes:
    with figure(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [1.6, 1]}) as (fig, axes):
        k = result.c1_kernels
        lim = np.abs(k).max()
        strip = np.concatenate([np.pad(m, 1, constant_values=np.nan) for m in k], axis=1)
        axes[0].imshow(strip, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0].set(title="The 6 learned C1 kernels (5×5; red > 0 > blue)", xticks=[], yticks=[])
        axes[0].grid(False)
        grid = np.zeros((6, 16))
        for o, ins in enumerate(C3_TABLE):
            grid[list(ins), o] = 1
        axes[1].imshow(grid, cmap="Greys", vmin=0, vmax=1.4)
        axes[1].set(title="C3 connection table (LeCun et al. 1998, Table I)",
                    xlabel="C3 map", ylabel="S2 map", xticks=range(16), yticks=range(6))
        axes[1].tick_params(labelsize=7)
        axes[1].grid(False)
        return png(fig)


def feature_maps(result: LenetResult) -> bytes:
    with figure(3, 8, figsize=(10, 4)) as (fig, axes):
        for ax in axes.flat:
            ax.axis("off")
        panels = [("input", result.digit, "gray", None)]
        panels += [(f"C1 map {i}", m, "RdBu_r", 1) for i, m in enumerate(result.c1_maps)]
        panels += [(None, None, None, None)]
        panels += [(f"C3 map {i}", m, "RdBu_r", 1) for i, m in enumerate(result.c3_maps)]
        for ax, (title, image, cmap, lim) in zip(axes.flat, panels, strict=True):
            if image is not None:
                ax.imshow(image, cmap=cmap, vmin=-lim if lim else None, vmax=lim)
                ax.set_title(title, fontsize=8)
        fig.suptitle("Feature maps after tanh for one test digit (red > 0 > blue)", fontsize=10)
        return png(fig)


def mistakes(result: LenetResult) -> bytes:
    n = max(len(result.mistakes), 1)
    with figure(1, n, figsize=(1.2 * n, 1.7), squeeze=False) as (fig, axes):
        for ax, m in zip(axes[0], result.mistakes, strict=False):
            ax.imshow(m.image)
            ax.set_title(f"{m.label}→{m.predicted}\n{100 * m.confidence:.0f}%", fontsize=8)
            ax.axis("off")
        fig.suptitle("Most confidently wrong test digits (true→predicted, confidence)",
                     fontsize=10, y=1.08)
        return png(fig)


def section(result: LenetResult, command: str, quick: bool = False) -> Section:
    runs = result.runs
    table = runs["table"]
    device = table.device
    comparisons = [
        Comparison("LeNet-5 parameters", "60,806", thousands(table.params), device, command),
        Comparison("test accuracy after 10 epochs" + (" (quick: after 1)" if quick else ""),
                   "98.67%", pct(table.test_accuracy), device, command),
        Comparison("training time", "189.8 s (author's machine)",
                   f"{table.train_seconds:.1f} s", device, command),
    ]
    rows = [[v, thousands(r.params), pct(r.test_accuracy), f"{r.train_seconds:.1f} s",
             str(len(r.history))] for v, r in runs.items()]
    return Section(
        key="p7",
        title="LeNet-5 with the original C3 connection table",
        question="Does the document's LeNet-5 — C3 wired by the 1998 table — reach its 98.67% "
        "on MNIST, and what does the sparse table cost or save against a full C3?",
        method="C1 conv 5×5 (pad 2) → avg-pool → C3 by Table I → avg-pool → 120 → 84 → 10, "
        "tanh after each layer, cross-entropy, plain SGD lr 0.1, batch 100, shuffled, inputs "
        "in [0,1]. C3 holds only its 1,516 connected parameters and runs as one convolution. "
        "Both variants start from the same seed and see the same batches.",
        figures=[
            Figure("p7_curves", curves(result), "Loss and accuracy per epoch, both variants."),
            Figure("p7_confusion", confusion(result), "Where the table variant errs."),
            Figure("p7_kernels", kernels_and_table(result), "C1 kernels and the C3 table."),
            Figure("p7_feature_maps", feature_maps(result), "What C1 and C3 see."),
            Figure("p7_mistakes", mistakes(result), "The hardest test digits."),
        ],
        tables=[Table("C3 by the table vs fully connected (same seed, same recipe)",
                      ["C3", "parameters", "test accuracy", "training time", "epochs"], rows)],
        comparisons=comparisons,
        results={v: r.metrics() for v, r in runs.items()}
        | {"confusion": result.confusion.tolist()},
    )


def part(ctx: Context) -> Section:
    epochs = 1 if ctx.quick else 10  # quick: one pass over all 60,000 images instead of ten
    config = TrainConfig(epochs=epochs, seed=ctx.seed, device=ctx.device_name)
    result = lenet.run(config, ctx.split("train"), ctx.split("test"), progress=ctx.progress)
    quick_flags = f" --epochs {epochs}" if ctx.quick else ""
    return section(result, ctx.command("lenetlab train --model lenet5" + quick_flags), ctx.quick)
