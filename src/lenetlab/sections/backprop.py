"""P6 in the report: backpropagation by hand, checked against two oracles and trained."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lenetlab.experiments import backprop as experiment
from lenetlab.experiments.backprop import BackpropConfig, BackpropResult, GradCheck
from lenetlab.figures import figure, png
from lenetlab.report import Comparison, Figure, Section, Table
from lenetlab.sections.common import pct

if TYPE_CHECKING:
    from lenetlab.reproduce import Context

TOLERANCE = 1e-8  # relative error the gradient checks must stay under (SPEC P6)
TARGET = 0.97  # test accuracy the NumPy MLP must reach on MNIST
QUICK_EPOCHS = 3

CHECK_HEADER = ["activation", "layer sizes", "parameters", "vs torch.autograd",
                "vs finite differences", "verdict"]
HISTORY_HEADER = ["epoch", "train loss", "train acc", "test loss", "test acc", "seconds"]


def check_rows(checks: list[GradCheck]) -> list[list[str]]:
    return [[c.activation, "-".join(map(str, c.sizes)), str(c.params),
             f"{c.error_autograd:.1e}", f"{c.error_fd:.1e}",
             "ok" if max(c.error_autograd, c.error_fd) < TOLERANCE else "FAIL"]
            for c in checks]


def history_rows(result: BackpropResult) -> list[list[str]]:
    return [[str(r.epoch), f"{r.train_loss:.4f}", pct(r.train_accuracy), f"{r.test_loss:.4f}",
             pct(r.test_accuracy), f"{r.seconds:.1f}"] for r in result.history]


def curves(result: BackpropResult) -> bytes:
    epochs = [r.epoch for r in result.history]
    with figure(1, 2, figsize=(10, 3.6)) as (fig, (ax_loss, ax_acc)):
        ax_loss.plot(epochs, [r.train_loss for r in result.history], "o-", label="train")
        ax_loss.plot(epochs, [r.test_loss for r in result.history], "s--", label="test")
        ax_acc.plot(epochs, [100 * r.train_accuracy for r in result.history], "o-", label="train")
        ax_acc.plot(epochs, [100 * r.test_accuracy for r in result.history], "s--", label="test")
        ax_acc.axhline(100 * TARGET, color="grey", ls=":", label="97%")
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="Loss")
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        ax_loss.legend()
        ax_acc.legend()
        return png(fig)


def check_figure(checks: list[GradCheck]) -> bytes:
    labels = [f"{c.activation}\n{len(c.sizes) - 2} hidden" for c in checks]
    x = np.arange(len(checks))
    with figure(figsize=(10, 3.4)) as (fig, ax):
        ax.bar(x - 0.2, [c.error_autograd for c in checks], 0.4, label="vs torch.autograd")
        ax.bar(x + 0.2, [c.error_fd for c in checks], 0.4, label="vs central differences")
        ax.axhline(TOLERANCE, color="tab:red", ls="--", label="tolerance 1e-8")
        ax.set(yscale="log", ylabel="relative error", xticks=x,
               title="Hand-written gradients against two oracles (float64)")
        ax.set_xticklabels(labels, fontsize=7)
        ax.legend(fontsize=8)
        return png(fig)


def first_layer(result: BackpropResult, n: int = 24) -> bytes:
    with figure(3, n // 3, figsize=(10, 4)) as (fig, axes):
        for ax, w in zip(axes.flat, result.first_layer[:n], strict=True):
            lim = np.abs(w).max()
            ax.imshow(w.reshape(28, 28), cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.axis("off")
        fig.suptitle(f"Rows of A_1 as images: the first {n} of {len(result.first_layer)} "
                     "hidden units (red > 0 > blue)", fontsize=10)
        return png(fig)


def section(result: BackpropResult, command: str, quick: bool = False) -> Section:
    cfg = result.config
    worst_fd = max(c.error_fd for c in result.checks)
    worst_torch = max(c.error_autograd for c in result.checks)
    sizes = "-".join(map(str, [784, *cfg.hidden, 10]))
    return Section(
        key="p6",
        title="Backpropagation through an MLP, by hand",
        question="Do the document's Jacobians — ∂y_L/∂b_L = I, ∂y_L/∂y_{L−1} = A_L, "
        "∂y_ℓ/∂y_{ℓ−1} = diag(σ'(A_ℓy_{ℓ−1} + b_ℓ))·A_ℓ — give the exact gradients, and do "
        "they train a network?",
        method="Forward and backward written in NumPy alone (lenetlab.backprop), batched: the "
        "row vector δ = ∂loss/∂y_ℓ is multiplied by diag(σ') and A_ℓ layer by layer, and "
        "∂loss/∂A_ℓ = δᵀy_{ℓ−1}, ∂loss/∂b_ℓ = Σδ. Checked in float64 on random networks of "
        "0 to 4 hidden layers against torch.autograd on the same weights and against central "
        f"differences (ε = 1e-5). Then a {sizes} {cfg.activation} network trained with SGD lr "
        f"{cfg.lr}, batch {cfg.batch_size}, {cfg.epochs} epochs, float32.",
        figures=[
            Figure("p6_checks", check_figure(result.checks), "Gradient checks."),
            Figure("p6_curves", curves(result), "Training the NumPy MLP on MNIST."),
            Figure("p6_first_layer", first_layer(result), "What the hidden units look at."),
        ],
        tables=[Table("Relative error ‖g − g_oracle‖ / max(‖g‖, ‖g_oracle‖)", CHECK_HEADER,
                      check_rows(result.checks)),
                Table(f"{sizes} {cfg.activation} MLP, NumPy only", HISTORY_HEADER,
                      history_rows(result))],
        comparisons=[
            Comparison("backprop vs finite differences, worst relative error",
                       "— (target < 1e-8)", f"{worst_fd:.1e}", "CPU (NumPy)", command),
            Comparison("backprop vs torch.autograd, worst relative error",
                       "— (target < 1e-8)", f"{worst_torch:.1e}", "CPU (NumPy)", command),
            Comparison(f"NumPy MLP test accuracy after {cfg.epochs} epochs"
                       + (" (quick: fewer)" if quick else ""), "— (target ≥ 97%)",
                       pct(result.test_accuracy), "CPU (NumPy)", command),
        ],
        results=result.metrics(),
    )


def part(ctx: Context) -> Section:
    config = BackpropConfig(epochs=QUICK_EPOCHS if ctx.quick else BackpropConfig.epochs,
                            seed=ctx.seed)
    result = experiment.run(config, ctx.mnist("train"), ctx.mnist("test"), progress=ctx.progress)
    flags = f" --epochs {config.epochs}" if ctx.quick else ""
    return section(result, ctx.command("lenetlab backprop" + flags), ctx.quick)
