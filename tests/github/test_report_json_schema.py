"""The Action's report.json against the JSON Schema shipped in the package, in each mode and outcome: a
passing check with a dry run on the shadow database, a failing check, an apply, a failed apply and a run
that could not start. (``Workspace.run`` also checks the report of every other Action test.) Its
migrations and run results are the very objects ``lockgate status``/``run --json`` print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from action_runner import ActionRun
from fake_github import FakeGitHub
from gh_workspace import Workspace
from test_action_e2e import ACCOUNTS, ACCOUNTS_SQL, PREFS, PREFS_TX_SQL, apply_files, based, check  # noqa: F401
from test_check_mode import shadow_url  # noqa: F401

from json_schema_check import assert_matches

INDEX = "migrations/20250829130000_index_email.sql"
INDEX_SQL = "CREATE INDEX accounts_email ON accounts (email);\n"  # a lint warning


def report_of(run: ActionRun) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(Path(run.outputs["report-json"]).read_text(encoding="utf-8"))
    assert_matches(document, "action_report")
    return document


def test_a_check_with_a_dry_run(based: Workspace, db_url: str, shadow_url: str) -> None:  # noqa: F811
    apply_files(based, shadow_url)  # the shadow database is where production is: the base applied
    run = check(
        based,
        db_url,
        {PREFS: PREFS_TX_SQL, INDEX: INDEX_SQL},
        **{"dry-run": "true", "shadow-database-url": shadow_url},
    )
    assert not run.failed, run.log
    report = report_of(run)
    planned = [row["migration"] for row in report["plan"]]
    assert [(m["file"], m["state"], m["recorded_checksum"]) for m in planned] == [
        (PREFS, "pending", None),
        (INDEX, "pending", None),
    ]
    assert [r["outcome"] for r in report["dry_run"]] == ["dry-run-ok", "dry-run-ok"]
    assert [r["id"] for r in report["dry_run"]] == [m["id"] for m in planned]
    assert {(i["source"], i["severity"]) for i in report["issues"]} == {("lint", "warning")}


def test_a_failing_check(based: Workspace, db_url: str) -> None:  # noqa: F811
    run = check(based, db_url, {ACCOUNTS: ACCOUNTS_SQL + "ALTER TABLE accounts ADD COLUMN name text;\n"})
    assert run.failed
    issues = report_of(run)["issues"]
    plan = next(i for i in issues if i["source"] == "plan" and i["code"] == "checksum-mismatch")
    assert plan["file"] == ACCOUNTS and plan["version"] == 20250801000000


def test_an_apply_and_a_failed_apply(based: Workspace, db_url: str, fake_github: FakeGitHub) -> None:  # noqa: F811
    base = based.git("rev-parse", "main")
    based.git("checkout", "-q", "-B", "changes", base)
    good = based.commit({PREFS: PREFS_TX_SQL}, "preferences")
    applied = report_of(based.run("push", based.push_event(base, good), good, {"database-url": db_url}))
    (result,) = applied["runs"]
    assert result["file"] == PREFS and result["outcome"] == "applied" and result["error"] is None
    assert isinstance(result["execution_time_ms"], int) and len(result["checksum"]) == 64

    broken = "migrations/20250830000000_backfill.sql"
    bad = based.commit(
        {broken: "CREATE TABLE audit (id bigint);\nINSERT INTO accounts (id) VALUES (1);\n"}, "x"
    )
    run = based.run("push", based.push_event(good, bad), bad, {"database-url": db_url})
    assert run.failed
    (failed,) = report_of(run)["runs"]
    assert failed["outcome"] == "failed" and failed["error"]["line"] == 2
    assert failed["error"]["sqlstate"] == "23502"


def test_a_run_that_cannot_start_still_writes_a_valid_report(based: Workspace) -> None:  # noqa: F811
    head = based.git("rev-parse", "main")
    run = based.run("push", based.push_event(head, head), head, {})  # apply without a database-url
    assert run.failed
    report = report_of(run)
    assert report["ok"] is False and report["runs"] == []
    assert [(i["source"], i["code"]) for i in report["issues"]] == [("setup", "lockgate-error")]
