"""The class "passwords printed": connection strings whose password a naive reader gets wrong, shared by the
core, API and GitHub tests (importable by name, like ``cli_runner``).

``WORKING`` strings reach the test database with the password libpq reads exactly as set on a role (so
they connect under any authentication method); ``BROKEN`` ones cannot connect, and libpq's messages about
them quote the neighbourhood of the password. Every password has pieces no output contains by chance, so
``fragments`` can demand that none of them appears anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

EXAMPLE = "postgresql://u:Two@AtS3cret@127.0.0.1:1/db"
"""The issue's example: to libpq the password is ``Two`` and the host ``AtS3cret@127.0.0.1``."""


@dataclass(frozen=True)
class Server:
    """Where the test database is: any of these strings points there once given a role and password."""

    host: str
    port: str
    dbname: str

    @classmethod
    def of(cls, conninfo: str) -> Server:
        params = conninfo_to_dict(conninfo)
        return cls(
            str(params.get("host") or "localhost"), str(params.get("port") or "5432"), str(params["dbname"])
        )

    @property
    def query(self) -> str:
        return f"host={quote(self.host, safe='/')}&port={self.port}"


URLBuilder = Callable[[Server, str, str], str]
"""(server, role, password) -> connection string."""


@dataclass(frozen=True)
class Member:
    name: str
    password: str
    build: URLBuilder

    def url(self, server: Server, role: str) -> str:
        return self.build(server, role, self.password)

    def __str__(self) -> str:
        return self.name


def _raw(server: Server, role: str, password: str) -> str:
    return f"postgresql://{role}:{password}@/{server.dbname}?{server.query}"


def _encoded(server: Server, role: str, password: str) -> str:
    return f"postgresql://{role}:{quote(password, safe='')}@/{server.dbname}?{server.query}"


def _query(server: Server, role: str, password: str) -> str:
    return f"postgresql://{role}@/{server.dbname}?{server.query}&password={quote(password, safe='')}"


def _no_user(server: Server, role: str, password: str) -> str:
    return f"postgresql://:{quote(password, safe='')}@/{server.dbname}?{server.query}&user={role}"


def _keywords(server: Server, role: str, password: str) -> str:
    return make_conninfo(
        host=server.host, port=server.port, dbname=server.dbname, user=role, password=password
    )


def _two_hosts(server: Server, role: str, password: str) -> str:
    hosts = quote(f"{server.host},{server.host}", safe="/,")
    return f"postgresql://{role}:{password}@/{server.dbname}?host={hosts}&port={server.port},{server.port}"


WORKING = [
    Member("raw tab", "Tab\tS3cretTabbed", _raw),
    Member("raw colons", "Col:on:S3cretColon", _raw),
    Member("percent-encoded @ space / # ?", "Pct@ Wd/S3cretEnc#q?", _encoded),
    Member("percent-encoded % and +", "Per%25cent+S3cretPlus", _encoded),
    Member("?password= query parameter", "Qry Parm&S3cretQuery", _query),
    Member("URL without a user", "NoUser:S3cretAnon", _no_user),
    Member("key=value with quotes and backslashes", "Kv 'quoted' \\S3cretKv", _keywords),
    Member("two hosts", "Multi,Host:S3cretMulti", _two_hosts),
]

BROKEN = [
    Member("the issue's unencoded @", "Two@AtS3cret", lambda s, r, p: f"postgresql://{r}:{p}@127.0.0.1:1/db"),
    Member("raw space", "Sp ace S3cretSpace", lambda s, r, p: f"postgresql://{r}:{p}@127.0.0.1:1/db"),
    Member("unencoded /", "Sl/ash S3cretSlash", lambda s, r, p: f"postgresql://{r}:{p}@127.0.0.1:1/db"),
    Member(
        "two @ and a tab", "Tw0@AtsX\tS3cretTwoAt", lambda s, r, p: f"postgresql://{r}:{p}@127.0.0.1:1/db"
    ),
    Member(
        "unencoded & in ?password=",
        "Amp&S3cretAmpersand",
        lambda s, r, p: f"postgresql://{r}@127.0.0.1:1/db?password={p}",
    ),
    Member(
        "unquoted space in key=value",
        "Kv Unquoted S3cretKvSpace",
        lambda s, r, p: f"host=127.0.0.1 port=1 user={r} password={p}",
    ),
    Member(
        "unterminated quote in key=value",
        "Kv 'Open S3cretOpenQuote",
        lambda s, r, p: f"host=127.0.0.1 port=1 password='{p}",
    ),
    Member(
        "two unreachable hosts",
        "Multi@Down S3cretDown",
        lambda s, r, p: f"postgresql://{r}:{quote(p, safe='@')}@127.0.0.1:1,127.0.0.1:2/db",
    ),
    Member("a foreign scheme", "Foreign:S3cretMysql", lambda s, r, p: f"mysql://{r}:{p}@127.0.0.1:1/db"),
]


def fragments(password: str) -> list[str]:
    """The password, its encodings, and every piece of three or more characters between non-alphanumerics:
    none of them may appear in any output."""
    pieces = [piece for piece in re.split(r"[^0-9A-Za-z]+", password) if len(piece) >= 3]
    return [password, quote(password, safe=""), quote_plus(password), *pieces]


def leaked(password: str, *texts: str) -> list[str]:
    """The fragments of ``password`` found in ``texts`` (empty when nothing leaked)."""
    return [fragment for fragment in fragments(password) for text in texts if fragment in text]


@contextmanager
def create_role(conninfo: str, password: str) -> Iterator[str]:
    """A login role with ``password`` on the server of ``conninfo``; dropped (with what it owns) after."""
    import uuid

    role = f"lg_mask_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    try:
        yield role
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def stored_rows(conninfo: str, *tables: str) -> str:
    """Every row of ``tables`` as JSON text (the tracking table and its audit log)."""
    with psycopg.connect(conninfo) as conn:
        return "\n".join(
            str(row[0])
            for table in tables
            for row in conn.execute(
                sql.SQL("SELECT row_to_json(t)::text FROM {} AS t").format(sql.Identifier(*table.split(".")))
            )
        )
