"""The lock table: statement kinds -> PostgreSQL's documented lock modes, only on existing tables."""

from __future__ import annotations

import pytest

from lockgate.github.locks import locks_on_existing_tables, statement_locks, summarise
from lockgate.statements import parse_sql


def locks(sql: str) -> list[str]:
    (statement,) = parse_sql(sql).statements
    return [str(lock) for lock in statement_locks(statement)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE INDEX i ON t (a)", ["SHARE on t"]),
        ("CREATE INDEX CONCURRENTLY i ON app.t (a)", ["SHARE UPDATE EXCLUSIVE on app.t"]),
        ("ALTER TABLE t ADD COLUMN b int", ["ACCESS EXCLUSIVE on t"]),
        ("ALTER TABLE t VALIDATE CONSTRAINT c", ["SHARE UPDATE EXCLUSIVE on t"]),
        (
            "ALTER TABLE t SET (fillfactor = 70), ALTER COLUMN a SET STATISTICS 200",
            ["SHARE UPDATE EXCLUSIVE on t"],
        ),
        ("ALTER TABLE t VALIDATE CONSTRAINT c, ADD COLUMN b int", ["ACCESS EXCLUSIVE on t"]),
        ("ALTER TABLE t DISABLE TRIGGER tr", ["SHARE ROW EXCLUSIVE on t"]),
        (
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id) NOT VALID",
            ["SHARE ROW EXCLUSIVE on u", "SHARE ROW EXCLUSIVE on t"],
        ),
        ("CREATE TABLE x (id int REFERENCES y (id))", ["SHARE ROW EXCLUSIVE on y"]),
        ("CREATE TABLE x (id int)", []),
        ("DROP TABLE a, b", ["ACCESS EXCLUSIVE on a", "ACCESS EXCLUSIVE on b"]),
        ("DROP INDEX CONCURRENTLY i", ["SHARE UPDATE EXCLUSIVE on i"]),
        ("ALTER INDEX i RENAME TO j", ["SHARE UPDATE EXCLUSIVE on i"]),
        ("ALTER TABLE t RENAME TO t2", ["ACCESS EXCLUSIVE on t"]),
        ("TRUNCATE a", ["ACCESS EXCLUSIVE on a"]),
        ("VACUUM t", ["SHARE UPDATE EXCLUSIVE on t"]),
        ("VACUUM FULL t", ["ACCESS EXCLUSIVE on t"]),
        ("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", ["SHARE ROW EXCLUSIVE on t"]),
        ("LOCK TABLE t", ["ACCESS EXCLUSIVE on t"]),
        ("REINDEX TABLE CONCURRENTLY t", ["SHARE UPDATE EXCLUSIVE on t"]),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", ["EXCLUSIVE on mv"]),
        ("REFRESH MATERIALIZED VIEW mv", ["ACCESS EXCLUSIVE on mv"]),
        (
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
            ["SHARE ROW EXCLUSIVE on t"],
        ),
        ("CREATE POLICY p ON t USING (true)", ["ACCESS EXCLUSIVE on t"]),
        ("UPDATE t SET a = 1", ["ROW EXCLUSIVE on t"]),
        ("SELECT 1", []),
        ("GRANT SELECT ON t TO anon", []),
    ],
)
def test_statement_lock(sql: str, expected: list[str]) -> None:
    assert locks(sql) == expected


def test_tables_created_earlier_in_the_plan_are_not_existing_tables() -> None:
    statements = parse_sql(
        "CREATE TABLE public.prefs (id int);\n"
        "CREATE INDEX prefs_id ON prefs (id);\n"
        "ALTER TABLE prefs ADD COLUMN b int;\n"
        "CREATE INDEX accounts_email ON public.accounts (email);\n"
    ).statements
    found = locks_on_existing_tables(statements, set())
    assert [(lock.table, lock.mode, lock.line) for lock in found] == [("accounts", "SHARE", 4)]


def test_summary_keeps_the_strongest_lock_per_table_strongest_first() -> None:
    statements = parse_sql(
        "CREATE INDEX CONCURRENTLY a_i ON a (x);\nALTER TABLE a ADD COLUMN y int;\nCREATE INDEX b_i ON b (x);\n"
    ).statements
    assert summarise(locks_on_existing_tables(statements, set())) == [
        "ACCESS EXCLUSIVE on a",
        "SHARE on b",
    ]
