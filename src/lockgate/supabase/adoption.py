"""The Supabase operations the doors offer: ``adopt`` and the extra ``validate`` problems.

Like ``lockgate.service``, ``adopt`` takes a ``Config`` and a ``DatabaseTarget`` and opens its own
connection; the ``validate`` problems are read on ``service.validate``'s read-only connection (one connection
per validation). Both return data for the door to render.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.config import Config
from lockgate.db import DatabaseTarget
from lockgate.errors import LockgateError
from lockgate.history import IN_DATABASE, History, Record
from lockgate.locking import locked_history
from lockgate.metadata import run_metadata
from lockgate.plan import State
from lockgate.problems import Problem
from lockgate.source import Migration, discover
from lockgate.supabase.history_checks import statement_drift, supabase_problems
from lockgate.supabase.shared_history import (
    SUPABASE_TABLE,
    SupabaseRow,
    ensure_table,
    read_rows,
    record_migration,
    supabase_project,
    table_exists,
)

if TYPE_CHECKING:
    import psycopg

Notify = Callable[[str], None]


def validation_problems(config: Config, conn: psycopg.Connection[Any], state: State) -> list[Problem]:
    """Supabase problems for ``lockgate validate`` (none when this is not a Supabase project), read on
    the caller's read-only connection."""
    if config.supabase is False:
        return []
    exists = table_exists(conn)
    rows = read_rows(conn) if exists else None
    conn.rollback()
    if not supabase_project(config, exists):
        return []
    if rows is None and config.supabase:
        rows = []  # the table will be created by the next run: everything applied so far is missing from it
    return supabase_problems(state.source, state.records, rows)


@dataclass
class AdoptReport:
    """What ``adopt`` did: rows it wrote in each history, and what it warns about."""

    baselined: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    backfilled: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def adopt(config: Config, target: DatabaseTarget, notify: Notify) -> AdoptReport:
    """Take over a database ``supabase db push`` migrated: one ``baselined`` row per pushed version with a file.

    Runs under the run lock in one transaction. It also writes Supabase's row for any version lockgate
    applied that Supabase's table lacks, so that neither tool would run a migration the other already ran.
    """
    source = discover(config.migrations_path)
    files = {m.version_text: m for m in source.migrations}
    report = AdoptReport()
    with locked_history(config, target, notify, "adopt", ensure=False) as (conn, history):
        if not table_exists(conn) and not config.supabase:
            raise LockgateError(
                f"{SUPABASE_TABLE} does not exist in {target.masked}: nothing to adopt (for a database migrated "
                "by another tool, use `lockgate baseline --version V`; to start sharing history, set "
                "supabase = true in [tool.lockgate])"
            )
        conn.rollback()
        ensure_table(conn)
        history.ensure()
        metadata = run_metadata(config.via, config.migrations_path, {"source": "supabase"})
        with conn.transaction():
            records = {record.version: record for record in history.records()}
            rows = read_rows(conn) or []
            for row in rows:
                migration = files.get(row.version)
                if migration is None:
                    report.warnings.append(
                        f"version {row.version} ({row.name or 'no name'}) is in {SUPABASE_TABLE} but has no file "
                        f"in {source.directory}; not adopted — restore the file from git"
                    )
                elif _done(records.get(migration.version)):
                    report.already.append(migration.id)
                else:
                    _baseline(history, migration, row, config, metadata, report)
            pushed = {row.version for row in rows}
            by_version = {m.version: m for m in source.migrations}
            for record in records.values():
                migration = by_version.get(record.version)
                if migration and record.status in IN_DATABASE and migration.version_text not in pushed:
                    record_migration(conn, migration)
                    report.backfilled.append(migration.id)
    return report


def _done(record: Record | None) -> bool:
    """Whether lockgate already records the version as in the database. A failed or interrupted record is
    replaced: `db push` runs each file in one transaction, so a version in its table was applied completely."""
    return record is not None and record.status in IN_DATABASE


def _baseline(
    history: History,
    migration: Migration,
    row: SupabaseRow,
    config: Config,
    metadata: dict[str, Any],
    report: AdoptReport,
) -> None:
    drift = statement_drift(migration, row.statements) if row.statements is not None else None
    row_metadata: dict[str, Any] = {**metadata, "filename": migration.filename}
    if drift is not None:
        row_metadata["supabase_statements_differ"] = drift.description
        report.warnings.append(
            f"{migration.where(drift.line)}: edited after `supabase db push` applied it — {drift.description}; "
            "the database has the pushed version (adopted with the file's checksum: put the change in a new "
            "migration)"
        )
    history.record_baselined(
        migration_id=migration.id,
        name=migration.name,
        version=migration.version,
        checksum=migration.checksum,
        executed_by=config.executed_by,
        metadata=row_metadata,
        action="adopt",
    )
    report.baselined.append(migration.id)
