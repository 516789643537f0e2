"""Hostile SQL files: every gate (lint, the immutability hook, validate, run, status) gives the same
verdict, as one line naming the file and line, and the database is either untouched or fully applied.

Each class of problem is tried with several members, not only the example that found it."""

from __future__ import annotations

import psycopg
import pytest
from core_helpers import CliRunner, add

from lockgate.checks.immutability import Edit, compare
from lockgate.statements import SqlError, parse_sql

pytestmark = pytest.mark.db

GOOD = ("20250101000000_good.sql", "CREATE TABLE good (id int);\n")
BAD = "20250102000000_bad.sql"


def tables(conn: psycopg.Connection) -> set[str]:
    """User tables (lockgate's own tracking tables left out: ``run`` creates them before it checks)."""
    rows = conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
        "AND tablename NOT LIKE 'schema_migrations%'"
    ).fetchall()
    return {str(row[0]) for row in rows}


def statuses(conn: psycopg.Connection) -> list[str]:
    if conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() == (None,):
        return []
    return [
        str(row[0]) for row in conn.execute("SELECT status FROM public.schema_migrations ORDER BY version")
    ]


def assert_refused(lockgate: CliRunner, conn: psycopg.Connection, where: str, words: str) -> None:
    """validate and run both refuse with one line naming ``where`` (file:line), nothing runs."""
    before = tables(conn)
    validate = lockgate("validate")
    assert validate.code == 1, validate.text
    assert f"{BAD}:{where}" in validate.text and words in validate.text
    assert "Traceback" not in validate.text
    run = lockgate("run")
    assert run.code == 1, run.text
    assert "Traceback" not in run.text
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert any(f"{BAD}:{where}" in line and words in line for line in errors), run.err
    assert tables(conn) == before, "nothing may run"
    assert "running" not in statuses(conn) and "applied" not in statuses(conn)


def assert_lint_error(lockgate: CliRunner, rule: str, line: int) -> None:
    result = lockgate("lint", "migrations", "--format", "json")
    assert result.code == 1, result.text
    assert f'"rule": "{rule}"' in result.out.replace('"rule":"', '"rule": "'), result.out
    assert f'"line": {line}' in result.out.replace('"line":', '"line": ').replace("  ", " "), result.out


# -- class 1: bytes the parser never sees ---------------------------------------------------------------
NUL_FILES = [
    pytest.param("CREATE TABLE a (id int);\0CREATE TABLE b (id int);\n", "1:25", id="between-statements"),
    pytest.param("CREATE TABLE a (id int);\n-- fine\n\0DROP TABLE good CASCADE;\n", "3:1", id="appended"),
    pytest.param("INSERT INTO good VALUES (1);\nSELECT 'x\0y';\n", "2:10", id="inside-a-string"),
    pytest.param("CREATE TABLE a (id int); -- comment \0 with a NUL\n", "1:37", id="inside-a-comment"),
]


@pytest.mark.parametrize(("content", "where"), NUL_FILES)
def test_nul_byte_is_refused_by_every_gate(
    project, lockgate: CliRunner, conn: psycopg.Connection, content: str, where: str
) -> None:
    add(project, *GOOD)
    (project / "migrations" / BAD).write_bytes(content.encode())
    assert_refused(lockgate, conn, where, "NUL byte")
    assert_lint_error(lockgate, "syntax-error", int(where.split(":")[0]))


@pytest.mark.parametrize(
    "appended",
    ["\0DROP TABLE users CASCADE;\n", "-- looks like a comment\0\nDROP TABLE users;\n", "\0"],
)
def test_immutability_hook_blocks_an_appended_nul(appended: str) -> None:
    old = b"CREATE TABLE users (id int);\n"
    assert compare(old, old + appended.encode()) == Edit.SEMANTIC
    assert compare(old, old + b"-- reviewed\n") == Edit.COSMETIC


def test_text_the_parser_did_not_read_is_refused() -> None:
    """The coverage check behind the NUL refusal: bytes between statements must be whitespace, ``;``
    or comments (nested block comments included)."""
    parse_sql("SELECT 1; /* a /* nested */ b */ ;; -- c\nSELECT 2;\n")
    from lockgate.statements import LineIndex, Statement, _check_coverage

    data = b"SELECT 1; garbage SELECT 2;"
    first = Statement(0, "SELECT 1", 1, 1, 1, "SelectStmt", {}, byte_start=0)
    second = Statement(1, "SELECT 2", 1, 19, 1, "SelectStmt", {}, byte_start=18)
    with pytest.raises(SqlError) as caught:
        _check_coverage(data, [first, second], LineIndex(data))
    assert (caught.value.line, caught.value.column) == (1, 11)


# -- class 3: recursion limits --------------------------------------------------------------------------
DEEP = [
    pytest.param("SELECT " + " || ".join(["'b'"] * 600) + " AS deep;", id="600-concatenations"),
    pytest.param("SELECT " + " + ".join(["1"] * 3000) + " AS deep;", id="3000-additions"),
    pytest.param("SELECT " + "(SELECT " * 200 + "1" + ")" * 200 + " AS deep;", id="200-subqueries"),
    pytest.param("SELECT " + "CASE WHEN true THEN " * 400 + "1" + " END" * 400 + " AS deep;", id="400-cases"),
]


@pytest.mark.parametrize("query", DEEP)
def test_deep_statements_run_everywhere(
    project, lockgate: CliRunner, conn: psycopg.Connection, query: str
) -> None:
    add(project, *GOOD)
    add(project, BAD, f"CREATE TABLE deep AS {query}\n")
    for command in ("validate", "status", "list", "lint"):
        result = lockgate(command, *(["migrations"] if command == "lint" else []))
        assert "Traceback" not in result.text and "RecursionError" not in result.text
        assert result.code in (0, 1) and (command == "lint" or result.code == 0), (command, result.text)
    run = lockgate("run")
    assert run.code == 0, run.text
    assert "public.deep" in tables(conn) and statuses(conn) == ["applied", "applied"]
    edited = (project / "migrations" / BAD).read_bytes()
    assert compare(edited, edited + b"\n-- reviewed\n") == Edit.COSMETIC
    assert compare(edited, edited.replace(b"AS deep", b"AS deeper")) == Edit.SEMANTIC


def test_iterative_decoder_agrees_with_json() -> None:
    import json

    from lockgate import pgparser, treejson

    for text in [
        "SELECT 1.5e3, -2, 'é\\n\"', true, null",
        "CREATE TABLE t (a numeric(10, 2) DEFAULT -0.5, b text[] DEFAULT '{}')",
    ]:
        document = pgparser.parse_sql_json(text)
        assert treejson.loads_iterative(document) == json.loads(document)
    for document in ['{"a": [1, 2.5, {"b": null}], "c": "\\u00e9"}', "[]", "{}", '"x"', "-0"]:
        assert treejson.loads_iterative(document) == json.loads(document)
    for broken in ["{", "[1,", "[1] 2", "nope", "]"]:
        with pytest.raises(ValueError):
            treejson.loads_iterative(broken)


# -- class 4: directives only from top-level comments --------------------------------------------------
IN_STRINGS = [
    pytest.param(
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n-- lockgate: no-transaction\nSELECT 'x' $$;\n",
        id="dollar-quoted-body",
    ),
    pytest.param("INSERT INTO notes VALUES ('\n-- lockgate: no-transaction\n');\n", id="string-literal"),
    pytest.param(
        "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$\n  -- lockgate: no-transaction\n"
        "SELECT 'y' $body$;\n",
        id="tagged-dollar-quote",
    ),
]


@pytest.mark.parametrize("inner", IN_STRINGS)
def test_directive_inside_a_string_keeps_the_file_transactional(
    project, lockgate: CliRunner, conn: psycopg.Connection, inner: str
) -> None:
    add(project, *GOOD)
    add(
        project,
        BAD,
        "CREATE TABLE notes (body text);\nCREATE TABLE left_behind (id int);\n" + inner + "SELECT 1 / 0;\n",
    )
    assert parse_sql((project / "migrations" / BAD).read_text()).directives == frozenset()
    result = lockgate("run")
    assert result.code == 1 and "division by zero" in result.err
    assert "public.left_behind" not in tables(conn), "the failed file must roll back as a whole"
    assert statuses(conn) == ["applied", "failed"]


@pytest.mark.parametrize(
    ("text", "directives"),
    [
        ("-- lockgate: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n", {"no-transaction"}),
        ("CREATE INDEX CONCURRENTLY i ON t (a);\n-- lockgate: no-transaction\n", {"no-transaction"}),
        ("/* header */\n  --   lockgate:   no-transaction  \nVACUUM t;\n", {"no-transaction"}),
        ("SELECT '-- lockgate: no-transaction';\n", set()),
    ],
)
def test_top_level_directives_still_count(text: str, directives: set[str]) -> None:
    assert parse_sql(text).directives == directives


def test_directive_inside_a_statement_is_an_error(project, lockgate: CliRunner, conn) -> None:
    add(project, *GOOD)
    add(project, BAD, "CREATE TABLE x (\n  -- lockgate: no-transaction\n  id int\n);\n")
    assert_refused(lockgate, conn, "2", "directive inside a statement")


# -- class 5: statements that cannot work in a migration ----------------------------------------------
UNSUPPORTED = [
    pytest.param(
        "CREATE TABLE c (id int);\nCOPY c FROM stdin;\n", "2", "COPY ... FROM stdin", id="copy-from-stdin"
    ),
    pytest.param(
        "-- lockgate: no-transaction\nCREATE TABLE c (id int);\nCOPY c (id) FROM STDIN;\n",
        "3",
        "COPY ... FROM stdin",
        id="copy-from-stdin-no-transaction",
    ),
    pytest.param("COPY (SELECT 1) TO STDOUT;\n", "1", "COPY ... TO stdout", id="copy-to-stdout"),
    pytest.param(
        "-- lockgate: no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY gi ON good (id);\n",
        "2",
        "BEGIN in a no-transaction file",
        id="begin-in-no-transaction",
    ),
    pytest.param(
        "-- lockgate: no-transaction\nCREATE TABLE c (id int);\nSAVEPOINT s;\n",
        "3",
        "SAVEPOINT in a no-transaction file",
        id="savepoint-in-no-transaction",
    ),
    pytest.param(
        "-- lockgate: no-transaction\nSET LOCAL lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY gi ON good (id);\n",
        "2",
        "SET LOCAL in a no-transaction file",
        id="set-local-in-no-transaction",
    ),
    pytest.param(
        "-- lockgate: no-transaction\nLOCK TABLE good;\nCREATE INDEX CONCURRENTLY gi ON good (id);\n",
        "2",
        "LOCK TABLE in a no-transaction file",
        id="lock-in-no-transaction",
    ),
    pytest.param(
        "CREATE TABLE c (id int);\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n",
        "2",
        "SET TRANSACTION after other statements",
        id="set-transaction-late",
    ),
    pytest.param(
        "BEGIN READ ONLY;\nCREATE TABLE c (id int);\nCOMMIT;\n", "1", "READ ONLY", id="begin-read-only"
    ),
    pytest.param(
        "SET TRANSACTION READ ONLY;\nCREATE TABLE c (id int);\n",
        "1",
        "READ ONLY",
        id="set-transaction-read-only",
    ),
    pytest.param(
        "COPY good (id) FROM stdin;\n1\n2\n\\.\n",
        "1",
        "COPY ... FROM stdin with inline data",
        id="pg-dump-data",
    ),
]


@pytest.mark.parametrize(("content", "where", "words"), UNSUPPORTED)
def test_statements_that_cannot_work_are_refused_before_anything_runs(
    project, lockgate: CliRunner, conn: psycopg.Connection, content: str, where: str, words: str
) -> None:
    add(project, *GOOD)
    add(project, BAD, content)
    assert_refused(lockgate, conn, where, words)
    rule = "syntax-error" if "inline data" in words else "unsupported-statement"
    assert_lint_error(lockgate, rule, int(where))


@pytest.mark.parametrize(
    ("content", "command", "line"),
    [
        ("SELECT 1;\nSELECT format('SELECT %s', 1) \\gexec\n", "\\gexec", 2),
        ("SELECT now() AS started \\gset\n", "\\gset", 1),
        ("CREATE TABLE t (id int);\n\\connect other\n", "\\connect", 2),
    ],
)
def test_psql_meta_commands_are_named(
    project, lockgate: CliRunner, conn: psycopg.Connection, content: str, command: str, line: int
) -> None:
    add(project, *GOOD)
    add(project, BAD, content)
    assert_refused(lockgate, conn, str(line), f"psql meta-command {command} is not SQL")


# -- class 10: a wrapping BEGIN's isolation level is kept -----------------------------------------------
@pytest.mark.parametrize(
    ("content", "level"),
    [
        (
            "START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE iso AS "
            "SELECT current_setting('transaction_isolation') AS level;\nEND;\n",
            "serializable",
        ),
        (
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ WRITE;\nCREATE TABLE iso AS "
            "SELECT current_setting('transaction_isolation') AS level;\nCOMMIT;\n",
            "repeatable read",
        ),
        (
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE iso AS "
            "SELECT current_setting('transaction_isolation') AS level;\n",
            "serializable",
        ),
    ],
)
def test_transaction_characteristics_of_the_file_are_kept(
    project, lockgate: CliRunner, conn: psycopg.Connection, content: str, level: str
) -> None:
    add(project, BAD, content)
    result = lockgate("run")
    assert result.code == 0, result.text
    assert conn.execute("SELECT level FROM iso").fetchone() == (level,)
    assert statuses(conn) == ["applied"]
