"""Who held the lock a migration timed out waiting for: the first thing a DBA looks up after a lock timeout.

A lock timeout alone ("canceling statement due to lock timeout") says nothing a person can act on. Right
after one, the session that blocked is almost always still there — a long transaction, a forgotten
``idle in transaction`` psql, a report — so lockgate asks ``pg_locks`` + ``pg_stat_activity`` which other
sessions hold a lock on the relations the failing statement needed, in a mode that conflicts with the one
it asked for, and names them (pid, application, state, for how long, the start of their query) in the
retry line, the failure record and so the PR comment. It is a diagnosis, never a reason to fail: any error
here leaves the message as it was.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg

from lockgate.locks import CONFLICTS, LOCK_MODES, statement_locks
from lockgate.statements import Statement

SHOWN = 3
QUERY_CHARS = 80

_HOLDERS_SQL = """
SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
       extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.query_start, a.backend_start))::float8,
       coalesce(a.query, ''), l.mode, l.relation::regclass::text, lower(n.nspname || '.' || c.relname)
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_catalog.pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND lower(n.nspname || '.' || c.relname) = ANY(%s)
ORDER BY a.xact_start NULLS LAST, a.pid
"""


def blocking_sessions(conn: psycopg.Connection[Any], statement: Statement | None) -> str | None:
    """``blocked by pid 4242 ("psql", idle in transaction for 12 s, AccessShareLock on public.orders:
    "SELECT ...")``, or None when no holder is found (or the statement's relations are unknown)."""
    if statement is None:
        return None
    wanted: dict[str, set[str]] = {}
    for lock in statement_locks(statement):
        wanted.setdefault(lock.relation.lower(), set()).update(
            CONFLICTS.get(lock.mode, frozenset(LOCK_MODES))
        )
    if not wanted:
        return None
    try:
        rows = conn.execute(_HOLDERS_SQL, (sorted(wanted),)).fetchall()
        conn.rollback()
    except psycopg.Error:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        return None
    holders: dict[int, str] = {}
    for pid, application, state, seconds, query, mode, shown, relation in rows:
        if pid in holders or _mode_name(str(mode)) not in wanted.get(str(relation), set()):
            continue
        holders[int(pid)] = _describe(
            int(pid), str(application), str(state), seconds, str(query), str(mode), str(shown)
        )
    if not holders:
        return None
    named = list(holders.values())
    more = f" and {len(named) - SHOWN} more session(s)" if len(named) > SHOWN else ""
    return "blocked by " + "; ".join(named[:SHOWN]) + more


def _mode_name(pg_locks_mode: str) -> str:
    """``AccessExclusiveLock`` (pg_locks) -> ``ACCESS EXCLUSIVE`` (the documentation's and lockgate's)."""
    words: list[str] = []
    for char in pg_locks_mode.removesuffix("Lock"):
        if char.isupper() and words:
            words.append(" ")
        words.append(char.upper())
    return "".join(words)


def _describe(
    pid: int, application: str, state: str, seconds: Any, query: str, mode: str, relation: str
) -> str:
    where = f'"{application}", ' if application else ""
    how_long = f" for {_duration(seconds)}" if seconds is not None else ""
    text = " ".join(query.split())
    if len(text) > QUERY_CHARS:
        text = text[: QUERY_CHARS - 1] + "…"
    said = f': "{text}"' if text else ""
    return f"pid {pid} ({where}{state or 'state unknown'}{how_long}, {mode} on {relation}{said})"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{int(seconds * 1000)} ms"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
