"""Compatibility rules: table-driven fire (exact line:col) and quiet cases."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from lint_helpers import hits, lint_sql

from lockgate.lint.engine import lint_paths
from lockgate.lint.registry import REGISTRY, all_rules

FIRES = [
    ("drop-table", "DROP TABLE public.orders;", [(1, 1)]),
    ("drop-table", "SELECT 1;\n  DROP TABLE IF EXISTS orders, app.items;", [(2, 3)]),
    ("drop-table", "CREATE TABLE app.orders (a int);\nDROP TABLE orders;", [(2, 1)]),
    ("drop-table", "DO $$ BEGIN\n  DROP TABLE public.orders;\nEND $$;", [(2, 3)]),
    ("drop-column", "ALTER TABLE orders DROP COLUMN note;", [(1, 1)]),
    ("drop-column", "ALTER TABLE orders\n  DROP COLUMN a,\n  DROP COLUMN b;", [(1, 1), (1, 1)]),
    ("drop-schema", "DROP SCHEMA reporting;", [(1, 1)]),
    ("drop-schema", "CREATE SCHEMA a;\nDROP SCHEMA a, b;", [(2, 1)]),
    ("drop-cascade", "DROP TYPE public.order_status CASCADE;", [(1, 1)]),
    ("drop-cascade", "DROP TABLE orders CASCADE;", [(1, 1)]),
    ("drop-cascade", "ALTER TABLE orders DROP CONSTRAINT orders_fk CASCADE;", [(1, 1)]),
    ("drop-cascade", "DROP FUNCTION public.f(int) CASCADE;", [(1, 1)]),
    ("truncate-table", "TRUNCATE public.events;", [(1, 1)]),
    ("truncate-table", "CREATE TABLE scratch (a int);\nTRUNCATE scratch, events;", [(2, 1)]),
    ("rename-table", "ALTER TABLE public.orders RENAME TO purchases;", [(1, 13)]),
    ("rename-table", "ALTER TABLE IF EXISTS\n  orders RENAME TO purchases;", [(2, 3)]),
    ("rename-column", "ALTER TABLE orders RENAME COLUMN total TO total_cents;", [(1, 13)]),
    ("rename-column", "ALTER TABLE orders RENAME total TO total_cents;", [(1, 13)]),
    ("rename-column", "ALTER VIEW public.v RENAME COLUMN a TO b;", [(1, 12)]),
    ("update-without-where", "UPDATE public.orders SET currency = 'EUR';", [(1, 1)]),
    ("update-without-where", "CREATE TABLE t (a int);\n UPDATE orders SET a = 1 FROM t;", [(2, 2)]),
    ("delete-without-where", "DELETE FROM public.sessions;", [(1, 1)]),
    ("delete-without-where", "DO $$ BEGIN\n  DELETE FROM sessions;\nEND $$;", [(2, 3)]),
    ("rename-enum-value", "ALTER TYPE public.status RENAME VALUE 'a' TO 'b';", [(1, 1)]),
    (
        "rename-enum-value",
        "CREATE TYPE app.status AS ENUM ('a');\nALTER TYPE status RENAME VALUE 'a' TO 'b';",
        [(2, 1)],
    ),
    # drop-default-on-not-null: what counts is the column when the transaction commits
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;\nALTER TABLE orders ALTER COLUMN p DROP DEFAULT;",
        [(2, 1)],
    ),
    (
        "drop-default-on-not-null",
        'ALTER TABLE "app_model" ADD COLUMN "field" integer DEFAULT 0 NOT NULL;\n'
        'ALTER TABLE "app_model" ALTER COLUMN "field" DROP DEFAULT;',
        [(2, 1)],
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0;\nALTER TABLE orders ALTER COLUMN p SET NOT NULL;\n"
        "ALTER TABLE public.orders ALTER COLUMN p SET DEFAULT NULL;",
        [(3, 1)],
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0;\nALTER TABLE orders ALTER COLUMN p DROP DEFAULT;\n"
        "ALTER TABLE orders ALTER COLUMN p SET NOT NULL;",
        [(3, 1)],
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer;\nUPDATE orders SET p = 0 WHERE p IS NULL;\n"
        "ALTER TABLE orders ALTER COLUMN p SET NOT NULL;",
        [(3, 1)],
    ),
    (
        "drop-default-on-not-null",
        "-- lockgate: no-transaction\nALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;\n"
        "ALTER TABLE orders ALTER COLUMN p DROP DEFAULT;\nALTER TABLE orders ALTER COLUMN p SET DEFAULT 1;",
        [(3, 1)],
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p int DEFAULT 0 NOT NULL;\n"
        "DO $$ BEGIN ALTER TABLE orders ALTER COLUMN p DROP DEFAULT; END $$;",
        [(2, 1)],
    ),
    # rename-schema
    ("rename-schema", "ALTER SCHEMA accounting RENAME TO billing;", [(1, 1)]),
    ("rename-schema", "CREATE SCHEMA a;\n  ALTER SCHEMA b RENAME TO c;", [(2, 3)]),
    # drop-database
    ("drop-database", "DROP DATABASE IF EXISTS legacy;", [(1, 1)]),
    ("drop-database", "SELECT 1;\n DROP DATABASE x WITH (FORCE);", [(2, 2)]),
]

QUIET = [
    ("drop-table", "CREATE TABLE orders (a int);\nDROP TABLE public.orders;"),
    ("drop-table", "CREATE TABLE public.a (x int);\nCREATE TABLE b (x int);\nDROP TABLE a, public.b;"),
    ("drop-table", "DROP VIEW public.orders_view;"),
    ("drop-table", "DROP INDEX orders_idx;"),
    ("drop-column", "CREATE TABLE orders (a int, b int);\nALTER TABLE orders DROP COLUMN b;"),
    ("drop-column", "ALTER TABLE orders ADD COLUMN note text;"),
    ("drop-schema", "CREATE SCHEMA scratch;\nDROP SCHEMA scratch;"),
    ("drop-schema", "DROP TABLE reporting.x;"),
    ("drop-cascade", "DROP TYPE public.order_status;"),
    ("drop-cascade", "CREATE TABLE t (a int);\nDROP TABLE t CASCADE;"),
    ("drop-cascade", "CREATE TABLE t (a int);\nALTER TABLE t DROP COLUMN a CASCADE;"),
    ("truncate-table", "CREATE TABLE scratch (a int);\nTRUNCATE public.scratch;"),
    ("truncate-table", "CREATE TEMP TABLE scratch (a int);\nTRUNCATE scratch;"),
    ("rename-table", "CREATE TABLE orders (a int);\nALTER TABLE orders RENAME TO purchases;"),
    ("rename-table", "ALTER INDEX orders_idx RENAME TO orders_customer_idx;"),
    ("rename-column", "CREATE TABLE orders (a int);\nALTER TABLE public.orders RENAME COLUMN a TO b;"),
    ("rename-column", "ALTER TABLE orders RENAME CONSTRAINT a TO b;"),
    ("update-without-where", "UPDATE orders SET a = 1 WHERE a IS NULL;"),
    ("update-without-where", "CREATE TABLE t (a int);\nUPDATE public.t SET a = 1;"),
    ("delete-without-where", "DELETE FROM sessions WHERE expires_at < now();"),
    ("delete-without-where", "CREATE TEMP TABLE s (a int);\nDELETE FROM s;"),
    ("rename-enum-value", "ALTER TYPE public.status ADD VALUE 'c';"),
    (
        "rename-enum-value",
        "CREATE TYPE status AS ENUM ('a');\nALTER TYPE public.status RENAME VALUE 'a' TO 'b';",
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0;\nALTER TABLE orders ALTER COLUMN p DROP DEFAULT;",
    ),
    ("drop-default-on-not-null", "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;"),
    ("drop-default-on-not-null", "ALTER TABLE orders ALTER COLUMN p DROP DEFAULT;"),
    (
        "drop-default-on-not-null",
        "CREATE TABLE orders (id int);\nALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;\n"
        "ALTER TABLE public.orders ALTER COLUMN p DROP DEFAULT;",
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;\nALTER TABLE orders ALTER COLUMN p DROP NOT NULL;\n"
        "ALTER TABLE orders ALTER COLUMN p DROP DEFAULT;",
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;\nALTER TABLE items ALTER COLUMN p DROP DEFAULT;",
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p int GENERATED BY DEFAULT AS IDENTITY NOT NULL;\n"
        "ALTER TABLE orders ALTER COLUMN p DROP DEFAULT;",
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;\nALTER TABLE orders ALTER COLUMN p DROP DEFAULT;\n"
        "ALTER TABLE orders ALTER COLUMN p SET DEFAULT 1;",
    ),
    (
        "drop-default-on-not-null",
        "ALTER TABLE orders ADD COLUMN p integer DEFAULT 0 NOT NULL;\n"
        "ALTER TABLE orders ALTER COLUMN p DROP DEFAULT, ALTER COLUMN p SET DEFAULT 1;",
    ),
    ("rename-schema", "CREATE SCHEMA a;\nALTER SCHEMA a RENAME TO b;"),
    ("rename-schema", "ALTER TABLE accounting.invoices RENAME TO bills;"),
    ("drop-database", "DROP SCHEMA IF EXISTS scratch;"),
]


@pytest.mark.parametrize(("rule", "sql", "expected"), FIRES)
def test_fires(rule: str, sql: str, expected: list[tuple[int, int]]) -> None:
    assert hits(sql, rule) == expected


@pytest.mark.parametrize(("rule", "sql"), QUIET)
def test_quiet(rule: str, sql: str) -> None:
    assert hits(sql, rule) == []


@pytest.mark.parametrize(
    ("sql", "rule", "fragment"),
    [
        ("DROP TABLE orders;", "drop-table", "public.orders and its data"),
        ("ALTER TABLE orders DROP COLUMN note;", "drop-column", "DROP COLUMN note on public.orders"),
        ("DROP TYPE s.e CASCADE;", "drop-cascade", "DROP TYPE s.e CASCADE also drops"),
        ("UPDATE orders SET a = 1;", "update-without-where", "every row of public.orders"),
        ("ALTER TYPE e RENAME VALUE 'a' TO 'b';", "rename-enum-value", "value 'a' of enum public.e"),
    ],
)
def test_messages_name_the_object_and_risk(sql: str, rule: str, fragment: str) -> None:
    (finding,) = [f for f in lint_sql(sql) if f.rule_id == rule]
    assert fragment in finding.message
    assert finding.severity.value == "warning"


@pytest.mark.parametrize("rule_id", sorted(r.id for r in all_rules() if r.family == "compatibility"))
def test_docs_examples(rule_id: str) -> None:
    """The bad example fires the rule; the good one is clean of every warning and error."""
    rule = REGISTRY[rule_id]
    assert [f for f in lint_sql(rule.bad, {"select": [rule_id]}) if f.rule_id == rule_id]
    good = lint_sql(rule.good, {"extend-select": ["all"]})
    assert [f.rule_id for f in good if f.rule_id == rule_id or f.severity.value != "info"] == []


def test_every_compatibility_rule_has_fire_and_quiet_cases() -> None:
    rules = {rule.id for rule in all_rules() if rule.family == "compatibility"}
    assert rules <= {case[0] for case in FIRES}
    assert rules <= {case[0] for case in QUIET}


def test_drop_default_knows_not_null_columns_from_the_history(tmp_path: Path) -> None:
    """A column an earlier migration made NOT NULL: dropping its default breaks INSERTs that rely on it."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "20250101000000_orders.sql").write_text(
        "CREATE TABLE public.orders (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'new', note text DEFAULT '');\n"
    )
    (directory / "20250102000000_defaults.sql").write_text(
        "ALTER TABLE public.orders ALTER COLUMN status DROP DEFAULT;\nALTER TABLE public.orders ALTER COLUMN note DROP DEFAULT;\n"
    )
    report = lint_paths([directory], cache_dir=tmp_path / ".lockgate")
    found = [(f.line, f.message) for f in report.findings if f.rule_id == "drop-default-on-not-null"]
    assert found == [
        (
            1,
            "DROP DEFAULT leaves NOT NULL column public.orders.status with no default: INSERTs that omit status "
            "(relying on its default) fail with a not-null violation",
        )
    ]


def test_drop_default_breaks_inserts_of_old_code_on_a_real_server(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    """What the rule's message says happens: an INSERT written before the column existed now fails."""
    bad = REGISTRY["drop-default-on-not-null"].bad
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE TABLE public.orders (id bigint PRIMARY KEY)")
        conn.execute("INSERT INTO public.orders (id) VALUES (1)")
        conn.execute(bad)
        with pytest.raises(psycopg.errors.NotNullViolation), conn.transaction():
            conn.execute("INSERT INTO public.orders (id) VALUES (2)")
