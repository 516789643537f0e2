"""What a migration does to its session must neither smuggle statements past the parser nor stop the
runner from recording what happened.

Three classes, each tried with more than one member:

- **Text the server reads differently from the parser.** lockgate splits a file with PostgreSQL's own
  parser, which reads string literals with ``standard_conforming_strings`` on. A file that turns it off
  (``SET``, ``set_config``) or a database whose default is off would make the server read ``'a\\'';
  DROP TABLE victim; --'`` as two commands where the parser saw one string. Every statement goes to the
  server through the extended protocol (one command per message, by construction), the setting is forced on
  for every migration, and a file that changes it (or ``client_encoding``) is refused before anything runs.
- **Bookkeeping that fails after the statements ran.** A no-transaction file's session settings must not
  stop its own tracking row from being written: the row ends ``applied`` or ``failed``, never ``running``,
  and the message names the file.
- **The reset itself must work for any role.** The session reset runs as the login role, whatever role the
  migration switched to, and works where that role may not use PL/pgSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db


def tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'schema_migrations%'"
    ).fetchall()
    return {str(row[0]) for row in rows}


def rows(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [
        (str(version), str(status))
        for version, status in conn.execute(
            "SELECT version, status FROM public.schema_migrations ORDER BY version"
        )
    ]


SMUGGLE = "SELECT 'a\\''; DROP TABLE victim; --';\n"
"""One statement to a parser with standard_conforming_strings on (a string holding ``a\\'; DROP TABLE
victim; --``); a SELECT, a DROP TABLE and a comment to a server with it off."""


@pytest.mark.parametrize(
    "turn_off",
    [
        pytest.param("SET standard_conforming_strings = off;\n", id="set"),
        pytest.param("SET SESSION standard_conforming_strings TO false;\n", id="set-session"),
        pytest.param("SELECT set_config('standard_conforming_strings', 'off', false);\n", id="set-config"),
        pytest.param(
            "SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false) FROM (SELECT 1) AS one;\n",
            id="set-config-qualified",
        ),
    ],
)
@pytest.mark.parametrize("no_transaction", [True, False], ids=["no-transaction", "transactional"])
def test_turning_off_standard_conforming_strings_is_refused_before_anything_runs(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, turn_off: str, no_transaction: bool
) -> None:
    conn.execute("CREATE TABLE victim (id int)")
    head = "-- lockgate: no-transaction\n" if no_transaction else ""
    add(project, "20250101000000_smuggle.sql", head + turn_off + SMUGGLE)
    for command in (("validate",), ("run",), ("lint", "migrations")):
        result = lockgate(*command)
        assert result.code != 0, (command, result.text)
        assert "standard_conforming_strings" in result.text, (command, result.text)
        assert "Traceback" not in result.text
    assert "victim" in tables(conn)
    assert rows(conn) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param("SET client_encoding = 'SJIS';\n", id="set-client-encoding"),
        pytest.param("SET NAMES 'LATIN1';\n", id="set-names"),
        pytest.param("SELECT set_config('client_encoding', 'SJIS', false);\n", id="set-config"),
    ],
)
def test_changing_client_encoding_is_refused(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, change: str
) -> None:
    add(project, "20250101000000_encoding.sql", "CREATE TABLE t (note text);\n" + change)
    result = lockgate("validate")
    assert result.code != 0 and "client_encoding" in result.text, result.text
    assert lockgate("run").code != 0
    assert rows(conn) == []


def test_statements_hidden_by_a_function_that_turns_strings_off_are_never_run(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """The setting changed where no parser can see it (inside a function): the server still gets one
    command per message, so the text that would split into two fails instead of running both."""
    conn.execute("CREATE TABLE victim (id int)")
    add(
        project,
        "20250101000000_hidden.sql",
        "-- lockgate: no-transaction\n"
        "CREATE FUNCTION public.loosen() RETURNS text LANGUAGE sql "
        "AS $$ SELECT set_config('standard_conforming_strings', 'off', false) $$;\n"
        "SELECT public.loosen();\n" + SMUGGLE,
    )
    result = lockgate("run")
    assert result.code == 1, result.text
    assert "20250101000000_hidden.sql:4" in result.err, result.err
    assert "victim" in tables(conn), "the smuggled DROP TABLE must not run"
    assert rows(conn) == [("20250101000000", "failed")]


@pytest.fixture
def database_with_strings_off(conn: psycopg.Connection) -> Iterator[None]:
    name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None
    conn.execute(f'ALTER DATABASE "{name[0]}" SET standard_conforming_strings = off')
    yield


@pytest.mark.parametrize("no_transaction", [True, False], ids=["no-transaction", "transactional"])
def test_a_database_that_defaults_strings_off_runs_files_as_parsed(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    database_with_strings_off: None,
    no_transaction: bool,
) -> None:
    conn.execute("CREATE TABLE victim (id int)")
    head = "-- lockgate: no-transaction\n" if no_transaction else ""
    add(
        project,
        "20250101000000_literal.sql",
        head + "CREATE TABLE kept AS SELECT 'x\\y' AS text;\n" + SMUGGLE,
    )
    add(project, "20250102000000_after.sql", "CREATE TABLE later AS SELECT 'b\\n' AS text;\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert "victim" in tables(conn)
    assert conn.execute("SELECT text FROM kept").fetchone() == ("x\\y",)
    assert conn.execute("SELECT text FROM later").fetchone() == ("b\\n",)


def test_migration_text_reaches_the_server_as_utf8_whatever_the_database_default(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None
    conn.execute(f"ALTER DATABASE \"{name[0]}\" SET client_encoding = 'LATIN1'")
    add(project, "20250101000000_words.sql", "CREATE TABLE words AS SELECT 'café – ünïcode' AS word;\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert conn.execute("SELECT word FROM words").fetchone() == ("café – ünïcode",)


# -- bookkeeping after a no-transaction file's statements ---------------------------------------------
@pytest.mark.parametrize(
    "setting",
    [
        pytest.param("SET default_transaction_read_only = on;\n", id="default-read-only"),
        pytest.param("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;\n", id="session-characteristics"),
        pytest.param("SELECT set_config('default_transaction_read_only', 'on', false);\n", id="set-config"),
        pytest.param("SET statement_timeout = '1ms';\n", id="tiny-statement-timeout"),
        pytest.param("SET ROLE anon;\n", id="set-role"),
    ],
)
def test_a_no_transaction_file_session_setting_never_leaves_a_running_row(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, setting: str
) -> None:
    conn.execute("CREATE TABLE t (a int); GRANT ALL ON t TO anon")
    add(
        project,
        "20250101000000_index.sql",
        "-- lockgate: no-transaction\n" + setting + "CREATE INDEX CONCURRENTLY t_a ON public.t (a);\n",
    )
    add(project, "20250102000000_after.sql", "CREATE TABLE after_index (id int);\n")
    result = lockgate("run")
    assert "Traceback" not in result.text
    statuses = dict(rows(conn))
    assert "running" not in statuses.values(), (statuses, result.text)
    if result.code == 0:
        assert statuses == {"20250101000000": "applied", "20250102000000": "applied"}
    else:
        assert "20250101000000_index.sql" in result.err, result.err
        assert statuses["20250101000000"] == "failed"
    json_run = lockgate("status", "--json")
    assert json_run.code in (0, 1) and "Traceback" not in json_run.text


# -- the reset and roles -------------------------------------------------------------------------------
@pytest.fixture
def low_role(conn: psycopg.Connection) -> Iterator[str]:
    """A role that may create tables in ``public`` but may not use PL/pgSQL in this database."""
    name = f"lg_low_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {name} LOGIN")
    conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {name}")
    conn.execute("REVOKE USAGE ON LANGUAGE plpgsql FROM PUBLIC")
    try:
        yield name
    finally:
        conn.execute("GRANT USAGE ON LANGUAGE plpgsql TO PUBLIC")
        conn.execute(f"DROP OWNED BY {name} CASCADE")
        conn.execute(f"DROP ROLE {name}")


def test_a_migration_that_switches_to_a_role_without_plpgsql_is_reset(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, low_role: str
) -> None:
    add(project, "20250101000000_switch.sql", f"CREATE TABLE first (id int);\nSET ROLE {low_role};\n")
    add(project, "20250102000000_after.sql", "CREATE TABLE second (id int);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert rows(conn) == [("20250101000000", "applied"), ("20250102000000", "applied")]
    owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'second'").fetchone()
    assert owner == conn.execute("SELECT current_user").fetchone()


def test_a_login_role_without_plpgsql_runs_and_resets_prepared_statements(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    db_url: str,
    low_role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None
    conn.execute(f'GRANT CREATE ON DATABASE "{name[0]}" TO {low_role}')
    low_url = psycopg.conninfo.make_conninfo(db_url, user=low_role)
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", low_url)
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\nPREPARE p AS SELECT 1;\n")
    add(project, "20250102000000_second.sql", "PREPARE p AS SELECT 2;\nCREATE TABLE second (id int);\n")
    add(project, "20250103000000_third.sql", "CREATE TABLE third (id int);\n")
    result = lockgate("run", "--json")
    assert result.code == 0, result.text
    assert rows(conn) == [
        ("20250101000000", "applied"),
        ("20250102000000", "applied"),
        ("20250103000000", "applied"),
    ]
    assert tables(conn) >= {"first", "second", "third"}


# -- defaults changed by a migration -------------------------------------------------------------------
DEFAULTS = [
    pytest.param(
        "CREATE SCHEMA x;\nDO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = x, public', "
        "current_database()); END $$;\n",
        "CREATE TABLE y AS SELECT current_schema() AS created_in;\n",
        ("x",),
        id="database-search-path",
    ),
    pytest.param(
        "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.tenant = %L', session_user, "
        "current_database(), 'acme'); END $$;\n",
        "CREATE TABLE y AS SELECT current_setting('app.tenant', true) AS created_in;\n",
        ("acme",),
        id="role-in-database-app-setting",
    ),
    pytest.param(
        "-- lockgate: no-transaction\nCREATE SCHEMA x;\nDO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET "
        "search_path = x, public', current_database()); END $$;\n",
        "CREATE TABLE y AS SELECT current_schema() AS created_in;\n",
        ("x",),
        id="no-transaction-file",
    ),
]


@pytest.mark.parametrize(("first", "second", "expected"), DEFAULTS)
@pytest.mark.parametrize("split", [False, True], ids=["one-run", "split-run"])
def test_defaults_a_migration_changes_apply_to_the_next_however_the_deploy_is_split(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    first: str,
    second: str,
    expected: tuple[str],
    split: bool,
) -> None:
    add(project, "20250101000000_defaults.sql", first)
    add(project, "20250102000000_after.sql", second)
    if split:
        assert lockgate("run", "--to", "20250101000000").code == 0
    result = lockgate("run")
    assert result.code == 0, result.text
    table = "x.y" if expected == ("x",) else "public.y"
    found = conn.execute(f"SELECT created_in FROM {table}").fetchone()
    assert found is not None and found[0] == expected[0]
    assert rows(conn) == [("20250101000000", "applied"), ("20250102000000", "applied")]
