"""The comment and summary: verdicts, tables, findings, the 65,536-character cap, masking."""

from __future__ import annotations

import io
from pathlib import Path

from lockgate.github.markdown import COMMENT_LIMIT, MARKER, cell, render_comment, render_summary
from lockgate.github.model import APPLY, CHECK, ActionReport, Issue, PlanRow
from lockgate.github.workflow import Workflow
from lockgate.report import MigrationJson, RunResultJson

CHECKSUM = "0" * 64


def planned(version: int, name: str, file: str) -> MigrationJson:
    """A pending migration as ``report.pending_json`` builds it."""
    return {
        "id": f"{version}_{name}",
        "version": version,
        "name": name,
        "state": "pending",
        "file": file,
        "checksum": CHECKSUM,
        "recorded_checksum": None,
        "applied_at": None,
        "executed_by": None,
        "execution_time_ms": None,
        "error_message": None,
        "metadata": None,
    }


def ran(migration_id: str, file: str, outcome: str, ms: int, line: int | None = None) -> RunResultJson:
    """A run result as ``report.result_json`` builds it."""
    version, name = migration_id.split("_", 1)
    error = None
    if outcome == "failed":
        error = {
            "message": "boom",
            "sqlstate": "23502",
            "line": line,
            "detail": None,
            "hint": None,
            "statements_completed": 0,
        }
    return {
        "id": migration_id,
        "version": int(version),
        "name": name,
        "file": file,
        "checksum": CHECKSUM,
        "outcome": outcome,
        "execution_time_ms": ms,
        "attempts": 1,
        "transactional": True,
        "note": None,
        "error": error,
    }


META = {"run_url": "https://github.com/o/r/actions/runs/1", "run_id": "1", "sha": "a" * 40, "actor": "octo"}


def report_with(issues: int, rows: int = 2) -> ActionReport:
    return ActionReport(
        mode=CHECK,
        ok=issues == 0,
        plan=[
            PlanRow(
                planned(20250101000000 + i, f"step_{i}", f"migrations/{i}.sql"),
                i % 2 == 0,
                ("SHARE on t",),
                1,
                0,
            )
            for i in range(rows)
        ],
        issues=[
            Issue("lint", "error", "rule-x", "x" * 400, f"migrations/{i}.sql", i + 1, "do y", "https://d/#x")
            for i in range(issues)
        ],
        meta=META,
    )


def test_check_comment_has_marker_verdict_plan_and_findings() -> None:
    body = render_comment(report_with(1))
    assert body.startswith(MARKER + "\n")
    assert "check failed" in body and "1 error (lint)" in body
    assert "| 1 | 20250101000000 | `step_0` | yes | SHARE on t | 1 error |" in body
    assert "| 2 | 20250101000001 | `step_1` | **no** (runs statement by statement)" in body
    assert "`migrations/0.sql:1` **lint** [rule-x](https://d/#x)" in body and "↳ do y" in body
    assert "[run 1](https://github.com/o/r/actions/runs/1)" in body


def test_passing_check_says_what_merging_applies() -> None:
    assert "check passed** — merging applies 2 migrations" in render_comment(report_with(0))


def test_comment_degrades_below_githubs_limit_and_points_to_the_summary() -> None:
    report = report_with(1000)
    body = render_comment(report)
    assert len(body) < COMMENT_LIMIT
    assert "more in the job summary" in body
    assert render_summary(report).count("**lint**") == 1000  # the summary keeps every finding


def test_huge_plan_degrades_to_verdict_and_link() -> None:
    body = render_comment(report_with(0, rows=2000))
    assert len(body) < COMMENT_LIMIT
    assert "too long for a comment" in body and META["run_url"] in body


def test_apply_comment_shows_what_ran_and_who() -> None:
    report = ActionReport(
        mode=APPLY,
        ok=False,
        runs=[
            ran("20250101000000_a", "migrations/a.sql", "applied", 1200),
            ran("20250102000000_b", "migrations/b.sql", "failed", 5, line=3),
        ],
        issues=[Issue("run", "error", "23502", "boom (SQLSTATE 23502)", "migrations/b.sql", 3)],
        meta=META,
    )
    body = render_comment(report)
    assert "migration failed** — `20250102000000_b` rolled back; 1 applied before it" in body
    assert "| `20250101000000_a` | applied | 1.2 s | yes |" in body
    assert "| `20250102000000_b` | ❌ failed | 5 ms | yes |" in body
    assert "`migrations/b.sql:3`" in body and "by octo" in body


def test_cells_cannot_break_tables_or_mention_people() -> None:
    assert cell("a|b\nc @team") == "a\\|b c @\u200bteam"


def test_workflow_masks_passwords_everywhere(tmp_path: Path) -> None:
    out = io.StringIO()
    summary, outputs = tmp_path / "summary.md", tmp_path / "out"
    url = "postgresql://app:hunter2-secret@db.example.com/postgres"
    workflow = Workflow([url], out=out, output_file=outputs, summary_file=summary)
    workflow.add_masks()
    workflow.annotate(
        "error", f"cannot connect to {url}: password hunter2-secret rejected", file="a.sql", line=2
    )
    workflow.summary(f"db {url}")
    workflow.set_output("report", f"multi\nline {url}")
    printed = out.getvalue().splitlines()
    assert printed[0] == f"::add-mask::{url}" and printed[1] == "::add-mask::hunter2-secret"
    assert all("hunter2" not in line for line in printed[2:])
    assert printed[2].startswith("::error file=a.sql,line=2::cannot connect to postgresql://app:***@")
    assert "hunter2" not in summary.read_text() + outputs.read_text()
    assert outputs.read_text().startswith("report<<lockgate_")


def test_a_lint_finding_shows_its_fix_as_sql_in_the_comment() -> None:
    from lockgate.github.markdown import render
    from lockgate.github.model import ActionReport
    from lockgate.github.pr_checks import lint_issue
    from lockgate.lint.engine import lint_text

    (finding,) = lint_text(
        "CREATE INDEX orders_note ON orders (note);\n", "migrations/20250101000000_a.sql"
    ).findings
    report = ActionReport(mode="check")
    report.issues.append(lint_issue(finding))
    body = render(report)
    assert "```sql\n  -- lockgate: no-transaction" in body
    assert "  CREATE INDEX CONCURRENTLY orders_note ON orders (note);\n  ```" in body
