"""Each validation rule: one case that makes it fire and one that proves it stays quiet."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db


def problems(lockgate: CliRunner, *args: str) -> dict[str, str]:
    result = lockgate("validate", "--json", *args)
    document = json.loads(result.out)
    assert result.code == (0 if document["valid"] else 1)
    return {p["code"]: p["severity"] for p in document["problems"]}


def test_clean_project_has_no_problems(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("run").code == 0
    add(project, "20250102000000_b.sql", "CREATE TABLE b (id int);\n")
    assert problems(lockgate) == {}


def test_checksum_mismatch(project: Path, lockgate: CliRunner) -> None:
    path = add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("run").code == 0
    path.write_bytes(b"\xef\xbb\xbfCREATE TABLE a (id int);\r\n")  # BOM + CRLF: same checksum
    assert problems(lockgate) == {}
    path.write_text("CREATE TABLE a (id bigint);\n", encoding="utf-8")
    assert problems(lockgate) == {"checksum-mismatch": "error"}
    result = lockgate("validate")
    assert "20250101000000_a.sql was modified after it was applied" in result.err


def test_duplicate_versions(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250101000000_a.sql", "SELECT 1;\n")
    add(project, "20250102000000_b.sql", "SELECT 1;\n")
    assert "duplicate-version" not in problems(lockgate)
    add(project, "20250101_c.sql", "SELECT 1;\n")  # legacy 8 digits = midnight = same instant
    assert problems(lockgate)["duplicate-version"] == "error"


def test_version_gap(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250101000000_a.sql", "SELECT 1;\n")
    add(project, "20250601000000_b.sql", "SELECT 1;\n")
    assert "version-gap" not in problems(lockgate)
    add(project, "20270101000000_c.sql", "SELECT 1;\n")
    assert problems(lockgate)["version-gap"] == "warning"
    assert "version-gap" not in problems(
        lockgate, "--config", str(_config(project, 'max_version_gap = "1000d"'))
    )


def _config(project: Path, text: str) -> Path:
    path = project / "lockgate.toml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_missing_file(project: Path, lockgate: CliRunner) -> None:
    path = add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("run").code == 0
    assert "missing-file" not in problems(lockgate)
    path.unlink()
    assert problems(lockgate) == {"missing-file": "error"}


def test_failed_record(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, "20250101000000_a.sql", "-- lockgate: no-transaction\nSELECT 1;\nSELECT 1/0;\n")
    assert "failed-migration" not in problems(lockgate)
    assert lockgate("run").code == 1
    assert problems(lockgate) == {"failed-migration": "error"}


@pytest.mark.parametrize("transaction", ["", "-- lockgate: no-transaction\n"], ids=["retried", "blocking"])
def test_a_failed_file_edited_since_is_no_cosmetic_edit(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, transaction: str
) -> None:
    # A failed attempt is not a recorded success: an edit to its file (even a comment) is no cosmetic-edit,
    # and the failure's report says the file changed since, for whoever checks what ran.
    path = add(project, "20250101000000_a.sql", f"{transaction}SELECT 1;\nSELECT 1/0;\n")
    assert lockgate("run").code == 1
    for text in (
        f"{transaction}SELECT 1;\nSELECT 1/0; -- still fails\n",
        f"{transaction}SELECT 1;\nSELECT 2;\n",
    ):
        path.write_text(text, encoding="utf-8")
        found = problems(lockgate)
        assert found == {"failed-migration": "warning" if not transaction else "error"}
        result = lockgate("validate")
        assert "cosmetic" not in result.text
        assert "and the file was edited since (checksum " in result.err
        assert ("will retry as the file is now" in result.err) == (not transaction)


def test_interrupted_record(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("run").code == 0
    assert "interrupted-migration" not in problems(lockgate)
    conn.execute("UPDATE public.schema_migrations SET status = 'running'")
    assert problems(lockgate) == {"interrupted-migration": "error"}


def test_out_of_order(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250102000000_b.sql", "CREATE TABLE b (id int);\n")
    assert lockgate("run").code == 0
    add(project, "20250103000000_c.sql", "CREATE TABLE c (id int);\n")
    assert "out-of-order" not in problems(lockgate)
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert problems(lockgate) == {"out-of-order": "error"}
    assert problems(lockgate, "--allow-out-of-order") == {"out-of-order": "warning"}
    assert lockgate("run").code == 1
    assert lockgate("run", "--allow-out-of-order").code == 0


def test_bad_file_name(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250101000000_a.sql", "SELECT 1;\n")
    assert problems(lockgate) == {}
    add(project, "add_users.sql", "SELECT 1;\n")
    assert problems(lockgate) == {"bad-filename": "error"}


def test_renamed_applied_migration(project: Path, lockgate: CliRunner) -> None:
    path = add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    assert lockgate("run").code == 0
    assert "renamed-migration" not in problems(lockgate)
    path.rename(path.with_name("20250101000000_create_a.sql"))
    assert problems(lockgate) == {"renamed-migration": "error"}


def test_unrunnable_pending_files(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250101000000_ok.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\n")
    add(project, "20250102000000_ok.sql", "-- lockgate: no-transaction\nCREATE TABLE t (a int);\nVACUUM t;\n")
    assert problems(lockgate) == {}
    add(project, "20250103000000_mixed.sql", "CREATE TABLE u (a int);\nVACUUM u;\n")
    add(project, "20250104000000_commit.sql", "SELECT 1;\nCOMMIT;\n")
    add(project, "20250105000000_syntax.sql", "SELEC 1;\n")
    assert problems(lockgate) == {
        "mixed-transaction": "error",
        "transaction-control": "error",
        "invalid-sql": "error",
    }
