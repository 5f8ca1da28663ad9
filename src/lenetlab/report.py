"""The report: sections in, one self-contained `report.html`, `results.json` and PNGs out.

A `Section` is plain data (text, figures as PNG bytes, tables, and the document-vs-lenetlab
comparisons); the part modules in `lenetlab.sections` build them from experiment results, and
this module only lays them out. Every number in a comparison appears in both the page and the
JSON, from the same value.
"""

from __future__ import annotations

import base64
import html
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lenetlab.data.idx import atomic_write_bytes


@dataclass
class Figure:
    name: str  # file stem, unique in the report: "p7_curves"
    png: bytes = field(repr=False)
    caption: str


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Comparison:
    """One number the document gives, beside ours."""

    quantity: str
    document: str
    ours: str
    device: str
    command: str  # the command that reproduces this number alone


@dataclass
class Section:
    key: str  # "p1" ... "p7+"
    title: str
    question: str
    method: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # every number, for results.json
    seconds: float = 0.0  # wall time of the part


CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:13px}code{background:#f5f5f5;padding:0 .2em}
.meta{color:#666;font-size:13px}.note{background:#fffbe6;border-left:4px solid #e6c200;
padding:.4em .8em;margin:.5em 0}
"""


def _table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def comparison_rows(sections: list[Section]) -> list[list[str]]:
    return [
        [s.key.upper(), c.quantity, c.document, c.ours, c.device, c.command]
        for s in sections
        for c in s.comparisons
    ]


COMPARISON_HEADER = ["part", "quantity", "document", "lenetlab", "device", "command"]


def render_html(sections: list[Section], meta: dict[str, Any]) -> str:
    """One page, figures embedded as data URIs, readable offline."""
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<title>lenetlab report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>lenetlab: the document, reproduced</h1>",
        f"<p class=meta>{html.escape(_meta_line(meta))}</p>",
    ]
    if meta.get("quick"):
        out.append("<p class=note><b>Quick run</b>: subsets and fewer epochs; the numbers below "
                   "are not the full reproduction. Run <code>lenetlab reproduce</code> for it.</p>")
    out += ["<h2>Document vs lenetlab</h2>",
            _table(COMPARISON_HEADER, comparison_rows(sections))]
    for s in sections:
        out.append(f"<h2 id={s.key}>{html.escape(s.key.upper())} — {html.escape(s.title)}</h2>")
        out.append(f"<p><b>Question.</b> {html.escape(s.question)}</p>")
        out.append(f"<p><b>Method.</b> {html.escape(s.method)}</p>")
        if s.comparisons:
            out.append(_table(COMPARISON_HEADER[1:], [r[1:] for r in comparison_rows([s])]))
        for t in s.tables:
            out.append(_table(t.header, t.rows, t.caption))
        for f in s.figures:
            data = base64.b64encode(f.png).decode("ascii")
            out.append(f"<figure><img alt=\"{html.escape(f.caption)}\" "
                       f"src=\"data:image/png;base64,{data}\">"
                       f"<figcaption>{html.escape(f.caption)}</figcaption></figure>")
        for n in s.notes:
            out.append(f"<p class=note>{html.escape(n)}</p>")
        out.append(f"<p class=meta>Wall time of this part: {s.seconds:.1f} s</p>")
    out.append("</body></html>")
    return "\n".join(out)


def _meta_line(meta: dict[str, Any]) -> str:
    keys = ("date", "device", "lenetlab", "torch", "numpy", "python", "seed", "wall_seconds")
    return " · ".join(f"{k}: {meta[k]}" for k in keys if k in meta)


def results_json(sections: list[Section], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "parts": {
            s.key: {
                "title": s.title,
                "seconds": s.seconds,
                "comparisons": [asdict(c) for c in s.comparisons],
                "results": s.results,
                "figures": [f"figures/{f.name}.png" for f in s.figures],
            }
            for s in sections
        },
    }


def write_report(sections: list[Section], out_dir: str | os.PathLike, meta: dict[str, Any]) -> Path:
    """Write report.html, results.json and figures/*.png into `out_dir`; return the HTML path."""
    out = Path(out_dir)
    for s in sections:
        for f in s.figures:
            atomic_write_bytes(out / "figures" / f"{f.name}.png", f.png)
    payload = json.dumps(results_json(sections, meta), indent=2, default=str)
    atomic_write_bytes(out / "results.json", payload.encode())
    atomic_write_bytes(out / "report.html", render_html(sections, meta).encode())
    return out / "report.html"
