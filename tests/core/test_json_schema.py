"""Every ``--json`` document of ``status``, ``list``, ``validate`` and ``run`` against the JSON Schema shipped in
the package, over a real database through a project's life: nothing applied, applied, failed, blocked, drifted,
baselined, out of order. And one migration object: ``list`` and ``status`` print the same object for a version.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from core_helpers import REPO, CliRunner, add
from jsonschema import Draft202012Validator

from json_schema_check import assert_matches, schema_errors
from lockgate.schemas import SCHEMA_FILE, SCHEMA_VERSION, json_schema

USER = "3f1c2b9e-8a4d-4c1e-9b7a-2d5e6f708192"
HEX64 = re.compile(r"[0-9a-f]{64}")


def json_of(lockgate: CliRunner, *args: str, code: int = 0) -> dict[str, Any]:
    result = lockgate(*args, "--json")
    assert result.code == code, result.text
    document: dict[str, Any] = json.loads(result.out)
    return document


def read_views(lockgate: CliRunner, *, valid: bool = True) -> dict[str, dict[str, Any]]:
    """``status``, ``list`` and ``validate`` documents, each checked; and the same object per version."""
    status = json_of(lockgate, "status")
    listing = json_of(lockgate, "list")
    validate = json_of(lockgate, "validate", code=0 if valid else 1)
    assert_matches(status, "status")
    assert_matches(listing, "list")
    assert_matches(validate, "validate")
    by_id = {migration["id"]: migration for migration in listing["migrations"]}
    shown = [*status["applied"], *status["pending"], *status["failed"]]
    shown += [status["latest_applied"]] if status["latest_applied"] else []
    for migration in shown:
        # one object, whichever command prints it; status's pending entries add lint findings and locks
        plain = {key: value for key, value in migration.items() if key not in {"lint", "locks"}}
        assert by_id[migration["id"]] == plain
    assert all(
        isinstance(entry["lint"], list) and isinstance(entry["locks"], list) for entry in status["pending"]
    )
    assert validate["valid"] is valid and status["valid"] is valid
    return {"status": status, "list": listing, "validate": validate}


def migrations(views: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in views["list"]["migrations"]}


def test_a_project_from_nothing_to_applied(project: Path, lockgate: CliRunner) -> None:
    empty = read_views(lockgate)  # no tracking table yet
    assert empty["list"]["migrations"] == [] and empty["status"]["latest_applied"] is None
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    add(project, "20250102000000_b.sql", "CREATE INDEX CONCURRENTLY a_id ON a (id);\n")
    add(project, "20250103000000_c.sql", "CREATE TABLE c (id int);\n")
    pending = migrations(read_views(lockgate))
    assert {m["state"] for m in pending.values()} == {"pending"}
    assert all(HEX64.fullmatch(m["checksum"]) and m["applied_at"] is None for m in pending.values())

    dry = json_of(lockgate, "run", "--dry-run")
    assert_matches(dry, "run")
    assert dry["dry_run"] is True and dry["counts"]["dry-run-ok"] == 2 and dry["counts"]["not-tried"] == 1

    first = json_of(lockgate, "run", "--to", "20250101000000", "--executed-by", USER)
    assert_matches(first, "run")
    assert first["executed_by"] == USER and first["counts"]["applied"] == 1
    rest = json_of(lockgate, "run")
    assert_matches(rest, "run")
    assert rest["executed_by"] is None and [r["transactional"] for r in rest["results"]] == [False, True]
    assert all(isinstance(r["execution_time_ms"], int) for r in rest["results"])
    again = json_of(lockgate, "run")
    assert_matches(again, "run")
    assert again["results"] == [] and set(again["counts"].values()) == {0}

    applied = migrations(read_views(lockgate))
    # executed_by is what the tracking row holds: the user id given, or null; who ran it is metadata.actor
    assert applied["a"]["executed_by"] == USER and applied["c"]["executed_by"] is None
    assert applied["c"]["metadata"]["actor"] and applied["b"]["metadata"]["transactional"] is False
    for migration in applied.values():
        assert migration["state"] == "applied" and migration["checksum"] == migration["recorded_checksum"]
        assert isinstance(migration["version"], int) and isinstance(migration["execution_time_ms"], int)
        assert datetime.fromisoformat(migration["applied_at"]).tzinfo is not None


def test_failed_blocked_and_drifted_migrations(project: Path, lockgate: CliRunner) -> None:
    a = add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    add(project, "20250102000000_b.sql", "CREATE TABLE b (id int);\n\nINSERT INTO missing VALUES (1);\n")
    failed = json_of(lockgate, "run", code=1)
    assert_matches(failed, "run")
    error = failed["results"][1]["error"]
    assert failed["counts"] == {"applied": 1, "failed": 1, "skipped": 0, "dry-run-ok": 0, "not-tried": 0}
    assert error["sqlstate"] == "42P01" and error["line"] == 3
    views = read_views(lockgate)  # a failed transactional file left nothing behind: a warning
    assert [m["name"] for m in views["status"]["failed"]] == ["b"]
    assert "does not exist" in migrations(views)["b"]["error_message"]

    a.write_text("CREATE TABLE a (id bigint);\n", encoding="utf-8")  # an applied file edited
    drifted = read_views(lockgate, valid=False)
    edited = migrations(drifted)["a"]
    assert edited["state"] == "modified" and edited["checksum"] != edited["recorded_checksum"]
    problem = next(p for p in drifted["validate"]["problems"] if p["code"] == "checksum-mismatch")
    assert problem["version"] == 20250101000000 and problem["file"].endswith("20250101000000_a.sql")
    blocked = json_of(lockgate, "run", code=1)
    assert_matches(blocked, "run")
    assert blocked["blocked"] is True and blocked["results"] == []
    assert "checksum-mismatch" in {p["code"] for p in blocked["problems"]}

    a.unlink()  # ... and deleted: the version is still in the history, with no file
    gone = migrations(read_views(lockgate, valid=False))["a"]
    assert gone["state"] == "missing" and gone["file"] is None and gone["checksum"] is None
    assert HEX64.fullmatch(gone["recorded_checksum"])


def test_baselined_and_out_of_order_warnings(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    add(project, "20250103000000_c.sql", "CREATE TABLE c (id int);\n")
    assert lockgate("baseline", "--version", "20250103000000").code == 0
    add(project, "20250102000000_b.sql", "CREATE TABLE b (id int);\n")  # older than the latest applied
    views = read_views(lockgate, valid=False)
    assert migrations(views)["a"]["state"] == "baselined"
    warned = json_of(lockgate, "validate", "--allow-out-of-order")
    assert_matches(warned, "validate")
    assert warned["valid"] is True and warned["counts"] == {"files": 3, "errors": 0, "warnings": 1}
    ran = json_of(lockgate, "run", "--allow-out-of-order")
    assert_matches(ran, "run")
    assert [p["severity"] for p in ran["problems"]] == ["warning"]


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"])
def test_timestamps_are_utc_whatever_the_sessions_time_zone(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    monkeypatch.setenv("PGTZ", zone)  # libpq sets the session's TimeZone from it
    assert lockgate("run").code == 0
    applied_at = migrations(read_views(lockgate))["a"]["applied_at"]
    row = conn.execute("SELECT applied_at FROM public.schema_migrations").fetchone()
    assert row is not None and applied_at.endswith("+00:00")
    assert datetime.fromisoformat(applied_at) == row[0].astimezone(UTC)


# -- the schema refuses the old dialect --------------------------------------------------------------------

GOOD = {
    "id": "20250101000000_a",
    "version": 20250101000000,
    "name": "a",
    "state": "applied",
    "file": "migrations/20250101000000_a.sql",
    "checksum": "25fda42233d736c99ca2556f45fedc9c1c4941f864fd42ba5c3d0035f734c88c",
    "recorded_checksum": "25fda42233d736c99ca2556f45fedc9c1c4941f864fd42ba5c3d0035f734c88c",
    "applied_at": "2025-01-02T03:04:05.678901+00:00",
    "executed_by": None,
    "execution_time_ms": 8,
    "error_message": None,
    "metadata": {"actor": "root", "via": "cli"},
}

OLD_DIALECT = {
    "version as a string": {"version": "20250101000000"},
    "applied_at without a time zone": {"applied_at": "2025-01-02 03:04:05"},
    "applied_at in ISO form but naive": {"applied_at": "2025-01-02T03:04:05"},
    "a formatted duration": {"execution_time_ms": "8 ms"},
    "a 10-character checksum": {"checksum": "25fda42233"},
    "the actor's name in executed_by": {"executed_by": "root"},
    "an unknown state": {"state": "done"},
}


def test_a_valid_migration_object_passes() -> None:
    assert schema_errors(GOOD, "migration") == []
    assert schema_errors(GOOD | {"executed_by": USER}, "migration") == []


@pytest.mark.parametrize("change", OLD_DIALECT.values(), ids=OLD_DIALECT.keys())
def test_each_old_dialect_field_is_refused(change: dict[str, Any]) -> None:
    (field,) = change
    errors = schema_errors(GOOD | change, "migration")
    assert errors and all(error.startswith(field) for error in errors), errors


def test_list_json_of_schema_1_is_refused() -> None:
    """The ``list --json`` the issue quoted: every one of its differences is reported."""
    old = {
        "schema": 1,
        "migrations": [
            {
                "version": "20250101000000",
                "name": "a",
                "state": "applied",
                "applied_at": "2026-12-03 08:41:58",
                "executed_by": "root",
                "duration": "5 ms",
                "checksum": "25fda42233",
                "id": "20250101000000_a",
            }
        ],
    }
    text = "\n".join(schema_errors(old, "list"))
    for words in ("schema:", "migrations/0/version", "migrations/0/applied_at", "migrations/0/checksum"):
        assert words in text, text
    assert "'duration' was unexpected" in text and "migrations/0/executed_by" in text
    assert schema_errors(old)  # the top level refuses it too


def test_a_problem_needs_its_fields_and_no_others() -> None:
    problem = {
        "code": "checksum-mismatch",
        "severity": "error",
        "message": "m",
        "file": None,
        "line": None,
        "version": 1,
        "help": "revert the file",
    }
    assert schema_errors(problem, "problem") == []
    assert schema_errors(problem | {"severity": "info"}, "problem")
    assert schema_errors(problem | {"path": "x.sql"}, "problem")
    assert schema_errors({k: v for k, v in problem.items() if k != "version"}, "problem")


# -- the file itself -----------------------------------------------------------------------------------------


def test_the_schema_is_valid_2020_12_and_numbers_the_documents() -> None:
    schema = json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["schema_number"]["const"] == SCHEMA_VERSION
    assert str(SCHEMA_VERSION) in schema["$id"] and SCHEMA_VERSION == 2


def test_docs_carry_the_same_schema_as_the_package() -> None:
    shipped = REPO / "src" / "lockgate" / "schemas" / SCHEMA_FILE
    assert (REPO / "docs" / SCHEMA_FILE).read_bytes() == shipped.read_bytes()
    assert json.loads(shipped.read_text(encoding="utf-8")) == json_schema()  # what the package loads


def test_the_wheel_ships_the_schema() -> None:
    """The file must match a package-data pattern, or an installed lockgate (the Action's, a server's) has
    no schema and no OpenAPI document."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["lockgate"]
    assert any(fnmatch.fnmatch(f"schemas/{SCHEMA_FILE}", pattern) for pattern in patterns)
