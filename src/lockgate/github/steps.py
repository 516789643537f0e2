"""``lockgate github mask|run|comment``: the three steps of ``action.yml``.

``run`` does the work and writes the job summary, annotations, outputs and ``report.json``; ``comment``
only transports the rendered comment to the pull request(s). Keeping them apart means a comment that
cannot be posted (fork PR, read-only token, GitHub down) can never hide or change the migration
result: ``run``'s exit code is the job's verdict, and ``comment`` never fails the job.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

import click

from lockgate.config import load_config
from lockgate.errors import EXIT_OK, EXIT_USAGE, LockgateError
from lockgate.github.event import ActionEnv
from lockgate.github.inputs import ActionInputs
from lockgate.github.markdown import render_comment, render_summary
from lockgate.github.model import APPLY, CHECK, ActionReport, Issue, write_report
from lockgate.github.workflow import Workflow
from lockgate.problems import Severity

EXIT_FAILED = 1


@click.group("github")
def github() -> None:
    """The GitHub Action's steps (see action.yml and docs/github-action.md)."""


@github.command("mask")
def mask() -> None:
    """Register the database URLs and passwords with ``::add-mask::`` before any step prints anything."""
    urls = (os.environ.get("INPUT_DATABASE_URL"), os.environ.get("INPUT_SHADOW_DATABASE_URL"))
    Workflow([url.strip() for url in urls if url and url.strip()]).add_masks()


@github.command("run")
def run_command() -> None:
    """Check (pull requests) or apply (push, dispatch); exit 1 when the check or a migration fails."""
    urls = [os.environ.get("INPUT_DATABASE_URL"), os.environ.get("INPUT_SHADOW_DATABASE_URL")]
    try:
        env = ActionEnv.from_environ()
    except LockgateError as exc:  # no event, no report: say why in one annotation
        Workflow(urls).annotate("error", str(exc), title="lockgate")
        sys.exit(EXIT_USAGE)
    workflow = Workflow(urls, output_file=env.output_file, summary_file=env.summary_file)
    report = ActionReport(mode=CHECK, meta=_meta(env))
    code = EXIT_OK
    try:
        code = execute(env, ActionInputs.from_environ(), workflow, report)
    except LockgateError as exc:
        code = exc.exit_code if exc.exit_code != EXIT_OK else EXIT_USAGE
        _record_error(workflow, report, str(exc))
    except Exception as exc:  # a bug must still leave a summary, and never an unmasked secret
        workflow.echo(traceback.format_exc())
        code = EXIT_FAILED
        _record_error(workflow, report, f"internal error: {type(exc).__name__}: {exc}")
    publish(env, workflow, report)
    sys.exit(code)


def _record_error(workflow: Workflow, report: ActionReport, text: str) -> None:
    message = workflow.mask(text)
    report.ok = False
    report.issues.append(Issue("setup", Severity.ERROR, "lockgate-error", message))
    workflow.annotate("error", message, title="lockgate")


def execute(env: ActionEnv, inputs: ActionInputs, workflow: Workflow, report: ActionReport) -> int:
    from lockgate.git import find_root
    from lockgate.github.apply_mode import run_apply
    from lockgate.github.check_mode import run_check, verdict_ok

    mode, notice = env.resolve_mode(inputs.mode)
    report.mode = mode
    if notice:
        workflow.notice(notice)
    overrides: dict[str, Any] = {
        "migrations_dir": inputs.migrations_dir,
        "lock_timeout": inputs.lock_timeout,
        "allow_out_of_order": True if inputs.allow_out_of_order else None,
        "atomic": True if inputs.atomic else None,
    }
    config = load_config(cwd=Path.cwd(), overrides=overrides)
    root = find_root(config.root) or config.root
    if env.pull_request_number is not None:
        report.pull_requests = [env.pull_request_number]
    if mode == APPLY:
        run_apply(env, inputs.database_url, config, root, workflow, report)
    else:
        run_check(env, inputs, config, root, workflow, report)
        report.ok = verdict_ok(report, inputs.fail_on)
    return EXIT_OK if report.ok else EXIT_FAILED


def _meta(env: ActionEnv) -> dict[str, str]:
    return {
        "actor": env.actor,
        "repository": env.repository,
        "run_id": env.run_id,
        "run_url": env.run_url,
        "sha": env.sha,
        "event": env.event_name,
    }


def publish(env: ActionEnv, workflow: Workflow, report: ActionReport) -> None:
    """Summary, ``report.json`` (with the rendered comment) and the step outputs."""
    workflow.summary(render_summary(report))
    report_path = env.runner_temp / f"lockgate-{uuid.uuid4().hex[:12]}" / "report.json"
    write_report(report_path, report, workflow.mask(render_comment(report)))
    applied = sum(1 for row in report.runs if row["outcome"] == "applied")
    workflow.set_output("pending-count", str(len(report.plan)))
    workflow.set_output("applied-count", str(applied))
    workflow.set_output("failed", "false" if report.ok else "true")
    workflow.set_output("report-json", str(report_path))
    workflow.echo(render_summary(report))


@github.command("comment")
@click.option(
    "--report",
    "report_path",
    envvar="LOCKGATE_REPORT",
    type=click.Path(dir_okay=False, path_type=Path),
    help="report.json written by `lockgate github run` (its report-json output).",
)
def comment_command(report_path: Path | None) -> None:
    """Create or edit the sticky comment on the pull request(s); never fails the job."""
    from lockgate.github.publish import post_comment

    env = ActionEnv.from_environ()
    workflow = Workflow(
        [os.environ.get("INPUT_DATABASE_URL"), os.environ.get("INPUT_SHADOW_DATABASE_URL")],
        output_file=env.output_file,
    )
    if report_path is None or not report_path.is_file():
        workflow.notice("lockgate: no report to comment with (the run step did not finish)")
        return
    document: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    try:
        inputs = ActionInputs.from_environ()
    except LockgateError as exc:
        workflow.notice(f"lockgate: not commenting ({exc})")
        return
    post_comment(env, inputs, document, workflow)


def _fleet_commands() -> None:
    """``matrix`` and ``summarize`` (github/fleet_steps.py): the fleet's jobs, beside the Action's steps."""
    from lockgate.github.fleet_steps import matrix, summarize

    github.add_command(matrix)
    github.add_command(summarize)


_fleet_commands()
