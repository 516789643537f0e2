"""A migration's queries in one network round trip, sent through libpq's pipeline directly.

Why not ``psycopg``'s own ``Connection.pipeline()``: it is correct but costs a cursor, a query conversion and
a non-blocking send-and-poll for every ``execute`` — about 80 µs of client CPU a query on this machine, ten
queries a migration (lock, guard, body statements, session reset, tracking row, COMMIT). A ``run`` of 1,000
migrations spent more client CPU on that than the minimal psycopg loop spent in all. Here each query is one
``PQsendQueryParams`` (the extended protocol, so one command per message: text the server would read as two
statements fails instead of running both), then one ``PQpipelineSync``, and the results are read back as they
come, through ``Connection.wait`` — so Ctrl-C still cancels the running statement on the server, as every
other psycopg call does.

Parameters are bound client-side (``ClientCursor.mogrify``): the queries that carry values (the guard, the
tracking row) are lockgate's own, and a literal costs no extra message. The batch knows nothing about
transactions: the caller adds ``BEGIN`` and ``COMMIT`` like any other query. A batch that fails leaves no
transaction open (it is rolled back), as psycopg's ``Connection.transaction()`` did.

A run does not wait for one batch before sending the next: ``Stream`` keeps a run's batches on one pipeline
with no sync between them (see its docstring for why nothing behind a failure runs), and lets them run
statements prepared once per stream (``Prepare``, ``Prepared``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Sequence
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq, sql
from psycopg.waiting import Ready, Wait

T = TypeVar("T")
SQLText = str | bytes | sql.SQL | sql.Composed
"""A query as lockgate writes one (psycopg's ``Query`` also admits template strings, which bind nothing here)."""


class Prepared(NamedTuple):
    """A query that runs a statement its ``Stream`` prepared, with its parameters in text form."""

    name: bytes
    params: tuple[bytes | None, ...] = ()


class Prepare(NamedTuple):
    """Prepares a statement under a name (its result is an empty command's)."""

    name: bytes
    text: bytes


Query = bytes | Prepared | Prepare
"""A query as a batch sends it: SQL text (no parameters), a prepared statement's name and parameters, or
the preparing of one."""


class PreparedUnavailable(psycopg.OperationalError):
    """A stream's prepared statements could not be made, or were gone when a batch used one (a file's
    ``DEALLOCATE ALL`` in dynamic SQL): whatever the stream sent did not run or was rolled back, so the
    caller goes on without them."""


def text_params(values: Sequence[object], encoding: str) -> tuple[bytes | None, ...]:
    """Values as a prepared statement's text-format parameters (the statement's own casts type them)."""
    out: list[bytes | None] = []
    for value in values:
        if value is None:
            out.append(None)
        elif isinstance(value, bool):
            out.append(b"t" if value else b"f")
        elif isinstance(value, int):
            out.append(b"%d" % value)
        elif isinstance(value, str):
            out.append(value.encode(encoding))
        else:
            raise TypeError(f"no text form for a parameter of type {type(value).__name__}")
    return tuple(out)


def to_prepare(
    conn: psycopg.Connection[Any], query: SQLText, params: Sequence[object], types: Sequence[str | None]
) -> bytes:
    """``query`` (with psycopg's ``%s`` placeholders and its ``params``) as a statement to prepare: a
    placeholder whose type is given becomes the next ``$n`` with that cast (its value is passed each time),
    one whose type is None is written in as a literal (a value fixed for the run)."""
    text = query.as_string(conn) if isinstance(query, sql.Composable) else query
    text = text.decode(conn.info.encoding) if isinstance(text, bytes) else text
    parts = text.split("%s")
    if len(parts) != len(params) + 1 or len(types) != len(params) or "%%" in text or "%(" in text:
        raise ValueError("the query's placeholders do not match its parameters")
    out = [parts[0]]
    number = 0
    for part, value, kind in zip(parts[1:], params, types, strict=True):
        if kind is None:
            out.append(sql.Literal(value).as_string(conn))
        else:
            number += 1
            out.append(f"${number}::{kind}")
        out.append(part)
    return "".join(out).encode(conn.info.encoding)


class Executes(Protocol):
    """What an ``on_applied`` hook writes through: a psycopg connection, or a ``Batch``."""

    def execute(self, query: SQLText, params: Sequence[Any] | None = None, /) -> object: ...


_COPY = frozenset((pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_OUT, pq.ExecStatus.COPY_BOTH))


class Batch(Generic[T]):
    """Queries to send together, each with the caller's tag (what it is, for naming a failure)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.queries: list[Query] = []
        self.tags: list[T] = []
        self.failed_at: int | None = None
        """After ``run`` raised: the index of the query that failed (or whose result never came)."""
        self._mogrify: psycopg.ClientCursor[Any] | None = None
        self.tag: T | None = None
        """The tag ``execute`` gives the queries it adds (hooks that write alongside a migration)."""

    def add(self, tag: T, query: Query) -> None:
        """A query as it will be sent (SQL text without parameters, or a ``Prepared`` one)."""
        self.queries.append(query)
        self.tags.append(tag)

    def add_bound(self, tag: T, query: SQLText, params: Sequence[Any] | None = None) -> None:
        """A query with ``%s`` parameters, bound client-side as literals."""
        if self._mogrify is None:
            self._mogrify = psycopg.ClientCursor(self.conn)
        text = self._mogrify.mogrify(query, params)
        self.add(tag, text.encode(self.conn.info.encoding))

    def execute(self, query: SQLText, params: Sequence[Any] | None = None, /) -> None:
        """What an ``on_applied`` hook calls: its write joins the batch (it gets no result back, so a hook
        may only send statements whose answers it does not need)."""
        assert self.tag is not None, "Batch.tag names the hook's writes"
        self.add_bound(self.tag, query, params)

    def run(self) -> list[pq.abc.PGresult]:
        """Send every query and wait for every result: one result per query, in order. On the first
        error, raise it as psycopg would (``failed_at`` says which query), after rolling back whatever
        transaction the batch left aborted."""
        pgconn = self.conn.pgconn
        if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            raise psycopg.ProgrammingError("a batch must start outside a transaction")
        received: list[pq.abc.PGresult] = []
        encoding = self.conn.info.encoding  # read while the connection is sure to be up
        pgconn.enter_pipeline_mode()
        try:
            self.conn.wait(_communicate(pgconn, self.queries, received))
        except BaseException as exc:
            # A lost connection or Ctrl-C can come after results arrived: libpq hands over the failing
            # query's error (a terminated backend's 57P01, a cancelled statement) and the aborted rest
            # before the read fails, so the first error received names the query, not the count.
            self.failed_at = _first_error(received)
            self._leave_pipeline(pgconn)
            if isinstance(exc, psycopg.Error) and self.failed_at < len(received):
                raise pg_errors.error_from_result(received[self.failed_at], encoding=encoding) from exc
            raise
        pgconn.exit_pipeline_mode()
        for index, result in enumerate(received):
            status = result.status
            if status == pq.ExecStatus.FATAL_ERROR:
                self.failed_at = index
                if self.conn.pgconn.transaction_status == pq.TransactionStatus.INERROR:
                    self.conn.rollback()
                raise pg_errors.error_from_result(result, encoding=encoding)
        return received

    @staticmethod
    def _leave_pipeline(pgconn: pq.abc.PGconn) -> None:
        """After an interruption or a lost connection: out of pipeline mode if libpq allows it now; if
        results are still due, the connection cannot be trusted any more and is closed."""
        if pgconn.pipeline_status == pq.PipelineStatus.OFF:
            return
        try:
            pgconn.exit_pipeline_mode()
        except psycopg.OperationalError:
            pgconn.finish()


class Stream:
    """Migrations' batches sent one after another on one pipeline with no sync between them, so the
    server starts the next migration the moment it commits the previous one, while lockgate reads the
    previous one's results and builds the one after (a window the caller keeps small).

    Why no sync: after an error the server skips every message up to the next sync, so whatever was sent
    behind a failed migration (its own rest, and the migrations queued after it) never runs — a failed
    ``COMMIT`` (a deferred constraint) included, which leaves no aborted transaction behind that could
    stop the next ``BEGIN`` otherwise. The stream is synced only to end it (``close``) or after a failure
    (``abort``). A flush request after each batch makes the server send each migration's results as soon
    as they are ready instead of holding them to the sync.

    ``prepared``: the names of the statements the stream's batches prepare (``Prepare``, in its first
    batch) and then run (``Prepared``): lockgate's own statements (guard, tracking row, reset) are the
    same in every migration but their values, and planning them afresh each time cost more server CPU
    than running them. They live as long as the stream: with no sync, even a transaction pooler
    (PgBouncer, Supavisor) keeps the stream on one server connection, and they are closed when the stream
    ends (callers give each stream its own names, so a statement left behind on a pooled connection never
    clashes)."""

    def __init__(self, conn: psycopg.Connection[Any], prepared: Sequence[bytes] = ()) -> None:
        self.conn = conn
        self.encoding = conn.info.encoding
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            raise psycopg.ProgrammingError("a stream must start outside a transaction")
        conn.pgconn.enter_pipeline_mode()
        self.prepared = tuple(prepared)

    def send(self, batch: Batch[T]) -> None:
        """Queue ``batch`` (never waits: what the socket does not take now goes out while reading)."""
        pgconn = self.conn.pgconn
        _send(pgconn, batch.queries)
        pgconn.send_flush_request()
        pgconn.flush()

    def receive(self, batch: Batch[T]) -> list[pq.abc.PGresult]:
        """The results of the oldest batch sent, which must be ``batch``. On an error (or an interruption,
        or a lost connection) the stream is ended first (``abort``: the batches behind ``batch`` did not
        run), then the error is raised as ``Batch.run`` raises it, ``batch.failed_at`` naming the query;
        ``PreparedUnavailable`` when the stream's prepared statements could not be made or were not there
        to run."""
        received: list[pq.abc.PGresult] = []
        try:
            self.conn.wait(_read(self.conn.pgconn, received, len(batch.queries)))
        except BaseException as exc:
            batch.failed_at = _first_error(received)
            self.abort()
            if isinstance(exc, psycopg.Error) and batch.failed_at < len(received):
                raise pg_errors.error_from_result(received[batch.failed_at], encoding=self.encoding) from exc
            raise
        failed = _first_error(received)
        if failed < len(received):
            batch.failed_at = failed
            self.abort()
            error = pg_errors.error_from_result(received[failed], encoding=self.encoding)
            query = batch.queries[failed]
            if isinstance(query, Prepared) and isinstance(error, pg_errors.InvalidSqlStatementName):
                raise PreparedUnavailable(f"lockgate's prepared statement is gone ({error})") from error
            if isinstance(query, Prepare) and (error.sqlstate or "")[:2] in ("26", "42"):
                raise PreparedUnavailable(f"could not prepare lockgate's statements ({error})") from error
            raise error
        return received

    def close(self) -> None:
        """End the stream after every batch was received: its prepared statements closed, a sync, and
        out of pipeline mode."""
        pgconn = self.conn.pgconn
        self._send_closes()
        pgconn.pipeline_sync()
        self.conn.wait(_read(pgconn, [], None))
        pgconn.exit_pipeline_mode()

    def _send_closes(self) -> None:
        """Queue a protocol-level Close of each prepared statement (which a pooler that tracks prepared
        statements understands; SQL ``DEALLOCATE`` it would not). Closing one that is gone is no error."""
        pgconn = self.conn.pgconn
        for name in self.prepared:
            try:
                pgconn.send_close_prepared(name)
            except psycopg.NotSupportedError:  # libpq older than 17: the session's end drops them
                return

    def abort(self, *, cancel: bool = False) -> None:
        """End the stream early: sync, drop the results of whatever was skipped or still in flight, roll
        back a transaction the failure left open, close the prepared statements, out of pipeline mode.
        A connection that cannot do that (lost, or results still due after an interruption) is closed.
        ``cancel``: an interruption came while lockgate was not waiting on the server (building the next
        batch), so nothing cancelled what the server is running: cancel it first, or the abort would wait
        for a file in flight to finish — and commit — after Ctrl-C."""
        pgconn = self.conn.pgconn
        if pgconn.pipeline_status == pq.PipelineStatus.OFF:
            return
        if cancel and pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
            # A failed cancel changes nothing: the drain below still ends the stream (or closes a lost one).
            with contextlib.suppress(psycopg.Error):
                getattr(self.conn, "cancel_safe", self.conn.cancel)()
        try:
            pgconn.pipeline_sync()
            self.conn.wait(_read(pgconn, [], None))
            if pgconn.transaction_status != pq.TransactionStatus.IDLE:
                # Failed, or left open by an interruption between two batches.
                pgconn.send_query_params(b"ROLLBACK", None)
            self._send_closes()
            pgconn.pipeline_sync()
            self.conn.wait(_read(pgconn, [], None))
            pgconn.exit_pipeline_mode()
        except psycopg.Error:
            Batch._leave_pipeline(pgconn)  # the caller's own error says what happened; this one cannot
        except BaseException:
            Batch._leave_pipeline(pgconn)
            raise


def _first_error(received: Sequence[pq.abc.PGresult]) -> int:
    """The index of the first result that is an error, or ``len(received)`` when none is."""
    return next(
        (index for index, result in enumerate(received) if result.status == pq.ExecStatus.FATAL_ERROR),
        len(received),
    )


def _send(pgconn: pq.abc.PGconn, queries: Sequence[Query]) -> None:
    """Queue ``queries`` (the connection is non-blocking: queuing never waits)."""
    for query in queries:
        if isinstance(query, Prepared):
            pgconn.send_query_prepared(query.name, query.params)
        elif isinstance(query, Prepare):
            pgconn.send_prepare(query.name, query.text)
        else:
            pgconn.send_query_params(query, None)


def _communicate(
    pgconn: pq.abc.PGconn, queries: Sequence[Query], received: list[pq.abc.PGresult]
) -> Generator[Wait, Ready | int, None]:
    """Queue ``queries`` and a sync, then flush and read until the sync's result: ``received`` gets one
    result per query."""
    _send(pgconn, queries)
    pgconn.pipeline_sync()
    yield from _read(pgconn, received, None)


def _read(
    pgconn: pq.abc.PGconn, received: list[pq.abc.PGresult], count: int | None
) -> Generator[Wait, Ready | int, None]:
    """Read results into ``received``: ``count`` of them, or (``None``) up to the sync's. Whatever is
    still queued goes out meanwhile, and the server is read whenever it has something (a large batch must
    not fill the socket both ways). Results already in libpq's buffer are taken before waiting: a stream
    reads the next migration's results after the previous read took them off the socket."""
    if count == 0:
        return
    flushed = pgconn.flush() == 0
    last: pq.abc.PGresult | None = None
    ready: Ready | int = 0
    while True:
        if ready & Ready.W:
            flushed = pgconn.flush() == 0
        if ready & Ready.R:
            pgconn.consume_input()
            while pgconn.notifies() is not None:
                pass  # lockgate listens to nothing (the session reset even says UNLISTEN *)
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                if last is None:
                    break
                received.append(last)
                last = None
                if count is not None and len(received) >= count:
                    return
            elif result.status == pq.ExecStatus.PIPELINE_SYNC:
                return
            elif result.status in _COPY:
                raise pg_errors.NotSupportedError("COPY cannot be used in a pipeline")
            else:
                last = result
        ready = yield (Wait.R if flushed else Wait.RW)
