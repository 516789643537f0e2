"""Supabase's migration history (``supabase_migrations.schema_migrations``), read and written like the CLI.

A project that also uses the Supabase CLI has two histories. If lockgate applied a migration without
writing Supabase's row, the next ``supabase db push`` would run it again (and fail half-way, or worse,
succeed twice). So every migration lockgate applies also gets Supabase's row — same version string,
name and statements split as the CLI splits them — *inside the same transaction* as lockgate's own row
(through the runner's ``on_applied`` hooks): both histories commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import errors as pg_errors

from lockgate.config import Config
from lockgate.errors import HistoryError
from lockgate.project import supabase_project as project_files_say_supabase
from lockgate.supabase.split import split_statements

if TYPE_CHECKING:
    import psycopg

    from lockgate.batch import Executes
    from lockgate.source import Migration

SUPABASE_SCHEMA = "supabase_migrations"
SUPABASE_TABLE = "supabase_migrations.schema_migrations"

# The statements `supabase db push` runs before pushing (pkg/migration/history.go), so a table lockgate
# creates is the table the CLI would have created.
_CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS supabase_migrations"
_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)"
)
_ADD_COLUMN = {
    "statements": "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]",
    "name": "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text",
}


@dataclass(frozen=True)
class SupabaseRow:
    """One row of Supabase's history; ``statements`` is None when the CLI that wrote it did not store them."""

    version: str
    name: str
    statements: tuple[str, ...] | None


def _columns(conn: psycopg.Connection[Any]) -> set[str] | None:
    rows = conn.execute(
        """
        SELECT a.attname FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'supabase_migrations' AND c.relname = 'schema_migrations'
          AND a.attnum > 0 AND NOT a.attisdropped
        """
    ).fetchall()
    return {str(row[0]) for row in rows} if rows else None


def table_exists(conn: psycopg.Connection[Any]) -> bool:
    return _columns(conn) is not None


def supabase_project(config: Config, has_table: bool) -> bool:
    """``supabase = true`` forces Supabase mode on, ``false`` off; unset means on when Supabase's table
    exists or the files say so (``lockgate.project.supabase_project``: the Supabase CLI's layout)."""
    if config.supabase is not None:
        return config.supabase
    return has_table or project_files_say_supabase(config)[0]


def shared_history_enabled(conn: psycopg.Connection[Any], config: Config) -> bool:
    """Whether lockgate writes Supabase's row for every migration it applies."""
    if config.supabase is not None:
        return config.supabase
    return supabase_project(config, table_exists(conn))


def read_rows(conn: psycopg.Connection[Any]) -> list[SupabaseRow] | None:
    """Every row of Supabase's history in version order, or None when the table does not exist."""
    columns = _columns(conn)
    if columns is None:
        return None
    name = "coalesce(name, '')" if "name" in columns else "''"
    statements = "statements" if "statements" in columns else "NULL::text[]"
    try:
        rows = conn.execute(
            f"SELECT version, {name}, {statements} FROM supabase_migrations.schema_migrations ORDER BY version"
        ).fetchall()
    except pg_errors.InsufficientPrivilege:
        raise HistoryError(
            f"cannot read {SUPABASE_TABLE}: permission denied for this role; connect as the database owner "
            "(postgres on Supabase) or set supabase = false in [tool.lockgate]"
        ) from None
    return [
        SupabaseRow(str(version), str(row_name), tuple(stored) if stored is not None else None)
        for version, row_name, stored in rows
    ]


def ensure_table(conn: psycopg.Connection[Any]) -> None:
    """Create Supabase's table (or add the columns an older CLI did not create), as ``db push`` does.

    Only missing pieces are created, so a role that does not own an up-to-date table needs no ALTER."""
    try:
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '4s'")
            columns = _columns(conn)
            if columns is None:
                conn.execute(_CREATE_SCHEMA)
                conn.execute(_CREATE_TABLE)
                columns = {"version"}
            for column, statement in _ADD_COLUMN.items():
                if column not in columns:
                    conn.execute(statement)
    except (pg_errors.InsufficientPrivilege, pg_errors.LockNotAvailable) as exc:
        raise HistoryError(
            f"cannot create or upgrade {SUPABASE_TABLE} ({exc.diag.message_primary}); connect as the database "
            "owner (postgres on Supabase), or set supabase = false in [tool.lockgate] to stop sharing history"
        ) from None


def record(conn: Executes, version: str, name: str, statements: Sequence[str]) -> None:
    """Write (or overwrite) Supabase's row for ``version``; the caller owns the transaction."""
    values = (name, list(statements), version)
    # Two statements that need no answer from the server in between (no rowcount read): the runner sends
    # this inside a migration's pipeline, where results arrive only at the end.
    conn.execute(
        "UPDATE supabase_migrations.schema_migrations SET name = %s, statements = %s WHERE version = %s",
        values,
    )
    conn.execute(
        "INSERT INTO supabase_migrations.schema_migrations (name, statements, version) SELECT %s, %s, %s "
        "WHERE NOT EXISTS (SELECT FROM supabase_migrations.schema_migrations WHERE version = %s)",
        (*values, version),
    )


def record_migration(conn: Executes, migration: Migration) -> None:
    """The ``on_applied`` hook: Supabase's row for ``migration``, inside lockgate's transaction."""
    record(conn, migration.version_text, migration.name, split_statements(migration.text))
