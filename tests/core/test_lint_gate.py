"""``run`` lints pending files first and refuses on lint errors, so a deploy never applies what the hook and
the PR check call an error; the Supabase rules judge only Supabase projects."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db

ORDERS = ("20250101000000_orders.sql", "CREATE TABLE orders (id bigint);\n")
TWO_ERRORS = (
    "ALTER TABLE orders ADD COLUMN customer_id bigint NOT NULL;\n"
    "DO $$\nBEGIN\n  UPDATE orders SET id = id;\n  COMMIT;\nEND $$;\n"
)


def tables(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'schema_migrations%'"
    ).fetchall()
    return {str(row[0]) for row in rows}


def test_lint_errors_refuse_the_run_before_anything_runs(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, *ORDERS)
    assert lockgate("run").code == 0  # orders exists (and has users) before the next migration
    add(project, "20250102000000_customer.sql", TWO_ERRORS)
    add(project, "20250103000000_ok.sql", "CREATE TABLE ok (id int);\n")
    result = lockgate("run")
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert any(
        "20250102000000_customer.sql:1:" in line and "[add-not-null-column-without-default]" in line
        for line in errors
    )
    assert any("[transaction-control-in-do]" in line and "(fix: " in line for line in errors)
    assert "nothing was run: 2 lint error(s) in 1 pending migration(s)" in result.err
    assert "-- lockgate-ignore:" in result.err and "--no-lint" in result.err
    assert tables(conn) == {"orders"}, "not even the clean later file runs"


def test_an_explained_ignore_lets_it_run(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(
        project,
        "20250101000000_orders.sql",
        "CREATE TABLE orders (id bigint);\n"
        "-- lockgate-ignore: add-not-null-column-without-default -- the table is created above, it is empty\n"
        "ALTER TABLE orders ADD COLUMN customer_id bigint NOT NULL;\n",
    )
    result = lockgate("run")
    assert result.code == 0, result.text
    assert tables(conn) == {"orders"}


@pytest.mark.parametrize(
    ("how", "code", "warned"),
    [
        (("run", "--no-lint"), 1, False),
        (("run",), 1, True),
    ],
    ids=["no-lint-flag", "lint-on-run-warn"],
)
def test_the_gate_can_be_relaxed(
    project: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    how: tuple[str, ...],
    code: int,
    warned: bool,
) -> None:
    """Relaxed, the file runs (and here fails at COMMIT in the DO block, as lint said it would)."""
    if warned:
        monkeypatch.setenv("LOCKGATE_LINT_ON_RUN", "warn")
    add(project, *ORDERS)
    assert lockgate("run").code == 0
    add(project, "20250102000000_customer.sql", TWO_ERRORS)
    result = lockgate(*how)
    assert result.code == code
    assert "invalid transaction termination" in result.err
    assert ("[transaction-control-in-do]" in result.err) is warned


def test_dry_run_shows_every_finding(project: Path, lockgate: CliRunner, conn: psycopg.Connection) -> None:
    add(project, *ORDERS)
    assert lockgate("run").code == 0
    add(project, "20250102000000_customer.sql", TWO_ERRORS)
    result = lockgate("run", "--dry-run", "--json")
    document = json.loads(result.out)
    rules = sorted(finding["rule"] for finding in document["lint"])
    assert rules == [
        "add-not-null-column-without-default",
        "backfill-under-lock",  # the DO block's UPDATE runs under the ALTER TABLE's lock
        "transaction-control-in-do",
        "update-without-where",
    ]
    text = lockgate("run", "--dry-run")
    assert "[add-not-null-column-without-default]" in text.err and "(fix: " in text.err
    assert tables(conn) == {"orders"}


def test_a_table_created_earlier_in_the_same_plan_is_new(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    """The gate judges each pending file against the schema the files before it build: a table an earlier
    *pending* file creates has no users yet, so locking it is no hazard; once applied, it is."""
    add(project, *ORDERS)
    add(project, "20250102000000_index.sql", "CREATE INDEX orders_id ON orders (id);\n")
    planned = json.loads(lockgate("run", "--dry-run", "--json").out)
    assert [finding["rule"] for finding in planned["lint"]] == []
    assert lockgate("run", "--to", "20250101000000").code == 0
    conn.execute("INSERT INTO orders SELECT g FROM generate_series(1, 50000) AS g")
    conn.execute("ANALYZE orders")  # sizes come from the database: an empty table would be no hazard
    later = json.loads(lockgate("run", "--dry-run", "--json").out)
    assert [finding["rule"] for finding in later["lint"]] == ["index-without-concurrently"]


def test_a_plain_postgresql_project_does_not_need_rls(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    add(project, "20250101000000_accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);\n")
    result = lockgate("run")
    assert result.code == 0, result.text
    assert tables(conn) == {"accounts"}
    lint = lockgate("lint", "migrations")
    assert lint.code == 0 and "Supabase rules off: not a Supabase project" in lint.out


@pytest.mark.parametrize("marker", ["supabase-directory", "config-toml", "setting"])
def test_the_same_file_in_a_supabase_project_is_refused(
    tmp_path: Path,
    lockgate: CliRunner,
    conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    marker: str,
) -> None:
    root = tmp_path / marker
    if marker == "supabase-directory":
        migrations = root / "supabase" / "migrations"
    elif marker == "config-toml":
        migrations = root / "db" / "migrations"
        (root / "db").mkdir(parents=True)
        (root / "db" / "config.toml").write_text('project_id = "x"\n')
        (root / "lockgate.toml").write_text('[tool.lockgate]\nmigrations_dir = "db/migrations"\n')
    else:
        migrations = root / "migrations"
        root.mkdir()
        (root / "lockgate.toml").write_text("[tool.lockgate]\nsupabase = true\n")
    migrations.mkdir(parents=True)
    (migrations / "20250101000000_accounts.sql").write_text(
        "CREATE TABLE accounts (id bigint PRIMARY KEY);\n"
    )
    monkeypatch.chdir(root)
    result = lockgate("run")
    assert result.code == 1, result.text
    assert "[rls-not-enabled]" in result.err and "nothing was run: 1 lint error(s)" in result.err
    assert tables(conn) == set()
    lint = lockgate("lint")
    assert lint.code == 1 and "Supabase rules on" in lint.out


def test_select_supabase_turns_the_rules_on_elsewhere(project: Path, lockgate: CliRunner) -> None:
    add(project, "20250101000000_accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);\n")
    result = lockgate("lint", "migrations", "--select", "supabase")
    assert result.code == 1 and "rls-not-enabled" in result.out


def test_nothing_pending_does_not_import_the_linter(project: Path, db_url: str) -> None:
    """``run`` on an empty plan stays as fast as before the gate: the linter is never loaded."""
    import os
    import subprocess
    import sys

    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url}
    subprocess.run(
        [sys.executable, "-m", "lockgate", "run"], cwd=project, env=env, check=True, capture_output=True
    )
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['lockgate', 'run']\n"
        "try:\n    runpy.run_module('lockgate', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED' if 'lockgate.lint.engine' in sys.modules else 'NOT-LOADED', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, env=env, capture_output=True, text=True
    )
    assert "nothing to do" in result.stdout
    assert result.stderr.strip().endswith("NOT-LOADED"), result.stderr


def test_an_unused_ignore_is_lint_hygiene_not_a_gate(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection
) -> None:
    # Even made an error, an ignore that silences nothing harms no deploy (and whether it silences
    # something depends on what the rules knew): lint and the hook report it, run does not refuse on it.
    (project / "lockgate.toml").write_text('[tool.lockgate.lint.severity]\nunused-ignore = "error"\n')
    add(
        project,
        "20250101000000_orders.sql",
        "-- lockgate-ignore: add-not-null-column-without-default -- kept from an earlier draft\n"
        "CREATE TABLE orders (id bigint);\n",
    )
    lint = lockgate("lint", "migrations")
    assert lint.code == 1 and "error[unused-ignore]" in lint.out, lint.text
    for args in (["run", "--dry-run"], ["run"]):
        run = lockgate(*args)
        assert run.code == 0, run.text
        assert "unused-ignore" not in run.text
    assert tables(conn) == {"orders"}


def test_the_gate_reads_each_files_catalog_without_copying_the_schema_per_file(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan of N files, each creating a table, once copied the whole schema for every file: the gate's
    cost grew with N² (2.1 s of a 10,000-file run before its first migration, 0.09 s at 1,000). Lint
    only reads a catalog, so it now gets a view: copies are the snapshots' checkpoints (about √N)."""
    from lockgate.catalog.model import Catalog

    for number in range(300):
        stamp = f"20250101{number // 3600:02d}{number // 60 % 60:02d}{number % 60:02d}"
        add(project, f"{stamp}_t{number}.sql", f"CREATE TABLE t{number} (id int PRIMARY KEY);\n")
    copies = 0
    original = Catalog.copy

    def counting(self: Catalog) -> Catalog:
        nonlocal copies
        copies += 1
        return original(self)

    monkeypatch.setattr(Catalog, "copy", counting)
    result = lockgate("run")
    assert result.code == 0, result.text
    assert 0 < copies < 60, f"{copies} catalog copies for 300 files"
