"""The tracking table (``public.schema_migrations``), its audit log, and the advisory-lock keys.

This is the only module that writes tracking rows. Readers never create anything: ``status`` and the
Action's check mode must work on a read-only connection, so a missing table simply means "nothing applied".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from psycopg import sql

from lockgate.errors import HistoryError

if TYPE_CHECKING:
    import psycopg

APPLIED, FAILED, RUNNING, BASELINED = "applied", "failed", "running", "baselined"
STATUSES = (APPLIED, FAILED, RUNNING, BASELINED)
"""Every status a tracking row can have (the table's CHECK constraint says the same)."""
IN_DATABASE = frozenset({APPLIED, BASELINED})
"""Statuses meaning the migration's effect is in the database (run by lockgate, or there before it)."""

TRACKING_COLUMNS: dict[str, str] = {
    "id": "text",
    "name": "text",
    "version": "bigint",
    "checksum": "text",
    "applied_at": "timestamp with time zone",
    "executed_by": "uuid",
    "execution_time_ms": "integer",
    "status": "text",
    "error_message": "text",
    "metadata": "jsonb",
}

LOG_COLUMNS: dict[str, str] = {
    "log_id": "bigint",
    "logged_at": "timestamp with time zone",
    "action": "text",
    "outcome": "text",
    "migration_id": "text",
    "version": "bigint",
    "name": "text",
    "checksum": "text",
    "previous_checksum": "text",
    "execution_time_ms": "integer",
    "executed_by": "uuid",
    "error_message": "text",
    "sqlstate": "text",
    "error_line": "integer",
    "metadata": "jsonb",
}

_CREATE_TRACKING = """
CREATE TABLE IF NOT EXISTS {table} (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version BIGINT NOT NULL UNIQUE,
  checksum TEXT NOT NULL,
  applied_at TIMESTAMPTZ,
  executed_by UUID,
  execution_time_ms INTEGER,
  status TEXT CHECK (status IN ('applied', 'failed', 'running', 'baselined')),
  error_message TEXT,
  metadata JSONB
)"""

_CREATE_LOG = """
CREATE TABLE IF NOT EXISTS {table} (
  log_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  logged_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  migration_id TEXT,
  version BIGINT,
  name TEXT,
  checksum TEXT,
  previous_checksum TEXT,
  execution_time_ms INTEGER,
  executed_by UUID,
  error_message TEXT,
  sqlstate TEXT,
  error_line INTEGER,
  metadata JSONB
)"""


class Record(NamedTuple):
    """One row of the tracking table.

    A NamedTuple rather than a frozen dataclass: ``status`` reads every row, and a frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field) cost 0.1 s over 10,000 of them."""

    id: str
    name: str
    version: int
    checksum: str
    applied_at: datetime | None
    executed_by: str | None
    execution_time_ms: int | None
    status: str | None
    error_message: str | None
    metadata: Mapping[str, Any]

    @property
    def transactional(self) -> bool:
        return bool(self.metadata.get("transactional", True))


@dataclass(frozen=True)
class TrackingRow:
    """What one write of the tracking table sets."""

    migration_id: str
    name: str
    version: int
    checksum: str
    status: str
    executed_by: str | None
    execution_time_ms: int | None
    error_message: str | None
    metadata: Mapping[str, Any]
    applied: bool


@dataclass(frozen=True)
class LogEntry:
    """One attempt or action, as it goes into the audit table."""

    action: str
    outcome: str
    migration_id: str | None = None
    version: int | None = None
    name: str | None = None
    checksum: str | None = None
    previous_checksum: str | None = None
    execution_time_ms: int | None = None
    executed_by: str | None = None
    error_message: str | None = None
    sqlstate: str | None = None
    error_line: int | None = None
    metadata: Mapping[str, Any] | None = None


RECORD_TYPES = (
    *("text", "text", "bigint", "text", "boolean", "uuid", "int", "int", "text", "text", "jsonb"),
    *("text", "text", "text", "bigint", "text", "text", "text", "uuid", "text", "text", "int", "jsonb"),
)
"""The SQL types of ``History.upsert_and_log_query``'s parameters, in order: what a runner needs to prepare
that statement once and send only the values of each migration."""

ELAPSED_ON_SERVER = -1
"""``TrackingRow.execution_time_ms`` meaning "measure it on the server": the time since the migration's
transaction began, when the row is written (a pipelined run writes the row before the client could)."""


class LazyJson(Mapping[str, Any]):
    """A JSON object decoded on first use: ``status`` over ten thousand rows reads almost no metadata,
    and decoding every row's jsonb up front was a tenth of its time."""

    __slots__ = ("_text", "_value")

    def __init__(self, text: str | None) -> None:
        self._text = text
        self._value: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._value is None:
            loaded = json.loads(self._text) if self._text else {}
            self._value = loaded if isinstance(loaded, dict) else {}
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def to_dict(self) -> dict[str, Any]:
        """A plain copy in one step (``dict(mapping)`` would go through a look-up per key)."""
        return dict(self._decoded())

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return repr(self._decoded())


def _record(row: tuple[Any, ...]) -> Record:
    """A row as ``records``/``record_for`` select it -> a ``Record`` (metadata decoded lazily)."""
    return Record(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], LazyJson(row[9]))


def _split_name(qualified: str) -> tuple[str, str]:
    schema, _, table = qualified.partition(".")
    return (schema, table) if table else ("public", schema)


def lock_key(database_scope: str, purpose: str) -> int:
    """A stable signed 64-bit advisory-lock key per tracking table and purpose ("run" or "apply")."""
    digest = hashlib.sha256(f"lockgate:{database_scope}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class History:
    """Reads and writes the tracking and audit tables through one connection."""

    def __init__(self, conn: psycopg.Connection[Any], table: str, log_table: str) -> None:
        self.conn = conn
        self.table_name = table
        self.log_table_name = log_table
        self.table = sql.Identifier(*_split_name(table))
        self.log_table = sql.Identifier(*_split_name(log_table))
        self.run_key = lock_key(table, "run")
        self.apply_key = lock_key(table, "apply")

    # -- shape -------------------------------------------------------------------------------------
    def _columns(self, qualified: str) -> dict[str, str] | None:
        schema, table = _split_name(qualified)
        rows = self.conn.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod)
            FROM pg_catalog.pg_attribute a
            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
            """,
            (schema, table),
        ).fetchall()
        return {name: type_ for name, type_ in rows} if rows else None

    def _check_shape(self, qualified: str, expected: Mapping[str, str], kind: str) -> bool:
        """True if the table exists with our shape, False if missing; HistoryError if it is someone else's."""
        found = self._columns(qualified)
        if found is None:
            return False
        wrong = sorted(
            f"{column} ({found[column]} instead of {type_})" if column in found else f"{column} (missing)"
            for column, type_ in expected.items()
            if found.get(column) != type_
        )
        if wrong:
            setting = "log_table" if expected is LOG_COLUMNS else "table"
            raise HistoryError(
                f"table {qualified} exists but is not a lockgate {kind} table "
                f"(columns: {', '.join(wrong[:4])}{'...' if len(wrong) > 4 else ''}); it was left untouched. "
                f'Point lockgate at another table with `{setting} = "schema.name"` in [tool.lockgate] '
                f"or LOCKGATE_{setting.upper()}"
            )
        return True

    def exists(self) -> bool:
        """Whether the tracking table exists (checking its shape when it does)."""
        present = self._check_shape(self.table_name, TRACKING_COLUMNS, "tracking")
        self._check_shape(self.log_table_name, LOG_COLUMNS, "audit log")
        return present

    def _schema_exists(self, schema: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
        return row is not None

    def ensure(self) -> None:
        """Create both tables if missing; refuse to touch tables of another shape. Commits."""
        with self.conn.transaction():
            # Serialise creators (a CI run, a laptop, the API server): two concurrent CREATE TABLE IF NOT
            # EXISTS can still collide on the catalog's unique index.
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(self.table_name, "ensure"),))
            tracking = self._check_shape(self.table_name, TRACKING_COLUMNS, "tracking")
            logged = self._check_shape(self.log_table_name, LOG_COLUMNS, "audit log")
            for qualified, present in ((self.table_name, tracking), (self.log_table_name, logged)):
                if not present:
                    schema, _ = _split_name(qualified)
                    self.conn.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                    )
            if not tracking:
                self.conn.execute(sql.SQL(_CREATE_TRACKING).format(table=self.table))
            if not logged:
                self.conn.execute(sql.SQL(_CREATE_LOG).format(table=self.log_table))

    # -- reading -----------------------------------------------------------------------------------
    def records(self) -> list[Record]:
        """All tracking rows in version order; empty when the table does not exist yet."""
        if not self.exists():
            return []
        cursor = self.conn.execute(
            sql.SQL(
                "SELECT id, name, version, checksum, applied_at, executed_by::text, execution_time_ms, "
                "status, error_message, metadata::text FROM {} ORDER BY version"
            ).format(self.table)
        )
        return [_record(row) for row in cursor.fetchall()]

    def record_for(self, version: int, *, timeouts: tuple[str, str] | None = None) -> Record | None:
        """The row for ``version``; with ``timeouts`` (lock, statement) also sets them for the transaction,
        in the same round trip."""
        columns = (
            "id, name, version, checksum, applied_at, executed_by::text, execution_time_ms, status, "
            "error_message, metadata::text"
        )
        if timeouts is None:
            query = sql.SQL("SELECT " + columns + " FROM {} WHERE version = %s").format(self.table)
            row = self.conn.execute(query, (version,)).fetchone()
        else:
            query = sql.SQL(
                "SELECT " + columns + " FROM (SELECT set_config('lock_timeout', %s, true), "
                "set_config('statement_timeout', %s, true)) AS settings LEFT JOIN {} ON version = %s"
            ).format(self.table)
            row = self.conn.execute(query, (*timeouts, version)).fetchone()
            if row is not None and row[0] is None:
                row = None
        return _record(row) if row else None

    def refuse_if_recorded_query(
        self, version: int, also: tuple[str, tuple[Any, ...]] = ("", ())
    ) -> tuple[sql.Composed, tuple[Any, ...]]:
        """A statement (query and parameters) that fails (division by zero) when ``version`` is already
        recorded other than as a failed transactional attempt: sent in a migration's batch after its lock,
        it stops the body from ever running when another runner applied the migration meanwhile. ``also``
        (select-list SQL and its parameters, e.g. the migration's ``set_config`` calls) rides in the same
        statement."""
        # Not ``CASE WHEN ... THEN 1 / 0``: the planner folds the constant 1 / 0 and fails every time.
        extra, params = also
        query = sql.SQL(
            "SELECT 1 / (1 - (SELECT count(*) FROM {} WHERE version = %s AND NOT (status = 'failed' "
            "AND coalesce((metadata->>'transactional')::boolean, true))))::int"
            + (", " + extra if extra else "")
        ).format(self.table)
        return query, (version, *params)

    def log_entries(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """The audit log, newest first."""
        if self._columns(self.log_table_name) is None:
            return []
        cursor = self.conn.execute(
            sql.SQL("SELECT * FROM {} ORDER BY log_id DESC LIMIT %s OFFSET %s").format(self.log_table),
            (limit, offset),
        )
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- writing (callers own the transaction) ------------------------------------------------------
    def _upsert_query(self, row: TrackingRow) -> tuple[sql.Composed, tuple[Any, ...]]:
        query = sql.SQL(
            "INSERT INTO {} (id, name, version, checksum, applied_at, executed_by, execution_time_ms, "
            "status, error_message, metadata) "
            "VALUES (%s, %s, %s, %s, CASE WHEN %s THEN clock_timestamp() END, %s, "
            "CASE WHEN %s::int = -1 THEN (extract(epoch FROM clock_timestamp() - transaction_timestamp()) * 1000)::int "
            "ELSE %s::int END, %s, %s, %s) "
            "ON CONFLICT (version) DO UPDATE SET id = EXCLUDED.id, name = EXCLUDED.name, "
            "checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at, "
            "executed_by = EXCLUDED.executed_by, execution_time_ms = EXCLUDED.execution_time_ms, "
            "status = EXCLUDED.status, error_message = EXCLUDED.error_message, metadata = EXCLUDED.metadata"
        ).format(self.table)
        return query, _upsert_params(row)

    def _log_values(self, entry: LogEntry) -> tuple[sql.Composed, tuple[Any, ...]]:
        columns = sql.SQL(
            "INSERT INTO {} (action, outcome, migration_id, version, name, checksum, previous_checksum, "
            "execution_time_ms, executed_by, error_message, sqlstate, error_line, metadata) "
        ).format(self.log_table)
        return columns, _log_params(entry)

    def upsert(
        self,
        *,
        migration_id: str,
        name: str,
        version: int,
        checksum: str,
        status: str,
        executed_by: str | None,
        execution_time_ms: int | None,
        error_message: str | None,
        metadata: Mapping[str, Any],
        applied: bool,
    ) -> None:
        """Insert or replace the row for ``version`` (a failed attempt's row is replaced on success)."""
        row = TrackingRow(
            migration_id,
            name,
            version,
            checksum,
            status,
            executed_by,
            execution_time_ms,
            error_message,
            metadata,
            applied,
        )
        query, params = self._upsert_query(row)
        self.conn.execute(query, params)

    def log(self, entry: LogEntry) -> None:
        """Append one entry to the audit table."""
        columns, params = self._log_values(entry)
        self.conn.execute(
            columns + sql.SQL("VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"), params
        )

    def upsert_and_log(self, row: TrackingRow, entry: LogEntry) -> psycopg.Cursor[Any]:
        """Both writes in one statement: one round trip less for every migration applied. The audit entry
        takes the row's ``execution_time_ms`` (which ``ELAPSED_ON_SERVER`` lets the server measure)."""
        return self.conn.execute(*self.upsert_and_log_query(row, entry))

    def upsert_and_log_query(self, row: TrackingRow, entry: LogEntry) -> tuple[sql.Composed, tuple[Any, ...]]:
        """``upsert_and_log``'s query and parameters, for a caller that batches its queries."""
        upsert, _ = self._upsert_query(row)
        columns, _ = self._log_values(entry)
        query = (
            sql.SQL("WITH tracked AS (")
            + upsert
            + sql.SQL(" RETURNING execution_time_ms AS elapsed) ")
            + columns
            + sql.SQL("SELECT %s, %s, %s, %s, %s, %s, %s, tracked.elapsed, %s, %s, %s, %s, %s FROM tracked")
        )
        return query, upsert_and_log_params(row, entry)

    def record_baselined(
        self,
        *,
        migration_id: str,
        name: str,
        version: int,
        checksum: str,
        executed_by: str | None,
        metadata: Mapping[str, Any],
        action: str,
    ) -> None:
        """Record a version as already in the database without running it (``baseline``, ``adopt``),
        with its audit entry, in one statement."""
        row = TrackingRow(
            migration_id, name, version, checksum, "baselined", executed_by, 0, None, metadata, True
        )
        entry = LogEntry(
            action,
            "baselined",
            migration_id,
            version,
            name,
            checksum,
            executed_by=executed_by,
            metadata=metadata,
        )
        self.upsert_and_log(row, entry)

    def set_checksum(self, version: int, checksum: str, fingerprint: str | None = None) -> None:
        """Accept ``checksum`` for ``version`` (and the fingerprint that goes with it, when known)."""
        self.conn.execute(
            sql.SQL(
                "UPDATE {} SET checksum = %s, metadata = CASE WHEN %s::text IS NULL THEN metadata "
                "ELSE jsonb_set(coalesce(metadata, '{{}}'::jsonb), '{{fingerprint}}', to_jsonb(%s::text)) END "
                "WHERE version = %s"
            ).format(self.table),
            (checksum, fingerprint, fingerprint, version),
        )

    def set_progress(self, version: int, completed: int) -> None:
        """How many statements of a no-transaction migration have run (kept on its ``running`` row)."""
        self.conn.execute(
            sql.SQL(
                "UPDATE {} SET metadata = jsonb_set(coalesce(metadata, '{{}}'::jsonb), "
                "'{{statements_completed}}', to_jsonb(%s::int)) WHERE version = %s AND status = 'running'"
            ).format(self.table),
            (completed, version),
        )

    def delete(self, version: int) -> None:
        self.conn.execute(sql.SQL("DELETE FROM {} WHERE version = %s").format(self.table), (version,))

    def holders(self, key: int) -> list[dict[str, Any]]:
        """Sessions holding the advisory lock ``key`` (who is running migrations right now)."""
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        cursor = self.conn.execute(
            """
            SELECT a.pid, a.usename, a.application_name, host(a.client_addr) AS client_addr,
                   a.xact_start, a.state
            FROM pg_catalog.pg_locks l
            JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
            """,
            (unsigned >> 32, unsigned & 0xFFFFFFFF),
        )
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _upsert_params(row: TrackingRow) -> tuple[Any, ...]:
    return (
        row.migration_id,
        row.name,
        row.version,
        row.checksum,
        row.applied,
        row.executed_by,
        row.execution_time_ms,
        row.execution_time_ms,
        row.status,
        row.error_message,
        json.dumps(dict(row.metadata)),
    )


def _log_params(entry: LogEntry) -> tuple[Any, ...]:
    return (
        entry.action,
        entry.outcome,
        entry.migration_id,
        entry.version,
        entry.name,
        entry.checksum,
        entry.previous_checksum,
        entry.execution_time_ms,
        entry.executed_by,
        entry.error_message,
        entry.sqlstate,
        entry.error_line,
        json.dumps(dict(entry.metadata or {})),
    )


def upsert_and_log_params(row: TrackingRow, entry: LogEntry) -> tuple[Any, ...]:
    """The parameters of ``History.upsert_and_log_query`` (types: ``RECORD_TYPES``) without building its
    SQL: what a stream sends to the statement it prepared, once per migration. The audit entry's
    ``execution_time_ms`` is the tracking row's (``tracked.elapsed``), not a parameter."""
    log = _log_params(entry)
    return _upsert_params(row) + log[:7] + log[8:]
