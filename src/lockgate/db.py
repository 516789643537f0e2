"""Connecting to PostgreSQL: where the URL comes from, masking it, and one-line connection errors.

The URL is resolved in the order users expect from libpq tools: ``--database-url`` / ``LOCKGATE_DATABASE_URL`` /
config, then ``DATABASE_URL``, then libpq's ``PG*`` variables; with none of them, the embedded local database.
A password never leaves this module unmasked: every message goes through ``mask_url``/``mask_secrets``.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from lockgate.errors import ConnectionFailed

if TYPE_CHECKING:
    import psycopg

PG_ENV_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")
_URI_PASSWORD = re.compile(r"(?P<prefix>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)(?P<at>@)")
_KV_PASSWORD = re.compile(r"(?P<prefix>\bpassword\s*=\s*)(?P<password>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?P<prefix>[?&]password=)(?P<password>[^&\s]*)", re.IGNORECASE)


@dataclass(frozen=True)
class DatabaseTarget:
    """A resolved connection string and where it came from (for messages)."""

    url: str
    origin: str
    embedded: bool = False

    @property
    def masked(self) -> str:
        return mask_url(self.url) if self.url else "(libpq defaults from PG* environment variables)"


def mask_url(url: str) -> str:
    """Replace any password in a URI or key=value connection string with ``***``."""
    masked = _URI_PASSWORD.sub(lambda m: f"{m['prefix']}***{m['at']}" if m["password"] else m[0], url)
    masked = _QUERY_PASSWORD.sub(lambda m: f"{m['prefix']}***", masked)
    return _KV_PASSWORD.sub(lambda m: f"{m['prefix']}***", masked)


def password_of(url: str) -> str | None:
    """The password in ``url``, so messages from the server or driver can be scrubbed of it too."""
    try:
        if "://" in url:
            parts = urlsplit(url)
            if parts.password:
                return unquote(parts.password)
            query = re.search(r"[?&]password=([^&]*)", url)
            return unquote(query.group(1)) if query else None
    except ValueError:
        return None
    match = _KV_PASSWORD.search(url)
    return match.group("password").strip("'") if match else None


def mask_secrets(text: str, url: str | None) -> str:
    """Scrub ``text`` (e.g. a driver error) of the URL's password in any form."""
    text = mask_url(text)
    secret = password_of(url) if url else None
    if secret and len(secret) >= 3:
        text = text.replace(secret, "***")
    return text


def resolve_target(configured: str | None, environ: Mapping[str, str] | None = None) -> DatabaseTarget | None:
    """The database to use, or None when nothing is configured (the caller falls back to the embedded one)."""
    environ = os.environ if environ is None else environ
    if configured:
        return DatabaseTarget(configured, "--database-url / LOCKGATE_DATABASE_URL / config")
    if environ.get("DATABASE_URL"):
        return DatabaseTarget(environ["DATABASE_URL"], "DATABASE_URL")
    if any(environ.get(name) for name in PG_ENV_VARS):
        return DatabaseTarget("", "PG* environment variables")
    return None


def application_name(command: str) -> str:
    """Shown in ``pg_stat_activity`` so that a waiting runner can say who holds the lock."""
    try:
        user = os.environ.get("GITHUB_ACTOR") or os.getlogin()
    except OSError:
        user = os.environ.get("USER", "unknown")
    return f"lockgate {command} ({user}@{socket.gethostname()})"[:63]


def connect(
    target: DatabaseTarget,
    *,
    command: str = "cli",
    read_only: bool = False,
    autocommit: bool = False,
    connect_timeout: int = 10,
) -> psycopg.Connection[Any]:
    """Open a connection, or raise ``ConnectionFailed`` with one masked line saying what went wrong."""
    import psycopg

    scheme = target.url.split("://", 1)[0].lower() if "://" in target.url else None
    if scheme is not None and scheme not in {"postgres", "postgresql"}:
        raise ConnectionFailed(
            f"database URL {target.masked} (from {target.origin}) must start with postgresql://, not {scheme}://"
        )
    options = "-c default_transaction_read_only=on" if read_only else None
    kwargs: dict[str, Any] = {
        "application_name": application_name(command),
        "connect_timeout": connect_timeout,
        "autocommit": autocommit,
        # Server-side prepared statements break behind transaction-mode poolers (PgBouncer < 1.21).
        "prepare_threshold": None,
    }
    if options:
        kwargs["options"] = options
    try:
        return psycopg.connect(target.url, **kwargs)
    except psycopg.Error as exc:  # includes a malformed URL (ProgrammingError)
        raise ConnectionFailed(describe_connection_error(exc, target)) from None


def describe_connection_error(exc: Exception, target: DatabaseTarget) -> str:
    """First line of a driver error, masked, naming the setting it came from."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = lines[0].removeprefix("connection failed: ") if lines else type(exc).__name__
    detail = mask_secrets(detail, target.url)
    return f"cannot connect to {target.masked} (from {target.origin}): {detail}"
