"""Hostile tests of the batched apply path (``lockgate/batch.py``): a migration's queries — BEGIN, lock,
guard, body, session reset, tracking and audit row, hooks' writes, COMMIT — travel in one libpq pipeline.

Each test attacks one guarantee the per-cursor pipeline gave and the batch must keep: a failure names its
file and line, server chatter (notices, notifications) never confuses which result is whose, values bound
client-side cannot break their quoting, an interruption (Ctrl-C, a killed backend) leaves nothing
half-applied and no ``running`` row, and the next migration starts from the same session state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add, no_lockgate_session_left, spawn_run, statuses, wait_until

pytestmark = pytest.mark.db


def public_tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'schema_migrations%'"
    ).fetchall()
    return {str(row[0]) for row in rows}


# -- what the server says while the batch runs ---------------------------------------------------------
def test_thousands_of_notices_and_warnings_neither_flood_the_output_nor_shift_results(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """Every notice arrives between results in the pipeline; none may be taken for a result (the reset's
    results are read by position), and none reaches the terminal."""
    chatter = (
        "DO $$ BEGIN FOR i IN 1..20000 LOOP RAISE NOTICE 'notice %', i; RAISE WARNING 'warning %', i; "
        "END LOOP; END $$;\n"
    )
    add(
        project,
        "20250101000000_chatty.sql",
        "CREATE TABLE first (id int);\n" + chatter + "PREPARE p AS SELECT 1;\n",
    )
    add(
        project,
        "20250102000000_after.sql",
        chatter + "PREPARE p AS SELECT 2;\nCREATE TABLE second (id int);\n",
    )
    result = lockgate("run")
    assert result.code == 0, result.text[-2000:]
    assert "notice 1" not in result.text and "warning 1" not in result.text
    assert len(result.text) < 2000, result.text[-2000:]
    assert statuses(conn) == [(20250101000000, "applied"), (20250102000000, "applied")]


def test_raise_exception_with_detail_and_hint_names_its_line(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(
        project,
        "20250101000000_raise.sql",
        "CREATE TABLE kept_out (id int);\n"
        "DO $$ BEGIN RAISE NOTICE 'about to fail'; END $$;\n"
        "DO $$\nBEGIN\n  RAISE EXCEPTION 'nope: %', 'bad' USING DETAIL = 'the detail', HINT = 'the hint',\n"
        "    ERRCODE = 'P0099';\nEND $$;\n",
    )
    result = lockgate("run")
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    assert "migrations/20250101000000_raise.sql:3: nope: bad (SQLSTATE P0099)" in result.err, result.err
    assert "kept_out" not in public_tables(conn)
    row = conn.execute("SELECT metadata FROM public.schema_migrations").fetchone()
    assert row is not None and row[0]["sqlstate"] == "P0099" and row[0]["error_line"] == 3


@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
def test_an_error_position_inside_a_multi_line_statement_names_that_line(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, atomic: bool
) -> None:
    add(project, "20250101000000_ok.sql", "CREATE TABLE ok (id int);\n")
    add(
        project,
        "20250102000000_position.sql",
        "-- a comment first\nCREATE TABLE t (id int);\nSELECT\n  id,\n  'ünïcødé 日本語',\n  no_such_column\nFROM t;\n",
    )
    result = lockgate("run", *(["--atomic"] if atomic else []))
    assert result.code == 1, result.text
    assert (
        'migrations/20250102000000_position.sql:6: column "no_such_column" does not exist (SQLSTATE 42703)'
        in result.err
    ), result.err


# -- values bound client-side --------------------------------------------------------------------------
HOSTILE_TEXT = "o'brien \\' \\\\ E'x' $$ $q$ \"quoted\" ünïcødé 日本語 😀 \\x00 -- ; DROP TABLE victim; --"


@pytest.fixture
def strings_off(conn: psycopg.Connection) -> None:
    """This database's sessions start with ``standard_conforming_strings`` off."""
    name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None
    conn.execute(f'ALTER DATABASE "{name[0]}" SET standard_conforming_strings = off')
    conn.execute("SET standard_conforming_strings = off")


@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
@pytest.mark.parametrize("scs_off", [False, True], ids=["strings-on", "strings-off-by-default"])
def test_metadata_with_quotes_backslashes_and_unicode_is_stored_exactly(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    atomic: bool,
    scs_off: bool,
) -> None:
    """The tracking row's values are bound with ``ClientCursor.mogrify``: a value with quotes, backslashes
    and multi-byte characters must come back byte for byte, and never run as SQL — also where the
    database's default for ``standard_conforming_strings`` is off."""
    if scs_off:
        request.getfixturevalue("strings_off")
    conn.execute("CREATE TABLE victim (id int)")
    monkeypatch.setenv("GITHUB_ACTOR", HOSTILE_TEXT)
    monkeypatch.setenv("GITHUB_SHA", "\\'; DROP TABLE victim; --")
    add(project, "20250101000000_ünïcødé.sql", 'CREATE TABLE "tåble_日本" ("cöl" text DEFAULT \'ü\\\');\n')
    add(
        project,
        "20250102000000_second.sql",
        "INSERT INTO \"tåble_日本\" VALUES (E'a\\'b\\\\c' || U&'\\00e9');\n",
    )
    result = lockgate("run", *(["--atomic"] if atomic else []))
    assert result.code == 0, result.text
    assert "victim" in public_tables(conn)
    rows = conn.execute(
        "SELECT name, metadata->>'actor', metadata->>'git_commit', metadata FROM public.schema_migrations "
        "ORDER BY version"
    ).fetchall()
    assert [row[0] for row in rows] == ["ünïcødé", "second"]
    assert {row[1] for row in rows} == {HOSTILE_TEXT}
    assert {row[2] for row in rows} == {"\\'; DROP TABLE victim; --"}
    assert json.loads(json.dumps(rows[0][3]))["filename"] == "20250101000000_ünïcødé.sql"
    logged = conn.execute("SELECT DISTINCT metadata->>'actor' FROM public.schema_migrations_log").fetchall()
    assert logged == [(HOSTILE_TEXT,)]
    value = conn.execute('SELECT "cöl" FROM "tåble_日本"').fetchone()
    assert value == ("a'b\\cé",)


# -- interruptions from outside, on a real `lockgate run` process ---------------------------------------
IN_SLEEP = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' "
    "AND state = 'active' AND pid <> pg_backend_pid()"
)
WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
    "AND application_name LIKE 'lockgate run (%' AND pid <> pg_backend_pid()"
)


def interrupt(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
def test_ctrl_c_during_a_long_body_statement_applies_nothing_of_it(
    project: Path, db_url: str, conn: psycopg.Connection, atomic: bool
) -> None:
    """The COMMIT was sent with the body: Ctrl-C must cancel the statement on the server so the pipeline
    aborts before it — not leave the server to finish and commit for a client that is gone."""
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    add(project, "20250102000000_long.sql", "CREATE TABLE second (id int);\nSELECT pg_sleep(30);\n")
    add(project, "20250103000000_third.sql", "CREATE TABLE third (id int);\n")
    process = spawn_run(project, db_url, *(["--atomic"] if atomic else []))
    wait_until(conn, IN_SLEEP, "the long statement started")
    started = time.monotonic()
    out, err = interrupt(process)
    assert process.returncode == 130, out + err
    assert time.monotonic() - started < 10
    assert "Traceback" not in out + err and "interrupted" in err
    no_lockgate_session_left(conn)
    if atomic:
        assert public_tables(conn) == set()
        assert conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() in ((None,),) or (
            statuses(conn) == []
        )
    else:
        assert public_tables(conn) == {"first"}
        assert statuses(conn) == [(20250101000000, "applied")]


@pytest.mark.slow
@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
def test_ctrl_c_while_the_tracking_row_waits_after_the_reset_applies_nothing_of_it(
    project: Path, db_url: str, conn: psycopg.Connection, atomic: bool
) -> None:
    """Ctrl-C after the body and the session reset ran, while the tracking row's write waits for a lock:
    the migration must not commit without its row, nor its row without it."""
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    first = spawn_run(project, db_url)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    add(project, "20250102000000_second.sql", "CREATE TABLE second (id int);\nSET search_path = nowhere;\n")
    with psycopg.connect(db_url) as holder:
        holder.execute("LOCK TABLE public.schema_migrations_log IN SHARE MODE")
        process = spawn_run(project, db_url, *(["--atomic"] if atomic else []), LOCKGATE_LOCK_TIMEOUT="60s")
        wait_until(conn, WAITING_ON_A_LOCK, "the tracking row waited for the audit table")
        out, err = interrupt(process)
        holder.rollback()
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    no_lockgate_session_left(conn)
    assert public_tables(conn) == {"first"}
    assert statuses(conn) == [(20250101000000, "applied")]


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 0.9, 1.7])
def test_ctrl_c_at_any_moment_of_a_long_run_leaves_every_migration_whole(
    project: Path, db_url: str, conn: psycopg.Connection, delay: float
) -> None:
    """Interrupted anywhere — in a batch, between two, while a committed migration's prepared statements
    are deallocated: every table created has its ``applied`` row, every row its table, none ``running``."""
    for index in range(300):
        add(
            project,
            f"20250101{index // 60:02d}{index % 60:02d}00_step.sql",
            f"CREATE TABLE step_{index} (id int);\nPREPARE p AS SELECT {index};\nSELECT pg_sleep(0.005);\n",
        )
    process = spawn_run(project, db_url, "--no-lint")
    wait_until(
        conn,
        "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_migrations'",
        "the tracking table exists",
    )
    time.sleep(delay)
    out, err = interrupt(process)
    assert process.returncode in (0, 130), out + err
    assert "Traceback" not in out + err
    no_lockgate_session_left(conn)
    recorded = {
        int(str(version)[8:10]) * 60 + int(str(version)[10:12])
        for version, status in statuses(conn)
        if status == "applied"
    }
    assert {status for _, status in statuses(conn)} <= {"applied"}, statuses(conn)
    created = {int(name.removeprefix("step_")) for name in public_tables(conn)}
    assert created == recorded
    assert recorded == set(range(len(recorded))), "migrations apply in order"
    again = spawn_run(project, db_url, "--no-lint")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    assert len(public_tables(conn)) == 300


@pytest.mark.slow
@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
def test_a_backend_terminated_mid_batch_names_the_statement_and_is_recorded_through_a_new_connection(
    project: Path, db_url: str, conn: psycopg.Connection, atomic: bool
) -> None:
    """libpq hands over the terminated statement's error (57P01) and the aborted rest of the pipeline
    before the read fails: the failure must name that statement's line — not "at COMMIT" of the last file."""
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    add(project, "20250102000000_long.sql", "CREATE TABLE second (id int);\nSELECT pg_sleep(30);\n")
    add(project, "20250103000000_third.sql", "CREATE TABLE third (id int);\n")
    process = spawn_run(project, db_url, *(["--atomic"] if atomic else []))
    wait_until(conn, IN_SLEEP, "the long statement started")
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE 'lockgate run (%' AND application_name NOT LIKE 'lockgate run (lock)%'"
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert "migrations/20250102000000_long.sql:2: lost the database connection while applying it" in err, err
    assert "terminating connection due to administrator command" in err and "rolled the migration back" in err
    assert public_tables(conn) == (set() if atomic else {"first"})
    expected = [(20250102000000, "failed")]
    assert statuses(conn) == (expected if atomic else [(20250101000000, "applied"), *expected])
    row = conn.execute("SELECT metadata FROM public.schema_migrations WHERE status = 'failed'").fetchone()
    assert row is not None and row[0]["error_line"] == 2 and row[0]["sqlstate"] == "57P01"


# -- timeouts inside the batch ---------------------------------------------------------------------------
@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
def test_statement_timeout_inside_the_batch_names_the_line_and_is_not_retried(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, atomic: bool
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    add(project, "20250102000000_slow.sql", "CREATE TABLE second (id int);\n\nSELECT pg_sleep(2);\n")
    result = lockgate(
        "run", "--statement-timeout", "300ms", "--lock-retries", "5", *(["--atomic"] if atomic else [])
    )
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    assert "migrations/20250102000000_slow.sql:3: canceling statement due to statement timeout" in result.err
    assert "(SQLSTATE 57014)" in result.err
    assert "second" not in public_tables(conn)
    retries = conn.execute(
        "SELECT count(*) FROM schema_migrations_log WHERE outcome = 'lock-timeout'"
    ).fetchone()
    assert retries == (0,)


class Reader(threading.Thread):
    """Reads a table in a loop and keeps the longest time one read took (waiting for its lock)."""

    def __init__(self, db_url: str, table: str) -> None:
        super().__init__(daemon=True)
        self.db_url, self.table = db_url, table
        self.stop = threading.Event()
        self.longest = 0.0

    def run(self) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.monotonic()
                conn.execute(f"SELECT count(*) FROM {self.table}")
                self.longest = max(self.longest, time.monotonic() - started)
                time.sleep(0.01)


@pytest.fixture
def login_without_plpgsql(conn: psycopg.Connection, db_url: str) -> Iterator[str]:
    """The URL of a login role that may create in this database but may not use PL/pgSQL (so the session
    reset cannot be one ``DO`` block and goes statement by statement)."""
    name = f"lg_low_{uuid.uuid4().hex[:8]}"
    database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    conn.execute(f"CREATE ROLE {name} LOGIN")
    conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {name}")
    conn.execute(f'GRANT CREATE ON DATABASE "{database[0]}" TO {name}')
    conn.execute("REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC")
    try:
        yield psycopg.conninfo.make_conninfo(db_url, user=name)
    finally:
        conn.execute("GRANT USAGE ON LANGUAGE plpgsql TO PUBLIC")
        conn.execute(f"DROP OWNED BY {name} CASCADE")
        conn.execute(f"DROP ROLE {name}")


@pytest.mark.parametrize("login", ["owner", "without-plpgsql"])
@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
def test_a_lock_timeout_on_the_tracking_row_retries_and_never_holds_the_migrations_locks_longer(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    db_url: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    atomic: bool,
    login: str,
) -> None:
    """The tracking row is written after the body and the session reset (whose ``RESET ALL`` drops the
    guard's ``lock_timeout``), while the migration still holds its locks. When lockgate's audit table is
    locked by someone else, that write must give up after ``lock_timeout`` and retry the migration (in
    --atomic, the deploy) — not wait with an ACCESS EXCLUSIVE lock on the application's table while every
    reader of it queues behind (docs/migrations.md: "other sessions never queue behind a blocked
    migration for longer than lock_timeout"). Also where the login role may not use PL/pgSQL, whose
    reset is a different list of statements."""
    if login != "owner":
        monkeypatch.setenv("LOCKGATE_DATABASE_URL", request.getfixturevalue("login_without_plpgsql"))
    add(project, "20250101000000_first.sql", "CREATE TABLE counter (n int);\n")
    assert lockgate("run").code == 0
    add(
        project,
        "20250102000000_second.sql",
        "ALTER TABLE counter ADD COLUMN note text;\nINSERT INTO counter VALUES (1);\n",
    )
    add(project, "20250103000000_third.sql", "INSERT INTO counter VALUES (2);\n")
    blocker = psycopg.connect(db_url)
    blocker.execute("LOCK TABLE public.schema_migrations_log IN SHARE MODE")
    threading.Timer(2.0, blocker.rollback).start()
    reader = Reader(db_url, "counter")
    reader.start()
    try:
        result = lockgate(
            "run", "--lock-timeout", "200ms", "--lock-retries", "10", *(["--atomic"] if atomic else [])
        )
    finally:
        reader.stop.set()
        reader.join(timeout=30)
        time.sleep(2.1)
        blocker.close()
    assert result.code == 0, result.text
    assert conn.execute("SELECT n FROM counter ORDER BY n").fetchall() == [(1,), (2,)]
    assert reader.longest < 1.0, f"a reader of the migrated table waited {reader.longest:.2f} s"
    retries = conn.execute(
        "SELECT count(*) FROM schema_migrations_log WHERE outcome = 'lock-timeout'"
    ).fetchone()
    assert retries is not None and retries[0] >= 1
    assert [status for _, status in statuses(conn)] == ["applied"] * 3


# -- session state across files, in a batch and in one atomic batch -------------------------------------
@pytest.mark.parametrize("mode", [(), ("--atomic",), ("--dry-run",)], ids=["run", "atomic", "dry-run"])
def test_the_same_prepared_statement_name_in_consecutive_files(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mode: tuple[str, ...]
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\nPREPARE p (int) AS SELECT $1;\n")
    add(
        project,
        "20250102000000_second.sql",
        "PREPARE p AS SELECT 2;\nEXECUTE p;\nCREATE TABLE second (id int);\n",
    )
    add(project, "20250103000000_third.sql", "PREPARE p (text) AS SELECT $1;\nCREATE TABLE third (id int);\n")
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    assert public_tables(conn) == (set() if mode == ("--dry-run",) else {"first", "second", "third"})


def test_listen_and_notify_in_migrations_neither_leak_nor_confuse_the_batch(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """A no-transaction file's LISTEN takes effect at once, so notifications (its own, large ones) reach
    lockgate's connection between statements and inside the next migration's batch; they must be drained,
    never read as results. A transactional file's NOTIFY reaches other listeners at its COMMIT."""
    conn.execute("LISTEN deploys")
    add(
        project,
        "20250101000000_listen.sql",
        "-- lockgate: no-transaction\nLISTEN deploys;\nSELECT pg_notify('deploys', repeat('x', 7000)) "
        "FROM generate_series(1, 50);\nNOTIFY deploys, 'from the no-transaction file';\n",
    )
    add(
        project,
        "20250102000000_notify.sql",
        "LISTEN deploys;\nCREATE TABLE after_listen (id int);\nNOTIFY deploys, 'ünïcødé payload';\n"
        "SELECT pg_notify('deploys', 'n' || i) FROM generate_series(1, 500) AS i;\n",
    )
    add(project, "20250103000000_last.sql", "CREATE TABLE last (id int);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert [status for _, status in statuses(conn)] == ["applied"] * 3
    # PostgreSQL folds identical notifications of one transaction into one: 1 + 1 + 1 + 500.
    payloads = [notify.payload for notify in conn.notifies(timeout=1, stop_after=503)]
    assert "ünïcødé payload" in payloads and "from the no-transaction file" in payloads
    assert len(payloads) == 503


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_a_deferred_constraint_failing_at_commit_applies_nothing(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mode: tuple[str, ...]
) -> None:
    add(project, "20250101000000_parent.sql", "CREATE TABLE parent (id int PRIMARY KEY);\n")
    add(
        project,
        "20250102000000_child.sql",
        "CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n"
        "INSERT INTO child VALUES (42);\n",
    )
    add(project, "20250103000000_after.sql", "CREATE TABLE after_child (id int);\n")
    result = lockgate("run", *mode)
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    assert 'at COMMIT: insert or update on table "child"' in result.err, result.err
    assert "(SQLSTATE 23503)" in result.err
    if mode:
        assert public_tables(conn) == set()
        assert statuses(conn) == [(20250103000000, "failed")]  # COMMIT is the deploy's: its last file
    else:
        assert public_tables(conn) == {"parent"}
        assert statuses(conn) == [(20250101000000, "applied"), (20250102000000, "failed")]


@pytest.mark.parametrize("mode", [(), ("--atomic",), ("--dry-run",)], ids=["run", "atomic", "dry-run"])
def test_prepared_statements_and_set_role_where_the_login_role_may_not_use_plpgsql(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    login_without_plpgsql: str,
    monkeypatch: pytest.MonkeyPatch,
    mode: tuple[str, ...],
) -> None:
    """The reset then deallocates by name, in a round trip after the batch — which --atomic, one batch
    for every file, does not have between two files."""
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", login_without_plpgsql)
    nobody = f"lg_nobody_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {nobody} NOLOGIN")
    user = psycopg.conninfo.conninfo_to_dict(login_without_plpgsql)["user"]
    conn.execute(f"GRANT {nobody} TO {user}")
    try:
        _prepare_in_every_file(project, lockgate, conn, nobody, str(user), mode)
    finally:
        conn.execute(f"DROP ROLE {nobody}")


def _prepare_in_every_file(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    nobody: str,
    user: str,
    mode: tuple[str, ...],
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\nPREPARE p AS SELECT 1;\n")
    add(
        project,
        "20250102000000_second.sql",
        f'SET ROLE {nobody};\nPREPARE p AS SELECT 2;\nPREPARE "Ünï q" AS SELECT 2;\nDEALLOCATE "Ünï q";\n'
        'PREPARE "x""y" AS SELECT 2;\n',
    )
    add(
        project,
        "20250103000000_third.sql",
        'PREPARE p AS SELECT 3;\nPREPARE "x""y" AS SELECT 3;\nDEALLOCATE ALL;\nCREATE TABLE third (id int);\n',
    )
    add(project, "20250104000000_fourth.sql", "PREPARE p AS SELECT 4;\n")
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    assert public_tables(conn) == (set() if mode == ("--dry-run",) else {"first", "third"})
    if mode != ("--dry-run",):
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'third'").fetchone()
        assert owner == (user,)


def test_an_actor_that_is_not_utf8_is_stored_escaped_and_never_a_traceback(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    """``GITHUB_ACTOR`` (or the login name, the host name) in bytes that are not UTF-8 reaches Python as lone
    surrogates: libpq's connection string (application_name) cannot carry them, and JSON escapes them as
    ``\\udcff``, which jsonb refuses — which failed the tracking row, and with it every migration."""
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    environment = {key.encode(): value.encode() for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment.update(
        {b"LOCKGATE_DATABASE_URL": db_url.encode(), b"GITHUB_ACTOR": b"bad\xff\xfe actor\xc3\xa9"}
    )
    process = subprocess.run(
        [sys.executable, "-m", "lockgate", "run"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert "Traceback" not in process.stdout + process.stderr
    actors = conn.execute("SELECT metadata->>'actor' FROM public.schema_migrations").fetchall()
    assert actors == [("bad\\udcff\\udcfe actoré",)]


@pytest.mark.slow
def test_ctrl_c_during_a_dry_run_changes_nothing(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    add(project, "20250102000000_long.sql", "CREATE TABLE second (id int);\nSELECT pg_sleep(30);\n")
    process = spawn_run(project, db_url, "--dry-run")
    wait_until(conn, IN_SLEEP, "the long statement started")
    out, err = interrupt(process)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err and "interrupted" in err
    no_lockgate_session_left(conn)
    assert public_tables(conn) == set()
    exists = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()
    assert exists == (False,) or statuses(conn) == []


@pytest.mark.slow
def test_eight_atomic_runners_apply_each_migration_exactly_once(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    conn.execute("CREATE TABLE public.applied_log (version bigint)")
    for index in range(12):
        version = f"202501010000{index:02d}"
        add(
            project,
            f"{version}_step_{index}.sql",
            f"CREATE TABLE step_{index} (id int);\nINSERT INTO public.applied_log VALUES ({version});\n"
            "SELECT pg_sleep(0.02);\n",
        )
    runners = [spawn_run(project, db_url, "--atomic", "--no-lint") for _ in range(8)]
    outputs = [runner.communicate(timeout=120) for runner in runners]
    assert [runner.returncode for runner in runners] == [0] * 8, outputs
    counts = conn.execute("SELECT version, count(*) FROM public.applied_log GROUP BY version").fetchall()
    assert len(counts) == 12 and all(count == 1 for _, count in counts)
    assert [status for _, status in statuses(conn)] == ["applied"] * 12
    assert sum("applied 12 migration(s)" in out for out, _ in outputs) == 1, outputs


@pytest.mark.slow
def test_one_statement_of_sixteen_megabytes_applies_and_one_after_it_names_its_line(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """One message far larger than the socket buffers, multi-byte characters included, then a failure."""
    big = "é" * (8 * 1024 * 1024)  # 16 MB of UTF-8
    add(project, "20250101000000_big.sql", f"CREATE TABLE big AS SELECT '{big}'::text AS v;\n")
    add(
        project,
        "20250102000000_after.sql",
        f"CREATE TABLE big2 AS SELECT '{big}'::text AS v;\nSELECT 1 / 0;\n",
    )
    result = lockgate("run", "--no-lint")
    assert result.code == 1, result.text[-500:]
    assert "migrations/20250102000000_after.sql:2: division by zero" in result.err
    assert conn.execute("SELECT length(v), octet_length(v) FROM big").fetchone() == (len(big), 2 * len(big))
    assert "big2" not in public_tables(conn)
