"""Shared history with the real Supabase CLI: lockgate's runs are invisible to ``supabase db push`` and back.

Each test drives the real ``supabase`` binary (npm package, pinned) with ``--db-url`` against the test
database, and lockgate's CLI in-process, in one Supabase project directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sbhelpers import FIXTURES, copy_sample, migration_list

from cli_runner import CliResult
from lockgate.supabase.split import split_statements

pytestmark = [pytest.mark.db, pytest.mark.slow]

Lockgate = Callable[..., CliResult]
Supabase = Callable[..., subprocess.CompletedProcess[str]]


def supabase_rows(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, tuple[str, list[str]]]:
    rows = conn.execute(
        "SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version"
    ).fetchall()
    return {str(v): (str(n), list(s)) for v, n, s in rows}  # type: ignore[call-overload]


def test_lockgate_run_is_what_supabase_db_push_would_have_done(
    sb_project: Path, lockgate: Lockgate, supabase: Supabase, conn: psycopg.Connection
) -> None:
    versions = copy_sample(sb_project)
    shutil.copy(FIXTURES / "20250901000000_split_tricky.sql", sb_project / "supabase" / "migrations")
    versions.append("20250901000000")
    result = lockgate("run")
    assert result.code == 0, result.text
    rows = supabase_rows(conn)
    assert sorted(rows) == versions
    for path in (sb_project / "supabase" / "migrations").glob("*.sql"):
        version, name = path.name[: -len(".sql")].split("_", 1)
        assert rows[version] == (name, split_statements(path.read_bytes().decode("utf-8")))
    listed = migration_list(supabase("migration", "list"))
    assert listed == [(v, v) for v in versions]
    dry = supabase("db", "push", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Remote database is up to date" in dry.stdout + dry.stderr


def test_supabase_push_then_adopt_then_status_is_clean(
    sb_project: Path, lockgate: Lockgate, supabase: Supabase, conn: psycopg.Connection
) -> None:
    versions = copy_sample(sb_project)
    shutil.copy(FIXTURES / "20250901000000_split_tricky.sql", sb_project / "supabase" / "migrations")
    # Windows line endings and multi-byte text are stored by the CLI as they are in the file.
    (sb_project / "supabase" / "migrations" / "20250901000100_crlf.sql").write_bytes(
        "-- Crème brûlée ☕; notes\r\nCREATE TABLE public.crlf (id int);\r\n\r\nCOMMENT ON TABLE public.crlf IS 'é;ü';\r\n".encode()
    )
    versions.append("20250901000100")
    pushed = supabase("db", "push")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    # The CLI's own rows are exactly what lockgate's splitter produces for the same files.
    for path in (sb_project / "supabase" / "migrations").glob("*.sql"):
        stored = supabase_rows(conn)[path.name.split("_", 1)[0]][1]
        assert stored == split_statements(path.read_bytes().decode("utf-8")), path.name
    blocked = lockgate("run")
    assert blocked.code == 1 and "lockgate adopt" in blocked.err, blocked.text
    assert "not-adopted" in lockgate("validate").err
    adopted = lockgate("adopt")
    assert adopted.code == 0, adopted.text
    assert f"{len(versions) + 1} adopted" in adopted.out and "0 warning(s)" in adopted.out, adopted.text
    status = lockgate("status")
    assert status.code == 0 and "no validation problems" in status.out, status.text
    assert lockgate("validate").code == 0
    assert "nothing to do" in lockgate("run").out
    metadata = conn.execute(
        "SELECT DISTINCT status, metadata->>'source' FROM public.schema_migrations"
    ).fetchall()
    assert metadata == [("baselined", "supabase")]
    # A new migration applied by lockgate after adopting is then known to supabase as well.
    (sb_project / "supabase" / "migrations" / "20250902000000_more.sql").write_text(
        "CREATE TABLE public.more (id int);\n", encoding="utf-8"
    )
    assert lockgate("run").code == 0
    dry = supabase("db", "push", "--dry-run")
    assert "Remote database is up to date" in dry.stdout + dry.stderr


def test_file_edited_after_push_is_reported_by_adopt_and_validate(
    sb_project: Path, lockgate: Lockgate, supabase: Supabase
) -> None:
    copy_sample(sb_project)
    assert supabase("db", "push").returncode == 0
    path = sb_project / "supabase" / "migrations" / "20250829120000_add_user_preferences.sql"
    text = path.read_text(encoding="utf-8")
    assert "theme TEXT" in text
    path.write_text(text.replace("theme TEXT", "theme VARCHAR(20)", 1), encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "theme TEXT" in row)
    adopted = lockgate("adopt")
    assert adopted.code == 0, adopted.text
    assert f"{path}:{line}: edited after `supabase db push` applied it — statement 2 differs" in adopted.err
    assert (
        "now `theme VARCHAR(20)" in adopted.err
        and "pushed `theme TEXT" in adopted.err
        and "1 warning(s)" in adopted.out
    )
    validated = lockgate("validate")
    assert "[supabase-statements-differ]" in validated.err and f"{path.name}:{line}" in validated.err
    assert validated.code == 0  # a warning: the database has the pushed version, nothing is broken
    # A pushed version whose file is gone: lockgate says so (and how to fix it) before `db push` fails on it.
    (sb_project / "supabase" / "migrations" / "20250828100300_backup_functions.sql").unlink()
    missing = lockgate("validate")
    assert (
        missing.code == 1
        and "[supabase-missing-file] version 20250828100300 (backup_functions)" in missing.err
    )
    dry = supabase("db", "push", "--dry-run")
    assert dry.returncode != 0 and "20250828100300" in dry.stdout + dry.stderr


def test_non_ascii_dollar_tags_and_identifiers_split_like_the_cli(
    sb_project: Path, supabase: Supabase, conn: psycopg.Connection
) -> None:
    text = 'SELECT $é$a;b$é$;\nSELECT 1 AS "é;x";\nSELECT $ü1$ ; $ü1$ AS "naïve"\n'
    (sb_project / "supabase" / "migrations" / "20250101000000_tags.sql").write_text(text, encoding="utf-8")
    pushed = supabase("db", "push")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert supabase_rows(conn)["20250101000000"][1] == split_statements(text)
    assert len(split_statements(text)) == 3


def test_adopt_without_supabase_history_is_one_line(sb_project: Path, lockgate: Lockgate) -> None:
    copy_sample(sb_project)
    result = lockgate("adopt")
    assert result.code == 1 and "nothing to adopt" in result.err and "lockgate baseline" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_failed_migration_leaves_no_supabase_row_and_non_transactional_gets_one(
    sb_project: Path, lockgate: Lockgate, supabase: Supabase, conn: psycopg.Connection
) -> None:
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20250101000000_table.sql").write_text("CREATE TABLE public.t (id int);\n", "utf-8")
    (migrations / "20250102000000_index.sql").write_text(
        "CREATE INDEX CONCURRENTLY t_id_idx ON public.t (id);\n", "utf-8"
    )
    (migrations / "20250103000000_broken.sql").write_text(
        "CREATE TABLE public.u (id int);\nALTER TABLE public.missing ADD COLUMN x int;\n", "utf-8"
    )
    result = lockgate("run")
    assert result.code == 1, result.text
    assert sorted(supabase_rows(conn)) == ["20250101000000", "20250102000000"]
    listed = migration_list(supabase("migration", "list"))
    assert listed == [
        ("20250101000000", "20250101000000"),
        ("20250102000000", "20250102000000"),
        ("20250103000000", ""),
    ]


def test_lockgate_history_without_supabase_rows_is_backfilled_by_adopt(
    sb_project: Path, lockgate: Lockgate, supabase: Supabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = copy_sample(sb_project)
    monkeypatch.setenv("LOCKGATE_SUPABASE", "false")
    assert lockgate("run").code == 0
    monkeypatch.setenv("LOCKGATE_SUPABASE", "true")
    validated = lockgate("validate")
    assert validated.code == 1 and validated.err.count("[supabase-unrecorded]") == len(versions)
    document = json.loads(lockgate("validate", "--json").out)
    assert document["valid"] is False
    assert [p["code"] for p in document["problems"]] == ["supabase-unrecorded"] * len(versions)
    adopted = lockgate("adopt")
    assert f"{len(versions)} added to Supabase's history" in adopted.out, adopted.text
    assert lockgate("validate").code == 0
    dry = supabase("db", "push", "--dry-run")
    assert "Remote database is up to date" in dry.stdout + dry.stderr


def test_role_that_may_not_create_supabase_history_gets_one_line(
    sb_project: Path, lockgate: Lockgate, db_url: str, pg_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from lockgate.history import History

    role = f"lg_sb_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url, autocommit=True) as admin:
        # lockgate's own tables exist and are writable: only Supabase's history cannot be created.
        History(admin, "public.schema_migrations", "public.schema_migrations_log").ensure()
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT CREATE ON SCHEMA public TO "{role}"')
        admin.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
        admin.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    params = {k: str(v) for k, v in conninfo_to_dict(db_url).items() if v is not None}
    params["user"] = role
    copy_sample(sb_project)
    monkeypatch.setenv("LOCKGATE_SUPABASE", "true")
    try:
        result = lockgate("run", "--database-url", make_conninfo(**params))
        assert result.code == 2, result.text
        assert (
            "cannot create or upgrade supabase_migrations.schema_migrations (permission denied" in result.err
        )
        assert "Traceback" not in result.text and len(result.err.strip().splitlines()) == 1
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_adopt_replaces_a_failed_lockgate_record_of_a_pushed_version(
    sb_project: Path, lockgate: Lockgate, conn: psycopg.Connection
) -> None:
    path = sb_project / "supabase" / "migrations" / "20250101000000_table.sql"
    path.write_text("CREATE TABLE public.t (id int);\nSELECT 1 / 0;\n", encoding="utf-8")
    assert lockgate("run").code == 1  # failed: lockgate's record says so, Supabase's table has no row
    # Someone fixed the file and pushed it with the Supabase CLI.
    path.write_text("CREATE TABLE public.t (id int);\n", encoding="utf-8")
    conn.execute("CREATE TABLE public.t (id int)")
    conn.execute(
        "INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES (%s, %s, %s)",
        ("20250101000000", "table", split_statements(path.read_text(encoding="utf-8"))),
    )
    assert "lockgate adopt" in lockgate("run").err
    assert (
        "but lockgate recorded it as failed; `lockgate run` would apply it again" in lockgate("validate").err
    )
    adopted = lockgate("adopt")
    assert "1 adopted, 0 already recorded" in adopted.out, adopted.text
    assert conn.execute("SELECT status FROM public.schema_migrations").fetchall() == [("baselined",)]
    assert "nothing to do" in lockgate("run").out
