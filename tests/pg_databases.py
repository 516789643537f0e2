"""Databases of the suite's PostgreSQL server: the template every test database is cloned from, and URLs.

Importable by name (``from pg_databases import ...``) from any test folder; the fixtures in
``tests/conftest.py`` use it, and so do tests that need more than one database per test (a property test
that compares a whole run with every split of it)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from lockgate.local import shim_sql

# Named after the shim's content so a changed shim never reuses a stale template on a long-lived server.
TEMPLATE = f"lockgate_test_template_{hashlib.sha256(shim_sql().encode()).hexdigest()[:10]}"


def database_url(server_url: str, name: str) -> str:
    return (
        make_conninfo(server_url, dbname=name) if "://" not in server_url else _replace_db(server_url, name)
    )


def _replace_db(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})


@contextmanager
def fresh_database(server_url: str, prefix: str = "lg_test") -> Iterator[str]:
    """A new database cloned from the template (the Supabase shim included), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
