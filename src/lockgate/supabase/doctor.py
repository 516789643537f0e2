"""``lockgate doctor``: explain why a database connection fails, one check per line, each with its fix.

Most "cannot connect" reports on Supabase's tracker are one of a few causes: a password with special
characters not percent-encoded, the direct host being IPv6-only (free plans) on a network without IPv6,
the wrong port or pooler user name, a transaction-mode pooler where a session is needed, or a role that
may not create tables. Each check below isolates one of them, in the order a connection goes through
them (URL, DNS, TCP, TLS, authentication, server, pooler, permissions), and stops at the first
failure that makes the later checks meaningless. The password is never printed: every message goes
through ``mask_secrets``.
"""

from __future__ import annotations

import re
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from lockgate.config import Config
from lockgate.conninfo import uri_scheme
from lockgate.db import DatabaseTarget, connect, mask_secrets
from lockgate.errors import ConnectionFailed
from lockgate.supabase.pooler import SUPAVISOR_TRANSACTION_PORT, direct_url_hint, observe_pooler

OK = "ok"
WARN = "warn"
FAIL = "fail"
SKIP = "skip"

_SSL_REQUEST = struct.pack("!II", 8, 80877103)
_MIN_SERVER_VERSION = 120000


@dataclass(frozen=True)
class Check:
    """One diagnosis: what was checked, how it went, and what to do about it."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Endpoint:
    """Where the URL points: host (None for a unix socket), port, user, database, sslmode."""

    host: str | None
    port: int
    user: str
    database: str
    sslmode: str | None
    socket_dir: str | None


def parse_endpoint(url: str) -> Endpoint:
    """The parts of ``url`` that matter here; ConnectionFailed (masked) when it does not parse."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError with libpq's message
        raise ConnectionFailed(
            mask_secrets(str(exc).splitlines()[0] if str(exc) else "unparsable", url)
        ) from None
    host = str(params.get("host") or "")
    port = str(params.get("port") or "5432")
    if not port.isdigit():
        raise ConnectionFailed(f"port {port!r} is not a number")
    socket_dir = host if host.startswith("/") or not host else None
    return Endpoint(
        host=None if socket_dir is not None else host,
        port=int(port),
        user=str(params.get("user") or ""),
        database=str(params.get("dbname") or params.get("user") or ""),
        sslmode=str(params["sslmode"]) if params.get("sslmode") else None,
        socket_dir=socket_dir or None,
    )


def run_checks(config: Config, target: DatabaseTarget, timeout: float = 5.0) -> Iterator[Check]:
    """Every check in connection order, each scrubbed of the password here, in one place: a check may quote
    a field libpq read out of a mis-encoded password (the host of ``postgresql://u:p@ss@host``)."""
    for check in _run_checks(config, target, timeout):
        yield replace(
            check, detail=mask_secrets(check.detail, target.url), fix=mask_secrets(check.fix, target.url)
        )


def _run_checks(config: Config, target: DatabaseTarget, timeout: float) -> Iterator[Check]:
    """Every check in connection order; stops after a failure the later checks depend on."""
    url_check, endpoint = _check_url(target)
    yield url_check
    if endpoint is None:
        return
    if endpoint.host is not None:
        dns = _check_dns(endpoint)
        yield dns
        if dns.status == FAIL:
            return
        tcp = _check_tcp(endpoint, timeout)
        yield tcp
        if tcp.status == FAIL:
            return
        yield _check_tls(endpoint, timeout)
    auth, conn = _check_auth(target)
    yield auth
    if conn is None:
        return
    try:
        yield _check_server(conn)
        yield _check_permissions(conn, config)
    finally:
        conn.close()
    yield _check_pooler(target, endpoint)


def _check_url(target: DatabaseTarget) -> tuple[Check, Endpoint | None]:
    masked = target.masked
    scheme = uri_scheme(target.url)
    if scheme is not None:
        if scheme not in {"postgres", "postgresql"}:
            # libpq cannot parse another scheme's URL, so nothing of it is shown but its scheme.
            return Check("url", FAIL, f"the URL starts with {scheme}://", "use a postgresql:// URL"), None
        authority = target.url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        if authority.count("@") > 1:
            return (
                Check(
                    "url",
                    FAIL,
                    "the URL has more than one @ before the host, so part of the password is read as the host "
                    "(the URL is not shown: it would show part of the password)",
                    "percent-encode special characters in the password (@ → %40, # → %23, / → %2F, : → %3A)",
                ),
                None,
            )
    try:
        endpoint = parse_endpoint(target.url)
    except ConnectionFailed as exc:
        return Check(
            "url",
            FAIL,
            f"{masked}: {exc}",
            "check the URL's syntax (postgresql://user:password@host:port/db)",
        ), None
    notes = [f"{masked} (from {target.origin})"]
    fix = ""
    host = endpoint.host or ""
    if host.endswith("pooler.supabase.com") and "." not in endpoint.user:
        return (
            Check(
                "url",
                FAIL,
                f"{masked}: Supavisor needs the user name postgres.<project-ref>, not {endpoint.user or '(none)'}",
                "copy the pooler connection string from the dashboard (Connect → Session pooler)",
            ),
            None,
        )
    if host.endswith(".supabase.co") or host.endswith("pooler.supabase.com"):
        if endpoint.sslmode in (None, "disable", "allow", "prefer"):
            fix = "add ?sslmode=require so the connection is never made without TLS"
        notes.append("Supabase " + ("pooler" if "pooler" in host else "direct connection"))
    return Check("url", WARN if fix else OK, "; ".join(notes), fix), endpoint


def _check_dns(endpoint: Endpoint) -> Check:
    host = endpoint.host or ""
    try:
        infos = socket.getaddrinfo(host, endpoint.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return Check(
            "dns",
            FAIL,
            f"{host} does not resolve ({exc.strerror})",
            "check the host name for typos; on Supabase copy it from the dashboard (Connect)",
        )
    v4 = sorted({str(info[4][0]) for info in infos if info[0] == socket.AF_INET})
    v6 = sorted({str(info[4][0]) for info in infos if info[0] == socket.AF_INET6})
    detail = f"{host} → " + ", ".join([*(f"IPv4 {a}" for a in v4[:2]), *(f"IPv6 {a}" for a in v6[:2])])
    if v6 and not v4:
        return Check(
            "dns",
            WARN,
            detail + " (IPv6 only)",
            "networks without IPv6 (GitHub Actions, many CI runners, WSL, some ISPs) cannot reach it: use the "
            "Supavisor session pooler (aws-0-<region>.pooler.supabase.com:5432, user postgres.<project-ref>) "
            "or enable Supabase's IPv4 add-on",
        )
    return Check("dns", OK, detail)


def _check_tcp(endpoint: Endpoint, timeout: float) -> Check:
    where = f"{endpoint.host}:{endpoint.port}"
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            return Check("tcp", OK, f"{where} accepts connections")
    except ConnectionRefusedError:
        return Check(
            "tcp",
            FAIL,
            f"{where} refused the connection: nothing listens on that port",
            "check the port (5432 direct or session pooler, 6543 transaction pooler) and that the server runs",
        )
    except TimeoutError:
        return Check(
            "tcp",
            FAIL,
            f"{where} did not answer within {timeout:g}s",
            "a firewall or network restriction drops the traffic (Supabase: Database → Network restrictions)",
        )
    except OSError as exc:
        unreachable = "IPv6" if ":" in str(endpoint.host) or exc.errno in (101, 113) else "the host"
        return Check(
            "tcp",
            FAIL,
            f"{where}: {exc.strerror or exc}",
            f"this network cannot reach {unreachable}; on Supabase use the session pooler (IPv4) or the IPv4 add-on",
        )


def _check_tls(endpoint: Endpoint, timeout: float) -> Check:
    """Ask the server whether it speaks TLS (PostgreSQL's SSLRequest), without completing a handshake."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as sock:
            sock.sendall(_SSL_REQUEST)
            answer = sock.recv(1)
    except OSError as exc:
        return Check("tls", WARN, f"could not ask about TLS ({exc.strerror or exc})")
    if answer == b"S":
        return Check(
            "tls",
            OK,
            "the server offers TLS" + (f" (sslmode={endpoint.sslmode})" if endpoint.sslmode else ""),
        )
    if endpoint.sslmode in ("require", "verify-ca", "verify-full"):
        return Check(
            "tls",
            FAIL,
            f"the server does not offer TLS but the URL says sslmode={endpoint.sslmode}",
            "use the server's TLS port, or sslmode=disable only on a trusted network",
        )
    return Check(
        "tls",
        WARN,
        "the server does not offer TLS: the connection is unencrypted",
        "fine on localhost; elsewhere enable ssl on the server (the Supabase CLI needs ?sslmode=disable here)",
    )


_AUTH_FIXES = {
    "28P01": "wrong password: reset it (Supabase: Project Settings → Database) and percent-encode special characters",
    "28000": "the server refused this user/host pair (pg_hba.conf) or the role does not exist",
    "3D000": "the database does not exist (Supabase's is called postgres)",
    "08P01": "the pooler refused the login: check the password and the user name (postgres.<project-ref> on Supavisor)",
    "53300": "too many connections: lower pool sizes, or use the pooler",
}


def _check_auth(target: DatabaseTarget) -> tuple[Check, Any]:
    import psycopg

    try:
        conn = connect(target, command="doctor", autocommit=True)
    except ConnectionFailed as exc:
        message = str(exc)
        return Check("auth", FAIL, message, _auth_fix(target, message)), None
    except psycopg.Error as exc:  # pragma: no cover - connect() wraps driver errors
        return Check("auth", FAIL, mask_secrets(str(exc), target.url)), None
    info = conn.info
    return Check("auth", OK, f"logged in as {info.user} to database {info.dbname}"), conn


_MISSING_ROLE = re.compile(r'\brole "(?:[^"]|"")*" does not exist')
_MISSING_DATABASE = re.compile(r'\bdatabase "(?:[^"]|"")*" does not exist')


def _auth_fix(target: DatabaseTarget, message: str) -> str:
    """libpq reports login failures as text only (no SQLSTATE reaches the client before the session
    exists), so the fix is picked from PostgreSQL's and PgBouncer's own phrases, matched whole and with
    their quoted names (``role "x" does not exist``): never from loose words, which the rest of the line
    (the URL, where it came from) can contain too."""
    server = message.split("FATAL:", 1)[1] if "FATAL:" in message else message
    lowered = server.lower()
    if "password authentication failed" in lowered or "wrong password" in lowered:
        return _AUTH_FIXES["28P01"]
    if "no password supplied" in lowered:
        return "the server wants a password: put it in the URL (percent-encoded) or in ~/.pgpass"
    if _MISSING_ROLE.search(server):
        return "the user does not exist on this server (on Supavisor the user is postgres.<project-ref>)"
    if _MISSING_DATABASE.search(server):
        return _AUTH_FIXES["3D000"]
    if "pg_hba.conf" in lowered:
        return _AUTH_FIXES["28000"]
    if "too many" in lowered:
        return _AUTH_FIXES["53300"]
    if "ssl" in lowered or "tls" in lowered:
        return (
            "a TLS mismatch: try sslmode=require (Supabase) or sslmode=disable (a local server without TLS)"
        )
    if "tenant or user not found" in lowered:
        return (
            "Supavisor does not know this user: use postgres.<project-ref> and the pooler host of your region"
        )
    return "see the message above; `psql` with the same URL shows the same error"


def _check_server(conn: Any) -> Check:
    version = int(conn.info.server_version)
    text = f"PostgreSQL {version // 10000}.{version % 10000}"
    if version < _MIN_SERVER_VERSION:
        return Check("server", FAIL, f"{text} is older than 12", "lockgate needs PostgreSQL 12 or later")
    return Check("server", OK, text)


def _check_permissions(conn: Any, config: Config) -> Check:
    """May this role create (or write) the tracking tables?"""
    schema, _, table = config.table.partition(".")
    user = conn.info.user
    row = conn.execute(
        """
        SELECT to_regclass(%(qualified)s) IS NOT NULL,
               (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s) IS NOT NULL,
               has_database_privilege(current_database(), 'CREATE')
        """,
        {"qualified": f'"{schema}"."{table}"', "schema": schema},
    ).fetchone()
    table_exists, schema_exists, can_create_schema = row
    if table_exists:
        writable = conn.execute(
            "SELECT has_table_privilege(%s, 'INSERT') AND has_table_privilege(%s, 'UPDATE')",
            (f'"{schema}"."{table}"', f'"{schema}"."{table}"'),
        ).fetchone()[0]
        if writable:
            return Check("permissions", OK, f"{user} may write {config.table}")
        return Check(
            "permissions",
            FAIL,
            f"{user} may not write {config.table}",
            f"GRANT INSERT, UPDATE, DELETE ON {config.table} TO {user} — or connect as its owner",
        )
    if schema_exists:
        allowed = conn.execute("SELECT has_schema_privilege(%s, 'CREATE')", (schema,)).fetchone()[0]
    else:
        allowed = can_create_schema
    if allowed:
        return Check("permissions", OK, f"{user} may create {config.table} (created on the first run)")
    kind, name = ("SCHEMA", schema) if schema_exists else ("DATABASE", str(conn.info.dbname))
    return Check(
        "permissions",
        FAIL,
        f"{user} may not create {config.table} (no CREATE privilege on {kind.lower()} {name})",
        f"GRANT CREATE ON {kind} {name} TO {user} — or run migrations as the database owner (postgres on Supabase)",
    )


def _check_pooler(target: DatabaseTarget, endpoint: Endpoint) -> Check:
    try:
        verdict = observe_pooler(target)
    except ConnectionFailed as exc:
        return Check("pooler", WARN, f"could not observe the pooler ({exc})")
    if verdict.mode == "transaction":
        name = (
            "Supavisor in transaction mode"
            if endpoint.port == SUPAVISOR_TRANSACTION_PORT
            else "a transaction-mode pooler"
        )
        return Check(
            "pooler",
            WARN,
            f"{name} ({verdict.how}): lockgate's transactional migrations are safe here (transaction-level locks), "
            "but files that run outside a transaction are refused",
            direct_url_hint(target.url) + " for migrations that run outside a transaction",
        )
    return Check("pooler", OK, f"no transaction-mode pooler ({verdict.how})")
