"""Formatting shared by the report's part modules."""

from __future__ import annotations


def pct(fraction: float, digits: int = 2) -> str:
    return f"{100 * fraction:.{digits}f}%"


def thousands(n: int) -> str:
    return f"{n:,}"
