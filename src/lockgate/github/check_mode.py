"""Check mode (pull requests): lint, naming, immutability, checksums and the merged plan — read-only.

Nothing here writes to the target database: it is read through ``service.read_state`` (a read-only
connection). The optional dry run goes to the *shadow* database only.
"""

from __future__ import annotations

from pathlib import Path

from lockgate.config import Config
from lockgate.db import resolve_target
from lockgate.errors import ConfigError
from lockgate.github.changes import PullRequestDiff, migration_changes
from lockgate.github.event import ActionEnv
from lockgate.github.inputs import ActionInputs
from lockgate.github.model import ActionReport, Issue
from lockgate.github.plan_view import (
    latest_applied_version,
    plan_rows,
    problem_issue,
    repo_path,
    run_row,
)
from lockgate.github.pr_checks import immutability_issues, lint_files, lint_issue, naming_issues
from lockgate.github.workflow import Workflow
from lockgate.lint.formats.github_format import annotation
from lockgate.plan import SHOWN_APPLIED
from lockgate.problems import Severity
from lockgate.source import discover


def run_check(
    env: ActionEnv, inputs: ActionInputs, config: Config, root: Path, workflow: Workflow, report: ActionReport
) -> None:
    """Fill ``report`` with every check's result and emit annotations as findings appear."""
    diff = _diff(env, config, root, report)
    lint_paths = diff.present if diff else _all_migrations(root, config)
    lint = lint_files(config, root, lint_paths)
    for finding in lint.findings:
        workflow.raw_annotation(annotation(finding))
    report.issues += [lint_issue(finding) for finding in lint.findings]
    if diff is not None and env.base_sha:
        label = _base_label(env)
        other = naming_issues(diff, env.base_sha, label, allow_out_of_order=config.allow_out_of_order)
        other += immutability_issues(diff, label)
        _annotate(workflow, other)
        report.issues += other
    if inputs.database_url:
        _database_plan(inputs.database_url, config, root, lint.counts, workflow, report)
    else:
        _files_plan(config, root, diff, lint.counts, workflow, report)
    if inputs.targets:
        _fleet_plans(inputs.targets, config, workflow, report)
    if inputs.dry_run and inputs.shadow_database_url:
        _dry_run(inputs.shadow_database_url, config, root, workflow, report)
    if inputs.drift and inputs.database_url:
        _drift(inputs.database_url, inputs.shadow_database_url, config, workflow, report)


DRIFT_ANNOTATIONS = 20
"""Annotations for drift, at most (a database edited by hand for years can differ in hundreds of places;
the comment and the job summary list them all)."""


def _drift(
    url: str, shadow_url: str | None, config: Config, workflow: Workflow, report: ActionReport
) -> None:
    """The target (read-only) against the schema its applied history builds in a shadow database on the
    shadow-database-url's server, else the embedded PostgreSQL. Each difference is a warning (it fails the
    check only with fail-on: warning); a history that does not replay is said, not raised."""
    from lockgate.report import drift_check_json
    from lockgate.service import drift_check

    target = resolve_target(url)
    if target is None:
        raise ConfigError("input database-url: empty")
    check = drift_check(config, target, shadow_url, workflow.echo)
    report.drift = drift_check_json(check)
    issues = [Issue("drift", Severity.WARNING, "schema-drift", item.line()) for item in check.differences]
    if check.error is not None:
        issues.append(Issue("drift", Severity.WARNING, "drift-not-checked", check.error))
    _annotate(workflow, issues[:DRIFT_ANNOTATIONS])
    report.issues += issues


def _fleet_plans(selector: str, config: Config, workflow: Workflow, report: ActionReport) -> None:
    """Each selected target's merged plan, read-only, grouped by identical plans; a target whose plan has
    errors (or that cannot be read) is an error of the check, as the single database's would be."""
    from lockgate.fleet import load_fleet
    from lockgate.rollout import ERROR, PROBLEMS, fleet_status

    targets = load_fleet(config).select(selector)
    result = fleet_status(config, targets, parallel=4)
    names = {
        migration.version: migration.filename for migration in discover(config.migrations_path).migrations
    }
    groups: dict[tuple[str, tuple[int, ...], str], list[str]] = {}
    for outcome in result.outcomes:
        message = outcome.message if outcome.state in {PROBLEMS, ERROR} else ""
        groups.setdefault((outcome.state, outcome.pending, message), []).append(outcome.target.name)
    for (state, pending, message), members in sorted(groups.items(), key=lambda item: -len(item[1])):
        report.fleet.append(
            {
                "targets": members,
                "state": state,
                "pending": [names.get(version, str(version)) for version in pending],
                "message": message,
            }
        )
        if state in {PROBLEMS, ERROR}:
            issue = Issue("plan", Severity.ERROR, "fleet-target", f"{', '.join(members)}: {message}")
            _annotate(workflow, [issue])
            report.issues.append(issue)


def _base_label(env: ActionEnv) -> str:
    base = env.pull_request.get("base")
    ref = base.get("ref") if isinstance(base, dict) else None
    return f"the base branch {ref}" if ref else "the base commit"


def _diff(env: ActionEnv, config: Config, root: Path, report: ActionReport) -> PullRequestDiff | None:
    if not env.base_sha:
        report.notes.append("no base commit in the event payload: every migration was linted")
        return None
    diff = migration_changes(root, config.migrations_path, env.base_sha)
    report.base = env.base_sha
    report.changed_files = [change.path for change in diff.changes]
    return diff


def _all_migrations(root: Path, config: Config) -> list[str]:
    source = discover(config.migrations_path)
    return [repo_path(root, m.path) or m.filename for m in source.migrations]


def _annotate(workflow: Workflow, issues: list[Issue]) -> None:
    for issue in issues:
        level = "error" if issue.severity == "error" else "warning"
        title = f"lockgate {issue.code}"
        workflow.annotate(level, issue.message, file=issue.file, line=issue.line, title=title)


def _database_plan(
    url: str,
    config: Config,
    root: Path,
    lint_counts: dict[str, tuple[int, int]],
    workflow: Workflow,
    report: ActionReport,
) -> None:
    """Checksums of every applied migration against the PR's files, and what merging would apply.

    The problems are exactly ``lockgate validate``'s, Supabase's shared-history checks included: a version
    the Supabase CLI pushed but lockgate never adopted must stop the merge here, not fail the deploy.
    """
    from lockgate.service import table_sizes, validate

    target = resolve_target(url)
    if target is None:
        raise ConfigError("input database-url: empty")
    report.database = target.masked
    state, problems = validate(config, target)
    plan = state.plan
    report.applied_history = sum(1 for entry in plan.entries if entry.state in SHOWN_APPLIED)
    sizes = table_sizes(target) if plan.pending else {}
    report.plan = plan_rows(root, plan.pending, latest_applied_version(plan), lint_counts, sizes)
    issues = [problem_issue(root, problem) for problem in problems]
    _annotate(workflow, issues)
    report.issues += issues
    if not state.table_exists:
        report.notes.append(f"{config.table} does not exist yet: every migration is pending")


def _files_plan(
    config: Config,
    root: Path,
    diff: PullRequestDiff | None,
    lint_counts: dict[str, tuple[int, int]],
    workflow: Workflow,
    report: ActionReport,
) -> None:
    """Without a database: the files the PR adds, plus the problems visible in the files alone."""
    from lockgate.service import validate_offline

    state, problems = validate_offline(config)
    source = state.source
    issues = [problem_issue(root, p) for p in problems]
    _annotate(workflow, issues)
    report.issues += issues
    added = set(diff.added) if diff else set()
    pending = [m for m in source.migrations if repo_path(root, m.path) in added]
    report.plan = plan_rows(root, pending, None, lint_counts)
    report.notes.append(
        "no database-url: the plan lists the files this pull request adds; applied checksums and "
        "order against the database were not checked"
    )


def _dry_run(url: str, config: Config, root: Path, workflow: Workflow, report: ActionReport) -> None:
    """Run the pending migrations on the shadow database inside a transaction that is rolled back."""
    from lockgate.service import run

    target = resolve_target(url)
    if target is None:
        raise ConfigError("input shadow-database-url: empty")
    outcome = run(config, target, dry_run=True, notify=workflow.echo)
    for result in outcome.result.results:
        row = run_row(root, result)
        report.dry_run.append(row)
        error = result.error
        if error is not None:
            issue = Issue(
                "dry-run",
                Severity.ERROR,
                error.sqlstate or "dry-run-failed",
                error.message,
                row["file"],
                error.line,
                version=result.migration.version,
            )
            _annotate(workflow, [issue])
            report.issues.append(issue)
    if outcome.blocked:
        report.notes.append("the shadow database's own history blocks a dry run (see its lockgate status)")
        report.ok = False


def verdict_ok(report: ActionReport, fail_on: str) -> bool:
    failing = {"error", "warning"} if fail_on == "warning" else {"error"}
    return report.ok and not any(issue.severity in failing for issue in report.issues)
