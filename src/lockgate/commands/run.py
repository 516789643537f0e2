"""``lockgate run``: apply pending migrations (or ``--dry-run`` them) with a summary table."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from lockgate.commands.fleet_view import parallel_option, run_fleet, targets_option
from lockgate.console import Output, build_config
from lockgate.durations import format_ms
from lockgate.errors import EXIT_FAILED, EXIT_OK, ConfigError
from lockgate.locks import pending_locks
from lockgate.options import config_options
from lockgate.report import refusal_summary, run_json, run_summary
from lockgate.runner import FAILED, MigrationResult
from lockgate.service import RunOutcome, database_target
from lockgate.service import run as run_service
from lockgate.source import Migration


@click.command()
@config_options
@click.option(
    "--dry-run", is_flag=True, help="Apply each pending migration in a transaction, then roll back."
)
@click.option("--to", "to_version", type=int, metavar="VERSION", help="Stop after this version.")
@click.option("--lock-timeout", metavar="DURATION", help="lock_timeout for each migration (default 2s).")
@click.option(
    "--statement-timeout", metavar="DURATION", help="statement_timeout for each migration (default 1h)."
)
@click.option("--lock-wait", metavar="DURATION", help="How long to wait for another runner (default 10min).")
@click.option("--lock-retries", type=int, metavar="N", help="Retries after a lock timeout (default 5).")
@click.option(
    "--allow-out-of-order",
    is_flag=True,
    default=None,
    help="Apply pending files older than the latest applied.",
)
@click.option(
    "--atomic",
    is_flag=True,
    default=None,
    help="Apply every pending migration in one transaction: all or nothing.",
)
@click.option("--executed-by", metavar="UUID", help="User id recorded in executed_by.")
@click.option(
    "--no-lint",
    is_flag=True,
    help='Skip the lint gate (pending files are linted first; same as lint_on_run = "off").',
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@targets_option
@parallel_option
def run(
    migrations_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    table: str | None,
    dry_run: bool,
    to_version: int | None,
    as_json: bool,
    no_lint: bool,
    targets: str | None,
    parallel: int,
    **settings: Any,
) -> None:
    """Apply pending migrations, each in its own transaction with its tracking row (after linting them).

    With --targets, to every selected database of the fleet, wave by wave (docs/fleets.md)."""
    if no_lint:
        settings["lint_on_run"] = "off"
    config = build_config(migrations_dir, database_url, config_file, table, **settings)
    if targets is not None:
        if database_url is not None or to_version is not None:
            flag = "--database-url" if database_url is not None else "--to"
            raise ConfigError(f"{flag} does not go with --targets: each target's URL comes from its url_env")
        run_fleet(config, targets, parallel, dry_run, as_json)
    output = Output()
    target = database_target(config, output.notice)
    progress, display = _progress(output, as_json)
    with display:
        outcome = run_service(
            config, target, dry_run=dry_run, to_version=to_version, notify=output.notice, progress=progress
        )
    if as_json:
        output.json(
            run_json(
                outcome.plan,
                outcome.result,
                blocked=outcome.blocked,
                dry_run=dry_run,
                executed_by=config.executed_by,
                lint=outcome.lint,
            )
        )
    else:
        _render(output, outcome, target.masked)
    failed = outcome.blocked or outcome.result.failed is not None
    raise SystemExit(EXIT_FAILED if failed else EXIT_OK)


def _retry_line(migration: Migration, result: MigrationResult) -> str:
    """Each lock-timeout retry as it happens, and who held the lock: the first thing to look up."""
    blocked = f"; {result.error.blocked_by}" if result.error and result.error.blocked_by else ""
    return f"lock timeout on {migration.filename} (attempt {result.attempts}){blocked}; retrying"


def _progress(output: Output, quiet: bool) -> tuple[Any, Any]:
    """A live progress bar on a terminal; when piped or in JSON mode, only the retries (on stderr)."""
    if quiet or not output.err_interactive:

        def retries_only(event: str, migration: Migration, result: MigrationResult | None) -> None:
            if event == "retry" and result is not None:
                output.warn(_retry_line(migration, result))

        return retries_only, nullcontext()
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    display = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=output.err,
        transient=True,
    )
    task = display.add_task("migrating", total=None, visible=False)  # shown once its total is known

    def progress(event: str, migration: Migration, result: MigrationResult | None) -> None:
        if event == "queued":
            display.update(task, total=(display.tasks[0].total or 0) + 1, visible=True)
        elif event == "start":
            display.update(task, description=f"applying {migration.filename}")
        elif event == "retry" and result:
            display.console.print(f"[yellow]warning:[/yellow] {escape(_retry_line(migration, result))}")
        elif event == "done":
            display.advance(task)

    return progress, display


def _render_lint(output: Output, outcome: RunOutcome) -> None:
    """Refusing findings one line each, with the fix; in a dry run every finding; otherwise a count."""
    for finding in outcome.lint_blocking:
        output.error(_finding_line(finding))
    if outcome.lint_blocking and outcome.blocked:
        output.error(refusal_summary(outcome.plan, outcome.lint_blocking))
        return
    others = [finding for finding in outcome.lint if finding not in outcome.lint_blocking]
    shown = others if outcome.dry_run else [f for f in others if f.severity == "error"]
    for finding in shown:
        output.warn(_finding_line(finding))
    rest = [finding for finding in others if finding not in shown]
    if rest:
        files = len({finding.path for finding in rest})
        output.warn(f"lint: {len(rest)} more finding(s) in {files} pending migration(s); see `lockgate lint`")


def _finding_line(finding: Any) -> str:
    fix = f" (fix: {finding.help})" if finding.help else ""
    return f"{finding.path}:{finding.line}:{finding.column}: [{finding.rule_id}] {finding.message}{fix}"


def _locks_cell(summary: tuple[str, ...] | None) -> str:
    """``locks.pending_locks`` of one migration as the dry-run table shows it (like the PR comment)."""
    if summary is None:
        return "invalid SQL"
    return ", ".join(summary) or "none"


def _render(output: Output, outcome: RunOutcome, database: str) -> None:
    plan = outcome.plan
    for problem in plan.warnings:
        output.problem(problem)
    if outcome.blocked and plan.errors:
        for problem in plan.errors:
            output.problem(problem)
        output.error(refusal_summary(plan, ()))
        return
    _render_lint(output, outcome)
    if outcome.blocked:
        return
    results = outcome.result.results
    if not results:
        output.line(run_summary(outcome.result, dry_run=outcome.dry_run, database=database))
        return
    rows = [
        [
            r.migration.filename,
            r.outcome + (f" ({r.note})" if r.note else ""),
            format_ms(r.duration_ms),
            str(r.attempts),
            "yes" if r.transactional else "no",
        ]
        for r in results
    ]
    headers = ["migration", "outcome", "time", "attempts", "transaction"]
    if outcome.dry_run:  # what the real run would block: the PR comment's lock column
        headers.append("locks")
        for row, summary in zip(rows, pending_locks(r.migration for r in results), strict=True):
            row.append(_locks_cell(summary))
    title = "dry run (rolled back)" if outcome.dry_run else "migrations"
    output.table(headers, rows, title=title, optional=["locks", "transaction", "attempts", "time"])
    failed = outcome.result.failed
    if failed is not None and failed.error is not None:
        output.error(failed.error.one_line(failed.migration))
        if failed.error.detail:
            output.line(f"  detail: {failed.error.detail}")
        if failed.error.hint:
            output.line(f"  hint: {failed.error.hint}")
        if not failed.transactional:
            output.error(
                f"{failed.migration.filename} ran outside a transaction: {failed.statements_completed} statement(s) "
                "had already run. Fix the database by hand, then run `lockgate repair` before the next run."
            )
        not_run = len(plan.pending) - len(results)
        if not_run > 0:
            output.line(f"{not_run} later migration(s) were not run")
        return
    output.line(run_summary(outcome.result, dry_run=outcome.dry_run, database=database), style="green")
    if outcome.result.count(FAILED) == 0 and any(r.outcome == "skipped" for r in results):
        output.line("some migrations were applied by another runner meanwhile")
