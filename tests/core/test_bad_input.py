"""Bad input: one line naming the file/line or setting, exit 1 or 2, no traceback, no database change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db

GOOD = ("20250101000000_good.sql", "CREATE TABLE good (id int);\n")


def assert_untouched(conn: psycopg.Connection) -> None:
    assert conn.execute("SELECT to_regclass('public.good')").fetchone() == (None,)
    row = conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone()
    if row != (None,):
        assert conn.execute(
            "SELECT count(*) FROM public.schema_migrations WHERE status = 'applied'"
        ).fetchone() == (0,)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfeCREATE TABLE x (id int);", "_bad.sql:1: not valid UTF-8"),
        (
            b"CREATE TABLE x (id int);\nCREAT TABLE y (id int);\n",
            '_bad.sql:2:1: syntax error at or near "CREAT"',
        ),
        (b"SELECT 1;\n\\i other.sql\n", "_bad.sql:2:1: psql meta-command \\i is not SQL"),
        (b"\\set ON_ERROR_STOP on\nSELECT 1;\n", "_bad.sql:1:1: psql meta-command \\set is not SQL"),
    ],
)
def test_bad_files(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, content: bytes, expected: str
) -> None:
    add(project, *GOOD)
    (project / "migrations" / "20250102000000_bad.sql").write_bytes(content)
    result = lockgate("run")
    assert result.code == 1
    assert expected in result.err
    assert "Traceback" not in result.text
    assert_untouched(conn)


def test_unreadable_file(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, *GOOD)
    bad = project / "migrations" / "20250102000000_bad.sql"
    bad.mkdir()  # a directory named like a migration cannot be read as a file by any user, root included
    result = lockgate("run")
    assert result.code == 1 and "Traceback" not in result.text
    assert "20250102000000_bad.sql: not a regular file (a directory)" in result.err
    assert_untouched(conn)


def test_dangling_symlink_is_named(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, *GOOD)
    (project / "migrations" / "20250103000000_link.sql").symlink_to(project / "nowhere.sql")
    result = lockgate("run")
    assert result.code == 1
    assert "20250103000000_link.sql: cannot read file" in result.err
    assert_untouched(conn)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (
            "postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres",
            "cannot connect to postgresql://postgres:***@127.0.0.1:1/postgres",
        ),
        ("postgresql://postgres:s3cret-pw@no-such-host.invalid/postgres", "cannot connect"),
        ("mysql://root@localhost/db", "must start with postgresql://"),
        ("host=127.0.0.1 port=1 password=s3cret-pw", "password=***"),
        ("postgresql://postgres:s3cret-pw@127.0.0.1:5432/no_such_db", "no_such_db"),
    ],
)
def test_bad_database_urls(project: Path, lockgate: CliRunner, url: str, fragment: str) -> None:
    add(project, *GOOD)
    for command in ("run", "status"):
        result = lockgate(command, "--database-url", url)
        assert result.code == 2, result.text
        assert fragment in result.err
        assert "s3cret-pw" not in result.text
        assert "Traceback" not in result.text
        assert len(result.err.strip().splitlines()) == 1


def test_missing_directory_and_bad_flag(project: Path, lockgate: CliRunner) -> None:
    result = lockgate("status", "--dir", "nope")
    assert result.code == 2 and "migrations directory" in result.err and "does not exist" in result.err
    result = lockgate("run", "--lock-timeout", "soon")
    assert result.code == 2 and "--lock-timeout" in result.err


def test_subprocess_has_no_traceback_and_masks_password(project: Path, db_url: str) -> None:
    """The real console script, as a user runs it."""
    add(project, *GOOD)
    env = {**os.environ, "LOCKGATE_DATABASE_URL": "postgresql://u:hunter2-secret@127.0.0.1:1/x"}
    proc = subprocess.run(
        [sys.executable, "-m", "lockgate", "run"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "hunter2-secret" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: cannot connect to postgresql://u:***@127.0.0.1:1/x")


def test_a_role_without_create_privilege_gets_one_line(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, db_url: str
) -> None:
    """Permission problems are database errors, reported in one line with the SQLSTATE."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    conn.execute("DROP ROLE IF EXISTS lg_readonly")
    conn.execute("CREATE ROLE lg_readonly LOGIN")
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    try:
        add(project, *GOOD)
        params = conninfo_to_dict(db_url)
        params["user"] = "lg_readonly"
        result = lockgate("run", "--database-url", make_conninfo(**{k: str(v) for k, v in params.items()}))
        assert result.code == 2, result.text
        assert "permission denied" in result.err and "42501" in result.err
        assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.text
    finally:
        conn.execute("DROP OWNED BY lg_readonly")
        conn.execute("DROP ROLE lg_readonly")
