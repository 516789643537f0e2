"""Renderers: one ``LintReport`` -> text for people, JSON for machines, GitHub annotations, SARIF.

Each renderer is a pure function of the report; none of them looks at files or configuration, so the
same report can be written in several formats (``--format sarif --output ...`` in CI).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.lint.findings import LintReport

FORMATS = ("text", "json", "github", "sarif")


def render(report: LintReport, format_name: str, *, color: bool = False) -> str:
    """The report in ``format_name``; only the chosen renderer is imported."""
    if format_name not in FORMATS:
        raise ValueError(f"unknown format {format_name!r}")
    module = importlib.import_module(f"lockgate.lint.formats.{format_name}_format")
    output: str = module.render(report, color=color)
    return output
