"""Lint against a real database: the catalog read from it knows each table's size, so a lock on an empty
table is no hazard, a lock on a filled one says how big it is, and a large one is an error."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

from lockgate.catalog.live import read_catalog

pytestmark = pytest.mark.db


@pytest.fixture
def filled(conn: psycopg.Connection) -> psycopg.Connection:
    conn.execute("CREATE TABLE big (id bigint PRIMARY KEY, note varchar(20))")
    conn.execute("INSERT INTO big SELECT g, 'n' || g FROM generate_series(1, 200000) AS g")
    conn.execute("CREATE TABLE empty_t (id bigint, note text)")
    conn.execute("CREATE INDEX big_note ON big (note)")
    conn.execute("ANALYZE big")
    conn.execute("ANALYZE empty_t")
    return conn


def _lint(lockgate: CliRunner, db_url: str, *extra: str) -> list[dict[str, object]]:
    result = lockgate("lint", "migrations", "--format", "json", "--database-url", db_url, *extra)
    assert result.code in (0, 1), result.text
    return list(json.loads(result.out)["findings"])


def test_the_live_catalog_reads_types_indexes_and_sizes(filled: psycopg.Connection) -> None:
    catalog = read_catalog(filled)
    big = catalog.table("public.big")
    assert big is not None and big.rows is not None and 150_000 < big.rows < 250_000
    assert big.bytes is not None and big.bytes > 1 << 20
    assert (big.columns["note"].type_name, big.columns["note"].typmods) == ("varchar", (20,))
    assert catalog.indexes["public.big_note"].columns == ("note",)
    assert catalog.volatility("pg_catalog.now") == "stable"
    assert catalog.table("auth.users") is None, "Supabase-managed schemas are not the project's"
    assert catalog.size("public.big").startswith("~2")


def test_an_index_on_an_empty_table_is_quiet_and_on_a_filled_one_names_its_size(
    project: Path, lockgate: CliRunner, db_url: str, filled: psycopg.Connection
) -> None:
    add(
        project,
        "20250101000000_indexes.sql",
        "CREATE INDEX empty_note ON empty_t (note);\nCREATE INDEX big_id2 ON big (id);\n",
    )
    offline = [f for f in json.loads(lockgate("lint", "migrations", "--format", "json").out)["findings"]]
    assert [f["rule"] for f in offline] == ["index-without-concurrently"] * 2, (
        "without sizes both are reported"
    )
    findings = _lint(lockgate, db_url)
    assert [(f["rule"], f["line"], f["severity"]) for f in findings] == [
        ("index-without-concurrently", 2, "warning")
    ]
    assert "(public.big: ~200k rows / " in str(findings[0]["message"])


def test_a_large_table_makes_the_lock_an_error_and_run_refuses_it(
    project: Path, lockgate: CliRunner, db_url: str, filled: psycopg.Connection
) -> None:
    (project / "lockgate.toml").write_text("[tool.lockgate.lint]\nlarge-table-rows = 100000\n")
    add(project, "20250101000000_index.sql", "CREATE INDEX big_id2 ON big (id);\n")
    (finding,) = _lint(lockgate, db_url)
    assert finding["severity"] == "error" and "public.big" in str(finding["message"])
    refused = lockgate("run")
    assert refused.code == 1 and "[index-without-concurrently]" in refused.err and "~200k rows" in refused.err
    assert filled.execute("SELECT to_regclass('public.big_id2')").fetchone() == (None,)


def test_a_narrowing_change_is_read_from_the_database_itself(
    project: Path, lockgate: CliRunner, db_url: str, filled: psycopg.Connection
) -> None:
    """No migration in the directory created the column: the database says it is varchar(20)."""
    add(project, "20250101000000_narrow.sql", "ALTER TABLE big ALTER COLUMN note TYPE varchar(10);\n")
    (finding,) = [f for f in _lint(lockgate, db_url) if f["rule"] == "alter-column-type"]
    assert "narrows it from varchar(20)" in str(finding["message"]) and "rebuilds its index big_note" in str(
        finding["message"]
    )
    add(project, "20250101000000_narrow.sql", "ALTER TABLE big ALTER COLUMN note TYPE varchar(40);\n")
    assert [f for f in _lint(lockgate, db_url) if f["rule"] == "alter-column-type"] == []
