"""P7+ in the report: the 1998 LeNet-5 itself, beside the paper's table of results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lenetlab.accounting import account
from lenetlab.experiments import paper
from lenetlab.experiments.paper import PaperResult, recipe_config
from lenetlab.figures import figure, png
from lenetlab.lenet1998 import BITMAP_COLS, BITMAP_ROWS
from lenetlab.report import Comparison, Figure, Section, Table
from lenetlab.sections.common import pct, thousands

if TYPE_CHECKING:
    from lenetlab.reproduce import Context

TRAIN_CMD = "lenetlab train --model lenet5-1998 --recipe "
# LeCun et al. 1998, Fig. 9 and §III-C: test error on MNIST (the paper quotes ≈ 0.1% uncertainty).
PAPER_ROWS = (
    ("linear classifier", "12.0%"),
    ("K-NN, Euclidean", "5.0%"),
    ("MLP 28×28-300-100-10", "3.05%"),
    ("LeNet-1", "1.7%"),
    ("LeNet-4", "1.1%"),
    ("boosted LeNet-4", "0.7%"),
)


def prototypes(result: PaperResult) -> bytes:
    bitmaps = result.model.output.prototypes.cpu().numpy()
    with figure(1, 10, figsize=(8, 1.8)) as (fig, axes):
        for digit, ax in enumerate(axes):
            ax.imshow(-bitmaps[digit].reshape(BITMAP_ROWS, BITMAP_COLS), vmin=-1, vmax=1)
            ax.set_title(str(digit), fontsize=9)
            ax.axis("off")
        fig.suptitle("The fixed RBF prototypes (Fig. 3 of the paper; ink = +1)", fontsize=10)
        return png(fig)


def curves(result: PaperResult) -> bytes:
    passes = [r.pass_number for r in result.history]
    with figure(figsize=(6.4, 3.8)) as (fig, ax):
        ax.plot(passes, [100 * r.test_error for r in result.history], "s-", label="test")
        ax.plot(passes, [100 * r.train_error for r in result.history], "o-", label="training")
        ax.axhline(0.95, color="grey", ls="--", lw=1, label="paper, test (0.95%)")
        ax.axhline(0.35, color="grey", ls=":", lw=1, label="paper, training (0.35%)")
        ax.set(xlabel="pass over the training set", ylabel="error (%)", yscale="log",
               title=f"1998 LeNet-5, recipe '{result.config.recipe}'")
        ax.legend()
        return png(fig)


def mistakes(result: PaperResult, limit: int = 120) -> bytes:
    """All misclassified test digits (up to `limit`), like the paper's Fig. 8 of its 82."""
    n = min(len(result.images), limit)
    cols = 15
    rows = max(1, -(-n // cols))
    with figure(rows, cols, figsize=(cols * 0.75, rows * 0.95), squeeze=False) as (fig, axes):
        for ax in axes.flat:
            ax.axis("off")
        for ax, image, label, pred in zip(axes.flat, result.images, result.labels,
                                          result.predicted, strict=False):
            ax.imshow(255 - image)
            ax.set_title(f"{label}→{pred}", fontsize=7, pad=1)
        shown = f"the first {n} of {len(result.images)}" if n < len(result.images) else f"all {n}"
        fig.suptitle(f"Misclassified test digits, true→predicted ({shown})", fontsize=10)
        return png(fig)


def section(result: PaperResult, command: str, quick: bool = False) -> Section:
    device = result.device
    rows = account(result.model.cpu(), (1, 28, 28))
    connections = sum(r.connections for r in rows)
    first = result.history[0]
    metrics = result.metrics()
    silent = metrics["silent_maps"]
    note = " (quick: subset, fewer passes)" if quick else ""
    ours = f"{pct(result.test_error)}{note}, recipe '{result.config.recipe}'"
    table_rows = [[name, err, "—", "not run here"] for name, err in PAPER_ROWS] + [
        ["LeNet-5 (1998)", "0.95%", ours, command],
        ["LeNet-5 (1998), distortions", "0.8%", "not run by reproduce (≈ 20 online passes)",
         TRAIN_CMD + "paper-distorted"],
        ["the document's LeNet-5 (P7)", "1.33% (98.67% accuracy)", "see P7",
         "lenetlab train --model lenet5"],
    ]
    comparisons = [
        Comparison("trainable parameters", "60,000", thousands(result.params), "any", command),
        Comparison("connections", "340,908", thousands(connections), "any", command),
        Comparison("test error" + note, "0.95% (20 online passes)", pct(result.test_error),
                   device, command),
        Comparison("training error" + note, "0.35% (after 19 passes)", pct(result.train_error),
                   device, command),
        Comparison("step sizes ε_k in the first pass", "≈ 7e-5 to 0.016",
                   f"{first.step_min:.1e} to {first.step_max:.3f}", device, command),
        Comparison("misclassified test digits" + note, "82", str(len(result.misclassified)),
                   device, command),
        Comparison("S4 maps left silent (|coefficient| < 0.02; see LeNet1998.silent_maps)",
                   "not reported", f"{len(silent['s4'])} of 16", device, command),
    ]
    c = result.config
    return Section(
        key="p7+",
        title="The 1998 LeNet-5 itself (beyond the document)",
        question="What does the network of LeCun et al. (1998) — trainable subsampling, scaled "
        "tanh, RBF outputs with fixed bitmap prototypes, trained by stochastic diagonal "
        "Levenberg–Marquardt — reach on MNIST, beside the paper's table?",
        method="32×32 input at levels −0.1/1.175, f(a) = 1.7159·tanh(2a/3) after every layer, "
        "S2/S4 a trainable coefficient and bias per map, C3 by Table I, C5 a 5×5 convolution, "
        "F6 84 units, 10 Euclidean RBF units with the Fig. 3 bitmaps (argmin wins), weights "
        "uniform in ±2.4/F_i, criterion Eq. 8 (mean penalty of the correct class). SDLM: "
        "ε_k = η/(μ + h_kk), h_kk the Gauss–Newton diagonal back-propagated and re-estimated "
        f"on {c.curvature_samples} images before each pass, η by the paper's schedule × "
        f"{c.eta_scale:g}, μ = {c.mu:g}, batch {c.batch_size}, {c.passes} passes. "
        f"Recipe '{c.recipe}': " + paper.RECIPE_NOTES[c.recipe],
        figures=[
            Figure("p7plus_curves", curves(result), "Training and test error after each pass."),
            Figure("p7plus_mistakes", mistakes(result), "The test digits the network gets "
                   "wrong (the paper shows its 82)."),
            Figure("p7plus_prototypes", prototypes(result), "The output layer's fixed weights."),
        ],
        tables=[Table("Test error on MNIST: the paper's table beside ours",
                      ["model", "paper", "lenetlab", "command"], table_rows)],
        comparisons=comparisons,
        notes=[paper.PAPER_NOTE],
        results=metrics | {"connections": connections},
    )


def part(ctx: Context) -> Section:
    passes, limit = (2, 2_000) if ctx.quick else (None, None)
    overrides = {"passes": passes} if passes else {}
    config = recipe_config("fast", seed=ctx.seed, device=ctx.device_name, **overrides)
    result = paper.run_recipe(config, ctx.split("train", limit), ctx.split("test"),
                              progress=ctx.progress)
    flags = f" --epochs {passes} --train-limit {limit}" if ctx.quick else ""
    return section(result, ctx.command(TRAIN_CMD + "fast" + flags), ctx.quick)

