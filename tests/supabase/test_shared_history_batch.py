"""Supabase's history row rides in the migration's batch (``on_applied`` writes through ``Batch.execute``,
bound client-side): hostile statement text must land in ``statements`` exactly as ``supabase db push`` would
store it, in a normal run and in --atomic, also where the database reads strings with
``standard_conforming_strings`` off by default. No Supabase CLI needed: the expected rows are computed
with lockgate's own copy of the CLI's splitter, which tests/supabase/test_shared_history.py checks against
the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sbhelpers import pooled_url

from cli_runner import CliResult
from lockgate.supabase.split import split_statements

pytestmark = pytest.mark.db

Lockgate = Callable[..., CliResult]

HOSTILE = (
    'CREATE TABLE public."tåble ""q"" 日本" (v text);\n'
    'INSERT INTO public."tåble ""q"" 日本" VALUES (\'o\'\'brien \\ {a,b} "x" NULL\'), (E\'e\\\\scape\\\'d\'), '
    "($$dollar ' \\ $$), (U&'\\00e9');\n"
    'ALTER TABLE public."tåble ""q"" 日本" ENABLE ROW LEVEL SECURITY;\n'
    'COMMENT ON TABLE public."tåble ""q"" 日本" IS \'NULL\';\n'
)


@pytest.mark.parametrize("scs_off", [False, True], ids=["strings-on", "strings-off-by-default"])
@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_hostile_statement_text_lands_in_supabase_history_exactly(
    sb_project: Path, lockgate: Lockgate, conn: psycopg.Connection, mode: tuple[str, ...], scs_off: bool
) -> None:
    if scs_off:
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(f'ALTER DATABASE "{database[0]}" SET standard_conforming_strings = off')
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20250101000000_hostile_ünï.sql").write_text(HOSTILE, "utf-8")
    second = "SELECT 'a\\''; SELECT 2; --';\nSELECT 1;\n"  # one string to a parser with strings on
    (migrations / "20250102000000_second.sql").write_text(second, "utf-8")
    result = lockgate("run", *mode)
    assert result.code == 0, result.text
    rows = conn.execute(
        "SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY version"
    ).fetchall()
    assert rows == [
        ("20250101000000", "hostile_ünï", split_statements(HOSTILE)),
        ("20250102000000", "second", split_statements(second)),
    ]
    values = conn.execute('SELECT v FROM public."tåble ""q"" 日本" ORDER BY v').fetchall()
    assert sorted(str(v[0]) for v in values) == sorted(
        ['o\'brien \\ {a,b} "x" NULL', "e\\scape'd", "dollar ' \\ ", "é"]
    )


# -- behind PgBouncer in transaction mode ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_batches_through_a_transaction_pooler_fail_at_their_line_and_reset_between_files(
    sb_project: Path,
    lockgate: Lockgate,
    conn: psycopg.Connection,
    pgbouncer: object,
    tcp_url: str,
    mode: tuple[str, ...],
) -> None:
    url = pooled_url(pgbouncer, tcp_url)
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20250101000000_first.sql").write_text(
        "CREATE TABLE public.t (id int);\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\nPREPARE p AS SELECT 1;\n"
        "SET search_path = nowhere;\n",
        "utf-8",
    )
    (migrations / "20250102000000_second.sql").write_text(
        "PREPARE p AS SELECT 2;\nCREATE TABLE u (id int);\n\nSELECT 1 / 0;\n", "utf-8"
    )
    failed = lockgate("run", "--database-url", url, *mode)
    assert failed.code == 1, failed.text
    assert "20250102000000_second.sql:4: division by zero (SQLSTATE 22012)" in failed.err, failed.err
    assert pgbouncer.password not in failed.text  # type: ignore[attr-defined]
    (migrations / "20250102000000_second.sql").write_text(
        "PREPARE p AS SELECT 2;\nCREATE TABLE u (id int);\nALTER TABLE u ENABLE ROW LEVEL SECURITY;\n",
        "utf-8",
    )
    fixed = lockgate("run", "--database-url", url, *mode)
    assert fixed.code == 0, fixed.text
    assert conn.execute("SELECT to_regclass('public.u') IS NOT NULL").fetchone() == (True,)


@pytest.mark.slow
def test_ctrl_c_through_a_transaction_pooler_cancels_the_statement_and_applies_nothing_of_it(
    sb_project: Path, conn: psycopg.Connection, pgbouncer: object, tcp_url: str
) -> None:
    """The cancel request goes through PgBouncer; if it were lost, the server would finish the statement
    and run the COMMIT already queued behind it."""
    url = pooled_url(pgbouncer, tcp_url)
    migrations = sb_project / "supabase" / "migrations"
    (migrations / "20250101000000_long.sql").write_text(
        "CREATE TABLE public.t (id int);\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\nSELECT pg_sleep(30);\n",
        "utf-8",
    )
    env = {**os.environ, "LOCKGATE_DATABASE_URL": url, "LOCKGATE_LINT_ON_RUN": "warn"}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "lockgate", "run"],
        cwd=sb_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' "
        "AND pid <> pg_backend_pid()"
    ).fetchone() == (0,):
        assert time.monotonic() < deadline, "the long statement never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err and pgbouncer.password not in out + err  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' "
        "AND pid <> pg_backend_pid()"
    ).fetchone() != (0,):
        assert time.monotonic() < deadline, "the statement went on running after Ctrl-C"
        time.sleep(0.05)
    assert conn.execute("SELECT to_regclass('public.t')").fetchone() == (None,)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [(), ("--atomic",)], ids=["run", "atomic"])
def test_no_prepared_statement_of_lockgate_outlives_a_run_on_the_poolers_server_connections(
    sb_project: Path,
    lockgate: Lockgate,
    conn: psycopg.Connection,
    pgbouncer: object,
    tcp_url: str,
    mode: tuple[str, ...],
) -> None:
    """A stream prepares lockgate's own statements on whatever server connection the pooler gave it, and
    closes them when it ends — after a failure too — so no pooled connection keeps them for its next
    client. Every server connection of the pool (default_pool_size = 4) is held at once and asked."""
    url = pooled_url(pgbouncer, tcp_url)
    migrations = sb_project / "supabase" / "migrations"
    for day in range(1, 6):
        (migrations / f"2025010{day}000000_t{day}.sql").write_text(
            f"CREATE TABLE public.t{day} (id int);\nALTER TABLE public.t{day} ENABLE ROW LEVEL SECURITY;\n",
            "utf-8",
        )
    (migrations / "20250106000000_fails.sql").write_text("SELECT 1 / 0;\n", "utf-8")
    failed = lockgate("run", "--database-url", url, *mode)
    assert failed.code == 1, failed.text
    (migrations / "20250106000000_fails.sql").write_text("SELECT 1;\n", "utf-8")
    assert lockgate("run", "--database-url", url, *mode).code == 0
    pooled = [psycopg.connect(url) for _ in range(4)]
    try:
        left = set()
        for connection in pooled:  # each holds a transaction open: four distinct server connections
            rows = connection.execute(
                "SELECT name FROM pg_prepared_statements WHERE name LIKE 'lockgate%'"
            ).fetchall()
            left.update(str(row[0]) for row in rows)
        assert left == set()
    finally:
        for connection in pooled:
            connection.close()
    applied = conn.execute(
        "SELECT count(*) FROM public.schema_migrations WHERE status = 'applied'"
    ).fetchone()
    assert applied == (6,)
