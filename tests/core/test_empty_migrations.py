"""Empty and comment-only migration files are migrations that do nothing: applied with one warning each, the
same warning from lint, validate and run; ``empty_migrations = "error"`` restores the old strictness everywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db

KRATOS = Path(__file__).parent / "fixtures" / "ory-kratos" / "migrations"

EMPTY_FILES = {
    "20250102000000_empty.sql": "",
    "20250103000000_blank.sql": "  \n\n\t\n",
    "20250104000000_comments.sql": "-- the change was for MySQL only\n/* nothing for PostgreSQL */\n",
    "20250105000000_semicolons.sql": ";\n;;\n",
}


def _empty_rows(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT id, status, metadata->'statements' FROM schema_migrations "
        "WHERE (metadata->>'statements')::int = 0 ORDER BY version"
    ).fetchall()


def test_empty_files_apply_as_no_ops_with_one_warning_each(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    for name, text in EMPTY_FILES.items():
        add(project, name, text)
    add(project, "20250106000000_last.sql", "CREATE TABLE last (id int);\n")

    validate = lockgate("validate")
    assert validate.code == 0, validate.text
    assert validate.text.count("[empty-migration]") == len(EMPTY_FILES)
    lint = lockgate("lint", "migrations", "--format", "json")
    assert lint.code == 0, lint.text
    rules = [finding["rule"] for finding in json.loads(lint.out)["findings"]]
    assert rules.count("empty-migration") == len(EMPTY_FILES)

    # Said once per file at every gate: the plan reports it, run's lint gate leaves it to the plan.
    dry = lockgate("run", "--dry-run")
    assert dry.code == 0, dry.text
    assert dry.err.count("[empty-migration]") == len(EMPTY_FILES)
    run = lockgate("run")
    assert run.code == 0, run.text
    assert run.err.count("[empty-migration]") == len(EMPTY_FILES)
    assert "more finding" not in run.err
    assert "applied 6 migration(s)" in run.out
    assert [row[0] for row in _empty_rows(conn)] == [name[:-4] for name in EMPTY_FILES]
    assert {row[1] for row in _empty_rows(conn)} == {"applied"}
    assert "nothing to do" in lockgate("run").out


@pytest.mark.parametrize("where", ["config", "environment"])
def test_empty_migrations_error_refuses_them_everywhere(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "config":
        (project / "lockgate.toml").write_text('[tool.lockgate]\nempty_migrations = "error"\n')
    else:
        monkeypatch.setenv("LOCKGATE_EMPTY_MIGRATIONS", "error")
    add(project, "20250101000000_first.sql", "CREATE TABLE first (id int);\n")
    add(project, "20250102000000_empty.sql", "-- forgot the SQL\n")
    validate = lockgate("validate")
    assert validate.code == 1 and "[empty-migration]" in validate.err
    lint = lockgate("lint", "migrations")
    assert lint.code == 1 and "error[empty-migration]" in lint.out
    for args in (["run", "--dry-run"], ["run"]):
        run = lockgate(*args)
        assert run.code == 1 and run.err.count("[empty-migration]") == 1, run.err
    assert conn.execute("SELECT to_regclass('public.first')").fetchone() == (None,)


def test_a_bad_empty_migrations_value_is_a_usage_error(project: Path, lockgate: CliRunner) -> None:
    (project / "lockgate.toml").write_text('[tool.lockgate]\nempty_migrations = "ignore"\n')
    result = lockgate("validate")
    assert result.code == 2 and "empty_migrations" in result.err and '"warning" or "error"' in result.err


def test_ory_kratos_history_applies_with_one_warning_per_empty_file(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """A real history (see fixtures/ory-kratos/README.md): 273 files, 15 of them empty or comments only."""
    shutil.copytree(KRATOS, project / "migrations", dirs_exist_ok=True)
    run = lockgate("run")
    assert run.code == 0, run.text[-2000:]
    assert run.err.count("[empty-migration]") == 15
    assert "applied 273 migration(s)" in run.out
    assert len(_empty_rows(conn)) == 15
    assert conn.execute("SELECT to_regclass('public.identities')").fetchone() == ("identities",)
    assert lockgate("validate").code == 0
