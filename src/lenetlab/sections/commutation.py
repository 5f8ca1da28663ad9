"""P4 in the report: which activations commute with pooling, the verdict table and the proof."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from lenetlab.commutation import ACTIVATIONS, PROOF
from lenetlab.devices import describe
from lenetlab.experiments import commutation
from lenetlab.experiments.commutation import CheckConfig, CheckResult, Verdict
from lenetlab.figures import figure, png
from lenetlab.report import Comparison, Figure, Section, Table

if TYPE_CHECKING:
    from lenetlab.reproduce import Context

HEADER = ["case", "data", "expected", "verdict", "counterexample", "max difference", "outputs"]


def expected_text(v: Verdict) -> str:
    return "—" if v.expected is None else ("holds" if v.expected else "fails")


def verdict_row(v: Verdict) -> list[str]:
    """One table row; a verdict that contradicts the theory is flagged."""
    verdict = ("holds" if v.holds else "fails") + ("" if v.agrees else "  (UNEXPECTED)")
    return [v.case, v.data, expected_text(v), verdict, str(v.counterexample or "—"),
            f"{v.max_difference:.3g}", f"{v.compared:,}"]


def activations_figure(result: CheckResult) -> bytes:
    """Each activation's graph; the failing max-pool cases with their counterexample marked."""
    x = torch.linspace(-3.5, 3.5, 701)
    found = {v.activation: v.counterexample for v in result.verdicts
             if v.pool == "max" and v.data == "random" and v.counterexample}
    with figure(1, 2, figsize=(11, 4)) as (fig, (ax_up, ax_not)):
        for a in ACTIVATIONS.values():
            ax = ax_up if a.monotone else ax_not
            (line,) = ax.plot(x, a.fn(x), label=f"{a.name}: {a.formula}")
            if a.name in found:
                window = [v for row in found[a.name].x for v in row]
                ax.plot(window, a.fn(torch.tensor(window)), "o", color=line.get_color())
        ax_up.set(title="Non-decreasing: commute with max-pooling", xlabel="x", ylabel="σ(x)")
        ax_not.set(title="Not monotone: counterexample windows marked", xlabel="x")
        ax_up.legend(fontsize=7)
        ax_not.legend(fontsize=7)
        return png(fig)


def section(result: CheckResult, device: str, command: str) -> Section:
    monotone = [v for v in result.verdicts if v.pool == "max" and v.expected]
    refuted = [v for v in result.verdicts if v.expected is False]
    worst = max(v.max_difference for v in monotone)
    found = sum(not v.holds for v in refuted)
    return Section(
        key="p4",
        title="Max-pooling commutes with every non-decreasing activation",
        question="For which activations σ and poolings P is σ(P(X)) = P(σ(X)) for every X?",
        method=f"Both sides compared on {result.config.trials} random pooling geometries per "
        "case (kernel, stride, padding up to half the kernel, dilation, ceil mode: everything "
        "PyTorch accepts) with random and tied inputs, after a deterministic search for the "
        "smallest counterexample among 1×2 windows of integers in −3…3; then on "
        f"{result.mnist_images} standardized MNIST test digits with three geometries. "
        "Property-based tests (hypothesis) run the same comparison in the test suite.",
        figures=[Figure("p4_activations", activations_figure(result),
                        "The catalogue: the monotone activations, and the non-monotone ones "
                        "with the window that refutes them.")],
        tables=[Table("Verdicts (max difference over all outputs compared; a difference of a "
                      "few float rounding units counts as equal)", HEADER,
                      [verdict_row(v) for v in result.verdicts])],
        comparisons=[
            Comparison("σ(maxpool X) = maxpool σ(X), σ non-decreasing", "holds (proof)",
                       f"holds in {sum(v.holds for v in monotone)}/{len(monotone)} checks, "
                       f"max difference {worst:.2g}", device, command),
            Comparison("non-monotone σ, or average pooling with nonlinear σ", "fails",
                       f"counterexample found in {found}/{len(refuted)} cases", device, command),
        ],
        notes=[f"Proof. {PROOF}",
               "Average pooling is a weighted mean: it commutes with affine σ (here −x) and "
               "with nothing nonlinear. Windows that PyTorch lets fall wholly in the padding "
               "(possible with dilation) have max −inf on both sides and are left out."],
        results={"ok": result.ok, "verdicts": [
            {"case": v.case, "data": v.data, "expected": v.expected, "holds": v.holds,
             "max_difference": v.max_difference, "compared": v.compared,
             "counterexample": str(v.counterexample) if v.counterexample else None}
            for v in result.verdicts]},
    )


def part(ctx: Context) -> Section:
    config = CheckConfig(seed=ctx.seed, trials=100 if ctx.quick else 300, device=ctx.device_name)
    images = ctx.mnist("test")[0][:16]
    result = commutation.run(config, images)
    quick = " --trials 100" if ctx.quick else ""
    return section(result, describe(ctx.device), ctx.command("lenetlab check" + quick))
