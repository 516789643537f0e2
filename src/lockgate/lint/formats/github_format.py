"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` annotation per finding.

Escaping follows the Actions runner (``toolkit/packages/core/src/command.ts``): in the message ``%``,
``\\r`` and ``\\n`` are percent-encoded; in properties ``:`` and ``,`` are too, since they delimit them.
"""

from __future__ import annotations

from lockgate.lint.findings import Finding, LintReport
from lockgate.problems import Severity

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    properties = {
        "file": finding.path,
        "line": str(finding.line),
        "col": str(finding.column),
        "endLine": str(finding.span.end_line),
        "endColumn": str(finding.span.end_column),
        "title": f"lockgate {finding.rule_id}",
    }
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    message = f"{finding.message}\nhelp: {finding.help}\ndocs: {finding.url}"
    return f"::{_COMMANDS[finding.severity]} {props}::{escape_data(message)}"


def render(report: LintReport, *, color: bool = False) -> str:
    return "".join(annotation(finding) + "\n" for finding in report.findings)
