"""The Action's report: one plain data structure that the summary, the comment and the JSON output render.

It is written to ``report.json`` by ``lockgate github run`` and read back by ``lockgate github comment``,
so the step that talks to the GitHub API never needs the database, the files or the plan again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHECK = "check"
APPLY = "apply"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Issue:
    """One thing a reviewer must see: a lint finding, a naming/immutability violation, a plan problem,
    or a failed migration. ``source`` says which check produced it."""

    source: str
    severity: str
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    help: str | None = None
    url: str | None = None

    @property
    def where(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""


@dataclass(frozen=True)
class PlanRow:
    """One file that merging (check) would apply, in order."""

    version: int
    name: str
    file: str
    transactional: bool | None
    locks: tuple[str, ...] = ()
    lint_errors: int = 0
    lint_warnings: int = 0
    out_of_order: bool = False


@dataclass(frozen=True)
class RunRow:
    """One migration the runner touched (apply) or tried on the shadow database (dry-run)."""

    migration_id: str
    file: str
    outcome: str
    duration_ms: int
    transactional: bool
    error: str | None = None
    line: int | None = None


@dataclass
class ActionReport:
    """Everything one Action run found or did; renderers compute nothing but text from it."""

    mode: str
    ok: bool = True
    database: str | None = None
    base: str | None = None
    changed_files: list[str] = field(default_factory=list)
    plan: list[PlanRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)
    dry_run: list[RunRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    pull_requests: list[int] = field(default_factory=list)
    applied_history: int = 0

    def count(self, severity: str, source: str | None = None) -> int:
        return sum(
            1
            for issue in self.issues
            if issue.severity == severity and (source is None or issue.source == source)
        )

    @property
    def failed_run(self) -> RunRow | None:
        return next((row for row in self.runs if row.outcome == "failed"), None)

    @property
    def relevant(self) -> bool:
        """Whether a PR comment says anything: the PR touches migrations, something ran, or it failed."""
        return bool(self.changed_files or self.runs or self.plan or not self.ok)

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["schema"] = SCHEMA_VERSION
        document["relevant"] = self.relevant
        return document


def write_report(path: Path, report: ActionReport, comment_body: str) -> None:
    """The report plus the rendered comment, for the comment step and for users (``report-json``)."""
    document = {**report.to_json(), "comment": comment_body}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
