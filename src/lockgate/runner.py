"""Executes a plan: one transaction per migration together with its tracking row.

Locking is pooler-safe (Supavisor/PgBouncer in transaction mode lose session state between
transactions): the run lock is a *transaction-level* advisory lock held by an open transaction on a
dedicated connection — a pooler keeps a client pinned to its server connection for the length of a
transaction — and every migration transaction re-takes a second transaction-level lock and re-reads its
own history row before doing anything (Flyway's approach), so even a lost run lock cannot apply a
migration twice.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq, sql

from lockgate.batch import (
    Batch,
    Executes,
    Prepare,
    Prepared,
    PreparedUnavailable,
    Stream,
    text_params,
    to_prepare,
)
from lockgate.config import Config
from lockgate.errors import ConnectionFailed, first_line
from lockgate.history import (
    ELAPSED_ON_SERVER,
    RECORD_TYPES,
    History,
    LogEntry,
    TrackingRow,
    upsert_and_log_params,
)
from lockgate.source import Migration
from lockgate.statements import Statement

APPLIED = "applied"
FAILED = "failed"
SKIPPED = "skipped"
DRY_RUN_OK = "dry-run-ok"
NOT_TRIED = "not-tried"


@dataclass(frozen=True)
class StatementError:
    """Where and why a migration failed, as PostgreSQL said it."""

    message: str
    sqlstate: str | None
    line: int | None
    statement_index: int | None
    detail: str | None = None
    hint: str | None = None
    blocked_by: str | None = None
    """After a lock timeout: the sessions that held the lock (``blockers.blocking_sessions``)."""

    def one_line(self, migration: Migration) -> str:
        code = f" (SQLSTATE {self.sqlstate})" if self.sqlstate else ""
        blocked = f"; {self.blocked_by}" if self.blocked_by else ""
        return f"{migration.where(self.line)}: {self.message}{code}{blocked}"


@dataclass(frozen=True)
class MigrationResult:
    migration: Migration
    outcome: str
    duration_ms: int = 0
    attempts: int = 1
    transactional: bool = True
    error: StatementError | None = None
    statements_completed: int = 0
    note: str = ""


@dataclass
class RunResult:
    results: list[MigrationResult] = field(default_factory=list)

    @property
    def failed(self) -> MigrationResult | None:
        return next((r for r in self.results if r.outcome == FAILED), None)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


ProgressCallback = Callable[[str, Migration, MigrationResult | None], None]
"""``(event, migration, result)``: ``queued`` for each file about to run (before the first starts), then
``start``, ``retry`` (with the lock timeout's result) and ``done`` (with its result). Unknown events are
ignored, so new ones can be added."""
AppliedHook = Callable[[Executes, Migration], None]
"""Called inside the transaction that records a migration as applied (e.g. Supabase's own history row),
so the extra record commits or rolls back together with lockgate's. It gets what to ``execute`` its
writes on: the connection, or the migration's ``Batch`` (then the writes join its single round trip and
their results are never read — a hook must not need them)."""


_ROLE_STAGES = {
    "begin": "start",
    "setup": "start",
    "prepare": "start",
    "lock": "start",
    "timeouts": "start",
    "body": "body",
    "reset": "reset",
    "deallocate": "reset",
    "record": "record",
}
"""What failed, by the role (``_Tag``) of the batched query the server stopped at (see ``Runner._add_migration``)."""

_STAGES = {
    "start": "while starting the migration's transaction: ",
    "body": "",
    "reset": "while resetting the session after the migration: ",
    "record": "while recording the migration: ",
    "commit": "at COMMIT: ",
    "progress": "while recording progress: ",
}
"""How a failure that no statement of the file caused is introduced (it still fails the migration)."""

STREAM_WINDOW = 2
"""Migrations in flight at once in a run: the one the server runs and the one sent behind it (more would
only hold more work that a failure throws away)."""

_Tag = tuple[str, Migration | None, Statement | None]
"""What a batched query is: its role (``_ROLE_STAGES``), its migration and, for the body, its statement."""


def _failed_tag(batch: Batch[_Tag] | None) -> _Tag:
    """The tag of the query a failed batch stopped at: ``record`` when it failed while being built (an
    ``on_applied`` hook refused before anything was sent), ``commit`` when no result was missing."""
    if batch is None:
        return ("record", None, None)
    index = batch.failed_at
    if index is None or index >= len(batch.tags):
        return ("commit", None, None)
    return batch.tags[index]


def _marker(results: Sequence[pq.abc.PGresult], batch: Batch[_Tag]) -> str:
    """The ``RESET_END`` marker in a migration's results: its reset's last statement, third column."""
    index = max(i for i, tag in enumerate(batch.tags) if tag[0] == "reset")
    value = results[index].get_value(0, 2) if results[index].ntuples else None
    return value.decode() if value else ""


def _stale(exc: psycopg.Error) -> str:
    """The marker a guard failed on (``STALE_CHECK``), or ``""`` when it failed for another reason."""
    if not isinstance(exc, pg_errors.InvalidTextRepresentation):
        return ""
    message = exc.diag.message_primary or ""
    return next((marker for marker in (STALE_DEFAULTS, STALE_PREPARED) if marker in message), "")


def _deallocates_all(migration: Migration) -> bool:
    """Whether the file says ``DEALLOCATE ALL``, which drops lockgate's prepared statements too."""
    return any(
        statement.kind == "DeallocateStmt" and (statement.node.get("isall") or not statement.node.get("name"))
        for statement in migration.parsed.body
    )


def _left_prepared(body: Sequence[Statement]) -> list[str]:
    """The names that the top-level ``PREPARE`` statements of ``body`` leave prepared, in order (a later
    ``DEALLOCATE name`` or ``DEALLOCATE ALL`` of the same file removes them)."""
    names: dict[str, None] = {}
    for statement in body:
        if statement.kind == "PrepareStmt":
            names[str(statement.node["name"])] = None
        elif statement.kind == "DeallocateStmt":
            if statement.node.get("isall") or not statement.node.get("name"):
                names.clear()
            else:
                names.pop(str(statement.node["name"]), None)
    return list(names)


def _statement_error(exc: psycopg.Error, statement: Statement | None, stage: str = "body") -> StatementError:
    diag = exc.diag
    lines = str(exc).strip().splitlines()
    message = diag.message_primary or (lines[0] if lines else type(exc).__name__)
    if statement is None:
        message = _STAGES.get(stage, "") + message
    line = statement.line if statement else None
    if statement is not None and diag.statement_position:
        try:
            offset = int(diag.statement_position) - 1
            line = statement.line + statement.text.count("\n", 0, max(0, offset))
        except ValueError:
            pass
    return StatementError(
        message=message,
        sqlstate=diag.sqlstate,
        line=line,
        statement_index=statement.index if statement else None,
        detail=diag.message_detail,
        hint=diag.message_hint,
    )


GUARDS_SQL = (
    "SELECT set_config('lock_timeout', %s, {local}), set_config('statement_timeout', %s, {local}), "
    "set_config('standard_conforming_strings', 'on', {local}){watch}"
)
"""Set before every migration's body: this run's timeouts, and ``standard_conforming_strings`` on, because
that is how lockgate's parser read the file (a database or role whose default is off would read
``'a\\''; ...`` as the end of a string and more SQL). ``client_encoding`` is fixed when connecting."""

WATCH_CLIENT = ", set_config('client_connection_check_interval', '1000', {local})"
"""On PostgreSQL 14+ (``{watch}`` above): the server checks every second that lockgate is still there
while a statement runs. A migration's queries travel together, its COMMIT among them; when lockgate is
killed (``kill -9``, a cancelled CI job, a lost network) mid-statement, the server then aborts the
statement within a second, releases its locks and rolls the migration back — instead of finishing a
long statement for nobody and committing what was queued behind it. (Ctrl-C needs none of this: it
cancels the statement on the server.)"""

SESSION_IDENTITY_RESET: tuple[str, ...] = ("SET SESSION AUTHORIZATION DEFAULT", "RESET ROLE")
"""Sent on their own, before anything else of the reset: whatever the migration switched to (``SET ROLE``
a role that may not use PL/pgSQL, a role with a tiny statement_timeout), the rest runs as the login role."""

UNLOCK_ALL = "SELECT pg_catalog.pg_advisory_unlock_all()"

SESSION_RESET: tuple[str, ...] = (
    "RESET ALL",
    "CLOSE ALL",
    "UNLISTEN *",
    UNLOCK_ALL,
    "DISCARD TEMP",
    "DISCARD SEQUENCES",
)
"""What ``DISCARD ALL`` does after ``SESSION_IDENTITY_RESET`` that a later file could notice, in statements
that PostgreSQL accepts inside a transaction block.

Not ``DISCARD PLANS``: cached plans hold nothing a later file can observe — PostgreSQL re-plans one when an
object it uses changes, when ``search_path`` differs, or when row-level security would judge another role
differently, and the plans of SQL-``PREPARE``d statements go with the statements, which the reset
deallocates. It only costs: it invalidated every cached plan of the server connection (a pooler's other
clients' too) and cost about 0.3 ms of server CPU a migration (PostgreSQL 15, measured in a migration's
batch: more than the lock, guard, tracking row and audit row together).

Sent at the end of every migration's own transaction, so whatever the migration changed for the
session (``SET search_path``, ``SET ROLE``, ``SET SESSION CHARACTERISTICS``, temp tables, session
advisory locks, cursors, ``LISTEN``...) is undone before the tracking row is written and before the next
migration starts: a file behaves the same whether it runs first in a ``run`` or after twenty others. In the
same transaction, because ``DISCARD ALL`` itself refuses a transaction block, and because behind a
transaction pooler only the migration's own transaction is sure to reach the server connection the
migration changed."""

DEALLOCATE_SQL_PREPARED = (
    "FOR prepared IN SELECT name FROM pg_catalog.pg_prepared_statements WHERE from_sql LOOP "
    "EXECUTE pg_catalog.format('DEALLOCATE %I', prepared.name); END LOOP;"
)
"""``DEALLOCATE`` only what SQL ``PREPARE`` created: ``DEALLOCATE ALL`` would also drop the protocol-level
statements a pooler (PgBouncer 1.21+, Supavisor) prepares on that server connection for its other clients."""

SESSION_DEFAULTS = (
    "SELECT coalesce(pg_catalog.string_agg(setdatabase::text || ':' || setrole::text || ':' "
    "|| pg_catalog.array_to_string(setconfig, ','), ';' ORDER BY setdatabase, setrole), '') "
    "FROM pg_catalog.pg_db_role_setting WHERE setdatabase IN (0, {database}) AND setrole IN (0, {role})"
)
"""The ``ALTER DATABASE|ROLE ... SET`` defaults a new session of this run would start with (``{database}``
and ``{role}``: the oids of this database and the login role, fixed when the run starts, so the answer
does not depend on whatever role the migration switched to). A session takes them when it connects, and
``RESET ALL`` returns to those, not to ones changed since: after a migration that changes them, the
runner starts the next migration on a new connection, as a later
``run`` would (see ``Runner._follow_defaults``)."""

LEFTOVER_PREPARED = "SELECT name FROM pg_catalog.pg_prepared_statements WHERE from_sql"
"""The names SQL ``PREPARE`` left: outside a migration's batch the reset asks, and the runner deallocates
them in the next round trip (see ``Runner._deallocate``)."""

DEALLOCATE_ON_SERVER = (
    "DO $lockgate$ DECLARE prepared record; BEGIN " + DEALLOCATE_SQL_PREPARED + " END $lockgate$"
)
"""In an ``--atomic`` deploy, after a file prepared a statement no parser sees (``EXECUTE 'PREPARE ...'``
in PL/pgSQL): the next file shares the transaction, so only the server can deallocate it in between. Not
sent otherwise: compiling a ``DO`` block cost more server CPU than the rest of the reset together."""

FIRE_DEFERRED = b"SET CONSTRAINTS ALL IMMEDIATE"
"""In a migration's reset just before ``RESET_END`` (not in ``--atomic``, where a later file may still
satisfy a deferred constraint): the deferred triggers and constraint checks that COMMIT would run, run
now — in the session as COMMIT would find it (login role, run's timeouts) — so that ``RESET_END``'s marker
sees what they did. At COMMIT they ran after the marker was decided: a deferred trigger that prepared a
statement in dynamic SQL or changed role defaults left the next file (already sent behind it) a session a
later run would not give it. A failure here is named as one at COMMIT (its tag)."""

STALE_DEFAULTS = "lockgate-stale-defaults"
STALE_PREPARED = "lockgate-stale-prepared"

DEFAULTS_WRITTEN = (
    "pg_catalog.pg_stat_get_xact_tuples_inserted(2964) + pg_catalog.pg_stat_get_xact_tuples_updated(2964) "
    "+ pg_catalog.pg_stat_get_xact_tuples_deleted(2964) > 0"
)
"""Whether the migration's own transaction wrote ``pg_db_role_setting`` (oid 2964, fixed since 9.0):
``ALTER ROLE|DATABASE ... SET`` in its text, in a ``DO`` block or in a function it called. Read from the
transaction's own table statistics in the backend's memory: comparing the catalog's contents after every
migration cost a query plan each time. Needs ``track_counts`` (on by default); where it is off, the
defaults themselves are compared (``SESSION_DEFAULTS``)."""

_TRACK_COUNTS = re.compile("track_counts", re.IGNORECASE).search
"""Whether a file's text names ``track_counts``: its reset then compares the defaults (``SESSION_DEFAULTS``)
instead of reading ``DEFAULTS_WRITTEN``. A (superuser's) file that turns the statistics off for itself
before ``ALTER ROLE|DATABASE ... SET`` hides the write from them, and the next file ran with the old
defaults; only such files pay for the comparison. (A name built in dynamic SQL still evades it, as a
function defined with ``SET track_counts = off`` would.)"""

RESET_END = (
    "SELECT pg_catalog.pg_advisory_unlock_all(), pg_catalog.set_config('lock_timeout', '{lock_timeout}ms', true), "
    "pg_catalog.set_config('lockgate.stale', CASE WHEN {defaults_changed} THEN '" + STALE_DEFAULTS + "' "
    "WHEN EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE from_sql) THEN '"
    + STALE_PREPARED
    + "' "
    "ELSE '' END, false)"
)
"""The last statement of the reset in a migration's batch: session advisory locks released, the guard's
``lock_timeout`` set again for the tracking row (``RESET ALL`` dropped it: the write must not wait with the
migration's locks held for longer than any statement of the file could), and a session-level marker of
what the reset cannot undo inside the transaction — the role or database defaults changed (a new
connection is needed), or a statement prepared where no parser saw its name. The marker commits with the
migration. The next migration may already be on its way (see ``lockgate.batch.Stream``): its guard reads
the marker (``STALE_CHECK``) and fails before its body runs, and the runner, which reads the marker in the
results, mends the session and sends that migration again."""

STALE_CHECK = (
    "CASE WHEN coalesce(pg_catalog.current_setting('lockgate.stale', true), '') = '' THEN 0 "
    "ELSE pg_catalog.current_setting('lockgate.stale')::int END"
)
"""Rides in every batched migration's guard: 0 when the session is as a new one would be, else an error
naming the marker (``invalid input syntax for type integer: "lockgate-stale-..."``)."""


CLEAR_STALE = "pg_catalog.set_config('lockgate.stale', '', false)"
"""Clears the marker for the session: sent as the runner starts on a connection (``Runner.session_reset``)
and before it leaves one for a new one (``Runner._mend``). A marker this run's own reset did not set says
nothing about this session, yet it would fail every guard, and mending by reconnecting could never clear
it — a run looped forever — when a new session starts with one: behind a transaction pooler, whose server
connection (and its session-level settings) outlives lockgate's client connection and is handed to the
next one, after any file that changed role or database defaults; or a ``lockgate.stale`` role default."""


def is_transactional(migration: Migration) -> bool:
    """Files marked ``no-transaction``, or made only of statements that refuse a transaction block,
    run outside one."""
    return migration.parsed.transactional


class Runner:
    """Applies pending migrations on ``conn`` (which must not be in a transaction)."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        history: History,
        config: Config,
        metadata: Mapping[str, Any],
        progress: ProgressCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_applied: Sequence[AppliedHook] = (),
        reconnect: Callable[[], psycopg.Connection[Any]] | None = None,
    ) -> None:
        self.conn = conn
        self.history = history
        self.config = config
        self.metadata = dict(metadata)
        self.progress = progress or (lambda event, migration, result: None)
        self.sleep = sleep
        self.on_applied = tuple(on_applied)
        self.reconnect = reconnect
        self._reset: tuple[str, ...] | None = None
        self._batch_reset_start: tuple[bytes, ...] = ()
        self._reset_end = self._reset_end_atomic = self._reset_end_compared = b""
        self._plpgsql = False
        self._statements: dict[str, bytes] = {}
        """What a stream prepares (see ``_prepared_statements``), by role."""
        self._use_prepared = True
        """Until a stream found its prepared statements gone (see ``PreparedUnavailable``)."""
        self._streams = 0
        self._token = secrets.token_hex(4)
        self._deallocate_on_server = False
        """Set when an ``--atomic`` deploy met a statement prepared where no parser saw it (see
        ``DEALLOCATE_ON_SERVER``)."""
        self._defaults: str | None = None
        self._not_by_name: set[int] = set()
        """Versions whose reset must not ``DEALLOCATE`` by name what their ``PREPARE`` left: the file
        dropped one of those names itself where no parser saw it (dynamic SQL), and the reset's
        ``DEALLOCATE`` failed the file. Sent again, it leaves whatever is left to the marker."""

    # -- public -------------------------------------------------------------------------------------
    def apply(self, pending: list[Migration]) -> RunResult:
        """Apply ``pending`` in order; stop at the first failure. Consecutive transactional files go
        through one stream (``_apply_stream``), a no-transaction file on its own."""
        result = RunResult()
        attempts: dict[int, int] = {}
        index = 0
        while index < len(pending):
            migration = pending[index]
            if is_transactional(migration):
                index, failed = self._apply_stream(pending, index, attempts, result)
                if failed:
                    break
                continue
            self.progress("start", migration, None)
            outcome = self._apply_outside_transaction(migration)
            result.results.append(outcome)
            self.progress("done", migration, outcome)
            if outcome.outcome == FAILED:
                break
            index += 1
        return result

    def dry_run(self, pending: list[Migration]) -> RunResult:
        """Apply everything in one transaction, each file in a savepoint, then roll it all back."""
        self.session_reset()  # decided before any file runs (see ``session_reset``)
        with self.conn.transaction(force_rollback=True):
            self._set_timeouts(local=True)
            return self._each(pending, self._dry_run_step)

    def _each(self, pending: list[Migration], step: Callable[[Migration], MigrationResult]) -> RunResult:
        """Run ``step`` on each migration in order, reporting progress; stop at the first failure."""
        result = RunResult()
        for migration in pending:
            self.progress("start", migration, None)
            outcome = step(migration)
            result.results.append(outcome)
            self.progress("done", migration, outcome)
            if outcome.outcome == FAILED:
                break
        return result

    def _dry_run_step(self, migration: Migration) -> MigrationResult:
        if is_transactional(migration):
            return self._dry_run_one(migration)
        return MigrationResult(
            migration, NOT_TRIED, transactional=False, note="runs outside a transaction; not tried"
        )

    # -- session state ------------------------------------------------------------------------------
    def session_reset(self) -> tuple[str, ...]:
        """The statements that undo a migration's session changes where no batch is involved (recording
        a failure, a no-transaction file, a dry run; see ``SESSION_RESET``): first this run's own
        ``statement_timeout`` (a migration's ``SET statement_timeout = '1ms'`` must not abort the reset)
        with the defaults read (``_follow_defaults``), then the login role back
        (``SESSION_IDENTITY_RESET``), the rest, and ``LEFTOVER_PREPARED`` (see ``_deallocate``). Decided
        on the first call, which every entry point makes before any migration runs, so it is the login
        role that is asked; the same call prepares the batched reset (``_batch_reset``)."""
        if self._reset is None:
            row = self.conn.execute(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_language WHERE lanname = 'plpgsql' "
                "AND pg_catalog.has_language_privilege(oid, 'USAGE')), (SELECT oid FROM pg_catalog.pg_database "
                "WHERE datname = pg_catalog.current_database()), (SELECT oid FROM pg_catalog.pg_roles "
                "WHERE rolname = session_user), pg_catalog.current_setting('track_counts')::boolean, "
                + CLEAR_STALE
            ).fetchone()
            assert row is not None
            self._plpgsql = bool(row[0])
            defaults = SESSION_DEFAULTS.format(database=int(row[1]), role=int(row[2]))
            first = self.conn.execute(defaults.encode()).fetchone()
            self._defaults = str(first[0]) if first else None
            statement_timeout = (
                f"SELECT pg_catalog.set_config('statement_timeout', '{int(self.config.statement_timeout_ms)}ms', "
                "true)"
            )
            # Outside a batch the reset's first statement also reads the defaults, after the body and
            # before the next migration (see ``_follow_defaults``): no statement of its own.
            self._reset = (
                f"{statement_timeout}, ({defaults})",
                *SESSION_IDENTITY_RESET,
                *SESSION_RESET,
                LEFTOVER_PREPARED,
            )
            self._batch_reset_start = tuple(
                query.encode()
                for query in (statement_timeout, *SESSION_IDENTITY_RESET, *SESSION_RESET)
                if query != UNLOCK_ALL
            )
            literal = sql.Literal(self._defaults).as_string(self.conn)
            compared = f"({defaults}) IS DISTINCT FROM {literal}"
            changed = DEFAULTS_WRITTEN if bool(row[3]) else compared
            lock_timeout = int(self.config.lock_timeout_ms)
            self._reset_end = RESET_END.format(lock_timeout=lock_timeout, defaults_changed=changed).encode()
            self._reset_end_compared = RESET_END.format(
                lock_timeout=lock_timeout, defaults_changed=compared
            ).encode()
            # One transaction (--atomic): the next file cannot get a new connection, so only prepared
            # statements are the next guard's business.
            self._reset_end_atomic = RESET_END.format(
                lock_timeout=lock_timeout, defaults_changed="false"
            ).encode()
            self._statements = self._prepared_statements()
        return self._reset

    def _prepared_statements(self) -> dict[str, bytes]:
        """lockgate's own statements in a migration's batch, as a stream prepares them: the lock, the
        guard (the version as its parameter, this run's timeouts written in), the reset's first and last
        statements, and the tracking row with its audit entry (every value a parameter)."""
        guards, timeouts = self._guards(local=True, bare=True)
        guard, guard_params = self.history.refuse_if_recorded_query(0, (f"{guards}, {STALE_CHECK}", timeouts))
        sample = TrackingRow("0_sample", "sample", 0, "", APPLIED, None, ELAPSED_ON_SERVER, None, {}, True)
        record, record_params = self.history.upsert_and_log_query(sample, self._entry(sample))
        return {
            "lock": b"SELECT pg_catalog.pg_advisory_xact_lock(%d)" % int(self.history.apply_key),
            "guard": to_prepare(self.conn, guard, guard_params, ("bigint",) + (None,) * len(timeouts)),
            "timeout": self._batch_reset_start[0],
            "end": self._reset_end,
            "end-atomic": self._reset_end_atomic,
            "record": to_prepare(self.conn, record, record_params, RECORD_TYPES),
        }

    def _stream_names(self, prepare: bool) -> dict[str, bytes]:
        """Fresh names for one stream's prepared statements (empty when it prepares none): a statement
        left behind on a pooled server connection can never meet a later stream's."""
        if not (prepare and self._use_prepared):
            return {}
        self._streams += 1
        return {role: f"lockgate_{self._token}_{self._streams}_{role}".encode() for role in self._statements}

    def _stream(self, names: Mapping[str, bytes]) -> Stream:
        return Stream(self.conn, tuple(names.values()))

    def _batch_reset(
        self, batch: Batch[_Tag], migration: Migration, names: Mapping[str, bytes], *, atomic: bool
    ) -> None:
        """The reset inside a migration's batch, in statements the server runs without planning them
        each time: the run's statement_timeout, the login role back, ``SESSION_RESET`` (advisory locks
        last, in ``RESET_END``), ``DEALLOCATE`` of what the file's own ``PREPARE`` statements left (by
        name: no loop on the server), then ``RESET_END`` with its marker. ``names``: the stream's
        prepared statements (none: the text is sent)."""
        self.session_reset()
        tag: _Tag = ("reset", migration, None)
        batch.add(tag, Prepared(names["timeout"]) if names else self._batch_reset_start[0])
        for query in self._batch_reset_start[1:]:
            batch.add(tag, query)
        if not atomic:
            batch.add(("commit", migration, None), FIRE_DEFERRED)
        for name in (
            _left_prepared(migration.parsed.body) if migration.version not in self._not_by_name else ()
        ):
            deallocate = sql.SQL("DEALLOCATE {}").format(sql.Identifier(name))
            batch.add(("deallocate", migration, None), deallocate.as_bytes(self.conn))
        if atomic and self._deallocate_on_server:
            batch.add(("deallocate", migration, None), DEALLOCATE_ON_SERVER.encode())
        end = "end-atomic" if atomic else "end"
        if not atomic and any(_TRACK_COUNTS(statement.text) for statement in migration.parsed.body):
            batch.add(tag, self._reset_end_compared)
        else:
            batch.add(tag, Prepared(names[end]) if names else self._statements[end])

    def _deallocate(self, leftovers: pq.abc.PGresult | None) -> None:
        """``DEALLOCATE`` what ``LEFTOVER_PREPARED`` found."""
        if leftovers is None or leftovers.nfields != 1:
            return
        encoding = self.conn.info.encoding
        for index in range(leftovers.ntuples):
            name = (leftovers.get_value(index, 0) or b"").decode(encoding)
            self.conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(name)))

    def _guards(self, *, local: bool, bare: bool = False) -> tuple[str, tuple[str, str]]:
        """``GUARDS_SQL`` with this run's timeouts, for a transaction (``local``) or the session;
        ``bare``: only its select list, to ride in another statement."""
        flag = "true" if local else "false"
        watch = WATCH_CLIENT.format(local=flag) if self.conn.info.server_version >= 140000 else ""
        query = GUARDS_SQL.format(local=flag, watch=watch)
        return (
            query.removeprefix("SELECT ") if bare else query,
            (f"{self.config.lock_timeout_ms}ms", f"{self.config.statement_timeout_ms}ms"),
        )

    def _execute_alone(self, text: str) -> None:
        """One statement of a file through the extended protocol (a pipeline of one), which carries
        exactly one command per message: text the server reads differently from the parser (a setting
        changed where no parser sees it) fails as "cannot insert multiple commands", never runs as two."""
        with self.conn.pipeline():
            self.conn.execute(text.encode())

    # -- transactional path -------------------------------------------------------------------------
    def _apply_stream(
        self, pending: list[Migration], start: int, attempts: dict[int, int], result: RunResult
    ) -> tuple[int, bool]:
        """Apply the transactional files from ``pending[start]`` on through one ``Stream``: each file's
        batch (see ``_migration_batch``) is sent while the one before it runs (``STREAM_WINDOW``), so the
        server never waits for lockgate between two files. Returns where to go on (the next file, or a
        file to send again after a lock timeout or a mended session) and whether the run failed.

        Sending ahead changes no guarantee: the server skips everything behind a failed file (see
        ``lockgate.batch.Stream``), a file sent ahead re-checks the session in its guard (``STALE_CHECK``),
        and each file is still its own transaction with its tracking row."""
        self.session_reset()
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.commit()  # the look-up above opened a transaction; each migration starts its own
        names = self._stream_names(prepare=True)
        stream = self._stream(names)
        in_flight: deque[tuple[Migration, Batch[_Tag]]] = deque()
        after = start  # the next file to send
        unbuilt: tuple[Migration, psycopg.Error] | None = None
        last = False  # a file sent drops every prepared statement: the stream ends after it
        started = time.perf_counter()
        try:
            while True:
                while (
                    unbuilt is None
                    and not last
                    and len(in_flight) < STREAM_WINDOW
                    and after < len(pending)
                    and is_transactional(pending[after])
                ):
                    migration = pending[after]
                    try:
                        batch = self._migration_batch(
                            migration, attempts.setdefault(migration.version, 1), names, first=after == start
                        )
                    except psycopg.Error as exc:  # an ``on_applied`` hook refused before anything was sent
                        unbuilt = (migration, exc)
                        break
                    last = bool(names) and _deallocates_all(migration)
                    stream.send(batch)
                    in_flight.append((migration, batch))
                    after += 1
                if not in_flight:
                    break
                migration, batch = in_flight.popleft()
                self.progress("start", migration, None)
                try:
                    results = stream.receive(batch)
                except psycopg.Error as exc:
                    return self._stream_failed(pending, migration, batch, exc, started, attempts, result)
                outcome = MigrationResult(
                    migration, APPLIED, _ms_since(started), attempts.pop(migration.version)
                )
                started = time.perf_counter()
                result.results.append(outcome)
                self.progress("done", migration, outcome)
                marker = _marker(results, batch)
                if marker:
                    stream.abort()  # what was sent behind this file failed its guard: send it again
                    self._mend(marker)
                    return pending.index(migration, start) + 1, False
            stream.close()
        except BaseException as interruption:
            stream.abort(cancel=not isinstance(interruption, psycopg.Error))
            raise
        if unbuilt is not None:
            migration, refused = unbuilt
            self.progress("start", migration, None)
            return self._stream_failed(pending, migration, None, refused, started, attempts, result)
        return after, False

    def _stream_failed(
        self,
        pending: list[Migration],
        migration: Migration,
        batch: Batch[_Tag] | None,
        exc: psycopg.Error,
        started: float,
        attempts: dict[int, int],
        result: RunResult,
    ) -> tuple[int, bool]:
        """``migration`` failed in its batch (the stream is over: nothing behind it ran). Skipped when
        another runner recorded it meanwhile; sent again after mending a stale session or, after a lock
        timeout, after a back-off; else recorded as failed and the run stops."""
        index = pending.index(migration)
        attempt = attempts.get(migration.version, 1)
        role, _, statement = _failed_tag(batch)
        outcome: MigrationResult | None = None
        if isinstance(exc, PreparedUnavailable):
            self._use_prepared = False  # it ran nothing, or was rolled back: send it again without them
            return index, False
        if self._disconnected():
            error = _statement_error(exc, statement, _ROLE_STAGES.get(role, role))
            outcome = self._after_disconnect(migration, error, started, attempt, True, 0)
        elif role == "guard" and _stale(exc):
            self._mend(_stale(exc))
            return index, False
        elif self._gone_by_name(role, migration, exc):
            return index, False  # rolled back: sent again without deallocating by name
        elif role == "guard" and isinstance(exc, pg_errors.DivisionByZero):
            attempts.pop(migration.version, None)
            outcome = MigrationResult(migration, SKIPPED, attempts=attempt, note=self._taken(migration))
        else:
            error = self._diagnosed(
                exc, _statement_error(exc, statement, _ROLE_STAGES.get(role, role)), statement
            )
            if isinstance(exc, pg_errors.LockNotAvailable) and attempt <= self.config.lock_retries:
                self._log_retry(migration, error, attempt)
                attempts[migration.version] = attempt + 1
                return index, False
            outcome = self._record_failure(migration, error, _ms_since(started), attempt, True, 0)
        result.results.append(outcome)
        self.progress("done", migration, outcome)
        return index + 1, outcome.outcome == FAILED

    def _gone_by_name(self, role: str, migration: Migration, exc: psycopg.Error) -> bool:
        """Whether the reset's ``DEALLOCATE name`` failed because the file itself had dropped that name in
        dynamic SQL (then noted in ``_not_by_name``, once per file)."""
        if role != "deallocate" or not isinstance(exc, pg_errors.InvalidSqlStatementName):
            return False
        if migration.version in self._not_by_name:
            return False
        self._not_by_name.add(migration.version)
        return True

    def _mend(self, marker: str) -> None:
        """Undo what a committed migration's reset could not (its ``RESET_END`` marker): go on with a new
        connection after it changed the role or database defaults (``RESET ALL`` only returns to the
        defaults this session connected with), or deallocate what it prepared where no parser saw it."""
        if marker == STALE_DEFAULTS and self.reconnect is not None:
            try:  # behind a transaction pooler the server connection, marker and all, outlives this one
                self.conn.execute(f"SELECT {CLEAR_STALE}")
                self.conn.commit()
            except psycopg.Error:
                pass  # a connection that cannot say it is closed, and its session with it
            self.conn.close()
            self.conn = self.reconnect()
            self.history.conn = self.conn
            self._reset = None
            self.session_reset()
        else:
            try:
                self._deallocate(self.conn.execute(LEFTOVER_PREPARED.encode()).pgresult)
                self.conn.execute("SELECT pg_catalog.set_config('lockgate.stale', '', false)")
                self.conn.commit()
            except psycopg.Error:
                self.conn.rollback()
                raise
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.commit()

    def _migration_batch(
        self, migration: Migration, attempts: int, names: Mapping[str, bytes], *, first: bool
    ) -> Batch[_Tag]:
        """The whole migration, to be sent in one network round trip (see ``lockgate.batch``): its
        transaction, the lock and the check that no other runner recorded it meanwhile (a statement that
        fails if one did, so the body never runs then), the timeouts, every statement of the body, the
        session reset, the tracking row with its audit entry (its time measured by the server), and
        COMMIT. Each query's tag says what it is, so a failure names the statement PostgreSQL stopped at."""
        batch: Batch[_Tag] = Batch(self.conn)
        batch.add(("begin", migration, None), b"BEGIN")
        metadata = self._row_metadata(migration, attempts, True)
        self._add_migration(batch, migration, metadata, names, prepare_here=first)
        batch.add(("commit", migration, None), b"COMMIT")
        return batch

    def _add_migration(
        self,
        batch: Batch[_Tag],
        migration: Migration,
        metadata: dict[str, Any],
        names: Mapping[str, bytes],
        *,
        lock: bool = True,
        atomic: bool = False,
        prepare_here: bool = False,
    ) -> None:
        """One migration's queries, inside a transaction the caller opened: lock (unless the transaction
        holds it already), guard with the timeouts and the session check, body, session reset, tracking
        row and audit entry, then the ``on_applied`` hooks. ``names``: the stream's prepared statements,
        which lockgate's own queries run (none: their text is sent; none after the body of a file that
        drops every prepared statement). ``prepare_here``: this is the stream's first batch, which prepares
        them after its guard (inside its transaction, under its lock_timeout, with the session still as
        the run found it: a lock on lockgate's tables times out and retries like any other)."""
        encoding = self.conn.info.encoding
        early = {} if prepare_here else names
        for setup in migration.parsed.transaction_setup:
            batch.add(("setup", migration, None), setup.encode())
        if lock:
            batch.add(
                ("lock", migration, None), Prepared(early["lock"]) if early else self._statements["lock"]
            )
        # The guard carries the timeouts and the session check: no statement of their own.
        if early:
            version = text_params((migration.version,), encoding)
            batch.add(("guard", migration, None), Prepared(early["guard"], version))
        else:
            guards, params = self._guards(local=True, bare=True)
            batch.add_bound(
                ("guard", migration, None),
                *self.history.refuse_if_recorded_query(
                    migration.version, (f"{guards}, {STALE_CHECK}", params)
                ),
            )
        if prepare_here:
            for role, name in names.items():
                batch.add(("prepare", migration, None), Prepare(name, self._statements[role]))
        for statement in migration.parsed.body:
            batch.add(("body", migration, statement), statement.text.encode())
        if _deallocates_all(migration):
            names = {}
        self._batch_reset(batch, migration, names, atomic=atomic)
        row = self._row(migration, APPLIED, metadata, ELAPSED_ON_SERVER)
        if names:
            params = upsert_and_log_params(row, self._entry(row))
            batch.add(("record", migration, None), Prepared(names["record"], text_params(params, encoding)))
        else:
            batch.add_bound(
                ("record", migration, None), *self.history.upsert_and_log_query(row, self._entry(row))
            )
        batch.tag = ("record", migration, None)
        for hook in self.on_applied:
            hook(batch, migration)

    def _follow_defaults(self, defaults: pq.abc.PGresult) -> None:
        """After a migration committed: if it changed the ``ALTER DATABASE|ROLE ... SET`` defaults, go on
        with a new connection, so the next migration starts as it would in a later ``run`` (``RESET
        ALL`` only returns to the defaults this session connected with)."""
        value = defaults.get_value(0, defaults.nfields - 1) if defaults.ntuples else None
        now = value.decode(self.conn.info.encoding) if value is not None else None
        if now == self._defaults or self.reconnect is None:
            return
        self.conn.close()
        self.conn = self.reconnect()
        self.history.conn = self.conn
        self._reset = None
        self.session_reset()
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.commit()

    def apply_atomic(self, pending: list[Migration]) -> RunResult:
        """Every pending migration and its tracking row in ONE transaction, streamed: each file's queries
        go out as soon as they are built, the server runs them while the next are built, and results are
        read as they come (``STREAM_WINDOW`` files behind). All or nothing: the session is reset between
        files as in a normal run; a lock timeout retries the whole deploy; a failure leaves nothing
        applied, names the file and line, and records that migration as failed (the others as not
        tried). The caller refused files that cannot join one transaction."""
        result = RunResult()
        if not pending:
            return result
        self.session_reset()
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.commit()
        for migration in pending:
            self.progress("start", migration, None)
        attempts = 0
        while True:
            attempts += 1
            started = time.perf_counter()
            failure = self._atomic_stream(pending, attempts)
            if failure is None:
                break
            exc, batch = failure
            if isinstance(exc, PreparedUnavailable):
                self._use_prepared = False  # nothing was applied: the deploy again, without them
                attempts -= 1
                continue
            role, failing, statement = _failed_tag(batch)
            migration = failing or pending[-1]
            error = _statement_error(exc, statement, _ROLE_STAGES.get(role, role))
            if self._disconnected():
                failed = self._after_disconnect(migration, error, started, attempts, True, 0)
                if failed.outcome == APPLIED:  # the deploy's COMMIT ran: every file is applied
                    break
                return self._atomic_failure(pending, failed)
            if failing is not None and self._gone_by_name(role, failing, exc):
                attempts -= 1  # nothing was applied: the deploy again, that file deallocating nothing by name
                continue
            stale = _stale(exc) if role == "guard" else ""
            if stale == STALE_PREPARED and self._plpgsql and not self._deallocate_on_server:
                self._deallocate_on_server = True  # the deploy again, deallocating on the server
                self._mend(stale)
                attempts -= 1
                continue
            if stale:
                previous = pending[max(0, pending.index(migration) - 1)]
                error = StatementError(
                    f"{previous.filename} left a statement prepared where no parser sees its name (PREPARE "
                    "in dynamic SQL), and the login role may not use PL/pgSQL to deallocate it between files "
                    "of one transaction; the atomic deploy applied nothing: run it without --atomic, or "
                    "DEALLOCATE it in that file",
                    None,
                    None,
                    None,
                )
                self._mend(stale)
            elif role == "guard" and isinstance(exc, pg_errors.DivisionByZero):
                error = StatementError(
                    f"{migration.filename} was recorded by another runner meanwhile; the atomic deploy "
                    "applied nothing: run it again",
                    None,
                    None,
                    None,
                )
            error = self._diagnosed(exc, error, statement)
            retry = isinstance(exc, pg_errors.LockNotAvailable) and attempts <= self.config.lock_retries
            if not retry:
                failed = self._record_failure(migration, error, _ms_since(started), attempts, True, 0)
                return self._atomic_failure(pending, failed)
            self._log_retry(migration, error, attempts)
        durations = self._atomic_durations(pending, _ms_since(started))
        for migration in pending:
            outcome = MigrationResult(migration, APPLIED, durations.get(migration.version, 0), attempts)
            result.results.append(outcome)
            self.progress("done", migration, outcome)
        return result

    def _atomic_stream(
        self, pending: list[Migration], attempts: int
    ) -> tuple[psycopg.Error, Batch[_Tag] | None] | None:
        """The whole deploy in one transaction through one ``Stream``: one batch per file (each as in a
        normal run: guard, body, session reset, tracking row), the lock taken once by the first, ``COMMIT``
        at the end of the last. Returns the failure and the batch it happened in, or None when committed.
        No prepared statements when a file drops them all (``DEALLOCATE ALL``): the files after it share
        the stream."""
        names = self._stream_names(prepare=not any(_deallocates_all(m) for m in pending))
        stream = self._stream(names)
        in_flight: deque[Batch[_Tag]] = deque()
        current: Batch[_Tag] | None = None
        try:
            for position, migration in enumerate(pending):
                current = None  # an ``on_applied`` hook may refuse while the batch is built
                batch: Batch[_Tag] = Batch(self.conn)
                if position == 0:
                    batch.add(("begin", migration, None), b"BEGIN")
                metadata = self._row_metadata(
                    migration, attempts, True, atomic=True, deploy_size=len(pending)
                )
                # One transaction: the lock the first migration takes is held to its end.
                self._add_migration(
                    batch,
                    migration,
                    metadata,
                    names,
                    lock=position == 0,
                    atomic=True,
                    prepare_here=position == 0,
                )
                if position == len(pending) - 1:
                    batch.add(("commit", migration, None), b"COMMIT")
                stream.send(batch)
                in_flight.append(batch)
                if len(in_flight) > STREAM_WINDOW:
                    current = in_flight.popleft()
                    stream.receive(current)
            while in_flight:
                current = in_flight.popleft()
                stream.receive(current)
            stream.close()
        except psycopg.Error as exc:
            stream.abort()
            return exc, current
        except BaseException:
            stream.abort(cancel=True)
            raise
        return None

    def _atomic_durations(self, pending: list[Migration], total: int) -> dict[int, int]:
        """Each migration's share of the deploy, from the server's clock at each tracking row (the rows
        themselves record the time since the deploy's transaction began)."""
        try:
            rows = self.conn.execute(
                sql.SQL(
                    "SELECT version, execution_time_ms FROM {} WHERE version = ANY(%s) ORDER BY version"
                ).format(self.history.table),
                ([m.version for m in pending],),
            ).fetchall()
            self.conn.rollback()
        except psycopg.Error:
            return {pending[-1].version: total}
        durations: dict[int, int] = {}
        previous = 0
        for version, cumulative in rows:
            durations[int(version)] = max(0, int(cumulative or 0) - previous)
            previous = int(cumulative or 0)
        return durations

    def _atomic_failure(self, pending: list[Migration], failed: MigrationResult) -> RunResult:
        result = RunResult()
        for migration in pending:
            if migration is failed.migration:
                result.results.append(failed)
                self.progress("done", migration, failed)
                break
            outcome = MigrationResult(migration, NOT_TRIED, note="rolled back with the atomic deploy")
            result.results.append(outcome)
            self.progress("done", migration, outcome)
        return result

    def _taken(self, migration: Migration) -> str:
        record = self.history.record_for(migration.version)
        self.conn.rollback()
        status = record.status if record is not None else "recorded"
        return f"already {status} (by another runner)"

    def _dry_run_one(self, migration: Migration) -> MigrationResult:
        started = time.perf_counter()
        statement: Statement | None = None
        try:
            # A savepoint inside dry_run's outer transaction: later files see this one's effects, and the
            # outer transaction rolls everything back at the end.
            with self.conn.transaction():
                for statement in migration.parsed.body:
                    self._execute_alone(statement.text)
            statement = None
            # What ``run`` does after each migration, so the next file meets the same session here too.
            leftovers = None
            for reset in self.session_reset():
                leftovers = self.conn.execute(reset.encode())
            self._deallocate(leftovers.pgresult if leftovers is not None else None)
            self._set_timeouts(local=True)
        except psycopg.Error as exc:
            if self._disconnected():
                raise self._lost(exc) from None
            return MigrationResult(
                migration, FAILED, _ms_since(started), error=_statement_error(exc, statement)
            )
        return MigrationResult(migration, DRY_RUN_OK, _ms_since(started))

    def _disconnected(self) -> bool:
        return bool(self.conn.broken or self.conn.closed)

    @staticmethod
    def _lost(exc: BaseException) -> ConnectionFailed:
        return ConnectionFailed(
            f"lost the database connection ({first_line(exc)}); a dry run changes nothing, run it again"
        )

    def _after_disconnect(
        self,
        migration: Migration,
        error: StatementError,
        started: float,
        attempts: int,
        transactional: bool,
        completed: int,
    ) -> MigrationResult:
        """The connection died mid-migration (a DBA's ``pg_terminate_backend``, a failover, a pooler
        restart). Say exactly what happened, and record it through a new connection when one can be had,
        so no ``running`` row outlives the run."""
        total = len(migration.parsed.body)
        if transactional:
            what = "the server rolled the migration back"
        else:
            what = f"{completed} of {total} statement(s) had completed outside a transaction"
        message = f"lost the database connection while applying it ({error.message}); {what}"
        lost = StatementError(message, error.sqlstate, error.line, error.statement_index)
        elapsed = _ms_since(started)
        if self.reconnect is None:
            return MigrationResult(migration, FAILED, elapsed, attempts, transactional, lost, completed)
        try:
            self.conn = self.reconnect()
            self.history.conn = self.conn
            self._reset = None
            if transactional and self._committed_meanwhile(migration):
                note = "the connection was lost after the server committed it"
                return MigrationResult(migration, APPLIED, elapsed, attempts, True, note=note)
            return self._record_failure(migration, lost, elapsed, attempts, transactional, completed)
        except (psycopg.Error, ConnectionFailed) as exc:
            first = first_line(exc)
            unrecorded = StatementError(
                f"{message}; the failure could not be recorded either ({first})",
                error.sqlstate,
                error.line,
                error.statement_index,
            )
            return MigrationResult(migration, FAILED, elapsed, attempts, transactional, unrecorded, completed)

    def _committed_meanwhile(self, migration: Migration) -> bool:
        """After a lost connection, on the new one: whether ``migration`` is recorded as applied with this
        checksum. A connection lost after the server ran COMMIT (or, before PostgreSQL 14, while the
        server went on with what it had received) leaves the commit in doubt for lockgate alone; recording
        the failure then overwrote the committed ``applied`` row, and the next run applied the file a second
        time. The apply lock first: the old session holds it until its transaction has ended."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.history.apply_key,))
            record = self.history.record_for(migration.version)
        return record is not None and record.status == APPLIED and record.checksum == migration.checksum

    def _claim(self, migration: Migration, *, set_timeouts: bool = False) -> str | None:
        """Inside the migration's transaction: serialise with other runners and re-check the history.

        The lock is taken in its own statement first (unbounded: only a runner that lost its run lock can
        hold it, and only for one migration); the history row is read afterwards so its snapshot sees
        whatever the previous holder committed. The migration's timeouts ride along with that read.
        Returns why the migration must be skipped (already recorded by someone else), or None to go on."""
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.history.apply_key,))
        timeouts = (f"{self.config.lock_timeout_ms}ms", f"{self.config.statement_timeout_ms}ms")
        record = self.history.record_for(migration.version, timeouts=timeouts if set_timeouts else None)
        if record is None or (record.status == FAILED and record.transactional):
            return None
        return f"already {record.status} (by another runner)"

    def _set_timeouts(self, *, local: bool) -> None:
        self.conn.execute(*self._guards(local=local))

    def _row_metadata(
        self, migration: Migration, attempts: int, transactional: bool, **more: Any
    ) -> dict[str, Any]:
        from lockgate.fingerprint import fingerprint

        return {
            **self.metadata,
            "filename": migration.filename,
            "fingerprint": fingerprint(migration.parsed),
            "statements": len(migration.parsed.body),
            "transactional": transactional,
            "attempts": attempts,
            **more,
        }

    def _row(
        self,
        migration: Migration,
        status: str,
        metadata: Mapping[str, Any],
        elapsed: int | None = None,
        error_message: str | None = None,
    ) -> TrackingRow:
        """The tracking row for ``migration`` in ``status`` (one place knows how a row is filled)."""
        return TrackingRow(
            migration_id=migration.id,
            name=migration.name,
            version=migration.version,
            checksum=migration.checksum,
            status=status,
            executed_by=self.config.executed_by,
            execution_time_ms=elapsed,
            error_message=error_message,
            metadata=metadata,
            applied=status == APPLIED,
        )

    def _entry(self, row: TrackingRow, error: StatementError | None = None) -> LogEntry:
        """The audit entry that goes with ``row``."""
        return LogEntry(
            action="run",
            outcome=row.status,
            migration_id=row.migration_id,
            version=row.version,
            name=row.name,
            checksum=row.checksum,
            execution_time_ms=row.execution_time_ms,
            executed_by=row.executed_by,
            error_message=row.error_message,
            sqlstate=error.sqlstate if error else None,
            error_line=error.line if error else None,
            metadata=row.metadata,
        )

    def _record_success(
        self, migration: Migration, elapsed: int, attempts: int, *, transactional: bool, **more: Any
    ) -> None:
        metadata = self._row_metadata(migration, attempts, transactional, **more)
        row = self._row(migration, APPLIED, metadata, elapsed)
        self.history.upsert_and_log(row, self._entry(row))
        for hook in self.on_applied:
            hook(self.conn, migration)

    def _record_failure(
        self,
        migration: Migration,
        error: StatementError,
        elapsed: int,
        attempts: int,
        transactional: bool,
        completed: int,
    ) -> MigrationResult:
        """Write the ``failed`` row and the audit entry in their own transaction (the migration's rolled
        back). The session is reset first: a no-transaction file's ``SET ROLE`` or ``SET SESSION
        CHARACTERISTICS AS TRANSACTION READ ONLY`` must not stop its own failure from being recorded."""
        metadata = self._row_metadata(
            migration,
            attempts,
            transactional,
            sqlstate=error.sqlstate,
            error_line=error.line,
            statements_completed=completed,
        )
        row = self._row(migration, FAILED, metadata, elapsed, error.one_line(migration))
        self._in_clean_transaction(lambda: self.history.upsert_and_log(row, self._entry(row, error)))
        return MigrationResult(migration, FAILED, elapsed, attempts, transactional, error, completed)

    def _in_clean_transaction(self, write: Callable[[], object]) -> None:
        """``write`` in a read-write transaction of its own, after the session reset."""
        self._leave_open_transaction()
        reset = self.session_reset()
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.commit()
        with self.conn.transaction():
            with self.conn.pipeline():
                # First: a transaction's read-write mode can only be set before its first query, and a
                # file's ``SET default_transaction_read_only`` made this one start read-only.
                self.conn.execute(b"SET TRANSACTION READ WRITE")
                leftovers = None
                for query in reset:
                    leftovers = self.conn.execute(query.encode())
            self._deallocate(leftovers.pgresult if leftovers is not None else None)
            write()

    def _leave_open_transaction(self) -> None:
        """A statement run in autocommit mode can still leave the server in a transaction block (a
        ``BEGIN`` that slipped past the checks, a failed ``COMMIT``): end it, so the connection can be
        used to record what happened."""
        status = self.conn.info.transaction_status
        if self.conn.autocommit and status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
            self.conn.execute(b"ROLLBACK")

    def _diagnosed(
        self, exc: psycopg.Error, error: StatementError, statement: Statement | None
    ) -> StatementError:
        """After a lock timeout, name the sessions that held the lock (while they still do); any other
        error as it is. Only on a live connection: a diagnosis never turns into a failure of its own."""
        if not isinstance(exc, pg_errors.LockNotAvailable) or self.conn.closed:
            return error
        from lockgate.blockers import blocking_sessions

        blocked_by = blocking_sessions(self.conn, statement)
        return replace(error, blocked_by=blocked_by) if blocked_by else error

    def _log_retry(self, migration: Migration, error: StatementError, attempts: int) -> None:
        """Log the lock timeout, then back off exponentially with full jitter before the next attempt."""
        delay_ms = self.config.retry_backoff_ms * (2 ** (attempts - 1))
        delay_ms = random.uniform(delay_ms / 2, delay_ms)
        with self.conn.transaction():
            self.history.log(
                LogEntry(
                    action="run",
                    outcome="lock-timeout",
                    migration_id=migration.id,
                    version=migration.version,
                    name=migration.name,
                    checksum=migration.checksum,
                    executed_by=self.config.executed_by,
                    error_message=error.one_line(migration),
                    sqlstate=error.sqlstate,
                    error_line=error.line,
                    metadata={**self.metadata, "attempt": attempts, "retry_in_ms": int(delay_ms)},
                )
            )
        self.progress(
            "retry", migration, MigrationResult(migration, "retrying", attempts=attempts, error=error)
        )
        self.sleep(delay_ms / 1000)

    # -- non-transactional path ---------------------------------------------------------------------
    def _apply_outside_transaction(self, migration: Migration) -> MigrationResult:
        """Each statement on its own; a ``running`` row first so an interruption is never invisible, and
        its ``statements_completed`` kept up to date so an interruption says exactly how far it got."""
        self.session_reset()
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.commit()
        with self.conn.transaction():
            taken = self._claim(migration)
            if taken:
                return MigrationResult(migration, SKIPPED, transactional=False, note=taken)
            running = self._row(
                migration, "running", self._row_metadata(migration, 1, False, statements_completed=0)
            )
            self.history.upsert_and_log(running, self._entry(running))
        started = time.perf_counter()
        completed = 0
        attempts = 1
        autocommit = self.conn.autocommit
        error: StatementError | None = None
        try:
            self.conn.autocommit = True
            self._set_timeouts(local=False)
            for statement in migration.parsed.body:
                try:
                    attempts = max(attempts, self._execute_with_retries(migration, statement))
                except psycopg.Error as exc:
                    error = self._diagnosed(exc, _statement_error(exc, statement), statement)
                    break
                completed += 1
                self._record_progress(migration, completed)
        except psycopg.Error as exc:  # recording progress failed: the connection is gone or unusable
            error = _statement_error(exc, None, "progress")
        except BaseException as interruption:  # Ctrl-C, a bug: record how far it got, then go on raising
            self._record_interrupted(migration, interruption, started, attempts, completed, autocommit)
            raise
        if error is not None and self._disconnected():
            return self._after_disconnect(migration, error, started, attempts, False, completed)
        try:
            self._leave_open_transaction()
            self.conn.autocommit = autocommit
            if error is not None:
                return self._record_failure(migration, error, _ms_since(started), attempts, False, completed)
            elapsed = _ms_since(started)
            self._in_clean_transaction(
                lambda: self._record_success(
                    migration, elapsed, attempts, transactional=False, statements_completed=completed
                )
            )
        except psycopg.Error as exc:
            failure = error or _statement_error(exc, None, "record")
            if self._disconnected():
                return self._after_disconnect(migration, failure, started, attempts, False, completed)
            return self._record_on_new_connection(migration, failure, started, attempts, completed)
        self._follow_defaults_outside_transaction()
        return MigrationResult(
            migration, APPLIED, elapsed, attempts, transactional=False, statements_completed=completed
        )

    def _follow_defaults_outside_transaction(self) -> None:
        """``_follow_defaults`` after a no-transaction file (its own round trip: such files are rare)."""
        try:
            defaults = self.conn.execute(self.session_reset()[0].encode())
            self.conn.commit()
        except psycopg.Error:
            self.conn.rollback()
            return
        if defaults.pgresult is not None:
            self._follow_defaults(defaults.pgresult)

    def _record_on_new_connection(
        self, migration: Migration, error: StatementError, started: float, attempts: int, completed: int
    ) -> MigrationResult:
        """The file's statements ran but this connection could not record the outcome (a session state
        the reset could not undo): record it as failed — how far it got, and why — through a new
        connection, so no ``running`` row outlives the run and the message names the file."""
        message = (
            f"{error.message}; {completed} of {len(migration.parsed.body)} statement(s) had completed "
            "outside a transaction"
        )
        failure = StatementError(message, error.sqlstate, error.line, error.statement_index)
        elapsed = _ms_since(started)
        if self.reconnect is None:
            return MigrationResult(migration, FAILED, elapsed, attempts, False, failure, completed)
        try:
            self.conn.close()
            self.conn = self.reconnect()
            self.history.conn = self.conn
            self._reset = None
            return self._record_failure(migration, failure, elapsed, attempts, False, completed)
        except (psycopg.Error, ConnectionFailed) as exc:
            first = first_line(exc)
            unrecorded = StatementError(
                f"{message}; the failure could not be recorded either ({first})",
                error.sqlstate,
                error.line,
                error.statement_index,
            )
            return MigrationResult(migration, FAILED, elapsed, attempts, False, unrecorded, completed)

    def _record_progress(self, migration: Migration, completed: int) -> None:
        """Update the ``running`` row between two statements of a no-transaction file, in a transaction
        that steps out of what the file set so far (its ``SET ROLE``, a read-only default, a tiny
        ``statement_timeout``) only for itself: the file's next statement still sees its own settings."""
        with self.conn.transaction(), self.conn.pipeline():
            self.conn.execute(b"SET TRANSACTION READ WRITE")
            self.conn.execute(b"SET LOCAL SESSION AUTHORIZATION DEFAULT")
            self.conn.execute(b"SET LOCAL ROLE NONE")
            self.conn.execute(
                "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                (f"{self.config.lock_timeout_ms}ms", f"{self.config.statement_timeout_ms}ms"),
            )
            self.history.set_progress(migration.version, completed)

    def _record_interrupted(
        self,
        migration: Migration,
        interruption: BaseException,
        started: float,
        attempts: int,
        completed: int,
        autocommit: bool,
    ) -> None:
        """Best effort on the way out of an interruption: turn the ``running`` row into ``failed`` with
        the count of statements that ran, so the next ``status`` need not guess."""
        reason = (
            "interrupted (Ctrl-C)"
            if isinstance(interruption, KeyboardInterrupt)
            else (f"interrupted by {type(interruption).__name__}")
        )
        error = StatementError(reason, None, None, None)
        try:
            if self.conn.pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
                getattr(self.conn, "cancel_safe", self.conn.cancel)()
            self._leave_open_transaction()
            self.conn.autocommit = autocommit
            self._record_failure(migration, error, _ms_since(started), attempts, False, completed)
        except Exception:  # the interruption is what the user must see, not this
            return

    def _execute_with_retries(self, migration: Migration, statement: Statement) -> int:
        attempts = 0
        while True:
            attempts += 1
            try:
                self._execute_alone(statement.text)
                return attempts
            except pg_errors.LockNotAvailable as exc:
                if attempts > self.config.lock_retries:
                    raise
                autocommit = self.conn.autocommit
                self.conn.autocommit = False
                try:
                    error = self._diagnosed(exc, _statement_error(exc, statement), statement)
                    self._log_retry(migration, error, attempts)
                finally:
                    self.conn.autocommit = autocommit


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
