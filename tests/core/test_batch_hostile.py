"""Hostile tests of the batched apply path (``lockgate/batch.py``): a migration's queries — BEGIN, lock,
guard, body, session reset, tracking and audit row, hooks' writes, COMMIT — travel in one libpq pipeline.

Each test attacks one guarantee the per-cursor pipeline gave and the batch must keep: a failure names its
file and line, server chatter (notices, notifications) never confuses which result is whose, values bound
client-side cannot break their quoting, an interruption (Ctrl-C, a killed backend) leaves nothing
half-applied and no ``running`` row, and the next migration starts from the same session state.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db


def statuses(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT version, status FROM public.schema_migrations ORDER BY version").fetchall()


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
    add(project, "20250101000000_chatty.sql", "CREATE TABLE first (id int);\n" + chatter + "PREPARE p AS SELECT 1;\n")
    add(project, "20250102000000_after.sql", chatter + "PREPARE p AS SELECT 2;\nCREATE TABLE second (id int);\n")
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
    conn.execute(f"ALTER DATABASE \"{name[0]}\" SET standard_conforming_strings = off")
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
    add(project, "20250101000000_ünïcødé.sql", "CREATE TABLE \"tåble_日本\" (\"cöl\" text DEFAULT 'ü\\');\n")
    add(project, "20250102000000_second.sql", "INSERT INTO \"tåble_日本\" VALUES (E'a\\'b\\\\c' || U&'\\00e9');\n")
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
    value = conn.execute("SELECT \"cöl\" FROM \"tåble_日本\"").fetchone()
    assert value == ("a'b\\cé",)
