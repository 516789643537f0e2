"""Apply mode (push to the default branch, manual dispatch): ``service.run`` with the run's provenance.

Each migration runs in its own transaction with its tracking row (the runner's guarantee), so a
failure leaves nothing half-applied; this module only turns the outcome into rows, an annotation on
the failing file and line, and the metadata that says who applied what from which run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lockgate.config import Config, with_overrides
from lockgate.db import resolve_target
from lockgate.errors import ConfigError
from lockgate.github.event import ActionEnv
from lockgate.github.model import ActionReport, Issue
from lockgate.github.plan_view import latest_applied_version, plan_rows, problem_issue, repo_path, run_row
from lockgate.github.pr_checks import lint_issue
from lockgate.github.workflow import Workflow
from lockgate.problems import Severity
from lockgate.report import RunResultJson
from lockgate.runner import MigrationResult

VIA = "action"


def provenance(env: ActionEnv) -> dict[str, Any]:
    """Stored in every tracking row's metadata: enough to find the run, the commit and who started it."""
    return {
        "github_actor": env.actor,
        "github_repository": env.repository,
        "github_run_id": env.run_id,
        "github_run_attempt": env.run_attempt,
        "github_run_url": env.run_url,
        "github_event": env.event_name,
        "git_commit": env.sha,
    }


def failure_issue(row: RunResultJson, result: MigrationResult) -> Issue:
    error = result.error
    parts = [error.message if error else "failed"]
    if error and error.sqlstate:
        parts.append(f"(SQLSTATE {error.sqlstate})")
    if error and error.detail:
        parts.append(f"— {error.detail}")
    if not result.transactional:
        parts.append(
            f"— ran outside a transaction; {result.statements_completed} statement(s) had completed: "
            "inspect the database, then `lockgate repair`"
        )
    return Issue(
        source="run",
        severity=Severity.ERROR,
        code="migration-failed",
        message=" ".join(parts),
        file=row["file"],
        line=error.line if error else None,
        version=result.migration.version,
        help=error.hint
        if error and error.hint
        else "fix the migration in a new commit; nothing of it was applied"
        if result.transactional
        else None,
    )


def run_apply(
    env: ActionEnv, url: str | None, config: Config, root: Path, workflow: Workflow, report: ActionReport
) -> None:
    from lockgate.service import run

    target = resolve_target(url)
    if target is None:
        raise ConfigError("input database-url: required to apply migrations")
    report.database = target.masked
    outcome = run(with_overrides(config, via=VIA), target, notify=workflow.echo, metadata=provenance(env))
    latest = latest_applied_version(outcome.plan)
    report.plan = plan_rows(root, outcome.plan.pending, latest, {})
    if outcome.blocked:
        report.ok = False
        issues = [problem_issue(root, problem) for problem in outcome.plan.errors]
        issues += [
            lint_issue(finding._replace(path=repo_path(root, finding.path) or finding.path))
            for finding in outcome.lint_blocking
        ]
        for issue in issues:
            report.issues.append(issue)
            workflow.annotate(
                "error", issue.message, file=issue.file, line=issue.line, title=f"lockgate {issue.code}"
            )
    for result in outcome.result.results:
        row = run_row(root, result)
        report.runs.append(row)
        if result.outcome == "failed":
            report.ok = False
            issue = failure_issue(row, result)
            report.issues.append(issue)
            workflow.annotate(
                "error", issue.message, file=issue.file, line=issue.line, title="lockgate: migration failed"
            )
