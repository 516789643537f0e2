"""The run lock: one lockgate run per tracking table at a time, safe behind transaction poolers.

The lock is ``pg_advisory_xact_lock`` taken inside a transaction that a dedicated connection keeps open
for the whole run. A transaction-mode pooler never reassigns a server connection mid-transaction, so the
lock cannot be silently lost or leaked the way a session-level lock can; if our process dies the
server rolls the transaction back and the lock is released.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from lockgate.config import Config
from lockgate.db import DatabaseTarget, connect
from lockgate.durations import format_ms
from lockgate.errors import LockWaitTimeout
from lockgate.history import History

POLL_MS = 1_000
NOTIFY_EVERY_S = 10.0


def describe_holders(holders: list[dict[str, Any]]) -> str:
    if not holders:
        return "a session that has just finished"
    parts = []
    for holder in holders:
        since = holder.get("xact_start")
        started = f", since {since:%Y-%m-%d %H:%M:%S %Z}" if isinstance(since, datetime) else ""
        client = f" from {holder['client_addr']}" if holder.get("client_addr") else ""
        app = holder.get("application_name") or "unknown application"
        parts.append(f"pid {holder['pid']} ({app}, user {holder.get('usename')}{client}{started})")
    return "; ".join(parts)


@contextmanager
def run_lock(
    target: DatabaseTarget,
    table: str,
    log_table: str,
    wait_ms: int,
    notify: Callable[[str], None],
) -> Iterator[None]:
    """Hold the run lock for the duration of the ``with`` block; wait up to ``wait_ms`` for it."""
    conn = connect(target, command="run (lock)")
    history = History(conn, table, log_table)
    deadline = time.monotonic() + wait_ms / 1000
    last_notice = 0.0
    try:
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            poll_ms = max(50, min(POLL_MS, remaining_ms))
            try:
                # Literal SQL, no parameters: psycopg then uses the simple query protocol, which leaves no
                # portal (and so no snapshot/xmin) behind. An idle transaction holding an xmin would make
                # CREATE INDEX CONCURRENTLY wait for *us*, and hold back VACUUM for the whole run.
                conn.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', '0', true), "
                    f"set_config('lock_timeout', '{int(poll_ms)}ms', true)".encode()
                )
                conn.execute(f"SELECT pg_advisory_xact_lock({int(history.run_key)})".encode())
                break
            except pg_errors.LockNotAvailable:
                conn.rollback()
            holders = history.holders(history.run_key)
            conn.rollback()
            who = describe_holders(holders)
            if time.monotonic() >= deadline:
                raise LockWaitTimeout(
                    f"gave up after {format_ms(wait_ms)} waiting for the migration lock on {table}, "
                    f"held by {who} (raise --lock-wait / lock_wait to wait longer)",
                    holder=who,
                )
            if time.monotonic() - last_notice >= NOTIFY_EVERY_S:
                notify(f"waiting for the migration lock on {table}, held by {who}")
                last_notice = time.monotonic()
        yield
    finally:
        _release(conn, table, notify)


@contextmanager
def locked_history(
    config: Config,
    target: DatabaseTarget,
    notify: Callable[[str], None],
    command: str,
    *,
    ensure: bool = True,
) -> Iterator[tuple[psycopg.Connection[Any], History]]:
    """What every writing operation (run, baseline, repair, adopt) starts with: the run lock, a connection
    of its own, and the tracking tables (created with ``ensure``)."""
    with (
        run_lock(target, config.table, config.log_table, config.lock_wait_ms, notify),
        connect(target, command=command) as conn,
    ):
        history = History(conn, config.table, config.log_table)
        if ensure:
            history.ensure()
        yield conn, history


def _release(conn: Any, table: str, notify: Callable[[str], None]) -> None:
    """End the lock's transaction. A lock connection that died during the run (a DBA's
    ``pg_terminate_backend``, a pooler restart) is not a failed run: every migration took its own lock and
    re-read its record before applying, so none ran twice; say so instead of failing a finished run."""
    if conn.closed:
        if conn.broken:
            notify(_LOST_LOCK.format(table=table))
        return
    try:
        conn.rollback()
    except psycopg.Error:
        notify(_LOST_LOCK.format(table=table))
    finally:
        conn.close()


_LOST_LOCK = (
    "the run lock's connection on {table} was lost during the run; each migration still took its own lock "
    "and re-checked its record, so none was applied twice"
)
