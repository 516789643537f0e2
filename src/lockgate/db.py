"""Connecting to PostgreSQL: where the URL comes from, masking it, and one-line connection errors.

The URL is resolved in the order users expect from libpq tools: ``--database-url`` / ``LOCKGATE_DATABASE_URL`` /
config, then ``DATABASE_URL``, then libpq's ``PG*`` variables; with none of them, the embedded local database.
A password never leaves this module: URLs are shown as ``DatabaseTarget.masked`` (rebuilt from libpq's
parse, without the password) and messages go through ``mask_secrets`` (see ``lockgate.conninfo``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.conninfo import display_url, scrub, uri_scheme
from lockgate.errors import ConnectionFailed

if TYPE_CHECKING:
    import psycopg

PG_ENV_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")
PG_ENV_DISPLAY = "(libpq defaults from PG* environment variables)"

_connected: dict[str, None] = {}
"""Every connection string this process connected with (insertion-ordered, no duplicates), so that a
message that reaches the top level without its target can still be scrubbed of their passwords."""


@dataclass(frozen=True)
class DatabaseTarget:
    """A resolved connection string and where it came from (for messages)."""

    url: str = field(repr=False)  # a repr (a log line, a failed assertion) must not carry the password
    origin: str
    embedded: bool = False
    shown_as: str | None = None
    """How messages and documents name it instead of a URL (the embedded server's socket URL,
    ``postgresql://postgres:@/lockgate?host=/home/...``, tells a person nothing)."""

    @property
    def masked(self) -> str:
        """The connection string for messages and documents, without its password (see ``display_url``)."""
        if self.shown_as is not None:
            return self.shown_as
        return display_url(self.url) if self.url else PG_ENV_DISPLAY


def mask_secrets(text: str, url: str | None) -> str:
    """``text`` (a driver or server message) scrubbed of every form of ``url``'s password.

    With ``url`` empty or None only ``PGPASSWORD`` is scrubbed: that is what libpq sends then. Forms
    shorter than ``MIN_ANYWHERE`` characters are replaced only as whole tokens (see ``lockgate.conninfo``).
    """
    return scrub(text, url or "")


def mask_known_secrets(text: str) -> str:
    """``text`` scrubbed of the password of every connection string this process connected with."""
    for url in (*_connected, ""):
        text = scrub(text, url)
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
    name = f"lockgate {command} ({user}@{socket.gethostname()})"[:63]
    # An environment variable that is not UTF-8 (a CI's GITHUB_ACTOR) reaches Python as lone surrogates,
    # which libpq's connection string cannot carry: show them escaped rather than fail with a traceback.
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


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

    scheme = uri_scheme(target.url)
    if scheme is not None and scheme not in {"postgres", "postgresql"}:
        raise ConnectionFailed(
            f"the database URL (from {target.origin}) must start with postgresql://, not {scheme}://"
        )
    options = "-c default_transaction_read_only=on" if read_only else None
    kwargs: dict[str, Any] = {
        "application_name": application_name(command),
        "connect_timeout": connect_timeout,
        "autocommit": autocommit,
        # Server-side prepared statements break behind transaction-mode poolers (PgBouncer < 1.21).
        "prepare_threshold": None,
        # lockgate sends every file as UTF-8 bytes: a database or role whose default client_encoding is
        # something else would read them as other characters. A startup parameter, so RESET ALL (the
        # session reset after every migration) comes back to it, and one PgBouncer passes through.
        "client_encoding": "UTF8",
    }
    if options:
        kwargs["options"] = options
    _connected[target.url] = None
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
