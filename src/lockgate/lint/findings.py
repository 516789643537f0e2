"""What a lint run produces: findings, independent of any output format.

A ``Violation`` is what a rule yields (where and what); the engine turns it into a ``Finding`` by adding
the rule id, the effective severity, the file and the docs link, so rules never deal with configuration.

The records are NamedTuples rather than dataclasses: building sixteen dataclasses (and importing
``dataclasses``, which imports ``inspect``) cost a third of the pre-commit hook's start-up.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lockgate.problems import Severity

DOCS_URL = "https://github.com/lockgate/lockgate/blob/main/docs/rules.md"


class Span(NamedTuple):
    """A 1-based, inclusive-start / exclusive-end-column region of a file."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int) -> Span:
        return cls(line, column, line, column + 1)


class Violation(NamedTuple):
    """A rule's raw hit: the message names the lock or risk; ``help`` overrides the rule's default."""

    span: Span
    message: str
    help: str | None = None


def rule_url(rule_id: str) -> str:
    return f"{DOCS_URL}#{rule_id}"


class Finding(NamedTuple):
    """One problem in one file, ready for any renderer."""

    rule_id: str
    severity: Severity
    path: str
    span: Span
    message: str
    help: str
    source_line: str = ""
    """The text of the finding's first line, for excerpts; empty when unknown (unreadable files)."""

    @property
    def url(self) -> str:
        return rule_url(self.rule_id)

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.rule_id)


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as JSON (lint's JSON report, ``run --json``'s ``lint`` list, the API)."""
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.span.end_line,
        "end_column": finding.span.end_column,
        "message": finding.message,
        "help": finding.help,
        "url": finding.url,
        "source": finding.source_line,
    }
