"""Apply-correctness rules: SQL that must fire (exact line:column) and SQL that must stay quiet."""

from __future__ import annotations

import pytest
from lint_helpers import hits

FIRES = [
    # mixed-transaction
    ("mixed-transaction", "ALTER TABLE t ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY i ON t (a);", [(2, 1)]),
    ("mixed-transaction", "BEGIN;\nSELECT 1;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;", [(3, 1)]),
    ("mixed-transaction", "SELECT 1;\n  VACUUM t;\nDROP INDEX CONCURRENTLY j;", [(2, 3), (3, 1)]),
    (
        "mixed-transaction",
        "-- lockgate: no-transaction\nDO $$\nBEGIN\n  CREATE INDEX CONCURRENTLY i ON t (a);\nEND $$;",
        [(4, 3)],
    ),
    # no-transaction-mixed
    (
        "no-transaction-mixed",
        "-- lockgate: no-transaction\nALTER TABLE t ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY i ON t (a);",
        [(3, 1)],
    ),
    ("no-transaction-mixed", "-- lockgate: no-transaction\nSELECT 1;\nSELECT 2;", [(3, 1)]),
    # transaction-control
    ("transaction-control", "SELECT 1;\nCOMMIT;\nSELECT 2;", [(2, 1)]),
    (
        "transaction-control",
        "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;",
        [(1, 1), (3, 1), (4, 1), (6, 1)],
    ),
    ("transaction-control", "SELECT 1;\nROLLBACK;", [(2, 1)]),
    # begin-without-commit
    ("begin-without-commit", "BEGIN;\nALTER TABLE t ADD COLUMN a int;", [(1, 1)]),
    ("begin-without-commit", "SELECT 1;\n START TRANSACTION;\nSELECT 2;", [(2, 2)]),
    ("begin-without-commit", "-- lockgate: no-transaction\nBEGIN;\nSELECT 1;", [(2, 1)]),
    # transaction-control-in-do
    ("transaction-control-in-do", "DO $$\nBEGIN\n  UPDATE t SET a = 1;\n  COMMIT;\nEND $$;", [(4, 3)]),
    ("transaction-control-in-do", "SELECT 1;\nDO $$ BEGIN IF true THEN ROLLBACK; END IF; END $$;", [(2, 1)]),
    # enum-value-used-in-transaction
    (
        "enum-value-used-in-transaction",
        "ALTER TYPE status ADD VALUE 'archived';\nUPDATE orders SET s = 'archived' WHERE id = 1;",
        [(2, 23)],
    ),
    (
        "enum-value-used-in-transaction",
        "ALTER TYPE public.status ADD VALUE 'gone';\nCREATE INDEX i ON t (a) WHERE s <> 'gone';",
        [(2, 36)],
    ),
    (
        "enum-value-used-in-transaction",
        "ALTER TYPE status ADD VALUE 'x';\nDO $$\nBEGIN\n  UPDATE t SET s = 'x';\nEND $$;",
        [(4, 3)],
    ),
    # enum-add-value-in-transaction (PG 11 only, see test below)
    # concurrent-index-on-partitioned-table
    (
        "concurrent-index-on-partitioned-table",
        "-- lockgate: no-transaction\nCREATE TABLE public.ev (at date) PARTITION BY RANGE (at);\n"
        "CREATE INDEX CONCURRENTLY i ON ev (at);",
        [(3, 1)],
    ),
    # add-not-null-column-without-default
    ("add-not-null-column-without-default", "ALTER TABLE t ADD COLUMN a int NOT NULL;", [(1, 26)]),
    (
        "add-not-null-column-without-default",
        "ALTER TABLE t\n  ADD COLUMN a int,\n  ADD COLUMN b text PRIMARY KEY;",
        [(3, 14)],
    ),
]

QUIET = [
    ("mixed-transaction", "CREATE INDEX CONCURRENTLY i ON t (a);"),
    ("mixed-transaction", "CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (b);"),
    ("mixed-transaction", "-- lockgate: no-transaction\nSELECT 1;\nCREATE INDEX CONCURRENTLY i ON t (a);"),
    ("mixed-transaction", "BEGIN;\nCREATE INDEX i ON t (a);\nCOMMIT;"),
    # the runner drops a wrapping BEGIN/COMMIT and runs a lone CONCURRENTLY statement on its own
    ("mixed-transaction", "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;"),
    ("no-transaction-mixed", "-- lockgate: no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"),
    ("no-transaction-mixed", "SELECT 1;\nSELECT 2;"),
    ("transaction-control", "BEGIN;\nSELECT 1;\nCOMMIT;"),
    ("transaction-control", "START TRANSACTION;\nSELECT 1;\nEND;"),
    ("transaction-control", "SELECT 1;\nSAVEPOINT a;\nSELECT 2;\nRELEASE SAVEPOINT a;"),
    ("transaction-control", "-- lockgate: no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;"),
    ("transaction-control", "BEGIN;\nSELECT 1;"),  # reported as begin-without-commit instead
    ("begin-without-commit", "BEGIN;\nSELECT 1;\nCOMMIT;"),
    ("begin-without-commit", "BEGIN;\nSELECT 1;\nROLLBACK;"),
    ("transaction-control-in-do", "DO $$ BEGIN UPDATE t SET a = 1; END $$;"),
    ("transaction-control-in-do", "-- lockgate: no-transaction\nDO $$ BEGIN COMMIT; END $$;"),
    (
        "transaction-control-in-do",
        "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;",
    ),
    (
        "enum-value-used-in-transaction",
        "UPDATE orders SET s = 'archived';\nALTER TYPE status ADD VALUE 'archived';",
    ),
    ("enum-value-used-in-transaction", "ALTER TYPE status ADD VALUE 'archived';\nSELECT 'other';"),
    (
        "enum-value-used-in-transaction",
        "-- lockgate: no-transaction\nALTER TYPE status ADD VALUE 'a';\nUPDATE t SET s = 'a';",
    ),
    ("enum-value-used-in-transaction", "ALTER TYPE status RENAME VALUE 'a' TO 'b';\nUPDATE t SET s = 'b';"),
    ("enum-add-value-in-transaction", "ALTER TYPE status ADD VALUE 'archived';"),
    ("concurrent-index-on-partitioned-table", "CREATE INDEX CONCURRENTLY i ON ev (at);"),
    (
        "concurrent-index-on-partitioned-table",
        "CREATE TABLE ev (at date) PARTITION BY RANGE (at);\nCREATE INDEX i ON ONLY ev (at);",
    ),
    ("add-not-null-column-without-default", "ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT 0;"),
    ("add-not-null-column-without-default", "ALTER TABLE t ADD COLUMN a int;"),
    ("add-not-null-column-without-default", "ALTER TABLE t ADD COLUMN a bigserial NOT NULL;"),
    (
        "add-not-null-column-without-default",
        "ALTER TABLE t ADD COLUMN a int GENERATED ALWAYS AS IDENTITY NOT NULL;",
    ),
    (
        "add-not-null-column-without-default",
        "CREATE TABLE t (b int);\nALTER TABLE t ADD COLUMN a int NOT NULL;",
    ),
    (
        "add-not-null-column-without-default",
        "CREATE TABLE public.t (b int);\nALTER TABLE t ADD COLUMN a int NOT NULL;",
    ),
    (
        "add-not-null-column-without-default",
        "CREATE TABLE t (b int);\nALTER TABLE public.t ADD COLUMN a int NOT NULL;",
    ),
]


@pytest.mark.parametrize(("rule", "sql", "expected"), FIRES)
def test_fires(rule: str, sql: str, expected: list[tuple[int, int]]) -> None:
    assert hits(sql, rule) == expected


@pytest.mark.parametrize(("rule", "sql"), QUIET)
def test_quiet(rule: str, sql: str) -> None:
    assert hits(sql, rule) == []


def test_enum_add_value_depends_on_pg_major() -> None:
    sql = "SELECT 1;\nALTER TYPE status ADD VALUE 'archived';"
    assert hits(sql, "enum-add-value-in-transaction", pg_major=11) == [(2, 1)]
    assert hits(sql, "enum-add-value-in-transaction", pg_major=12) == []
    marked = "-- lockgate: no-transaction\nALTER TYPE status ADD VALUE 'archived';"
    assert hits(marked, "enum-add-value-in-transaction", pg_major=11) == []


def test_psql_meta_commands_are_reported_and_the_rest_is_linted() -> None:
    sql = "\\set ON_ERROR_STOP on\nCREATE INDEX i ON t (a);\n  \\i other.sql\n"
    assert hits(sql, "psql-meta-command") == [(1, 1), (3, 3)]
    assert hits(sql, "index-without-concurrently") == [(2, 1)]


def test_syntax_error_has_postgres_message_and_position() -> None:
    from lint_helpers import lint_sql

    (finding,) = lint_sql("SELECT 1;\nALTER TABLE t ADD COLUMN a int\nALTER TABLE t ADD COLUMN b int;")
    assert (finding.rule_id, finding.line, finding.column) == ("syntax-error", 3, 1)
    assert finding.message == 'syntax error at or near "ALTER"'
    assert finding.severity.value == "error"


def test_backslash_line_inside_a_string_is_not_a_meta_command() -> None:
    sql = "\\set x 1\nCREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n\\not a command\n$$;"
    assert hits(sql, "psql-meta-command") == [(1, 1)]
    assert hits(sql, "syntax-error") == []


def test_unknown_directive_is_reported_and_the_file_still_linted() -> None:
    sql = "-- lockgate: no-transactions\nSELECT 1;\nCREATE INDEX CONCURRENTLY i ON t (a);"
    assert hits(sql, "unknown-directive") == [(1, 1)]
    assert hits(sql, "mixed-transaction") == [(3, 1)]


def test_enum_finding_underlines_exactly_the_literal() -> None:
    from lint_helpers import lint_sql

    sql = "ALTER TYPE s ADD VALUE 'é''x';\nUPDATE t SET a = 'é''x' WHERE id = 1;"
    (finding,) = [f for f in lint_sql(sql) if f.rule_id == "enum-value-used-in-transaction"]
    assert (finding.span.line, finding.span.column, finding.span.end_line, finding.span.end_column) == (
        2,
        18,
        2,
        24,
    )
