"""Exit codes and messages keep the README's contract: 0 ok, 1 problems found or a migration failed, 2 usage,
configuration or connection errors, 130 interrupted — one line each, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

from lockgate.history import lock_key

pytestmark = pytest.mark.db


@pytest.mark.parametrize("how", ["flag", "environment", "config", "a-file"])
def test_a_missing_migrations_directory_is_a_configuration_error(
    project: Path, lockgate: CliRunner, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args: tuple[str, ...] = ()
    if how == "flag":
        args = ("--dir", "nope")
    elif how == "environment":
        monkeypatch.setenv("LOCKGATE_MIGRATIONS_DIR", "nope")
    elif how == "config":
        (project / "lockgate.toml").write_text('[tool.lockgate]\nmigrations_dir = "nope"\n')
    else:
        (project / "sql").write_text("not a directory\n")
        args = ("--dir", "sql")
    for command in ("status", "validate", "run"):
        result = lockgate(command, *args)
        assert result.code == 2, (command, result.text)
        assert "Traceback" not in result.text
        (line,) = [text for text in result.err.splitlines() if text.startswith("error:")]
        expected = "is not a directory" if how == "a-file" else "does not exist"
        assert "migrations directory" in line and expected in line


def _start(project: Path, db_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "lockgate", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(conn: psycopg.Connection, condition: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            f"AND pid <> pg_backend_pid() AND {condition}"
        ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {condition}")


def test_ctrl_c_while_waiting_for_the_run_lock_exits_130(project: Path, db_url: str) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    with psycopg.connect(db_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("public.schema_migrations", "run"),))
        process = _start(project, db_url, "run")
        with psycopg.connect(db_url, autocommit=True) as watcher:
            _wait_for(watcher, "application_name LIKE 'lockgate run (lock)%' AND wait_event_type = 'Lock'")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err


def test_ctrl_c_during_a_transactional_migration_exits_130_and_leaves_nothing(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_slow.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\n")
    process = _start(project, db_url, "run")
    _wait_for(conn, "query LIKE '%pg_sleep%' AND state = 'active'")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err
    assert conn.execute("SELECT to_regclass('public.slow')").fetchone() == (None,)
    rows = conn.execute("SELECT status FROM schema_migrations").fetchall()
    assert ("running",) not in rows and ("applied",) not in rows


def test_status_exit_code(project: Path, lockgate: CliRunner) -> None:
    path = add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("status").code == 0, "plain status stays 0 for scripts that parse it"
    pending = lockgate("status", "--exit-code")
    assert pending.code == 1 and "pending: 20250101000000_a.sql" in pending.out
    assert lockgate("run").code == 0
    assert lockgate("status", "--exit-code").code == 0
    path.write_text("CREATE TABLE a (id bigint);\n")
    drifted = lockgate("status", "--exit-code", "--json")
    assert drifted.code == 1 and '"checksum-mismatch"' in drifted.out.replace(": ", ":").replace(
        '":"', '": "'
    )
    assert lockgate("status").code == 0


def test_serve_without_the_server_extra_says_how_to_install_it(project: Path, db_url: str) -> None:
    """The web framework is missing: one line with the fix, exit 2, and no admin token printed first."""
    blocker = (
        "import sys, runpy\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'uvicorn', 'starlette'}:\n"
        "            raise ImportError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.argv = ['lockgate', 'serve', '--port', '0']\n"
        "runpy.run_module('lockgate', run_name='__main__')\n"
    )
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url}
    env.pop("LOCKGATE_ADMIN_TOKENS", None)
    result = subprocess.run(
        [sys.executable, "-c", blocker], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: lockgate serve needs the web server, which is not installed (uvicorn is missing): "
        "pip install 'lockgate[server]'"
    ]
    assert "admin token" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("user", "database", "fix"),
    [
        ("nobody", None, "the user does not exist on this server"),
        ("database", None, "the user does not exist on this server"),  # a role named like the word
        (None, "no_such_db", "the database does not exist"),
        (None, "role", "the database does not exist"),
    ],
)
def test_doctor_names_what_is_missing_from_the_servers_words(
    project: Path, lockgate: CliRunner, db_url: str, user: str | None, database: str | None, fix: str
) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(db_url)
    if user:
        params["user"] = user
    if database:
        params["dbname"] = database
    result = lockgate("doctor", "--database-url", make_conninfo(**params))
    assert result.code == 1, result.text
    auth = [line for line in result.out.splitlines() if line.startswith("fail  auth")]
    assert auth, result.out
    fixes = result.out.split(auth[0], 1)[1].strip().splitlines()
    assert fixes[0].startswith("fix: ") and fix in fixes[0], result.out
