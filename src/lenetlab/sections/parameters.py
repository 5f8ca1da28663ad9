"""P2 in the report: the per-layer accounting table of both LeNet-5 variants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lenetlab.experiments import parameters
from lenetlab.experiments.parameters import ParameterResult
from lenetlab.report import Comparison, Section, Table
from lenetlab.sections.common import thousands

if TYPE_CHECKING:
    from lenetlab.reproduce import Context

HEADER = ["layer", "kind", "output", "weight", "parameters", "multiply-adds", "connections"]


def account_table(result: ParameterResult, model: str) -> Table:
    rows = [
        [r.name, r.kind, "×".join(map(str, r.output_shape)),
         "×".join(map(str, r.weight_shape)) if r.weight_shape else "—",
         thousands(r.params), thousands(r.macs), thousands(r.connections)]
        for r in result.layers[model]
    ]
    rows.append(["total", "", "", "", *(thousands(result.total(model, c))
                                        for c in ("params", "macs", "connections"))])
    return Table(f"{model}: per-layer accounting for one 28×28 image", HEADER, rows)


def section(result: ParameterResult) -> Section:
    table, full = result.total("lenet5"), result.total("lenet5-full")
    per_layer = {r.name: r.params for r in result.layers["lenet5"]}
    cmd = "lenetlab params lenet5 lenet5-full"
    device = "any"
    comparisons = [
        Comparison("LeNet-5 parameters, C3 by the table", "60,806", thousands(table), device, cmd),
        Comparison("LeNet-5 parameters, full C3", "61,706", thousands(full), device, cmd),
        Comparison("difference (C3 table saves)", "900", thousands(full - table), device, cmd),
    ] + [
        Comparison(f"{name} parameters", doc, thousands(per_layer[name]), device, cmd)
        for name, doc in (("c1", "156"), ("c3", "1,516"), ("c5", "48,120"), ("f6", "10,164"),
                          ("output", "850"))
    ]
    return Section(
        key="p2",
        title="Shapes and parameter counts of convolution layers",
        question="How many parameters does each layer of LeNet-5 have, and what does the "
        "sparse C3 table save?",
        method="A layer with C_in inputs, C_out outputs and k×k kernels has weight "
        "[C_out, C_in, k, k] and C_out·(C_in·k² + 1) parameters. We count the trainable "
        "parameters of the built models and, by running one image through them, the output "
        "shapes, multiply-adds and the 1998 paper's connections (every use of a shared weight "
        "counts once).",
        tables=[account_table(result, "lenet5"), account_table(result, "lenet5-full")],
        comparisons=comparisons,
        results={
            m: {"params": result.total(m), "macs": result.total(m, "macs"),
                "connections": result.total(m, "connections"),
                "layers": {r.name: {"params": r.params, "macs": r.macs,
                                    "connections": r.connections,
                                    "output_shape": list(r.output_shape)}
                           for r in result.layers[m]}}
            for m in result.layers
        },
    )


def part(ctx: Context) -> Section:
    return section(parameters.run())
