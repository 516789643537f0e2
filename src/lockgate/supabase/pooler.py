"""Is this connection going through a transaction-mode pooler (Supavisor on 6543, PgBouncer)?

lockgate's locking needs no session state for transactional files, but a file that runs outside a
transaction gets its ``lock_timeout``/``statement_timeout`` with a session-level ``SET``, which a
transaction pooler may hand to another client's statement while ours runs on a server connection
without them. So the runner asks this module before running such a file, and ``lockgate doctor`` reports it.

A pooler cannot be asked what it is from a client connection, so it is observed: in transaction mode a
client's consecutive transactions may run on different server connections (different backend pids), and
a server connection one client has released can serve another client's transaction right away.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from lockgate.db import DatabaseTarget, connect

SUPAVISOR_TRANSACTION_PORT = 6543


@dataclass(frozen=True)
class PoolerVerdict:
    """``mode`` is "transaction" or None (direct or session pooling); ``how`` says how we know."""

    mode: str | None
    how: str


def url_port(url: str) -> int | None:
    try:
        return urlsplit(url).port if "://" in url else None
    except ValueError:
        return None


def url_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname if "://" in url else None
    except ValueError:
        return None


def observe_pooler(target: DatabaseTarget) -> PoolerVerdict:
    """Open two connections and watch which backend serves which transaction."""
    port = url_port(target.url)
    if port == SUPAVISOR_TRANSACTION_PORT:
        return PoolerVerdict("transaction", "port 6543 is Supavisor's transaction-mode port")
    first = connect(target, command="pooler check", autocommit=True)
    try:
        second = connect(target, command="pooler check")
        try:
            before = _backend_pid(first)
            held = _backend_pid(second)  # opens a transaction on `second` and keeps it
            after = _backend_pid(first)
            second.rollback()
        finally:
            second.close()
    finally:
        first.close()
    if held == before or after != before:
        return PoolerVerdict(
            "transaction",
            "consecutive statements of one client ran on different server connections "
            f"(backend pids {before}, {after}; another client's transaction got {held})",
        )
    return PoolerVerdict(None, f"one client kept backend pid {before} across transactions")


def _backend_pid(conn: object) -> int:
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    return int(row[0]) if row else -1


def direct_url_hint(url: str) -> str:
    """Which URL to use instead of a transaction pooler."""
    host = url_host(url) or ""
    if "pooler.supabase.com" in host:
        return (
            "use the session-mode pooler (same host, port 5432) or the direct connection "
            "db.<project-ref>.supabase.co:5432 (IPv6 unless you have the IPv4 add-on)"
        )
    return "use the direct database URL (usually port 5432) or a pooler in session mode"
