"""``lockgate drift``: hand-made changes to the target are found by replaying its applied history into a
scratch database on the shadow server and comparing the two schemas."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

pytestmark = pytest.mark.db

HISTORY = {
    "20250101000000_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
    "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;\n"
    "CREATE POLICY accounts_own ON accounts FOR SELECT TO authenticated USING (auth.uid() IS NOT NULL);\n",
    "20250102000000_index.sql": "-- lockgate: no-transaction\nCREATE INDEX CONCURRENTLY accounts_email ON accounts (email);\n",
}


@pytest.fixture
def migrated(project: Path, lockgate: CliRunner) -> None:
    (project / "lockgate.toml").write_text('[tool.lockgate]\nlint_on_run = "off"\n')
    for name, text in HISTORY.items():
        add(project, name, text)
    assert lockgate("run").code == 0


def _drift(lockgate: CliRunner, pg_server_url: str, *extra: str) -> tuple[int, dict[str, object]]:
    from jsonschema import Draft202012Validator

    from lockgate.schemas import json_schema

    result = lockgate("drift", "--shadow-database-url", pg_server_url, "--json", *extra)
    assert "Traceback" not in result.text
    document = json.loads(result.out)
    schema = json_schema()
    Draft202012Validator({**schema, "$ref": "#/$defs/drift_report"}).validate(document)
    return result.code, document


def test_a_freshly_migrated_database_has_no_drift(
    migrated: None, lockgate: CliRunner, pg_server_url: str
) -> None:
    code, document = _drift(lockgate, pg_server_url, "--exit-code")
    assert code == 0 and document["drift"] == [] and document["replayed"] == 2
    text = lockgate("drift", "--shadow-database-url", pg_server_url)
    assert "no drift" in text.out


@pytest.mark.parametrize(
    ("by_hand", "expected"),
    [
        ("ALTER TABLE accounts ADD COLUMN nickname text", ("added", "column public.accounts.nickname")),
        ("DROP INDEX accounts_email", ("missing", "index public.accounts_email")),
        (
            "ALTER POLICY accounts_own ON accounts USING (true)",
            ("changed", "policy public.accounts: accounts_own"),
        ),
        (
            "ALTER TABLE accounts ALTER COLUMN email TYPE varchar(200)",
            ("changed", "column public.accounts.email"),
        ),
        ("CREATE TABLE scratch (id int)", ("added", "table public.scratch")),
    ],
)
def test_a_change_made_by_hand_is_reported(
    migrated: None,
    lockgate: CliRunner,
    pg_server_url: str,
    conn: psycopg.Connection,
    by_hand: str,
    expected: tuple[str, str],
) -> None:
    conn.execute(by_hand)
    code, document = _drift(lockgate, pg_server_url, "--exit-code")
    assert code == 1
    found = [(item["kind"], item["object"]) for item in document["drift"]]  # type: ignore[index]
    assert found == [expected], document


def test_the_shadow_is_never_the_target_and_is_dropped(
    migrated: None, lockgate: CliRunner, db_url: str, pg_server_url: str
) -> None:
    refused = lockgate("drift", "--shadow-database-url", db_url)
    assert refused.code == 2 and "--shadow-database-url is the target database" in refused.err
    _drift(lockgate, pg_server_url)
    with psycopg.connect(pg_server_url) as admin:
        left = admin.execute(
            "SELECT count(*) FROM pg_database WHERE starts_with(datname, %s)",
            (f"lockgate_shadow_{os.getpid()}_",),
        ).fetchone()
    assert left == (0,)


def _status(lockgate: CliRunner, pg_server_url: str, *extra: str) -> tuple[int, dict[str, object]]:
    from jsonschema import Draft202012Validator

    from lockgate.schemas import json_schema

    result = lockgate("status", "--drift", "--shadow-database-url", pg_server_url, "--json", *extra)
    assert "Traceback" not in result.text
    document = json.loads(result.out)
    Draft202012Validator({**json_schema(), "$ref": "#/$defs/status"}).validate(document)
    return result.code, document


def test_status_with_drift_agrees_with_drift_on_a_fresh_database(
    migrated: None, lockgate: CliRunner, pg_server_url: str
) -> None:
    code, document = _status(lockgate, pg_server_url, "--exit-code")
    assert code == 0
    assert document["drift"] == {"replayed": 2, "differences": [], "error": None}
    text = lockgate("status", "--drift", "--shadow-database-url", pg_server_url)
    assert (
        text.code == 0
        and "no drift:" in text.out
        and "has the schema its 2 applied migration(s) build" in text.out
    )


@pytest.mark.parametrize(
    ("by_hand", "expected"),
    [
        ("ALTER TABLE accounts ADD COLUMN nickname text", ("added", "column public.accounts.nickname")),
        ("DROP INDEX accounts_email", ("missing", "index public.accounts_email")),
        (
            "ALTER POLICY accounts_own ON accounts USING (true)",
            ("changed", "policy public.accounts: accounts_own"),
        ),
    ],
)
def test_status_with_drift_reports_what_drift_reports(
    migrated: None,
    lockgate: CliRunner,
    pg_server_url: str,
    conn: psycopg.Connection,
    by_hand: str,
    expected: tuple[str, str],
) -> None:
    """The gates agree: status --drift lists exactly what lockgate drift lists, and --exit-code fails on it
    although nothing is pending."""
    conn.execute(by_hand)
    code, document = _status(lockgate, pg_server_url, "--exit-code")
    assert code == 1
    drift = document["drift"]
    assert [(d["kind"], d["object"]) for d in drift["differences"]] == [expected]  # type: ignore[index]
    assert drift["differences"] == _drift(lockgate, pg_server_url)[1]["drift"]  # type: ignore[index]
    assert document["counts"]["pending"] == 0  # type: ignore[index]
    text = lockgate("status", "--drift", "--shadow-database-url", pg_server_url)
    assert text.code == 0  # without --exit-code status reports and exits 0, as ever
    assert f"drift: {expected[0]} {expected[1]}" in text.text and "1 difference(s)" in text.out


def test_status_without_drift_builds_no_shadow_and_says_nothing_of_it(
    migrated: None, lockgate: CliRunner, pg_server_url: str, conn: psycopg.Connection
) -> None:
    conn.execute("ALTER TABLE accounts ADD COLUMN nickname text")
    result = lockgate("status", "--json", "--exit-code")
    assert result.code == 0 and "drift" not in json.loads(result.out)
    refused = lockgate("status", "--shadow-database-url", pg_server_url)
    assert refused.code == 2 and "--shadow-database-url goes with --drift" in refused.err


def test_status_says_in_one_line_when_the_history_does_not_replay(
    migrated: None, lockgate: CliRunner, project: Path, pg_server_url: str, db_url: str
) -> None:
    """A shadow that cannot be built is the drift check's answer, not status's crash: the rest of status
    is still shown, the reason is one line naming the file and line, and --exit-code fails."""
    with psycopg.connect(db_url, autocommit=True) as target:
        target.execute("CREATE TABLE only_by_hand (id int)")
    add(project, "20250103000000_uses_it.sql", "INSERT INTO only_by_hand VALUES (1);\n")
    assert lockgate("run").code == 0
    code, document = _status(lockgate, pg_server_url, "--exit-code")
    assert code == 1
    drift = document["drift"]
    assert drift["differences"] == [] and drift["replayed"] == 0  # type: ignore[index]
    assert "20250103000000_uses_it.sql:1: failed in the shadow database" in drift["error"]  # type: ignore[index]
    text = lockgate("status", "--drift", "--shadow-database-url", pg_server_url)
    assert "drift not checked:" in text.out and "applied 3" in text.out and "Traceback" not in text.text


def test_status_drift_and_targets_do_not_mix(lockgate: CliRunner) -> None:
    refused = lockgate("status", "--drift", "--targets", "all")
    assert refused.code == 2 and "--drift does not go with --targets" in refused.err


def test_drift_is_not_judged_while_a_deploy_holds_the_run_lock(
    migrated: None, lockgate: CliRunner, pg_server_url: str, db_url: str, project: Path
) -> None:
    """Half-way through a deploy the target differs from its recorded history by design: that is not drift.
    The check takes the run lock while it reads the target, and says so in one line when a run holds it."""
    from lockgate.config import load_config
    from lockgate.history import History

    config = load_config(cwd=project, environ={})
    with psycopg.connect(db_url) as deploying:
        history = History(deploying, config.table, config.log_table)
        deploying.execute(f"SELECT pg_advisory_xact_lock({history.run_key})")
        deploying.execute("CREATE TABLE half_way (id int)")  # uncommitted: invisible, but the lock is held
        code, document = _status(lockgate, pg_server_url, "--exit-code")
        drift = document["drift"]
        assert code == 1 and drift["differences"] == []  # type: ignore[index]
        assert "a migration run is in progress" in str(drift["error"])  # type: ignore[index]
        refused = lockgate("drift", "--shadow-database-url", pg_server_url)
        assert refused.code == 1 and "a migration run is in progress" in refused.err
        assert "Traceback" not in refused.text
        deploying.rollback()  # the deploy gives up: nothing of it stays, and the lock is released
    code, document = _status(lockgate, pg_server_url, "--exit-code")
    assert code == 0 and document["drift"]["error"] is None  # type: ignore[index]


def test_a_shadow_server_that_refuses_create_database_is_one_line_everywhere(
    migrated: None, lockgate: CliRunner, pg_server_url: str, project: Path
) -> None:
    import uuid

    role = f"lg_nocreatedb_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'hunter2-secret'")
    try:
        shadow = psycopg.conninfo.make_conninfo(pg_server_url, user=role, password="hunter2-secret")
        code, document = _status(lockgate, shadow, "--exit-code")
        error = str(document["drift"]["error"])  # type: ignore[index]
        assert code == 1 and "cannot create a scratch database on" in error and "needs CREATEDB" in error
        assert "hunter2-secret" not in error
        refused = lockgate("drift", "--shadow-database-url", shadow)
        assert refused.code == 1 and "cannot create a scratch database" in refused.err
        assert "Traceback" not in refused.text and "hunter2-secret" not in refused.text
        (project / "migrations" / "20250103000000_more.sql").write_text("CREATE TABLE more_t (id int);\n")
        linted = lockgate("lint", "--shadow-database-url", shadow, "migrations/20250103000000_more.sql")
        assert linted.code == 2 and "cannot create a scratch database" in linted.err
        assert "Traceback" not in linted.text and "hunter2-secret" not in linted.text
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")
