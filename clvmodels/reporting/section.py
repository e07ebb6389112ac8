"""One section of the HTML report: what the template renders (clvmodels.reporting.builder fills it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    """A titled part of the report.

    ``lead`` is the one sentence a reader needs first (what this means, what to do);
    ``bullets`` are short sentences (the executive summary); ``warnings`` are caveats.
    """

    id: str
    title: str
    lead: str = ""
    kpis: list[dict[str, str]] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
