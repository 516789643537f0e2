"""The merged plan as a reviewer reads it: which files merging would apply, in what order, how.

Built from the pipeline's ``Plan`` (read-only ``service.read_state``): for each pending file its
transaction mode (``runner.is_transactional``), whether it is out of order against the applied history,
and the locks its statements take on tables that already exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from lockgate.github.model import Issue, PlanRow
from lockgate.locks import normalise_name, pending_locks
from lockgate.plan import Plan
from lockgate.problems import Problem
from lockgate.report import RunResultJson, pending_json, result_json
from lockgate.runner import MigrationResult, is_transactional
from lockgate.source import Migration


def repo_path(root: Path, path: str | Path | None) -> str | None:
    """A path as GitHub names files in annotations: relative to the repository root, forward slashes."""
    if path is None:
        return None
    absolute = Path(path) if Path(path).is_absolute() else Path.cwd() / path
    return Path(os.path.relpath(absolute.resolve(), root.resolve())).as_posix()


def latest_applied_version(plan: Plan) -> int | None:
    """The plan's own latest applied version (a record, even when its file is gone), so the PR plan marks
    exactly the files ``validate`` calls out of order."""
    latest = plan.latest_applied
    return latest.version if latest else None


def plan_rows(
    root: Path,
    pending: Iterable[Migration],
    latest_applied: int | None,
    lint_counts: Mapping[str, tuple[int, int]],
    sizes: Mapping[str, str] | None = None,
) -> list[PlanRow]:
    """One row per pending migration, in the order ``lockgate run`` would apply them. With ``sizes``
    (``schema.table`` -> ``~48M rows / 31 GB``, read from the target), each lock names its table's size."""
    pending = list(pending)
    rows: list[PlanRow] = []
    for migration, locks in zip(pending, pending_locks(pending), strict=True):
        file = repo_path(root, migration.path) or migration.filename
        # ``locks`` is None for invalid SQL (reported as a plan problem): no transaction mode either.
        transactional = is_transactional(migration) if locks is not None else None
        errors, warnings = lint_counts.get(file, (0, 0))
        rows.append(
            PlanRow(
                migration=pending_json(migration, file=file),
                transactional=transactional,
                locks=tuple(_sized(lock, sizes) for lock in locks or ()),
                lint_errors=errors,
                lint_warnings=warnings,
                out_of_order=latest_applied is not None and migration.version < latest_applied,
            )
        )
    return rows


def _sized(lock: str, sizes: Mapping[str, str] | None) -> str:
    """``SHARE on orders`` -> ``SHARE on orders (~48M rows / 31 GB)`` when the target said how big it is."""
    if not sizes:
        return lock
    table = lock.rpartition(" on ")[2]
    size = sizes.get(normalise_name(table))
    return f"{lock} ({size})" if size else lock


def run_row(root: Path, result: MigrationResult) -> RunResultJson:
    """The run result object of ``lockgate run --json``, with the file named relative to the repository."""
    return result_json(result, file=repo_path(root, result.migration.path) or result.migration.filename)


def problem_issue(root: Path, problem: Problem) -> Issue:
    return Issue(
        source="plan",
        severity=problem.severity,
        code=problem.code,
        message=problem.message.replace(f"{root.resolve()}/", ""),
        file=repo_path(root, problem.path),
        line=problem.line,
        help=problem.help,
        version=problem.version,
    )
