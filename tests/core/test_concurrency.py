"""Concurrent runners, a runner killed mid-migration, and lock_timeout protecting other sessions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = [pytest.mark.db, pytest.mark.slow]


def spawn(project: Path, db_url: str, *args: str, **extra_env: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url, "NO_COLOR": "1", **extra_env}
    return subprocess.Popen(
        [sys.executable, "-m", "lockgate", "run", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_eight_runners_apply_each_migration_exactly_once(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    conn.execute("CREATE TABLE public.applied_log (version bigint, at timestamptz DEFAULT clock_timestamp())")
    for index in range(12):
        version = f"202501010000{index:02d}"
        add(
            project,
            f"{version}_step_{index}.sql",
            f"CREATE TABLE step_{index} (id int);\nINSERT INTO public.applied_log (version) VALUES ({version});\n"
            "SELECT pg_sleep(0.05);\n",
        )
    runners = [spawn(project, db_url) for _ in range(8)]
    outputs = [runner.communicate(timeout=120) for runner in runners]
    assert [runner.returncode for runner in runners] == [0] * 8, outputs
    counts = conn.execute(
        "SELECT version, count(*) FROM public.applied_log GROUP BY version ORDER BY version"
    ).fetchall()
    assert len(counts) == 12 and all(count == 1 for _, count in counts)
    assert conn.execute(
        "SELECT count(*) FROM public.schema_migrations WHERE status = 'applied'"
    ).fetchone() == (12,)
    nothing = sum("nothing to do" in out for out, _ in outputs)
    assert nothing == 7, outputs
    assert any("applied 12 migration(s)" in out for out, _ in outputs)


def test_waiting_runner_names_the_holder_and_gives_up_after_lock_wait(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_slow.sql", "SELECT pg_sleep(60);\n")
    first = spawn(project, db_url)
    try:
        deadline = time.monotonic() + 60
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' "
            "AND datname = current_database()"
        ).fetchone() != (1,):
            assert time.monotonic() < deadline, "the first runner never started its migration"
            time.sleep(0.05)
        second = spawn(project, db_url, "--lock-wait", "1500ms")
        out, err = second.communicate(timeout=60)
        # The first runner is still inside its 60 s migration, so the second can only have given up.
        assert second.returncode == 1, (out, err)
        assert "gave up after 1.5 s waiting for the migration lock" in err
        assert "lockgate run (lock)" in err and "pid" in err
    finally:
        first.kill()
        first.communicate(timeout=30)


def test_kill_9_mid_migration_then_next_run_applies_cleanly(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first_table (id int);\n")
    add(
        project,
        "20250102000000_long.sql",
        "CREATE TABLE long_table (id int);\nINSERT INTO long_table SELECT generate_series(1, 1000);\nSELECT pg_sleep(6);\n",
    )
    runner = spawn(project, db_url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(6)%' "
            "AND datname = current_database()"
        ).fetchone() == (1,):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the long migration never started")
    runner.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    runner.wait(timeout=10)
    # The server notices the dead client and rolls its transaction back — although the migration's COMMIT
    # was sent with its body (one round trip): on PostgreSQL 14+ lockgate asks the server to check for
    # its client every second (client_connection_check_interval), so the 6 s statement is aborted at once
    # instead of finishing for nobody and committing what was queued behind it.
    deadline = time.monotonic() + 30
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'lockgate%' "
        "AND datname = current_database()"
    ).fetchone() != (0,):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    if conn.info.server_version >= 140000:
        assert time.monotonic() - killed < 4.5, "the server went on with the statement of a dead client"
    assert conn.execute("SELECT to_regclass('public.long_table')").fetchone() == (None,)
    path = project / "migrations" / "20250102000000_long.sql"
    rows = conn.execute("SELECT version, status FROM public.schema_migrations ORDER BY version").fetchall()
    assert rows == [(20250101000000, "applied")]
    path.write_text(path.read_text(encoding="utf-8").replace("pg_sleep(6)", "pg_sleep(0)"), encoding="utf-8")
    again = spawn(project, db_url)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, (out, err)
    assert conn.execute("SELECT count(*) FROM long_table").fetchone() == (1000,)


class Writer(threading.Thread):
    """Inserts into a table in a loop and records the longest time any single insert took."""

    def __init__(self, db_url: str) -> None:
        super().__init__(daemon=True)
        self.db_url = db_url
        self.stop = threading.Event()
        self.longest = 0.0
        self.count = 0

    def run(self) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self.stop.is_set():
                started = time.monotonic()
                conn.execute("INSERT INTO busy (note) VALUES ('w')")
                self.longest = max(self.longest, time.monotonic() - started)
                self.count += 1
                time.sleep(0.01)


def _blocker(db_url: str) -> psycopg.Connection:
    blocker = psycopg.connect(db_url)
    blocker.execute("SELECT count(*) FROM busy")  # holds ACCESS SHARE until it ends
    return blocker


def _wait_for_first_lock_timeout(conn: psycopg.Connection) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        exists = conn.execute("SELECT to_regclass('public.schema_migrations_log') IS NOT NULL").fetchone()
        if exists == (True,) and conn.execute(
            "SELECT count(*) FROM public.schema_migrations_log WHERE outcome = 'lock-timeout'"
        ).fetchone() != (0,):
            return
        time.sleep(0.02)
    pytest.fail("the runner never hit its lock timeout")


@pytest.mark.parametrize("blocker_ends_in_time", [True, False])
def test_blocked_migration_never_stalls_writers_longer_than_lock_timeout(
    project: Path, db_url: str, conn: psycopg.Connection, blocker_ends_in_time: bool
) -> None:
    conn.execute("CREATE TABLE busy (id bigint GENERATED ALWAYS AS IDENTITY, note text)")
    add(project, "20250101000000_alter_busy.sql", "ALTER TABLE busy ADD COLUMN extra int;\n")
    blocker = _blocker(db_url)
    writer = Writer(db_url)
    writer.start()
    args = ["--lock-timeout", "300ms", "--lock-retries", "4" if blocker_ends_in_time else "2"]
    try:
        runner = spawn(project, db_url, *args, LOCKGATE_RETRY_BACKOFF="200ms")
        if blocker_ends_in_time:
            _wait_for_first_lock_timeout(conn)
            time.sleep(0.3)
            blocker.rollback()
        out, err = runner.communicate(timeout=60)
    finally:
        writer.stop.set()
        writer.join(timeout=10)
        blocker.close()
    assert writer.count > 20
    # The ALTER queues for ACCESS EXCLUSIVE behind the blocker, so writers queue behind it - but never for
    # longer than lock_timeout (plus scheduling slack), because the runner gives up and retries later.
    print(f"longest writer stall: {writer.longest * 1000:.0f} ms over {writer.count} inserts")
    assert writer.longest < 0.3 + 0.25, f"a writer waited {writer.longest:.3f}s"
    attempts = conn.execute("SELECT outcome FROM public.schema_migrations_log ORDER BY log_id").fetchall()
    if blocker_ends_in_time:
        assert runner.returncode == 0, (out, err)
        assert ("lock-timeout",) in attempts and attempts[-1] == ("applied",)
        assert conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'"
        ).fetchone() == (1,)
    else:
        assert runner.returncode == 1, (out, err)
        assert "canceling statement due to lock timeout (SQLSTATE 55P03)" in err
        assert [a[0] for a in attempts] == ["lock-timeout", "lock-timeout", "failed"]


@pytest.mark.parametrize(
    "transaction", ["", "-- lockgate: no-transaction\n"], ids=["transaction", "no-transaction"]
)
def test_a_lock_timeout_names_the_session_that_held_the_lock(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, db_url: str, transaction: str
) -> None:
    # What a DBA looks up first: which session, which application, doing what, for how long — in each
    # retry line as it happens and in the failure record (and so in the PR comment).
    conn.execute("CREATE TABLE busy (id int)")
    add(project, "20250101000000_note.sql", f"{transaction}ALTER TABLE busy ADD COLUMN note text;\n")
    blocker = psycopg.connect(db_url, application_name="nightly-report")
    try:
        blocker.execute("SELECT count(*) FROM busy")  # ACCESS SHARE, held: idle in transaction
        pid = blocker.info.backend_pid
        result = lockgate("run", "--lock-timeout", "100ms", "--lock-retries", "1", "--no-lint")
    finally:
        blocker.close()
    assert result.code == 1, result.text
    named = f'blocked by pid {pid} ("nightly-report", idle in transaction for '
    retries = [line for line in result.err.splitlines() if "; retrying" in line]
    assert len(retries) == 1 and named in retries[0], result.err
    assert "AccessShareLock on busy" in retries[0] and '"SELECT count(*) FROM busy"' in retries[0]
    row = conn.execute(
        "SELECT error_message FROM schema_migrations WHERE version = 20250101000000"
    ).fetchone()
    assert row is not None and "lock timeout" in row[0] and named in row[0], row
    logged = conn.execute(
        "SELECT error_message FROM schema_migrations_log WHERE outcome = 'lock-timeout'"
    ).fetchall()
    assert logged and all(f"blocked by pid {pid}" in message for (message,) in logged)
    assert "Traceback" not in result.text


def test_a_lock_timeout_without_a_conflicting_holder_names_nobody(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, db_url: str
) -> None:
    # A session holding a lock that does not conflict (ROW EXCLUSIVE vs a row lock wait) is not blamed.
    conn.execute("CREATE TABLE rows_ (id int PRIMARY KEY)")
    conn.execute("INSERT INTO rows_ VALUES (1)")
    add(project, "20250101000000_touch.sql", "UPDATE rows_ SET id = 1 WHERE id = 1;\n")
    holder = psycopg.connect(db_url, application_name="row-holder")
    try:
        holder.execute("UPDATE rows_ SET id = 1 WHERE id = 1")  # a row lock, and ROW EXCLUSIVE on the table
        result = lockgate("run", "--lock-timeout", "100ms", "--lock-retries", "0", "--no-lint")
    finally:
        holder.close()
    assert result.code == 1, result.text
    assert "lock timeout" in result.err and "blocked by" not in result.err
