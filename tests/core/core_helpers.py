"""Helpers of the core tests (importable by name: ``from conftest import`` is ambiguous when several test
folders with a conftest.py run together)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from cli_runner import CliResult

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "migrations"


CliRunner = Callable[..., CliResult]


def add(project: Path, filename: str, sql: str) -> Path:
    path = project / "migrations" / filename
    path.write_text(sql, encoding="utf-8")
    return path


def spawn_run(project: Path, db_url: str, *args: str, **env: str) -> subprocess.Popen[str]:
    """A real ``lockgate run`` process (to interrupt from outside), on ``db_url``."""
    environment = {**os.environ, "LOCKGATE_DATABASE_URL": db_url, "LOCKGATE_RETRY_BACKOFF": "10ms", **env}
    environment.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "lockgate", "run", *args],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(conn: psycopg.Connection, query: str, what: str, timeout: float = 30) -> None:
    """Until ``query`` (about other sessions) returns a non-zero count or true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(query).fetchone()
        if row and row[0]:
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def no_lockgate_session_left(conn: psycopg.Connection, timeout: float = 10) -> None:
    """Until no lockgate session is left on this test's database."""
    deadline = time.monotonic() + timeout
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE 'lockgate%'"
    ).fetchone() != (0,):
        assert time.monotonic() < deadline, "a lockgate session outlived its process"
        time.sleep(0.05)


# -- the streamed run's tests: files whose execution leaves a trace even when rolled back --------------------
COUNTER = "CREATE SEQUENCE side_effects;\nCREATE TABLE first (id int);\n"
SPY = "SELECT nextval('side_effects');\nCREATE TABLE {name} (id int);\n"
"""A file whose execution leaves a trace even when its transaction rolls back."""


def side_effects(conn: psycopg.Connection) -> int:
    """How many times a ``SPY`` file executed (its transaction committed or not)."""
    row = conn.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM side_effects").fetchone()
    assert row is not None
    return int(row[0])


def statuses(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    """(version, status) of every tracking row, in version order."""
    return conn.execute("SELECT version, status FROM public.schema_migrations ORDER BY version").fetchall()
