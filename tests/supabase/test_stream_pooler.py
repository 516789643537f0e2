"""The streamed run behind a transaction pooler (PgBouncer, pool_mode = transaction): the session marker
(``lockgate.stale``) is session state of a *server* connection, which outlives lockgate's client
connection and is handed to its next one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sbhelpers import pooled_url

from cli_runner import CliResult

pytestmark = pytest.mark.db

Lockgate = Callable[..., CliResult]


DEFAULTS = (
    "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.tenant = %L', session_user, "
    "current_database(), 'acme'); END $$;\n"
)


@pytest.mark.parametrize(
    "changing",
    [
        pytest.param(DEFAULTS, id="role-defaults"),
        pytest.param("DO $$ BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$;\n", id="dynamic-prepare"),
    ],
)
def test_a_marker_left_on_a_pooled_server_connection_neither_loops_nor_fails_a_run(
    sb_project: Path,
    lockgate: Lockgate,
    conn: psycopg.Connection,
    pgbouncer: object,
    tcp_url: str,
    mends: list[str],
    changing: str,
) -> None:
    """Reconnecting to the pooler hands the same server connection back, marker and all."""
    url = pooled_url(pgbouncer, tcp_url)
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20250101000000_first.sql").write_text(
        changing + "CREATE TABLE public.t1 (id int);\n", "utf-8"
    )
    (migrations / "20250102000000_second.sql").write_text("CREATE TABLE public.t2 (id int);\n", "utf-8")
    (migrations / "20250103000000_third.sql").write_text("CREATE TABLE public.t3 (id int);\n", "utf-8")
    result = lockgate("run", "--database-url", url)
    assert result.code == 0, result.text
    (migrations / "20250104000000_fourth.sql").write_text("CREATE TABLE public.t4 (id int);\n", "utf-8")
    result = lockgate("run", "--database-url", url)
    assert result.code == 0, result.text
    applied = conn.execute(
        "SELECT count(*) FROM public.schema_migrations WHERE status = 'applied'"
    ).fetchone()
    assert applied == (4,)
    for table in ("t1", "t2", "t3", "t4"):
        assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone() == (True,)


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_a_lock_timeout_retry_and_a_dynamic_deallocate_all_behind_the_pooler_leave_nothing_prepared(
    sb_project: Path,
    lockgate: Lockgate,
    conn: psycopg.Connection,
    pgbouncer: object,
    tcp_url: str,
    mode: tuple[str, ...],
) -> None:
    """Each retried or re-sent stream prepares under fresh names on whatever server connection it gets;
    every one is closed, the aborted ones too. Every server connection of the pool is held and asked."""
    import threading

    url = pooled_url(pgbouncer, tcp_url)
    conn.execute("CREATE TABLE public.busy (id int)")
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20250101000000_first.sql").write_text("CREATE TABLE public.t1 (id int);\n", "utf-8")
    (migrations / "20250102000000_blocked.sql").write_text(
        "ALTER TABLE public.busy ADD COLUMN n int;\n", "utf-8"
    )
    (migrations / "20250103000000_drops.sql").write_text(
        "DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$;\nCREATE TABLE public.t3 (id int);\n", "utf-8"
    )
    (migrations / "20250104000000_fourth.sql").write_text("CREATE TABLE public.t4 (id int);\n", "utf-8")
    blocker = psycopg.connect(tcp_url)
    blocker.execute("LOCK TABLE public.busy IN ACCESS SHARE MODE")
    release = threading.Timer(1.0, blocker.rollback)
    release.start()
    try:
        result = lockgate(
            "run", "--database-url", url, "--lock-timeout", "200ms", "--lock-retries", "10", *mode
        )
    finally:
        release.join()
        blocker.close()
    assert result.code == 0, result.text
    applied = conn.execute(
        "SELECT count(*) FROM public.schema_migrations WHERE status = 'applied'"
    ).fetchone()
    assert applied == (4,)
    retried = conn.execute(
        "SELECT count(*) > 0 FROM public.schema_migrations_log WHERE outcome = 'lock-timeout'"
    )
    assert retried.fetchone() == (True,)
    pooled = [psycopg.connect(url) for _ in range(4)]
    try:
        left = set()
        for connection in pooled:
            rows = connection.execute("SELECT name FROM pg_prepared_statements").fetchall()
            left.update(str(row[0]) for row in rows)
        assert left == set()
    finally:
        for connection in pooled:
            connection.close()


HOSTILE = "INSERT INTO public.t VALUES ('o''brien \\ \"x\" 日本'), (E'e\\\\scape');\n"


@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_supabase_history_written_alongside_files_that_end_a_stream_early(
    sb_project: Path, lockgate: Lockgate, conn: psycopg.Connection, mode: tuple[str, ...]
) -> None:
    """The shared-history hook writes in every file's batch, also in the batches sent again after the
    session was mended (role defaults changed: a new connection whose database reads strings with
    standard_conforming_strings off; a statement prepared or every one dropped in dynamic SQL)."""
    from lockgate.supabase.split import split_statements

    database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    files = {
        "20250101000000_t.sql": "CREATE TABLE public.t (v text);\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\n",
        "20250102000000_defaults.sql": f'ALTER DATABASE "{database[0]}" SET standard_conforming_strings = off;\n',
        "20250103000000_hostile.sql": HOSTILE,
        "20250104000000_hidden.sql": "DO $$ BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$;\n" + HOSTILE,
        "20250105000000_drops.sql": "DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$;\n" + HOSTILE,
    }
    migrations = sb_project / "supabase" / "migrations"
    for name, text in files.items():
        (migrations / name).write_text(text, "utf-8")
    try:
        result = lockgate("run", *mode)
    finally:
        conn.execute(f'ALTER DATABASE "{database[0]}" RESET standard_conforming_strings')
    assert result.code == 0, result.text
    rows = conn.execute(
        "SELECT version, statements FROM supabase_migrations.schema_migrations ORDER BY version"
    ).fetchall()
    assert rows == [(name[:14], split_statements(text)) for name, text in files.items()]
    values = conn.execute("SELECT v, count(*) FROM public.t GROUP BY v ORDER BY v").fetchall()
    assert values == [("e\\scape", 3), ('o\'brien \\ "x" 日本', 3)]
