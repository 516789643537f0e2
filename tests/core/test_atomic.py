"""``run --atomic``: every pending migration and its tracking row in one transaction — all or nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db

FILES = {
    "20250101000000_a.sql": "CREATE TABLE a (id int);\nSET search_path = nowhere, public;\n",
    "20250102000000_b.sql": "CREATE TABLE b (id int);\n",
    "20250103000000_c.sql": "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\n",
}


def tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'schema_migrations%'"
    ).fetchall()
    return {str(row[0]) for row in rows}


def statuses(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    if conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() == (None,):
        return []
    return conn.execute("SELECT version, status FROM schema_migrations ORDER BY version").fetchall()


@pytest.mark.parametrize("how", ["flag", "config"])
def test_everything_applies_in_one_transaction(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, how: str
) -> None:
    for name, text in FILES.items():
        add(project, name, text)
    if how == "config":
        (project / "lockgate.toml").write_text("[tool.lockgate]\natomic = true\n")
    result = lockgate("run", *(["--atomic"] if how == "flag" else []))
    assert result.code == 0, result.text
    assert "applied 3 migration(s)" in result.out
    assert tables(conn) == {"a", "b", "c"}, "b lands in public: the session was reset between files"
    assert [row[1] for row in statuses(conn)] == ["applied"] * 3
    xids = conn.execute("SELECT DISTINCT xmin::text FROM schema_migrations").fetchall()
    assert len(xids) == 1, "one transaction wrote every tracking row"
    metadata = conn.execute("SELECT metadata FROM schema_migrations LIMIT 1").fetchone()
    assert metadata is not None and metadata[0]["atomic"] is True


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        ("CREATE TABLE b (id int);\nSELECT 1 / 0;\n", "20250102000000_b.sql:2"),
        ("CREATE TABLE b (id int);\nALTER TABLE missing ADD COLUMN x int;\n", "20250102000000_b.sql:2"),
    ],
)
def test_a_failure_applies_nothing_and_names_file_and_line(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, broken: str, where: str
) -> None:
    for name, text in {**FILES, "20250102000000_b.sql": broken}.items():
        add(project, name, text)
    result = lockgate("run", "--atomic")
    assert result.code == 1, result.text
    assert where in result.err
    assert tables(conn) == set(), "the files before the failing one were rolled back too"
    assert statuses(conn) == [(20250102000000, "failed")]
    logged = conn.execute("SELECT version, outcome FROM schema_migrations_log ORDER BY log_id").fetchall()
    assert logged == [(20250102000000, "failed")]
    assert "rolled back with the atomic deploy" in result.out


@pytest.mark.parametrize(
    ("file", "words"),
    [
        (
            "-- lockgate: no-transaction\nCREATE INDEX CONCURRENTLY b_i ON a (id);\n",
            "runs outside a transaction",
        ),
        (
            "BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE b (id int);\nCOMMIT;\n",
            "opens its transaction with `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`",
        ),
    ],
)
def test_files_that_cannot_join_one_transaction_are_refused_before_anything_runs(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, file: str, words: str
) -> None:
    for name, text in {**FILES, "20250102000000_b.sql": file}.items():
        add(project, name, text)
    result = lockgate("run", "--atomic")
    assert result.code == 1, result.text
    assert (
        "[atomic-impossible]" in result.err and words in result.err and "20250102000000_b.sql" in result.err
    )
    assert tables(conn) == set()
    dry = lockgate("run", "--atomic", "--dry-run")
    assert dry.code == 1 and "[atomic-impossible]" in dry.err, dry.text


def test_a_lock_timeout_retries_the_whole_deploy(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, db_url: str
) -> None:
    for name, text in FILES.items():
        add(project, name, text)
    add(project, "20250104000000_d.sql", "ALTER TABLE busy ADD COLUMN note text;\n")
    conn.execute("CREATE TABLE busy (id int)")
    blocker = psycopg.connect(db_url)
    blocker.execute("LOCK TABLE busy IN ACCESS SHARE MODE")  # held until released below
    threading.Timer(0.6, blocker.rollback).start()
    started = time.monotonic()
    result = lockgate("run", "--atomic", "--lock-timeout", "200ms", "--lock-retries", "10", "--no-lint")
    blocker.close()
    assert result.code == 0, result.text
    assert time.monotonic() - started > 0.5
    assert tables(conn) == {"a", "b", "c", "busy"}
    retries = conn.execute(
        "SELECT count(*) FROM schema_migrations_log WHERE outcome = 'lock-timeout'"
    ).fetchone()
    assert retries is not None and retries[0] >= 1
