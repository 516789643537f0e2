"""End to end: action.yml's steps against real PostgreSQL, a real git history and a GitHub API over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from fake_github import Failure, FakeGitHub
from gh_workspace import FORK_TOKEN, Workspace

from lockgate import service
from lockgate.config import load_config
from lockgate.conninfo import display_url
from lockgate.db import resolve_target
from masking_cases import EXAMPLE, WORKING, Member, Server, _raw, create_role, leaked

pytestmark = pytest.mark.db

ACCOUNTS = "migrations/20250801000000_create_accounts.sql"
ACCOUNTS_SQL = (
    "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
    "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;\n"
)
PREFS = "migrations/20250829120000_add_user_preferences.sql"
PREFS_SQL = (
    "CREATE TABLE user_preferences (\n"
    "  account_id bigint NOT NULL REFERENCES accounts (id),\n"
    "  theme text NOT NULL DEFAULT 'light'\n"
    ");\n"
    "ALTER TABLE user_preferences ENABLE ROW LEVEL SECURITY;\n"
    "CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);\n"
)
PREFS_TX_SQL = (
    "CREATE TABLE user_preferences (\n"
    "  account_id bigint NOT NULL REFERENCES accounts (id),\n"
    "  theme text NOT NULL DEFAULT 'light'\n"
    ");\n"
    "ALTER TABLE user_preferences ENABLE ROW LEVEL SECURITY;\n"
)
PR = 7


def apply_files(workspace: Workspace, url: str) -> None:
    """What earlier deploys did: the base branch's migrations are applied."""
    config = load_config(cwd=workspace.root, environ={})
    target = resolve_target(url)
    assert target is not None
    outcome = service.run(config, target)
    assert outcome.result.failed is None and not outcome.blocked


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {str(row[0]) for row in rows}


def history_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM public.schema_migrations").fetchone()
    return int(row[0]) if row else 0


def open_pull_request(workspace: Workspace, files: dict[str, str | None]) -> tuple[str, str, str]:
    """(base sha, PR head sha, merge sha) with the PR branch adding ``files`` on top of main."""
    base = workspace.git("rev-parse", "main")
    workspace.git("checkout", "-q", "-B", "changes", base)
    head = workspace.commit(files, "PR change")
    merge = workspace.merge_commit(base, head)
    return base, head, merge


@pytest.fixture
def based(workspace: Workspace, db_url: str) -> Workspace:
    workspace.commit({ACCOUNTS: ACCOUNTS_SQL, "pyproject.toml": "[tool.lockgate]\n"}, "base")
    apply_files(workspace, db_url)
    return workspace


def check(workspace: Workspace, db_url: str, files: dict[str, str | None], **inputs: str):  # type: ignore[no-untyped-def]
    base, head, merge = open_pull_request(workspace, files)
    event = workspace.pull_request_event(PR, base, head, fork=inputs.pop("fork", "") == "yes")
    token = inputs.pop("token", None)
    all_inputs = {"database-url": db_url, **inputs}
    if token:
        return workspace.run("pull_request", event, merge, all_inputs, token=token)
    return workspace.run("pull_request", event, merge, all_inputs)


def test_good_pull_request_gets_a_plan_comment_and_leaves_the_database_untouched(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    before = tables(db_url)
    run = check(based, db_url, {PREFS: PREFS_TX_SQL})

    assert not run.failed, run.log
    assert run.outputs["failed"] == "false"
    assert run.outputs["pending-count"] == "1"
    (comment,) = fake_github.ours(PR)
    assert "check passed" in comment["body"]
    assert "20250829120000" in comment["body"] and "add_user_preferences" in comment["body"]
    assert "SHARE ROW EXCLUSIVE on accounts (" in comment["body"]  # with the table's size from the target
    assert " kB)" in comment["body"] or " B)" in comment["body"]
    assert run.outputs["comment-url"].endswith(f"#issuecomment-{comment['id']}")
    assert tables(db_url) == before  # read-only: no table created ...
    assert history_rows(db_url) == 1  # ... and no history row written
    report = json.loads(Path(run.outputs["report-json"]).read_text())
    assert report["plan"][0]["migration"]["file"] == PREFS
    assert "check passed" in run.summary


def test_editing_an_applied_migration_fails_with_the_checksum_mismatch(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    run = check(based, db_url, {ACCOUNTS: ACCOUNTS_SQL + "ALTER TABLE accounts ADD COLUMN name text;\n"})

    assert run.failed
    assert run.step("run").returncode == 1
    (comment,) = fake_github.ours(PR)
    assert "check failed" in comment["body"]
    assert "checksum-mismatch" in comment["body"] and ACCOUNTS in comment["body"]
    # the same edit seen from git and from the database, under one rule id
    assert comment["body"].count("checksum-mismatch") >= 2
    assert f"::error file={ACCOUNTS}" in run.log
    assert run.outputs["failed"] == "true"


def test_second_push_edits_the_same_comment(based: Workspace, db_url: str, fake_github: FakeGitHub) -> None:
    first = check(based, db_url, {PREFS: PREFS_TX_SQL})
    assert not first.failed, first.log
    second = check(based, db_url, {PREFS: PREFS_SQL})  # a new commit on the PR: now CONCURRENTLY
    assert second.failed  # CONCURRENTLY mixed with CREATE TABLE cannot run as one file

    (comment,) = fake_github.ours(PR)
    assert "check failed" in comment["body"]
    assert second.outputs["comment-url"] == first.outputs["comment-url"]
    assert [m for m, p in fake_github.requests if m == "POST"] == ["POST"]


def test_merge_applies_and_updates_the_comment(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    checked = check(based, db_url, {PREFS: PREFS_TX_SQL})
    assert not checked.failed, checked.log
    base = based.git("rev-parse", "main")
    merge = based.git("rev-parse", "HEAD")
    fake_github.commit_pulls[merge] = [PR]

    run = based.run("push", based.push_event(base, merge), merge, {"database-url": db_url})

    assert not run.failed, run.log
    assert run.outputs["applied-count"] == "1"
    assert "user_preferences" in tables(db_url)
    (comment,) = fake_github.ours(PR)
    assert "applied 1 migration" in comment["body"]
    assert "20250829120000_add_user_preferences" in comment["body"] and "by Codertocat" in comment["body"]
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT metadata FROM public.schema_migrations WHERE version = 20250829120000"
        ).fetchone()
    assert row is not None
    assert row[0]["via"] == "action" and row[0]["github_run_id"] == "9001"
    assert row[0]["git_commit"] == merge


def test_failing_migration_on_merge_fails_the_job_and_applies_nothing_of_it(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    broken = "migrations/20250830000000_backfill.sql"
    sql = "CREATE TABLE audit (id bigint);\nINSERT INTO accounts (id) VALUES (1);\n"
    base = based.git("rev-parse", "main")
    based.git("checkout", "-q", "-B", "changes", base)
    head = based.commit({broken: sql}, "backfill")
    merge = based.merge_commit(base, head)
    fake_github.commit_pulls[merge] = [PR]

    run = based.run("push", based.push_event(base, merge), merge, {"database-url": db_url})

    assert run.failed and run.step("run").returncode == 1
    assert "audit" not in tables(db_url)  # the CREATE TABLE before the failing line was rolled back
    (comment,) = fake_github.ours(PR)
    for text in (comment["body"], run.summary):
        assert "migration failed" in text
        assert f"{broken}:2" in text
        assert "null value in column" in text
    assert f"::error file={broken},line=2" in run.log


def test_fork_pull_request_without_write_access_gets_summary_only(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    run = check(based, db_url, {PREFS: PREFS_TX_SQL}, fork="yes", token=FORK_TOKEN)

    assert not run.failed, run.log
    assert fake_github.ours(PR) == []
    assert "::notice::" in run.step("comment").stdout
    assert "read-only" in run.step("comment").stdout
    assert "check passed" in run.summary


def test_a_502_after_the_comment_was_created_still_leaves_exactly_one_comment(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    fake_github.failures.append(Failure("POST", r"/issues/\d+/comments$", 502, perform=True))
    fake_github.failures.append(Failure("GET", r"/issues/\d+/comments$", 502))

    run = check(based, db_url, {PREFS: PREFS_TX_SQL})

    assert not run.failed, run.log
    assert len(fake_github.ours(PR)) == 1
    assert run.outputs["comment-url"]


def test_marker_is_found_among_300_comments(based: Workspace, db_url: str, fake_github: FakeGitHub) -> None:
    fake_github.seed(PR, 150)
    assert not check(based, db_url, {PREFS: PREFS_TX_SQL}).failed
    fake_github.seed(PR, 150)
    fake_github.seed(PR, 3, body="<!-- lockgate --> pasted by a human")  # not ours: a User wrote it

    run = check(based, db_url, {PREFS: PREFS_TX_SQL + "-- tweak\n"})

    assert not run.failed, run.log
    assert len(fake_github.ours(PR)) == 1 + 3
    pages = [p for m, p in fake_github.requests if m == "GET" and p.endswith(f"/issues/{PR}/comments")]
    assert len(pages) >= 10  # every page of 30 was read


E2E_MEMBERS = [
    Member("plain", "s3cret-Pa55word-lg", _raw),
    *(
        member
        for member in WORKING
        if member.name
        in {"raw tab", "percent-encoded @ space / # ?", "key=value with quotes and backslashes"}
    ),
]


@pytest.mark.parametrize("member", E2E_MEMBERS, ids=str)
def test_database_password_never_appears_anywhere(
    member: Member, based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    with create_role(db_url, member.password) as role:
        secret_url = member.url(Server.of(db_url), role)
        base = based.git("rev-parse", "main")
        bad = "migrations/20250831000000_bad.sql"
        checked = check(based, secret_url, {PREFS: PREFS_TX_SQL, bad: "SELEC 1;\n"})
        merge = based.git("rev-parse", "HEAD")
        fake_github.commit_pulls[merge] = [PR]
        applied = based.run("push", based.push_event(base, merge), merge, {"database-url": secret_url})

    # Both runs reached the database and failed for the SQL, not for the connection.
    assert checked.failed and applied.failed
    report = json.loads(Path(applied.outputs["report-json"]).read_text())
    assert {issue["code"] for issue in report["issues"]} == {"invalid-sql"}
    assert report["database"] == display_url(secret_url) and role in report["database"]
    masks = [line for line in checked.stdout.splitlines() if line.startswith("::add-mask::")]
    assert any(member.password in line for line in masks)  # the runner is told to hide it ...
    texts = [checked.log, applied.log, checked.summary, applied.summary, *fake_github.bodies(PR)]
    for run in (checked, applied):
        texts += [Path(run.outputs["report-json"]).read_text(), json.dumps(run.outputs)]
    assert not leaked(member.password, *texts)  # ... and nothing else ever contains it
    assert any(display_url(secret_url) in text for text in texts)


def test_the_issues_example_is_registered_whole_and_never_printed(
    based: Workspace, fake_github: FakeGitHub
) -> None:
    """``postgresql://u:Two@AtS3cret@host``: libpq sends "Two" and quotes "AtS3cret@host" as the host."""
    run = check(based, EXAMPLE + "?connect_timeout=2", {PREFS: PREFS_TX_SQL})
    assert run.failed and run.step("run").returncode != 0
    masks = {
        line.removeprefix("::add-mask::").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        for line in run.stdout.splitlines()
        if line.startswith("::add-mask::")
    }  # as the runner reads them back
    assert {"Two@AtS3cret", "AtS3cret", "Two", "Two%40AtS3cret"} <= masks
    report = Path(run.outputs["report-json"]).read_text()
    texts = [run.log, run.summary, report, json.dumps(run.outputs), *fake_github.bodies(PR)]
    assert "cannot connect" in run.log and not leaked("Two@AtS3cret", *texts)


def test_merge_with_a_lint_error_applies_nothing_and_names_the_rule(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    """The apply step goes through the same lint gate as `lockgate run`."""
    gated = "migrations/20250830000000_customer.sql"
    sql = "CREATE TABLE early (id bigint);\nALTER TABLE accounts ADD COLUMN customer_id bigint NOT NULL;\n"
    base = based.git("rev-parse", "main")
    based.git("checkout", "-q", "-B", "changes", base)
    head = based.commit({gated: sql}, "customer")
    merge = based.merge_commit(base, head)
    fake_github.commit_pulls[merge] = [PR]

    run = based.run("push", based.push_event(base, merge), merge, {"database-url": db_url})

    assert run.failed and run.step("run").returncode == 1
    assert "early" not in tables(db_url)
    assert f"::error file={gated},line=2" in run.log and "add-not-null-column-without-default" in run.log


def test_a_comment_only_edit_is_a_warning_in_the_pr_check_as_everywhere(
    based: Workspace, db_url: str, fake_github: FakeGitHub
) -> None:
    run = check(based, db_url, {ACCOUNTS: ACCOUNTS_SQL + "-- reviewed by the DBA\n"})

    assert not run.failed, run.log
    (comment,) = fake_github.ours(PR)
    assert "check passed" in comment["body"]
    # seen from git (the immutability check) and from the database (validate), under one rule id
    assert comment["body"].count("cosmetic-edit") >= 2
    assert "checksum-mismatch" not in comment["body"]
    assert f"::warning file={ACCOUNTS}" in run.log
