"""Lock findings carry their safe rewrite as SQL (``fix``): in the text output, the JSON and the PR comment.
A fix is checked the only way that counts: linted again it no longer trips the rule, and PostgreSQL runs it."""

from __future__ import annotations

import json

import psycopg
import pytest

from lockgate.lint.engine import lint_text
from lockgate.lint.findings import LintReport
from lockgate.lint.formats import render

SETUP = "CREATE TABLE orders (id bigint PRIMARY KEY, note text, customer_id bigint);\nCREATE TABLE customers (id bigint PRIMARY KEY);\n"
CASES = [
    (
        "index-without-concurrently",
        "CREATE INDEX orders_note ON orders (note);",
        "CREATE INDEX CONCURRENTLY orders_note",
    ),
    (
        "index-without-concurrently",
        "create unique index orders_note_u on orders (note);",
        "create unique index CONCURRENTLY",
    ),
    (
        "drop-index-without-concurrently",
        "DROP INDEX orders_pkey_copy;",
        "DROP INDEX CONCURRENTLY orders_pkey_copy",
    ),
    (
        "constraint-without-not-valid",
        "ALTER TABLE orders ADD CONSTRAINT note_short CHECK (char_length(note) < 100);",
        "VALIDATE CONSTRAINT note_short",
    ),
    (
        "constraint-without-not-valid",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);",
        "NOT VALID;",
    ),
    (
        "set-not-null",
        "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;",
        "CHECK (note IS NOT NULL) NOT VALID",
    ),
]


@pytest.mark.parametrize(("rule", "sql", "expected"), CASES)
def test_the_fix_is_shown_and_does_not_trip_the_rule_again(rule: str, sql: str, expected: str) -> None:
    (finding,) = [f for f in lint_text(sql + "\n").findings if f.rule_id == rule]
    assert finding.fix is not None and expected in finding.fix
    text = render(LintReport((lint_text(sql + "\n", "m.sql"),)), "text")
    assert "= fix:" in text and expected in text
    document = json.loads(render(LintReport((lint_text(sql + "\n", "m.sql"),)), "json"))
    assert any(f["fix"] == finding.fix for f in document["findings"])
    assert [f.rule_id for f in lint_text(finding.fix + "\n").findings if f.rule_id == rule] == []


def test_an_unnamed_or_multi_command_constraint_gets_no_guessed_fix() -> None:
    for sql in (
        "ALTER TABLE orders ADD CHECK (char_length(note) < 100);",
        "ALTER TABLE orders ADD CONSTRAINT a CHECK (id > 0), ADD CONSTRAINT b CHECK (id < 9);",
    ):
        assert all(
            f.fix is None
            for f in lint_text(sql + "\n").findings
            if f.rule_id == "constraint-without-not-valid"
        )


@pytest.mark.db
@pytest.mark.parametrize(("rule", "sql", "expected"), CASES)
def test_postgresql_runs_the_fix(conn: psycopg.Connection, rule: str, sql: str, expected: str) -> None:
    conn.execute(SETUP)
    conn.execute("CREATE INDEX orders_pkey_copy ON orders (id)")
    (finding,) = [f for f in lint_text(sql + "\n").findings if f.rule_id == rule]
    assert finding.fix is not None
    for statement in [part for part in finding.fix.split(";") if part.strip()]:
        lines = [line for line in statement.splitlines() if not line.strip().startswith("--")]
        if "".join(lines).strip():
            conn.execute("\n".join(lines))
