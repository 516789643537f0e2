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
    fix: str | None = None
    """The safe rewrite of this very statement, as SQL, when the rule can write it."""


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
    fix: str | None = None
    """SQL that does the same safely (from the rule's ``Violation.fix``), shown inline by every renderer."""

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


class FileResult(NamedTuple):
    """The findings of one file, in (line, column, rule) order."""

    path: str
    findings: tuple[Finding, ...]
    statements: int = 0


class LintReport:
    """Everything a renderer needs; renderers compute nothing else."""

    __slots__ = ("files", "note", "rule_ids")

    def __init__(self, files: tuple[FileResult, ...], rule_ids: tuple[str, ...] = (), note: str = "") -> None:
        self.files = files
        self.rule_ids = rule_ids
        """The rules that were enabled, so a SARIF consumer knows which checks ran and found nothing."""
        self.note = note
        """Said after the summary (which rule families ran, and why)."""

    def __repr__(self) -> str:
        return f"LintReport(files={self.files!r}, rule_ids={self.rule_ids!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LintReport) and (self.files, self.rule_ids) == (other.files, other.rule_ids)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking container: compared, never hashed

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.files for finding in result.findings]

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "files_with_findings": sum(1 for result in self.files if result.findings),
            "findings": len(self.findings),
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "info": self.count(Severity.INFO),
        }

    def exit_code(self, strict: bool = False) -> int:
        """1 on errors (or warnings with ``strict``), else 0."""
        if self.count(Severity.ERROR) or (strict and self.count(Severity.WARNING)):
            return 1
        return 0


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
        "fix": finding.fix,
    }


def to_wire(result: FileResult) -> Any:
    """One file's result as built-in types only, for ``marshal``: what a forked lint worker sends back through
    its pipe (``lint.parallel``) and what the result cache stores (``lint.cache``)."""
    return (
        result.path,
        result.statements,
        [
            (f.rule_id, f.severity.value, f.path, tuple(f.span), f.message, f.help, f.source_line, f.fix)
            for f in result.findings
        ],
    )


def from_wire(item: Any) -> FileResult:
    """The ``FileResult`` that ``to_wire`` turned into ``item``; ``ValueError`` or ``TypeError`` for anything
    else, checked field by field (the lint cache reads what another process wrote)."""
    path, statements, findings = item
    if type(path) is not str or type(statements) is not int or type(findings) is not list:
        raise ValueError("not a lint result")
    return FileResult(path, tuple(_finding(*finding) for finding in findings), statements)


def _finding(
    rule_id: Any, severity: Any, path: Any, span: Any, message: Any, help: Any, source: Any, fix: Any
) -> Finding:
    if (
        type(rule_id) is not str
        or type(path) is not str
        or type(message) is not str
        or type(help) is not str
        or type(source) is not str
        or (fix is not None and type(fix) is not str)
        or type(span) is not tuple
        or len(span) != 4
        or any(type(number) is not int for number in span)
    ):
        raise ValueError("not a finding")
    return Finding(rule_id, Severity(severity), path, Span(*span), message, help, source, fix)
