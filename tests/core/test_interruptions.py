"""Runs interrupted from outside (a DBA's ``pg_terminate_backend``, a pooler restart, Ctrl-C) are reported
exactly as they happened: what was applied is said to be applied, how far a no-transaction file got is
recorded, and no ``running`` row outlives the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from core_helpers import add

pytestmark = [pytest.mark.db, pytest.mark.slow]

LOCK_APP = "lockgate run (lock)%"
MIGRATION_APP = "lockgate run (%"


def start_run(project: Path, db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url, "LOCKGATE_RETRY_BACKOFF": "10ms"}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "lockgate", "run"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_sleep(conn: psycopg.Connection, timeout: float = 30) -> None:
    """Until the run's migration connection is inside ``pg_sleep``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()"
        ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the migration never reached pg_sleep")


def terminate(conn: psycopg.Connection, *, lock: bool) -> None:
    condition = (
        "application_name LIKE %s" if lock else "application_name LIKE %s AND application_name NOT LIKE %s"
    )
    params = (LOCK_APP,) if lock else (MIGRATION_APP, LOCK_APP)
    rows = conn.execute(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND {condition}",
        params,
    ).fetchall()
    assert rows == [(True,)], rows


def records(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT version, status, metadata->'statements_completed' FROM schema_migrations ORDER BY version"
    ).fetchall()


@pytest.mark.parametrize("no_transaction", [False, True], ids=["transactional", "no-transaction"])
def test_losing_only_the_run_lock_connection_is_not_a_failed_run(
    project: Path, db_url: str, conn: psycopg.Connection, no_transaction: bool
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    slow = "SELECT pg_sleep(1.5);\nCREATE TABLE second (id int);\n"
    if no_transaction:
        slow = "-- lockgate: no-transaction\nSELECT pg_sleep(1.5);\nCREATE INDEX CONCURRENTLY first_id ON first (id);\n"
    add(project, "20250102000000_second.sql", slow)
    add(project, "20250103000000_third.sql", "CREATE TABLE third (id int);\n")
    process = start_run(project, db_url)
    wait_for_sleep(conn)
    terminate(conn, lock=True)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert "Traceback" not in out + err
    assert "applied 3 migration(s)" in out
    assert "run lock's connection" in err and "none was applied twice" in err
    assert [row[1] for row in records(conn)] == ["applied"] * 3


def test_no_transaction_file_cut_off_after_two_statements_says_so(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_table.sql", "CREATE TABLE t (a int, b int, c int);\n")
    add(
        project,
        "20250102000000_indexes.sql",
        "-- lockgate: no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\n"
        "CREATE INDEX CONCURRENTLY t_b ON t (b);\nSELECT pg_sleep(30);\nCREATE INDEX CONCURRENTLY t_c ON t (c);\n",
    )
    process = start_run(project, db_url)
    wait_for_sleep(conn)
    terminate(conn, lock=False)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert "lost the database connection" in err and "2 of 4 statement(s) had completed" in err
    assert records(conn) == [(20250101000000, "applied", None), (20250102000000, "failed", 2)]
    status = subprocess.run(
        [sys.executable, "-m", "lockgate", "status"],
        cwd=project,
        env={**os.environ, "LOCKGATE_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "2 of 4 statements had run" in status.stdout + status.stderr


def test_ctrl_c_during_a_no_transaction_file_records_how_far_it_got(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_table.sql", "CREATE TABLE t (a int, b int);\n")
    add(
        project,
        "20250102000000_indexes.sql",
        "-- lockgate: no-transaction\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nSELECT pg_sleep(30);\n"
        "CREATE INDEX CONCURRENTLY t_b ON t (b);\n",
    )
    process = start_run(project, db_url)
    wait_for_sleep(conn)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert records(conn) == [(20250101000000, "applied", None), (20250102000000, "failed", 1)]
    message = conn.execute("SELECT error_message FROM schema_migrations WHERE status = 'failed'").fetchone()
    assert message is not None and "interrupted (Ctrl-C)" in str(message[0])


def test_transactional_migration_cut_off_is_recorded_and_earlier_ones_reported(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    add(project, "20250102000000_second.sql", "CREATE TABLE second (id int);\nSELECT pg_sleep(30);\n")
    process = start_run(project, db_url)
    wait_for_sleep(conn)
    terminate(conn, lock=False)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert "20250101000000_first.sql" in out and "applied" in out
    assert "lost the database connection" in err and "rolled the migration back" in err
    assert [row[1] for row in records(conn)] == ["applied", "failed"]
    assert conn.execute("SELECT to_regclass('public.second')").fetchone() == (None,)
