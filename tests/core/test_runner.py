"""The runner against real PostgreSQL: atomicity, failures, transaction modes, dry-run, repair."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_helpers import SAMPLE, CliRunner, add

pytestmark = pytest.mark.db


def tables(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    rows = conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    return {str(r[0]) for r in rows}


def records(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT version, status, error_message, metadata FROM public.schema_migrations ORDER BY version"
    ).fetchall()


def log(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT version, action, outcome, sqlstate, error_line FROM public.schema_migrations_log ORDER BY log_id"
    ).fetchall()


def test_sample_project_applies_and_is_recorded(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    shutil.copytree(SAMPLE, project / "migrations", dirs_exist_ok=True)
    result = lockgate("run")
    assert result.code == 0, result.text
    assert "applied 5 migration(s)" in result.out
    rows = records(conn)
    assert [r[1] for r in rows] == ["applied"] * 5
    metadata = rows[0][3]
    assert isinstance(metadata, dict)
    assert metadata["via"] == "cli" and metadata["statements"] == 8 and metadata["transactional"] is True
    assert {"lockgate_version", "actor", "host"} <= metadata.keys()
    assert "public.user_preferences" in tables(conn)
    assert "nothing to do: every migration is applied" in lockgate("run").out
    assert [row[2] for row in log(conn)] == ["applied"] * 5


def test_failing_migration_leaves_no_trace_and_stops(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_ok.sql", "CREATE TABLE ok_table (id int);\n")
    add(
        project,
        "20250102000000_broken.sql",
        "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\n\nALTER TABLE missing_table\n  ADD COLUMN x int;\n",
    )
    add(project, "20250103000000_after.sql", "CREATE TABLE after_table (id int);\n")
    result = lockgate("run")
    assert result.code == 1
    assert (
        'migrations/20250102000000_broken.sql:4: relation "missing_table" does not exist (SQLSTATE 42P01)'
        in result.err
    )
    assert "Traceback" not in result.text
    assert "public.half_done" not in tables(conn)
    assert "public.after_table" not in tables(conn)
    rows = records(conn)
    assert [(r[0], r[1]) for r in rows] == [(20250101000000, "applied"), (20250102000000, "failed")]
    assert "42P01" in str(rows[1][3]["sqlstate"]) and rows[1][3]["error_line"] == 4
    assert "does not exist" in str(rows[1][2])
    assert log(conn)[-1] == (20250102000000, "run", "failed", "42P01", 4)


def test_a_migration_whose_traffic_fills_the_socket_both_ways_applies_and_names_its_failing_line(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """A migration's queries travel in one batch (lockgate/batch.py): thousands of statements, ~8 MB of
    SQL, and statements whose results (~16 MB) the server sends back while the client is still sending —
    neither side may wait for the other for ever; and a failure at the end of such a file still names
    its line."""
    inserts = "".join(f"INSERT INTO bulk VALUES ({i}, '{'x' * 2000}');\n" for i in range(4000))
    chatty = "SELECT repeat('y', 4000) FROM generate_series(1, 4000);\n"
    add(
        project,
        "20250101000000_bulk.sql",
        "CREATE TABLE bulk (id int, pad text);\n" + chatty + inserts + chatty,
    )
    broken = (
        "CREATE TABLE bulk2 (id int, pad text);\n"
        + chatty
        + inserts.replace("bulk", "bulk2")
        + "SELECT 1 / 0;\n"
    )
    add(project, "20250102000000_bulk_broken.sql", broken)
    result = lockgate("run")
    assert result.code == 1, result.text
    assert conn.execute("SELECT count(*) FROM bulk").fetchone() == (4000,)
    assert "public.bulk2" not in tables(conn)
    assert "migrations/20250102000000_bulk_broken.sql:4003: division by zero (SQLSTATE 22012)" in result.err


def test_failed_transactional_migration_is_retried_after_a_fix(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    path = add(project, "20250101000000_fix_me.sql", "CREATE TABLE t (id int REFERENCES nowhere (id));\n")
    assert lockgate("run").code == 1
    validate = lockgate("validate")
    assert validate.code == 0 and "will retry it" in validate.err
    path.write_text("CREATE TABLE t (id int);\n", encoding="utf-8")
    assert lockgate("run").code == 0
    assert [r[1] for r in records(conn)] == ["applied"]
    assert [row[2] for row in log(conn)] == ["failed", "applied"]


def test_wrapped_file_is_atomic(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(
        project,
        "20250101000000_wrapped.sql",
        "BEGIN;\nCREATE TABLE w1 (id int);\nCREATE TABLE w1 (id int);\nCOMMIT;\n",
    )
    result = lockgate("run")
    assert result.code == 1 and ':3: relation "w1" already exists' in result.err
    assert "public.w1" not in tables(conn)


def test_wrapped_file_applies_like_unwrapped(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_wrapped.sql", "BEGIN;\nCREATE TABLE w1 (id int);\nCOMMIT;\n")
    assert lockgate("run").code == 0
    assert records(conn)[0][3]["statements"] == 1


def test_concurrent_index_file_runs_outside_a_transaction(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_table.sql", "CREATE TABLE big (id int, email text);\n")
    add(project, "20250102000000_index.sql", "CREATE INDEX CONCURRENTLY big_email_idx ON big (email);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    rows = records(conn)
    assert rows[1][3]["transactional"] is False
    assert conn.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_email_idx'::regclass"
    ).fetchone() == (True,)


def test_mixed_file_is_rejected_before_anything_runs(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first_table (id int);\n")
    add(
        project,
        "20250102000000_mixed.sql",
        "CREATE TABLE m (id int);\n\nCREATE INDEX CONCURRENTLY m_idx ON m (id);\n",
    )
    result = lockgate("run")
    assert result.code == 1
    assert (
        "20250102000000_mixed.sql:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
        in result.err
    )
    assert "-- lockgate: no-transaction" in result.err
    assert "public.first_table" not in tables(conn)
    assert "public.m" not in tables(conn)


def test_stray_commit_is_rejected_before_anything_runs(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(
        project,
        "20250101000000_commit.sql",
        "CREATE TABLE c1 (id int);\nCOMMIT;\nCREATE TABLE c2 (id int);\n",
    )
    result = lockgate("run")
    assert result.code == 1 and "_commit.sql:2: COMMIT inside a migration" in result.err
    assert "public.c1" not in tables(conn)


def test_no_transaction_file_records_progress_and_blocks_until_repair(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    manual = add(
        project,
        "20250101000000_manual.sql",
        "-- lockgate: no-transaction\nCREATE TABLE nt (id int);\nCREATE INDEX CONCURRENTLY nt_idx ON nt (id);\n"
        "INSERT INTO nt VALUES ('not a number');\nCREATE TABLE never (id int);\n",
    )
    add(project, "20250102000000_later.sql", "CREATE TABLE later (id int);\n")
    result = lockgate("run")
    assert result.code == 1
    assert "_manual.sql:4: invalid input syntax for type integer" in result.err
    assert "2 statement(s) had already run" in result.err
    assert "public.nt" in tables(conn) and "public.never" not in tables(conn)
    (row,) = records(conn)
    assert row[1] == "failed" and row[3]["statements_completed"] == 2 and row[3]["transactional"] is False
    blocked = lockgate("run")
    assert blocked.code == 1 and "lockgate repair" in blocked.err and "public.later" not in tables(conn)
    conn.execute("DROP TABLE nt")
    manual.write_text(manual.read_text(encoding="utf-8").replace("'not a number'", "1"), encoding="utf-8")
    repaired = lockgate("repair")
    assert repaired.code == 0 and "cleared failed record" in repaired.out
    assert lockgate("run").code == 0
    assert "public.never" in tables(conn) and "public.later" in tables(conn)
    outcomes = [row[2] for row in log(conn)]
    # A non-transactional file is logged when it starts, so even a killed run leaves a trace.
    assert outcomes == ["running", "failed", "cleared", "running", "applied", "applied"]


def test_dry_run_rolls_everything_back(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE dry_a (id int);\n")
    add(project, "20250102000000_b.sql", "INSERT INTO dry_a VALUES (1);\n")
    add(project, "20250103000000_c.sql", "CREATE INDEX CONCURRENTLY dry_idx ON dry_a (id);\n")
    result = lockgate("run", "--dry-run", "--json")
    assert result.code == 0, result.text
    import json

    document = json.loads(result.out)
    assert [r["outcome"] for r in document["results"]] == ["dry-run-ok", "dry-run-ok", "not-tried"]
    assert "public.dry_a" not in tables(conn)
    assert conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() == (None,)


def test_dry_run_reports_the_failing_file(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE dry_a (id int);\n")
    add(project, "20250102000000_b.sql", "SELECT 1;\nINSERT INTO dry_a VALUES ('x');\n")
    result = lockgate("run", "--dry-run")
    assert result.code == 1 and "_b.sql:2: invalid input syntax" in result.err
    assert "public.dry_a" not in tables(conn)


def test_run_to_version_stops_there(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    for day in (1, 2, 3):
        add(project, f"2025010{day}000000_t{day}.sql", f"CREATE TABLE t{day} (id int);\n")
    assert lockgate("run", "--to", "20250102000000").code == 0
    assert [r[0] for r in records(conn)] == [20250101000000, 20250102000000]


def test_foreign_tracking_table_is_refused_untouched(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    conn.execute("CREATE TABLE public.schema_migrations (version varchar PRIMARY KEY)")
    conn.execute("INSERT INTO public.schema_migrations VALUES ('20200101000000')")
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    for command in ("run", "status"):
        result = lockgate(command)
        assert result.code == 2
        assert "public.schema_migrations exists but is not a lockgate tracking table" in result.err
    assert conn.execute("SELECT count(*) FROM public.schema_migrations").fetchone() == (1,)
    assert "public.a" not in tables(conn)


def test_foreign_audit_log_table_is_refused_naming_its_setting(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    conn.execute("CREATE TABLE public.schema_migrations_log (note text)")
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    for command in ("run", "status"):
        result = lockgate(command)
        assert result.code == 2
        assert "public.schema_migrations_log exists but is not a lockgate audit log table" in result.err
        assert "`log_table = " in result.err and "LOCKGATE_LOG_TABLE" in result.err
        assert "LOCKGATE_TABLE" not in result.err.replace("LOCKGATE_LOG_TABLE", "")
    assert "public.a" not in tables(conn)


def test_custom_table_name(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("run", "--table", "ops.history").code == 0
    assert conn.execute("SELECT status FROM ops.history").fetchall() == [("applied",)]


def test_status_is_read_only_on_a_fresh_database(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    result = lockgate("status")
    assert result.code == 0 and "pending: 20250101000000_a.sql" in result.out
    assert conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() == (None,)


def test_baseline_marks_without_running(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    add(project, "20250102000000_b.sql", "CREATE TABLE b (id int);\n")
    add(project, "20250103000000_c.sql", "CREATE TABLE c (id int);\n")
    assert lockgate("baseline", "--version", "20250102000000").code == 0
    assert [(r[0], r[1]) for r in records(conn)] == [
        (20250101000000, "baselined"),
        (20250102000000, "baselined"),
    ]
    assert lockgate("run").code == 0
    assert tables(conn) >= {"public.c"} and "public.a" not in tables(conn)
    missing = lockgate("baseline", "--version", "20990101000000")
    assert missing.code == 1 and "no migration file has that version" in missing.err


def test_repair_accepts_an_edited_checksum_and_logs_the_old_one(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    path = add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("run").code == 0
    path.write_text("CREATE TABLE a (id bigint);\n", encoding="utf-8")
    assert lockgate("validate").code == 1
    assert lockgate("run").code == 1
    result = lockgate("repair")
    assert result.code == 0 and "accepted new checksum" in result.out
    assert lockgate("validate").code == 0
    row = conn.execute(
        "SELECT previous_checksum IS NOT NULL, checksum FROM public.schema_migrations_log WHERE outcome = 'checksum-accepted'"
    ).fetchone()
    assert row is not None and row[0] is True


def test_list_and_status_json(project: Path, lockgate: CliRunner) -> None:
    import json

    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    add(project, "20250102000000_b.sql", "CREATE TABLE b (id int);\n")
    assert lockgate("run", "--to", "20250101000000").code == 0
    status = json.loads(lockgate("status", "--json").out)
    assert status["counts"]["applied"] == 1 and status["counts"]["pending"] == 1
    assert status["latest_applied"]["version"] == 20250101000000
    listing = lockgate("list")
    assert "20250101000000  a     applied" in listing.out and "pending" in listing.out
    assert json.loads(lockgate("list", "--json").out)["migrations"][1]["state"] == "pending"


def test_applied_hooks_commit_or_roll_back_with_the_migration(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    """Extra records (Supabase's history row) share the migration's transaction."""
    from lockgate.config import load_config
    from lockgate.db import DatabaseTarget
    from lockgate.service import run

    add(project, "20250101000000_a.sql", "CREATE TABLE hooked (id int);\n")
    add(project, "20250102000000_b.sql", "CREATE TABLE refused (id int);\n")
    conn.execute("CREATE TABLE extra_record (version bigint)")

    def record(connection: psycopg.Connection, migration: object) -> None:
        version = migration.version  # type: ignore[attr-defined]
        connection.execute("INSERT INTO extra_record VALUES (%s)", (version,))
        if version == 20250102000000:
            raise psycopg.errors.RaiseException("hook refused")

    config = load_config(project, environ={})
    outcome = run(config, DatabaseTarget(db_url, "test"), on_applied=[record])
    assert [r.outcome for r in outcome.result.results] == ["applied", "failed"]
    assert conn.execute("SELECT version FROM extra_record").fetchall() == [(20250101000000,)]
    assert conn.execute("SELECT to_regclass('public.refused')").fetchone() == (None,)


def test_a_hook_write_the_server_refuses_fails_its_migration_alone(
    project: Path, db_url: str, conn: psycopg.Connection
) -> None:
    """A hook's writes travel in the migration's single round trip and their answers are never read by
    the hook: when the *server* refuses one, the migration fails as a recording failure and nothing of it
    (the body, the tracking row, the hook's other write) is committed; the migration before it stays."""
    from lockgate.config import load_config
    from lockgate.db import DatabaseTarget
    from lockgate.service import run

    add(project, "20250101000000_a.sql", "CREATE TABLE hooked (id int);\n")
    add(project, "20250102000000_b.sql", "CREATE TABLE refused (id int);\n")
    conn.execute("CREATE TABLE extra_record (version bigint CHECK (version < 20250102000000))")

    def record(connection: Any, migration: Any) -> None:
        connection.execute("INSERT INTO extra_record VALUES (%s)", (migration.version,))

    config = load_config(project, environ={})
    outcome = run(config, DatabaseTarget(db_url, "test"), on_applied=[record])
    results = outcome.result.results
    assert [r.outcome for r in results] == ["applied", "failed"]
    assert results[1].error is not None
    assert "while recording the migration" in results[1].error.message
    assert "extra_record_version_check" in results[1].error.message
    assert conn.execute("SELECT version FROM extra_record").fetchall() == [(20250101000000,)]
    assert conn.execute("SELECT to_regclass('public.refused')").fetchone() == (None,)
    statuses = conn.execute("SELECT version, status FROM schema_migrations ORDER BY version").fetchall()
    assert statuses == [(20250101000000, "applied"), (20250102000000, "failed")]


@pytest.mark.parametrize("conforming", ["on", "off"])
def test_values_bound_client_side_reach_the_tracking_and_audit_rows_exactly(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    conforming: str,
) -> None:
    """A migration's tracking and audit rows travel as literals in its batch (one round trip): quotes,
    backslashes, a would-be statement end and non-ASCII text (here in the actor and the file's name) arrive
    exactly as given, also on a database whose sessions start with standard_conforming_strings off (the
    literals are then E'' strings)."""
    conn.execute(f"ALTER DATABASE {conn.info.dbname} SET standard_conforming_strings = {conforming}")
    actor = "o'brien \\ \"x\" '); DROP TABLE t; -- 日本語 \\x41 $$"
    monkeypatch.setenv("GITHUB_ACTOR", actor)
    name = "20250101000000_it's_a\\b_日本.sql"
    add(project, name, "CREATE TABLE t (note text DEFAULT 'a\\b');\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    row = conn.execute(
        "SELECT name, metadata->>'actor', metadata->>'filename' FROM schema_migrations"
    ).fetchone()
    assert row == ("it's_a\\b_日本", actor, name)
    audit = conn.execute(
        "SELECT name, metadata->>'actor' FROM schema_migrations_log WHERE action = 'run'"
    ).fetchone()
    assert audit == ("it's_a\\b_日本", actor)
    assert conn.execute(
        "SELECT column_default FROM information_schema.columns WHERE table_name = 't'"
    ).fetchone() == ("'a\\b'::text",)
