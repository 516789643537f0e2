"""Name rules (duplicate-column, identifier-too-long): fire (exact line:column) and quiet cases, and a real
PostgreSQL that agrees: every statement the rule reports is one PostgreSQL rejects, every quiet one it runs."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from lint_helpers import hits, lint_sql

from lockgate.lint.engine import lint_paths

LONG = "index_customer_orders_on_customer_id_and_created_at_and_fulfilment_status"  # 73 bytes

FIRES = [
    ("duplicate-column", "UPDATE t SET a = 1, b = 2, a = 3;", [(1, 28)]),
    ("duplicate-column", "UPDATE t SET (a, b) = (1, 2),\n  a = 3 WHERE a = 1;", [(2, 3)]),
    ("duplicate-column", "UPDATE t SET arr = '{}', arr[1] = 2;", [(1, 26)]),
    ("duplicate-column", "INSERT INTO t (a, b, a) VALUES (1, 2, 3);", [(1, 22)]),
    (
        "duplicate-column",
        "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 1, b = 2;",
        [(1, 67)],
    ),
    (
        "duplicate-column",
        "MERGE INTO t USING t AS s ON t.a = s.a\n  WHEN MATCHED THEN UPDATE SET b = 1, b = 2\n"
        "  WHEN NOT MATCHED THEN INSERT (a, a) VALUES (1, 2);",
        [(2, 39), (3, 36)],
    ),
    ("duplicate-column", "CREATE TABLE n (\n  a int,\n  b text,\n  a bigint\n);", [(4, 3)]),
    ("duplicate-column", "CREATE VIEW v AS SELECT a, b AS a FROM t;", [(1, 28)]),
    ("duplicate-column", "CREATE VIEW v (x, x) AS SELECT a, b FROM t;", [(1, 1)]),
    ("duplicate-column", "CREATE MATERIALIZED VIEW m AS SELECT t.a, u.a FROM t, t AS u;", [(1, 43)]),
    ("duplicate-column", "ALTER TABLE t ADD COLUMN n int, ADD COLUMN n text;", [(1, 44)]),
    ("duplicate-column", "CREATE TABLE n (a int);\nALTER TABLE n ADD COLUMN a int;", [(2, 26)]),
    ("duplicate-column", "CREATE TABLE n (a int, b int);\nALTER TABLE n RENAME COLUMN a TO b;", [(2, 1)]),
    ("duplicate-column", "DO $$ BEGIN UPDATE t SET a = 1, a = 2; END $$;", [(1, 1)]),
    ("identifier-too-long", f"CREATE INDEX {LONG} ON t (a);", [(1, 14)]),
    ("identifier-too-long", f'CREATE TABLE n (\n  "{"É" * 40}" int\n);', [(2, 3)]),
    (
        "identifier-too-long",
        f"CREATE INDEX {LONG}_v1 ON t (a);\nCREATE INDEX IF NOT EXISTS {LONG}_v2 ON t (b);",
        [(1, 14), (2, 28)],
    ),
    ("identifier-too-long", f"ALTER TABLE t ADD CONSTRAINT {LONG}_check CHECK (a > 0);", [(1, 30)]),
    ("identifier-too-long", f"ALTER TABLE t ADD COLUMN {LONG} int;", [(1, 26)]),
    ("identifier-too-long", f"CREATE TABLE {LONG.upper()} (a int);\nDROP TABLE {LONG};", [(1, 14)]),
    ("identifier-too-long", f"DO $$ BEGIN CREATE INDEX {LONG} ON t (a); END $$;", [(1, 1)]),
    ("identifier-too-long", f"CREATE INDEX {'i' * 64} ON t (a);", [(1, 14)]),  # one byte over
    ("identifier-too-long", f'CREATE TABLE n ("{"a" * 30}""{"b" * 33}" int);', [(1, 17)]),  # "" is one byte
]

QUIET = [
    ("duplicate-column", "UPDATE t SET c.x = 1, c.y = 2;"),
    ("duplicate-column", "UPDATE t SET arr[1] = 1, arr[2] = 2;"),
    ("duplicate-column", "UPDATE t SET a = 1 FROM t AS u WHERE u.a = t.b;"),
    ("duplicate-column", "INSERT INTO t (a, b) SELECT a, a FROM t;"),
    ("duplicate-column", "CREATE VIEW v (x, y) AS SELECT a, a FROM t;"),
    ("duplicate-column", "CREATE VIEW v AS SELECT a FROM t UNION SELECT b FROM t;"),
    ("duplicate-column", "CREATE TABLE n (a int);\nALTER TABLE n ADD COLUMN IF NOT EXISTS a int;"),
    (
        "duplicate-column",
        "CREATE TABLE n (a int);\nALTER TABLE n DROP COLUMN a;\nALTER TABLE n ADD COLUMN a int;",
    ),
    (
        "duplicate-column",
        "CREATE TABLE n (a int);\nDROP TABLE n;\nCREATE TABLE n (b int);\nALTER TABLE n ADD COLUMN a int;",
    ),
    (
        "duplicate-column",
        "CREATE TABLE n (a int);\nALTER TABLE n RENAME COLUMN a TO b;\nALTER TABLE n ADD COLUMN a int;",
    ),
    (
        "duplicate-column",
        "CREATE TABLE p (a int) PARTITION BY RANGE (a);\n"
        "CREATE TABLE p1 PARTITION OF p (a WITH OPTIONS NOT NULL) FOR VALUES FROM (0) TO (1);",
    ),
    ("identifier-too-long", "CREATE INDEX orders_customer_created_status_idx ON t (a);"),
    ("identifier-too-long", f"COMMENT ON TABLE t IS '{LONG}';"),
    ("identifier-too-long", f"-- {LONG}\nSELECT 1;"),
    ("identifier-too-long", f"CREATE INDEX {'i' * 63} ON t (a);"),
    ("identifier-too-long", f'CREATE TABLE n ("{"é" * 31}" int);'),
]

# The schema the cases above run on, in a real database (``t`` has what every case names).
SCHEMA = """
CREATE TYPE pair AS (x int, y int);
CREATE TABLE t (a int PRIMARY KEY, b int, c pair, arr int[]);
"""


@pytest.mark.parametrize(("rule", "sql", "expected"), FIRES)
def test_fires(rule: str, sql: str, expected: list[tuple[int, int]]) -> None:
    assert hits(sql, rule) == expected


@pytest.mark.parametrize(("rule", "sql"), QUIET)
def test_quiet(rule: str, sql: str) -> None:
    assert hits(sql, rule) == []


def test_both_rules_have_fire_and_quiet_cases() -> None:
    assert (
        {rule for rule, _, _ in FIRES}
        == {rule for rule, _ in QUIET}
        == {"duplicate-column", "identifier-too-long"}
    )


def _runs(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> str | None:
    """Run ``sql`` after ``SCHEMA`` in a transaction that is rolled back; PostgreSQL's error, or None."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(SCHEMA)
            conn.execute(sql)
    except psycopg.Error as error:
        return str(error).splitlines()[0]
    return None


def test_postgresql_rejects_what_duplicate_column_reports(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """Each finding quotes the very error PostgreSQL raises; each quiet statement runs."""
    for rule, sql, _ in FIRES:
        if rule == "duplicate-column":
            error = _runs(conn, sql)
            messages = [f.message for f in lint_sql(sql) if f.rule_id == rule]
            assert error is not None and any(
                m.endswith(f"PostgreSQL rejects the statement: {error}") for m in messages
            ), (
                sql,
                error,
                messages,
            )
    for rule, sql in QUIET:
        if rule == "duplicate-column":
            assert _runs(conn, sql) is None, sql


def test_postgresql_truncates_what_identifier_too_long_reports(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """The collision the rule names is real: the second index is silently not created."""
    sql = f"CREATE INDEX {LONG}_v1 ON t (a);\nCREATE INDEX IF NOT EXISTS {LONG}_v2 ON t (b);"
    with conn.transaction(force_rollback=True):
        conn.execute(SCHEMA)
        conn.execute(sql)
        names = [row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 't'")]
    assert sorted(names) == sorted(["t_pkey", LONG[:63]])
    (_, second) = [f.message for f in lint_sql(sql) if f.rule_id == "identifier-too-long"]
    assert f"truncates to {LONG[:63]}, the same name as {LONG}_v1 (line 1)" in second


def test_add_column_clashes_with_a_column_an_earlier_migration_added(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "20250101000000_orders.sql").write_text(
        "CREATE TABLE public.orders (id bigint PRIMARY KEY);\n"
    )
    (directory / "20250102000000_note.sql").write_text("ALTER TABLE public.orders ADD COLUMN note text;\n")
    (directory / "20250103000000_note_again.sql").write_text(
        "ALTER TABLE public.orders ADD COLUMN note text;\nALTER TABLE public.orders ADD COLUMN IF NOT EXISTS id int;\n"
    )
    report = lint_paths([directory], cache_dir=tmp_path / ".lockgate")
    found = [
        (Path(f.path).name, f.line, f.message) for f in report.findings if f.rule_id == "duplicate-column"
    ]
    assert found == [
        (
            "20250103000000_note_again.sql",
            1,
            "ADD COLUMN note: public.orders already has that column (added by the migrations before this file); "
            'PostgreSQL rejects the statement: column "note" of relation "orders" already exists',
        )
    ]
    alone = lint_paths([directory], history=False)
    assert [f for f in alone.findings if f.rule_id == "duplicate-column"] == []
