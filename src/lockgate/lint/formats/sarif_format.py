"""SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

GitHub requires ``tool.driver.name``, ``results[].message.text`` and a ``physicalLocation`` with an
``artifactLocation.uri`` relative to the repository root and ``region.startLine``; it shows
``rules[].help``/``helpUri`` next to each alert and uses ``partialFingerprints`` to track alerts as lines
move, so those are filled in too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from lockgate import __version__
from lockgate.lint.findings import Finding, LintReport, rule_url
from lockgate.lint.registry import Rule, load_rules
from lockgate.problems import Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _artifact(path: str) -> dict[str, str]:
    """Relative paths are resolved by GitHub against the checkout (``%SRCROOT%``)."""
    pure = PurePath(path)
    if pure.is_absolute():
        return {"uri": "file://" + quote(pure.as_posix())}
    return {"uri": quote(pure.as_posix()), "uriBaseId": "%SRCROOT%"}


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    markdown = f"{rule.why}\n\n**Instead:** {rule.help}\n\n[Docs]({rule_url(rule.id)})"
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.summary.replace("`", "")},
        "fullDescription": {"text": rule.why},
        "helpUri": rule_url(rule.id),
        "help": {"text": f"{rule.help} See {rule_url(rule.id)}", "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": [rule.family]},
    }


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    fingerprint = hashlib.sha256(
        f"{finding.path}|{finding.rule_id}|{finding.source_line.strip()}".encode()
    ).hexdigest()
    region: dict[str, Any] = {
        "startLine": finding.line,
        "startColumn": finding.column,
        "endLine": finding.span.end_line,
        "endColumn": finding.span.end_column,
    }
    if finding.source_line:
        region["snippet"] = {"text": finding.source_line}
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.message}. {finding.help}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact(finding.path),
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"lockgateFinding/v1": fingerprint},
    }


def sarif_dict(report: LintReport) -> dict[str, Any]:
    registry = load_rules()
    rule_ids = sorted(set(report.rule_ids) | {finding.rule_id for finding in report.findings})
    index = {rule_id: number for number, rule_id in enumerate(rule_ids)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lockgate",
                        "version": __version__,
                        "informationUri": "https://github.com/lockgate/lockgate",
                        "rules": [_rule_descriptor(registry[rule_id]) for rule_id in rule_ids],
                    }
                },
                "results": [_result(finding, index[finding.rule_id]) for finding in report.findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(report: LintReport, *, color: bool = False) -> str:
    return json.dumps(sarif_dict(report), indent=2, ensure_ascii=False) + "\n"
