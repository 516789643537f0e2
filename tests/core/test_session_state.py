"""Every migration starts from the same session state, however a deploy is split into runs.

A migration that runs ``SET search_path`` (not ``SET LOCAL``), ``SET ROLE``, ``SET SESSION
CHARACTERISTICS``, ``PREPARE`` or creates a temp table changes the session for whatever runs after it
on the same connection. The runner undoes all of it in the migration's own transaction; these tests
show the outcome no longer depends on which migrations share a ``run``."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.config import load_config
from lockgate.db import DatabaseTarget
from lockgate.service import run as run_service
from pg_databases import fresh_database

pytestmark = pytest.mark.db


def user_tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname IN ('public', 'a', 'b') "
        "AND tablename NOT LIKE 'schema_migrations%'"
    ).fetchall()
    return {str(row[0]) for row in rows}


def statuses(conn: psycopg.Connection) -> list[str]:
    return [
        str(row[0]) for row in conn.execute("SELECT status FROM public.schema_migrations ORDER BY version")
    ]


LEAKS = [
    pytest.param("CREATE SCHEMA x;\nSET search_path = x;\n", id="set-search-path"),
    pytest.param(
        "CREATE SCHEMA x;\nSELECT set_config('search_path', 'x', false);\n", id="set-config-function"
    ),
    pytest.param("CREATE SCHEMA x;\nSET SESSION search_path TO x, public;\n", id="set-session"),
    pytest.param(
        "CREATE SCHEMA x;\nCREATE FUNCTION x.go() RETURNS void LANGUAGE sql AS $$ SELECT set_config('search_path', "
        "'x', false) $$;\nSELECT x.go();\n",
        id="inside-a-function",
    ),
]


@pytest.mark.parametrize("first", LEAKS)
def test_search_path_does_not_leak_into_the_next_migration(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, first: str
) -> None:
    add(project, "20250101000000_first.sql", first)
    add(project, "20250102000000_second.sql", "CREATE TABLE y (id int);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert user_tables(conn) == {"public.y"}


@pytest.mark.parametrize(
    "first",
    [
        pytest.param("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;\n", id="session-read-only"),
        pytest.param("SET default_transaction_read_only = on;\n", id="default-read-only"),
        pytest.param("SET ROLE anon;\n", id="set-role"),
        pytest.param("SET SESSION AUTHORIZATION anon;\n", id="session-authorization"),
        pytest.param("SET statement_timeout = '1ms';\n", id="tiny-statement-timeout"),
    ],
)
def test_session_changes_do_not_break_the_next_migration(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, first: str
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n" + first)
    add(project, "20250102000000_second.sql", "CREATE TABLE second AS SELECT 1 AS one FROM pg_sleep(0.01);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert statuses(conn) == ["applied", "applied"]
    owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'second'").fetchone()
    assert owner == conn.execute("SELECT current_user").fetchone()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            "PREPARE p AS SELECT 1;\n", "PREPARE p AS SELECT 2;\nCREATE TABLE done (id int);\n", id="prepare"
        ),
        pytest.param(
            "CREATE TEMP TABLE scratch (id int);\n",
            "CREATE TEMP TABLE scratch (id int);\nCREATE TABLE done (id int);\n",
            id="temp-table",
        ),
        pytest.param(
            "SELECT pg_advisory_lock(42);\n",
            "CREATE TABLE done AS SELECT count(*) AS held FROM pg_locks "
            "WHERE locktype = 'advisory' AND objid = 42 AND pid = pg_backend_pid();\n",
            id="session-advisory-lock",
        ),
    ],
)
def test_session_objects_are_gone_before_the_next_migration(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, first: str, second: str
) -> None:
    add(project, "20250101000000_first.sql", first)
    add(project, "20250102000000_second.sql", second)
    result = lockgate("run")
    assert result.code == 0, result.text
    assert "public.done" in user_tables(conn)
    if "held" in second:
        assert conn.execute("SELECT held FROM done").fetchone() == (0,)


def test_no_transaction_file_changes_do_not_leak(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_schema.sql", "CREATE SCHEMA x;\nCREATE TABLE public.t (a int);\n")
    add(
        project,
        "20250102000000_index.sql",
        "-- lockgate: no-transaction\nSET search_path = x;\nSET ROLE anon;\nRESET ROLE;\n"
        "CREATE INDEX CONCURRENTLY t_a ON public.t (a);\n",
    )
    add(project, "20250103000000_after.sql", "CREATE TABLE y (id int);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert "public.y" in user_tables(conn) and "x.y" not in user_tables(conn)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(
            "CREATE TABLE t (id int);\nSELECT set_config('transaction_read_only', 'on', true);\n",
            "while recording the migration: cannot execute",
            id="read-only-after-the-body",
        ),
        pytest.param(
            "CREATE TABLE parent (id int PRIMARY KEY);\nCREATE TABLE child (parent_id int REFERENCES parent "
            "DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO child VALUES (1);\n",
            "at COMMIT: insert or update on table",
            id="deferred-constraint-at-commit",
        ),
        pytest.param(
            "CREATE TABLE t (id int);\nDROP TABLE public.schema_migrations_log;\n",
            "while recording the migration",
            id="audit-table-dropped",
        ),
    ],
)
def test_a_failure_after_the_body_is_still_recorded(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, body: str, words: str
) -> None:
    add(project, "20250101000000_ok.sql", "CREATE TABLE ok (id int);\n")
    add(project, "20250102000000_late.sql", body)
    result = lockgate("run")
    assert result.code == 1, result.text
    assert words in result.err, result.err
    assert "Traceback" not in result.text
    assert statuses(conn) == ["applied", "failed"]
    message = conn.execute("SELECT error_message FROM schema_migrations WHERE status = 'failed'").fetchone()
    assert message is not None and words in str(message[0])
    assert user_tables(conn) == {"public.ok"}, "the failed migration rolled back as a whole"
    logged = conn.execute("SELECT outcome FROM schema_migrations_log ORDER BY log_id").fetchall()
    assert [row[0] for row in logged] == ["applied", "failed"]


# -- the property: one run and every split of it build the same schema -----------------------------------
_OPS = st.sampled_from(
    [
        "SET search_path = a",
        "SET search_path = b, public",
        "SELECT set_config('search_path', 'b', false)",
        "RESET search_path",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "SET default_transaction_read_only = on",
        "CREATE TEMP TABLE IF NOT EXISTS scratch (id int)",
        "SET ROLE anon",
        "RESET ROLE",
        "CREATE TABLE IF NOT EXISTS {table} (id int)",
        "CREATE TABLE IF NOT EXISTS {table}_more (id int)",
    ]
)
_MIGRATIONS = st.lists(st.lists(_OPS, min_size=1, max_size=4), min_size=2, max_size=4)


def _schema(url: str) -> tuple[set[str], list[str]]:
    with psycopg.connect(url) as check:
        return user_tables(check), statuses(check)


def _prepared(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE SCHEMA a; CREATE SCHEMA b; GRANT USAGE, CREATE ON SCHEMA a, b, public TO anon")
    return url


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(migrations=_MIGRATIONS)
def test_one_run_and_every_split_build_the_same_schema(
    tmp_path_factory: pytest.TempPathFactory, pg_server_url: str, migrations: list[list[str]]
) -> None:
    project = tmp_path_factory.mktemp("split")
    (project / "migrations").mkdir()
    versions = []
    for number, operations in enumerate(migrations):
        version = 20250101000000 + number
        versions.append(version)
        sql = ";\n".join(op.format(table=f"t{number}") for op in operations) + ";\n"
        (project / "migrations" / f"{version}_m{number}.sql").write_text(sql)
    config = load_config(project, overrides={"retry_backoff": "10ms"})
    with fresh_database(pg_server_url, "lg_prop") as whole:
        run_service(config, DatabaseTarget(_prepared(whole), "test"))
        expected = _schema(whole)
    assert expected[1] == ["applied"] * len(migrations)
    for split_after in versions[:-1]:
        with fresh_database(pg_server_url, "lg_prop") as url:
            run_service(config, DatabaseTarget(_prepared(url), "test"), to_version=split_after)
            run_service(config, DatabaseTarget(url, "test"))
            assert _schema(url) == expected, (split_after, migrations)
