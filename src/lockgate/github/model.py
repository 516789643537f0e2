"""The Action's report: one plain data structure that the summary, the comment and the JSON output render.

It is written to ``report.json`` by ``lockgate github run`` and read back by ``lockgate github comment``,
so the step that talks to the GitHub API never needs the database, the files or the plan again. Its
migrations and run results are the objects ``lockgate.report`` builds for the CLI and the API (described
by ``$defs/action_report`` in the package's JSON Schema), not a dialect of their own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.problems import Severity
from lockgate.schemas import SCHEMA_VERSION

if TYPE_CHECKING:  # the comment step reads report.json and never loads the pipeline
    from lockgate.report import MigrationJson, RunResultJson

CHECK = "check"
APPLY = "apply"


@dataclass(frozen=True)
class Issue:
    """One thing a reviewer must see: a lint finding, a naming/immutability violation, a plan problem,
    or a failed migration. ``source`` says which check produced it. In report.json it is a problem's
    fields (``$defs/problem_fields``: code, severity, message, file, line, version) plus ``source``,
    ``help`` and ``url``."""

    source: str
    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    help: str | None = None
    url: str | None = None
    version: int | None = None
    fix: str | None = None
    """The safe rewrite as SQL (a lint finding's ``fix``), shown under the finding in the comment."""

    def __post_init__(self) -> None:
        # report.json is read back by the comment step: a severity arrives there as plain text
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def where(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""


@dataclass(frozen=True)
class PlanRow:
    """One file that merging (check) would apply, in order: the migration plus how it would run."""

    migration: MigrationJson
    transactional: bool | None
    locks: tuple[str, ...] = ()
    lint_errors: int = 0
    lint_warnings: int = 0
    out_of_order: bool = False


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
    runs: list[RunResultJson] = field(default_factory=list)
    """What the runner did (apply)."""
    dry_run: list[RunResultJson] = field(default_factory=list)
    """What a dry run on the shadow database did (check)."""
    notes: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    pull_requests: list[int] = field(default_factory=list)
    applied_history: int = 0
    drift: dict[str, Any] | None = None
    """Check mode with the ``drift`` input: ``$defs/drift_check`` (``replayed``, ``differences``, ``error``)."""
    fleet: list[dict[str, Any]] = field(default_factory=list)
    """Check mode with the ``targets`` input: the merged plan per group of targets whose plans are the same
    (``targets``, ``state``, ``pending`` file names, ``message``), so a target that lags shows at once."""

    def count(self, severity: str, source: str | None = None) -> int:
        return sum(
            1
            for issue in self.issues
            if issue.severity == severity and (source is None or issue.source == source)
        )

    @property
    def failed_run(self) -> RunResultJson | None:
        return next((row for row in self.runs if row["outcome"] == "failed"), None)

    @property
    def relevant(self) -> bool:
        """Whether a PR comment says anything: the PR touches migrations, something ran, the target
        drifted, or it failed."""
        drifted = self.drift is not None and bool(self.drift.get("differences") or self.drift.get("error"))
        return bool(self.changed_files or self.runs or self.plan or self.fleet or drifted or not self.ok)

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
