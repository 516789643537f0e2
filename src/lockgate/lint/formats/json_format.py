"""Machine output, schema version 1.

``{"version": 1, "tool": {...}, "files": [...], "findings": [...], "summary": {...}}``; positions are
1-based, ``end_column`` is exclusive. Fields are only ever added within a version.
"""

from __future__ import annotations

import json
from typing import Any

from lockgate import __version__
from lockgate.lint.findings import LintReport, finding_dict

SCHEMA_VERSION = 1


def report_dict(report: LintReport) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "lockgate", "version": __version__},
        "files": [
            {"path": result.path, "statements": result.statements, "findings": len(result.findings)}
            for result in report.files
        ],
        "findings": [finding_dict(finding) for finding in report.findings],
        "summary": report.summary(),
    }


def render(report: LintReport, *, color: bool = False) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
