"""One report, many renderings: JSON for machines (CLI ``--json``, the REST API, the Action's report.json) and
tables for people.

Renderers never query anything; they receive the plan/run result and turn it into text. Every JSON object
about a migration, a problem or a run result is built here and only here, so ``status``, ``list``, the API
and report.json cannot drift into dialects again. The shapes are described by the JSON Schema shipped in
``lockgate/schemas/lockgate.schema.json`` and versioned by its ``schema`` number (``SCHEMA_VERSION``),
because CI scripts and the dashboard depend on them. Machine output keeps machine units (integer
milliseconds, full checksums, ISO 8601 timestamps in UTC); the human strings ("8 ms", a 10-digit
checksum) belong to the text renderers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from lockgate.durations import format_ms
from lockgate.history import LazyJson
from lockgate.lint.findings import Finding, finding_dict
from lockgate.locks import pending_locks
from lockgate.plan import SHOWN_APPLIED, Entry, Plan
from lockgate.problems import Problem
from lockgate.runner import APPLIED, DRY_RUN_OK, FAILED, NOT_TRIED, SKIPPED, MigrationResult, RunResult
from lockgate.schemas import SCHEMA_VERSION
from lockgate.source import Migration

if TYPE_CHECKING:
    from lockgate.drift import Drift
    from lockgate.service import DriftCheck

OUTCOMES = (APPLIED, FAILED, SKIPPED, DRY_RUN_OK, NOT_TRIED)


class MigrationJson(TypedDict):
    """``$defs/migration``: one version's file and tracking row, the same object in every document."""

    id: str
    version: int
    name: str
    state: str
    file: str | None
    checksum: str | None
    recorded_checksum: str | None
    applied_at: str | None
    executed_by: str | None
    execution_time_ms: int | None
    error_message: str | None
    metadata: dict[str, Any] | None


class ProblemJson(TypedDict):
    """``$defs/problem``."""

    code: str
    severity: str
    message: str
    file: str | None
    line: int | None
    version: int | None
    help: str | None


class RunErrorJson(TypedDict):
    """``$defs/run_error``."""

    message: str
    sqlstate: str | None
    line: int | None
    detail: str | None
    hint: str | None
    statements_completed: int


class RunResultJson(TypedDict):
    """``$defs/run_result``: what a run did to one migration; its identity fields are the migration's."""

    id: str
    version: int
    name: str
    file: str
    checksum: str
    outcome: str
    execution_time_ms: int
    attempts: int
    transactional: bool
    note: str | None
    error: RunErrorJson | None
    locks: NotRequired[list[str]]
    """Dry runs only: ``lock_summary`` of the migration (the locks a real run would take)."""


def lock_summary(summary: Sequence[str] | None) -> list[str]:
    """``locks.pending_locks`` of one migration as JSON: ``MODE on table`` per existing table it locks,
    strongest first; empty when it locks none (or its SQL does not parse, which is reported as a problem)."""
    return list(summary or ())


def iso_timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with its offset. The tracking and log tables hold ``timestamptz`` (their shape is
    checked), so a naive value cannot come from them; one is taken as UTC rather than as this machine's
    local time."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat()


def migration_json(entry: Entry, *, file: str | None = None) -> MigrationJson:
    """``file`` overrides the path as shown (the Action shows paths relative to the repository)."""
    record, migration = entry.record, entry.migration
    return {
        "id": entry.id,
        "version": entry.version,
        "name": entry.name,
        "state": entry.state,
        "file": file if file is not None else str(migration.path) if migration else None,
        "checksum": migration.checksum if migration else None,
        "recorded_checksum": record.checksum if record else None,
        "applied_at": iso_timestamp(record.applied_at) if record else None,
        "executed_by": record.executed_by if record else None,
        "execution_time_ms": record.execution_time_ms if record else None,
        "error_message": record.error_message if record else None,
        "metadata": _plain(record.metadata) if record else None,
    }


def pending_json(migration: Migration, *, file: str | None = None) -> MigrationJson:
    """A file with no tracking row (what the Action's plan lists, with or without a database)."""
    return migration_json(Entry(migration.version, migration, None, "pending"), file=file)


def _plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return metadata.to_dict() if isinstance(metadata, LazyJson) else dict(metadata)


def problem_json(problem: Problem) -> ProblemJson:
    return {
        "code": problem.code,
        "severity": problem.severity,
        "message": problem.message,
        "file": problem.path,
        "line": problem.line,
        "version": problem.version,
        "help": problem.help,
    }


def status_counts(plan: Plan) -> dict[str, int]:
    """How many migrations are in each state (one pass over the entries)."""
    counts = dict.fromkeys(("applied", "baselined", "failed", "running", "modified", "missing"), 0)
    for entry in plan.entries:
        if entry.state in counts:
            counts[entry.state] += 1
    counts["pending"] = len(plan.pending)
    counts["errors"] = len(plan.errors)
    counts["warnings"] = len(plan.warnings)
    return counts


def _target(database: str, table: str, directory: str) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "database": database, "table": table, "migrations_dir": directory}


def status_json(
    plan: Plan,
    *,
    database: str,
    table: str,
    directory: str,
    lint: Mapping[str, Sequence[Finding]] | None = None,
) -> dict[str, Any]:
    """The status document shared by ``lockgate status --json`` and ``GET /api/migrations``. Each pending
    entry carries ``lint``: what ``run``'s lint gate would report on it (``lint`` maps migration ids to
    findings), and ``locks``: the locks it takes on tables that exist before it (``lock_summary``)."""
    latest = plan.latest_applied
    # by identity: ``in`` on the tuple was O(n * pending); the locks of each in ``run``'s order
    pending = dict(zip(map(id, plan.pending), pending_locks(plan.pending), strict=True))
    return {
        **_target(database, table, directory),
        "counts": status_counts(plan),
        "latest_applied": migration_json(latest) if latest else None,
        "applied": [migration_json(e) for e in plan.entries if e.state in SHOWN_APPLIED],
        "pending": [
            {
                **migration_json(e),
                "lint": [finding_dict(f) for f in (lint or {}).get(e.id, ())],
                "locks": lock_summary(pending[id(e.migration)]),
            }
            for e in plan.entries
            if id(e.migration) in pending
        ],
        "failed": [migration_json(e) for e in plan.entries if e.state in {"failed", "running"}],
        "problems": [problem_json(p) for p in plan.problems],
        "valid": not plan.errors,
    }


def list_json(plan: Plan, *, database: str, table: str, directory: str) -> dict[str, Any]:
    """``lockgate list --json``: every version, in order, as the same migration object ``status`` uses."""
    return {
        **_target(database, table, directory),
        "migrations": [migration_json(entry) for entry in plan.entries],
    }


def validate_json(problems: Sequence[Problem], *, files: int) -> dict[str, Any]:
    """``lockgate validate --json``; the API's validate answer is this plus ``action``/``ok``/``message``."""
    errors = sum(1 for problem in problems if problem.severity == "error")
    return {
        "schema": SCHEMA_VERSION,
        "valid": not errors,
        "counts": {"files": files, "errors": errors, "warnings": len(problems) - errors},
        "problems": [problem_json(p) for p in problems],
    }


def result_json(result: MigrationResult, *, file: str | None = None) -> RunResultJson:
    migration, error = result.migration, result.error
    return {
        "id": migration.id,
        "version": migration.version,
        "name": migration.name,
        "file": file if file is not None else str(migration.path),
        "checksum": migration.checksum,
        "outcome": result.outcome,
        "execution_time_ms": result.duration_ms,
        "attempts": result.attempts,
        "transactional": result.transactional,
        "note": result.note or None,
        "error": None
        if error is None
        else {
            "message": error.message,
            "sqlstate": error.sqlstate,
            "line": error.line,
            "detail": error.detail,
            "hint": error.hint,
            "statements_completed": result.statements_completed,
        },
    }


def outcome_counts(results: Iterable[MigrationResult]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts


def run_json(
    plan: Plan,
    result: RunResult,
    *,
    blocked: bool,
    dry_run: bool,
    executed_by: str | None,
    lint: Sequence[Finding] = (),
) -> dict[str, Any]:
    """``lockgate run --json``; the API's run answer is this plus ``action``/``ok``/``message``. ``lint``
    holds the lint gate's findings on the pending files (errors among them refused the run unless
    ``lint_on_run`` is ``warn``); in a dry run each result carries ``locks``."""
    results = [result_json(r) for r in result.results]
    if dry_run:  # what the real run would lock, beside what the dry run did
        for row, summary in zip(results, pending_locks(r.migration for r in result.results), strict=True):
            row["locks"] = lock_summary(summary)
    return {
        "schema": SCHEMA_VERSION,
        "dry_run": dry_run,
        "blocked": blocked,
        "executed_by": executed_by,
        "counts": outcome_counts(result.results),
        "results": results,
        "problems": [problem_json(p) for p in plan.problems],
        "lint": [finding_dict(finding) for finding in lint],
    }


def entry_row(entry: Entry) -> list[str]:
    """Columns of ``lockgate list``: version, name, state, applied_at, executed_by, duration, checksum."""
    record = entry.record
    checksum = (entry.migration.checksum if entry.migration else record.checksum if record else "")[:10]
    executed_by = ""
    if record:
        executed_by = record.executed_by or str(record.metadata.get("actor", ""))
    return [
        str(entry.version),
        entry.name,
        entry.state,
        f"{record.applied_at:%Y-%m-%d %H:%M:%S}" if record and record.applied_at else "",
        executed_by,
        format_ms(record.execution_time_ms) if record and record.execution_time_ms is not None else "",
        checksum,
    ]


LIST_HEADERS = ["version", "name", "state", "applied_at", "executed_by", "duration", "checksum"]
LIST_OPTIONAL = ["checksum", "executed_by", "duration", "applied_at"]
"""What ``lockgate list`` drops first on a narrow terminal: the version and name are what users type next."""


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns without box drawing, for pipes and logs."""
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


# -- one-line summaries: composed here once, rendered by every door (CLI, API, Action) ------------------------
def validate_summary(files: int, problems: Sequence[Problem]) -> str:
    errors = sum(1 for problem in problems if problem.is_error)
    return f"{files} migration file(s) checked: {errors} error(s), {len(problems) - errors} warning(s)"


def refusal_summary(plan: Plan, lint_blocking: Sequence[Finding]) -> str:
    """Why a blocked run ran nothing: the plan's errors first (they stop even the lint gate), else the
    lint gate's errors, with how to proceed."""
    if plan.errors:
        return (
            f"nothing was run: {len(plan.errors)} validation error(s) (the first: {plan.errors[0].message})"
        )
    from lockgate.lint.gate import HOW_TO_PROCEED

    files = len({finding.path for finding in lint_blocking})
    first = lint_blocking[0]
    where = f"{first.path}:{first.line}: [{first.rule_id}] {first.message}"
    return (
        f"nothing was run: {len(lint_blocking)} lint error(s) in {files} pending migration(s) "
        f"(the first: {where}); {HOW_TO_PROCEED}"
    )


def run_summary(result: RunResult, *, dry_run: bool, database: str) -> str:
    """What a run that was not blocked did, in one line."""
    if not result.results:
        return f"nothing to do: every migration is applied ({database})"
    failed = result.failed
    if failed is not None:
        where = failed.error.one_line(failed.migration) if failed.error else failed.migration.filename
        done = result.count("applied")
        return f"{where}; {done} migration(s) applied before it" if done else where
    total = format_ms(sum(r.duration_ms for r in result.results))
    if dry_run:
        return f"would apply {result.count('dry-run-ok')} migration(s) to {database} in {total} (dry run, rolled back)"
    return f"applied {result.count('applied')} migration(s) to {database} in {total}"


def drift_items_json(found: Sequence[Drift]) -> list[dict[str, str]]:
    """Drift differences as ``$defs/drift_item`` (``lockgate drift --json``, ``drift_check_json``)."""
    return [{"kind": item.kind, "object": item.object, "detail": item.detail} for item in found]


def drift_check_json(check: DriftCheck) -> dict[str, Any]:
    """A drift check as ``$defs/drift_check``: the one shape ``status --drift``, the Action's report and
    the API share."""
    return {
        "replayed": check.replayed,
        "differences": drift_items_json(check.differences),
        "error": check.error,
    }


def drift_summary(check: DriftCheck, database: str) -> str:
    """One line for a drift check, the same in every view."""
    if check.error is not None:
        return f"drift not checked: {check.error}"
    if check.differences:
        return (
            f"{len(check.differences)} difference(s) between {database} and the schema its {check.replayed} "
            "applied migration(s) build"
        )
    return f"no drift: {database} has the schema its {check.replayed} applied migration(s) build"
