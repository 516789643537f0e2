"""The lock table: statement kinds -> PostgreSQL's documented lock modes, only on existing relations.

``lockgate.locks`` is the one place that knows which lock a statement takes on which relation; the PR
plan table, lint's lock-safety rules, ``run --dry-run`` and the API's pending list all ask it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.locks import (
    ACCESS_EXCLUSIVE,
    CreatedRelations,
    alter_command_lock,
    locks_on_existing_tables,
    pending_locks,
    statement_locks,
    summarise,
    with_article,
)
from lockgate.source import discover
from lockgate.statements import parse_sql


def locks(sql: str) -> list[str]:
    (statement,) = parse_sql(sql).statements
    return [f"{lock.mode} on {lock.relation}" for lock in statement_locks(statement)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE INDEX i ON t (a)", ["SHARE on public.t"]),
        ("CREATE INDEX CONCURRENTLY i ON app.t (a)", ["SHARE UPDATE EXCLUSIVE on app.t"]),
        ("ALTER TABLE t ADD COLUMN b int", ["ACCESS EXCLUSIVE on public.t"]),
        ("ALTER TABLE t VALIDATE CONSTRAINT c", ["SHARE UPDATE EXCLUSIVE on public.t"]),
        (
            "ALTER TABLE t SET (fillfactor = 70), ALTER COLUMN a SET STATISTICS 200",
            ["SHARE UPDATE EXCLUSIVE on public.t"],
        ),
        ("ALTER TABLE t VALIDATE CONSTRAINT c, ADD COLUMN b int", ["ACCESS EXCLUSIVE on public.t"]),
        ("ALTER TABLE t DISABLE TRIGGER tr", ["SHARE ROW EXCLUSIVE on public.t"]),
        (
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id) NOT VALID",
            ["SHARE ROW EXCLUSIVE on public.u", "SHARE ROW EXCLUSIVE on public.t"],
        ),
        (
            "ALTER TABLE t ADD COLUMN u_id int REFERENCES app.u (id)",
            ["SHARE ROW EXCLUSIVE on app.u", "ACCESS EXCLUSIVE on public.t"],
        ),
        ("CREATE TABLE x (id int REFERENCES y (id))", ["SHARE ROW EXCLUSIVE on public.y"]),
        (
            "CREATE TABLE x (id int, CONSTRAINT f FOREIGN KEY (id) REFERENCES s.y (id))",
            ["SHARE ROW EXCLUSIVE on s.y"],
        ),
        ("CREATE TABLE x (id int)", []),
        ("DROP TABLE a, b", ["ACCESS EXCLUSIVE on public.a", "ACCESS EXCLUSIVE on public.b"]),
        ("DROP INDEX CONCURRENTLY i", ["SHARE UPDATE EXCLUSIVE on public.i"]),
        ("ALTER INDEX i RENAME TO j", ["SHARE UPDATE EXCLUSIVE on public.i"]),
        ("ALTER TABLE t RENAME TO t2", ["ACCESS EXCLUSIVE on public.t"]),
        ("TRUNCATE a", ["ACCESS EXCLUSIVE on public.a"]),
        ("VACUUM t", ["SHARE UPDATE EXCLUSIVE on public.t"]),
        ("VACUUM FULL t", ["ACCESS EXCLUSIVE on public.t"]),
        ("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", ["SHARE ROW EXCLUSIVE on public.t"]),
        ("LOCK TABLE t", ["ACCESS EXCLUSIVE on public.t"]),
        ("REINDEX TABLE CONCURRENTLY t", ["SHARE UPDATE EXCLUSIVE on public.t"]),
        ("REINDEX TABLE t", ["SHARE on public.t"]),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", ["EXCLUSIVE on public.mv"]),
        ("REFRESH MATERIALIZED VIEW mv", ["ACCESS EXCLUSIVE on public.mv"]),
        (
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
            ["SHARE ROW EXCLUSIVE on public.t"],
        ),
        ("CREATE POLICY p ON t USING (true)", ["ACCESS EXCLUSIVE on public.t"]),
        ("UPDATE t SET a = 1", ["ROW EXCLUSIVE on public.t"]),
        ("SELECT 1", []),
        ("GRANT SELECT ON t TO anon", []),
    ],
)
def test_statement_lock(sql: str, expected: list[str]) -> None:
    assert locks(sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # Where github/locks.py and lint's own table disagreed, PostgreSQL's AlterTableGetLockLevel and
        # each command's source decide (the members of the class, not only the first one found).
        ("ALTER TABLE t ALTER COLUMN a SET COMPRESSION lz4", ["ACCESS EXCLUSIVE on public.t"]),
        ("ALTER TABLE t ALTER COLUMN a SET (n_distinct = 5)", ["SHARE UPDATE EXCLUSIVE on public.t"]),
        ("ALTER TABLE t ALTER COLUMN a RESET (n_distinct)", ["SHARE UPDATE EXCLUSIVE on public.t"]),
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", ["SHARE UPDATE EXCLUSIVE on public.p"]),
        ("ALTER TABLE p DETACH PARTITION c", ["ACCESS EXCLUSIVE on public.p"]),
        ("DROP TRIGGER tr ON s.t", ["ACCESS EXCLUSIVE on s.t"]),
        ("DROP POLICY p ON t", ["ACCESS EXCLUSIVE on public.t"]),
        ("DROP RULE r ON t", ["ACCESS EXCLUSIVE on public.t"]),
        ("VACUUM (FULL false) t", ["SHARE UPDATE EXCLUSIVE on public.t"]),
        ("VACUUM (FULL, ANALYZE) t", ["ACCESS EXCLUSIVE on public.t"]),
        ("REINDEX INDEX i", ["ACCESS EXCLUSIVE on public.i"]),
        ("REINDEX INDEX CONCURRENTLY i", ["SHARE UPDATE EXCLUSIVE on public.i"]),
        ("DROP TABLE d.s.t", ["ACCESS EXCLUSIVE on s.t"]),
    ],
)
def test_statement_lock_follows_postgresql_where_the_old_tables_disagreed(
    sql: str, expected: list[str]
) -> None:
    assert locks(sql) == expected


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("ALTER TABLE t ADD COLUMN b int", "table"),
        ("ALTER MATERIALIZED VIEW mv SET TABLESPACE x", "materialized view"),
        ("ALTER VIEW v RENAME COLUMN a TO b", "view"),
        ("ALTER TABLE t RENAME COLUMN a TO b", "table"),
        ("ALTER POLICY p ON t RENAME TO q", "table"),
        ("ALTER SEQUENCE s RENAME TO q", "sequence"),
        ("DROP VIEW v", "view"),
        ("DROP INDEX i", "index"),
        ("ALTER INDEX i SET (fillfactor = 50)", "index"),
        ("REFRESH MATERIALIZED VIEW mv", "materialized view"),
    ],
)
def test_each_lock_says_what_kind_of_relation_it_is_on(sql: str, kind: str) -> None:
    (statement,) = parse_sql(sql).statements
    assert [lock.kind for lock in statement_locks(statement)] == [kind]


def test_alter_command_lock_is_per_subcommand() -> None:
    (statement,) = parse_sql(
        "ALTER TABLE t VALIDATE CONSTRAINT c, ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id), "
        "ALTER COLUMN a SET NOT NULL"
    ).statements
    commands = [item["AlterTableCmd"] for item in statement.node["cmds"]]
    assert [alter_command_lock(cmd) for cmd in commands] == [
        "SHARE UPDATE EXCLUSIVE",
        "SHARE ROW EXCLUSIVE",
        "ACCESS EXCLUSIVE",
    ]


def test_with_article() -> None:
    assert with_article("SHARE") == "a SHARE lock"
    assert with_article(ACCESS_EXCLUSIVE) == "an ACCESS EXCLUSIVE lock"
    assert with_article("EXCLUSIVE") == "an EXCLUSIVE lock"
    assert with_article("ROW EXCLUSIVE") == "a ROW EXCLUSIVE lock"


def test_tables_created_earlier_in_the_plan_are_not_existing_tables() -> None:
    statements = parse_sql(
        "CREATE TABLE public.prefs (id int);\n"
        "CREATE INDEX prefs_id ON prefs (id);\n"
        "ALTER TABLE prefs ADD COLUMN b int;\n"
        "CREATE MATERIALIZED VIEW app.totals AS SELECT 1 AS one;\n"
        "REFRESH MATERIALIZED VIEW app.totals;\n"
        "CREATE INDEX accounts_email ON public.accounts (email);\n"
    ).statements
    found = locks_on_existing_tables(statements, CreatedRelations())
    assert [(lock.table, lock.mode, lock.line) for lock in found] == [("accounts", "SHARE", 6)]
    assert [str(lock) for lock in found] == ["SHARE on accounts"]


def test_created_relations_know_positions_tables_indexes_and_partitioned_tables() -> None:
    created = CreatedRelations()
    for position, statement in enumerate(
        parse_sql(
            "CREATE TABLE app.events (at timestamptz) PARTITION BY RANGE (at);\n"
            "CREATE INDEX events_at ON app.events (at);\n"
            "CREATE TABLE t AS SELECT 1 AS a;\n"
        ).statements
    ):
        created.record(statement, position)
    assert created.new_table("app.events", 1) and not created.new_table("app.events", 0)
    assert created.new_partitioned_table("app.events", 1) and not created.new_partitioned_table("public.t", 3)
    assert created.new_index("app.events_at", 2) and not created.new_index("public.events_at", 2)
    assert created.new_table("public.t", 3) and not created.new_table("t", 3)  # names are normalised first


def test_summary_keeps_the_strongest_lock_per_table_strongest_first() -> None:
    statements = parse_sql(
        "CREATE INDEX CONCURRENTLY a_i ON a (x);\nALTER TABLE a ADD COLUMN y int;\nCREATE INDEX b_i ON b (x);\n"
        "CREATE INDEX c_i ON public.c (x);\nLOCK TABLE app.c IN SHARE MODE;\n"
    ).statements
    assert summarise(locks_on_existing_tables(statements, CreatedRelations())) == [
        "ACCESS EXCLUSIVE on a",
        "SHARE on app.c",
        "SHARE on b",
        "SHARE on c",
    ]


def test_pending_locks_carries_created_tables_across_migrations_and_skips_invalid_sql(tmp_path: Path) -> None:
    files = {
        "20250101000000_create_prefs.sql": "CREATE TABLE prefs (id int);\nCREATE INDEX a_i ON accounts (id);\n",
        "20250102000000_bad.sql": "SELEC 1;\n",
        "20250103000000_index_prefs.sql": "CREATE INDEX p_i ON public.prefs (id);\nTRUNCATE orders;\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    migrations = discover(tmp_path).migrations
    assert pending_locks(migrations) == [("SHARE on accounts",), None, ("ACCESS EXCLUSIVE on orders",)]


def test_the_conflict_matrix_is_postgresqls() -> None:
    from lockgate.locks import CONFLICTS, LOCK_MODES

    assert set(CONFLICTS) == set(LOCK_MODES)
    for mode, conflicting in CONFLICTS.items():  # the documentation's table is symmetric
        assert all(mode in CONFLICTS[other] for other in conflicting), mode
    assert CONFLICTS["SHARE"] >= {"ROW EXCLUSIVE"} and "SHARE" not in CONFLICTS["SHARE"]
    assert CONFLICTS["SHARE UPDATE EXCLUSIVE"] >= {"SHARE UPDATE EXCLUSIVE"}
    assert CONFLICTS["ACCESS SHARE"] == {"ACCESS EXCLUSIVE"}
