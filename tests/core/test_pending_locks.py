"""The locks each pending migration takes on existing tables, wherever pending migrations are shown:
``run --dry-run`` (its summary table and its JSON results) and the status document's pending entries (the
API's pending list is the same document: tests/api/test_api_locks.py). One table of lock levels answers for
all of them and for the PR comment (``lockgate.locks``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core_helpers import CliRunner, add

from json_schema_check import assert_matches

BASE = (
    "20250101000000_base.sql",
    "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\nCREATE TABLE orders (id int);\n",
)
PENDING = {
    "20250102000000_index_email": "CREATE INDEX accounts_email ON accounts (email);\n",
    "20250103000000_prefs": (
        "CREATE TABLE prefs (id bigint, account_id bigint REFERENCES accounts (id));\n"
        "ALTER TABLE prefs ADD COLUMN b int;\n"
    ),
    "20250104000000_more": (
        "CREATE INDEX prefs_b ON prefs (b);\nTRUNCATE public.orders;\nALTER TABLE accounts ADD COLUMN c int;\n"
    ),
    "20250105000000_function": "CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1';\n",
    "20250106000000_concurrent_index": (
        "-- lockgate: no-transaction\nCREATE INDEX CONCURRENTLY orders_id ON orders (id);\n"
    ),
}
EXPECTED = {
    "20250102000000_index_email": ["SHARE on accounts"],
    "20250103000000_prefs": ["SHARE ROW EXCLUSIVE on accounts"],  # prefs is new: only the referenced table
    "20250104000000_more": ["ACCESS EXCLUSIVE on accounts", "ACCESS EXCLUSIVE on orders"],  # not prefs
    "20250105000000_function": [],
    "20250106000000_concurrent_index": ["SHARE UPDATE EXCLUSIVE on orders"],
}


def _project(project: Path, lockgate: CliRunner) -> None:
    add(project, *BASE)
    applied = lockgate("run")
    assert applied.code == 0, applied.text
    for name, sql in PENDING.items():
        add(project, f"{name}.sql", sql)


def _json(lockgate: CliRunner, *args: str) -> dict[str, Any]:
    result = lockgate(*args, "--json")
    assert result.code == 0, result.text
    document: dict[str, Any] = json.loads(result.out)
    return document


def test_dry_run_json_results_carry_the_locks_a_real_run_would_take(
    project: Path, lockgate: CliRunner
) -> None:
    _project(project, lockgate)
    document = _json(lockgate, "run", "--dry-run")
    assert_matches(document, "run")
    assert {result["id"]: result["locks"] for result in document["results"]} == EXPECTED
    assert document["results"][-1]["outcome"] == "not-tried"  # outside a transaction: not tried, still shown


def test_dry_run_table_has_a_locks_column(project: Path, lockgate: CliRunner) -> None:
    _project(project, lockgate)
    result = lockgate("run", "--dry-run")
    assert result.code == 0, result.text
    header, *rows = [line for line in result.out.splitlines() if line.startswith(("migration ", "2025"))]
    assert header.split() == ["migration", "outcome", "time", "attempts", "transaction", "locks"]
    cells = {row.split()[0].removesuffix(".sql"): row for row in rows}
    assert cells["20250102000000_index_email"].endswith("  SHARE on accounts")
    assert cells["20250104000000_more"].endswith("  ACCESS EXCLUSIVE on accounts, ACCESS EXCLUSIVE on orders")
    assert cells["20250105000000_function"].endswith("  none")
    assert cells["20250106000000_concurrent_index"].endswith("  SHARE UPDATE EXCLUSIVE on orders")


def test_a_real_run_keeps_its_table_and_json_as_they_were(project: Path, lockgate: CliRunner) -> None:
    _project(project, lockgate)
    document = _json(lockgate, "run")
    assert_matches(document, "run")
    assert all("locks" not in result for result in document["results"])
    add(project, "20250107000000_later.sql", "CREATE INDEX orders_id_2 ON orders (id);\n")
    text = lockgate("run")
    assert text.code == 0, text.text
    assert "locks" not in text.out and "SHARE on orders" not in text.out


def test_status_pending_entries_carry_their_locks(project: Path, lockgate: CliRunner) -> None:
    _project(project, lockgate)
    add(project, "20250108000000_bad.sql", "SELEC 1;\n")  # invalid SQL: no locks, its problem says why
    status = lockgate("status", "--json")
    document = json.loads(status.out)
    assert_matches(document, "status")
    assert {entry["id"]: entry["locks"] for entry in document["pending"]} == {
        **EXPECTED,
        "20250108000000_bad": [],
    }
    assert "locks" not in document["applied"][0]
