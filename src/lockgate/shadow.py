"""Scratch databases on a shadow server: created for one job (a drift check), dropped afterwards.

Never the target: the shadow server is ``--shadow-database-url`` (any database there whose user may
``CREATE DATABASE``) or the embedded PostgreSQL. The scratch database gets the Supabase shim when the
target looks like a Supabase database, so migrations that reference ``auth.users`` replay.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lockgate.db import DatabaseTarget, connect
from lockgate.errors import LockgateError, first_line

if TYPE_CHECKING:
    import psycopg


@contextmanager
def scratch_database(server_url: str, *, with_shim: bool) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A connection to a new empty database on the server of ``server_url`` (and its URL); dropped at exit."""
    import psycopg as pg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    # The process id in the name says, on a shared server, which lockgate made a scratch database that a
    # kill -9 left behind (and lets tests tell their own shadows from other processes').
    name = f"lockgate_shadow_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    server = DatabaseTarget(server_url, "--shadow-database-url")
    with connect(server, command="shadow", autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except pg.Error as exc:
            raise LockgateError(
                f"cannot create a scratch database on {server.masked} ({first_line(exc)}): the shadow "
                "server's user needs CREATEDB (--shadow-database-url names another server, never the target)"
            ) from None
    params = {key: value for key, value in conninfo_to_dict(server_url).items() if value is not None}
    params["dbname"] = name
    url = make_conninfo(**{key: str(value) for key, value in params.items()})
    try:
        with connect(DatabaseTarget(url, "the shadow database"), command="shadow") as conn:
            if with_shim:
                from lockgate.local import shim_sql

                try:
                    with conn.transaction():
                        conn.execute(shim_sql().encode())
                except pg.Error as exc:
                    raise LockgateError(
                        f"cannot prepare the scratch database for a Supabase history ({first_line(exc)})"
                    ) from None
            yield conn, url
    finally:
        with connect(server, command="shadow", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
