"""The example rule from the framework README: table-driven fire / quiet cases."""

from __future__ import annotations

import pytest
from lint_helpers import hits, lint_sql

RULE = "index-without-concurrently"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE INDEX i ON public.orders (a);", [(1, 1)]),
        ("SELECT 1;\n  CREATE UNIQUE INDEX i ON orders (a);", [(2, 3)]),
        # created in ANOTHER schema earlier: orders in public still exists before the migration
        ("CREATE TABLE app.orders (a int);\nCREATE INDEX i ON orders (a);", [(2, 1)]),
    ],
)
def test_fires(sql: str, expected: list[tuple[int, int]]) -> None:
    assert hits(sql, RULE) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX CONCURRENTLY i ON public.orders (a);",
        "CREATE TABLE orders (a int);\nCREATE INDEX i ON public.orders (a);",
        "CREATE TABLE public.orders (a int);\nCREATE INDEX i ON orders (a);",
        "CREATE TEMP TABLE scratch (a int);\nCREATE INDEX i ON scratch (a);",
    ],
)
def test_quiet(sql: str) -> None:
    assert hits(sql, RULE) == []


def test_message_names_the_lock_and_table() -> None:
    (finding,) = [f for f in lint_sql("CREATE INDEX i ON orders (a);") if f.rule_id == RULE]
    assert (
        finding.message
        == "CREATE INDEX takes a SHARE lock on public.orders, blocking writes for the whole build"
    )
    assert finding.severity.value == "warning"
    assert finding.url.endswith("docs/rules.md#index-without-concurrently")
    assert "CONCURRENTLY" in finding.help
