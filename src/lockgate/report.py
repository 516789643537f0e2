"""One report, many renderings: JSON for machines (CLI ``--json``, the REST API) and tables for people.

Renderers never query anything; they receive the plan/run result and turn it into text. The JSON shape is
versioned (``"schema": 1``) because CI scripts and the dashboard depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lockgate.durations import format_ms
from lockgate.history import LazyJson
from lockgate.lint.findings import Finding, finding_dict
from lockgate.plan import Entry, Plan, Problem
from lockgate.runner import MigrationResult, RunResult

SCHEMA_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def entry_json(entry: Entry) -> dict[str, Any]:
    record = entry.record
    return {
        "id": entry.id,
        "version": entry.version,
        "name": entry.name,
        "state": entry.state,
        "file": str(entry.migration.path) if entry.migration else None,
        "checksum": entry.migration.checksum if entry.migration else None,
        "recorded_checksum": record.checksum if record else None,
        "applied_at": _iso(record.applied_at) if record else None,
        "executed_by": record.executed_by if record else None,
        "execution_time_ms": record.execution_time_ms if record else None,
        "error_message": record.error_message if record else None,
        "metadata": _plain(record.metadata) if record else None,
    }


def _plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return metadata.to_dict() if isinstance(metadata, LazyJson) else dict(metadata)


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "code": problem.code,
        "severity": problem.severity,
        "message": problem.message,
        "file": problem.path,
        "line": problem.line,
        "version": problem.version,
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
    findings)."""
    latest = plan.latest_applied
    pending = {
        id(migration) for migration in plan.pending
    }  # identity: ``in`` on the tuple was O(n * pending)
    return {
        "schema": SCHEMA_VERSION,
        "database": database,
        "table": table,
        "migrations_dir": directory,
        "counts": status_counts(plan),
        "latest_applied": entry_json(latest) if latest else None,
        "applied": [entry_json(e) for e in plan.entries if e.state in {"applied", "baselined", "modified"}],
        "pending": [
            {**entry_json(e), "lint": [finding_dict(f) for f in (lint or {}).get(e.id, ())]}
            for e in plan.entries
            if id(e.migration) in pending
        ],
        "failed": [entry_json(e) for e in plan.entries if e.state in {"failed", "running"}],
        "problems": [problem_json(p) for p in plan.problems],
        "valid": not plan.errors,
    }


def result_json(result: MigrationResult) -> dict[str, Any]:
    error = result.error
    return {
        "id": result.migration.id,
        "version": result.migration.version,
        "file": str(result.migration.path),
        "outcome": result.outcome,
        "duration_ms": result.duration_ms,
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


def run_json(
    plan: Plan, result: RunResult, *, blocked: bool, dry_run: bool, lint: Sequence[Finding] = ()
) -> dict[str, Any]:
    """``lint`` holds the lint gate's findings on the pending files (errors among them refused the run
    unless ``lint_on_run`` is ``warn``)."""
    return {
        "schema": SCHEMA_VERSION,
        "dry_run": dry_run,
        "blocked": blocked,
        "applied": result.count("applied"),
        "failed": result.count("failed"),
        "results": [result_json(r) for r in result.results],
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


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns without box drawing, for pipes and logs."""
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
