"""The report as GitHub-flavoured markdown: the sticky PR comment and the job summary.

One renderer for both, so they never disagree; the comment is capped below GitHub's 65,536-character
limit by degrading to a summary that links to the job summary, which always holds everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lockgate import __version__
from lockgate.durations import format_ms
from lockgate.github.model import APPLY, ActionReport, Issue, PlanRow

if TYPE_CHECKING:
    from lockgate.report import RunResultJson

MARKER = "<!-- lockgate -->"
COMMENT_LIMIT = 65_536
COMMENT_BUDGET = 60_000
"""Leave room for GitHub's own accounting (it counts some characters differently) and the footer."""

_ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️", "notice": "ℹ️"}
_SOURCES = {
    "lint": "lint",
    "naming": "naming",
    "immutable": "immutability",
    "plan": "plan",
    "run": "migration",
    "dry-run": "dry run",
    "drift": "drift",
}


def cell(text: object) -> str:
    """Text safe inside a table cell: no pipes or newlines, and no accidental @mentions."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("@", "@\u200b")


def code(text: object) -> str:
    """Text as an inline code span inside a table cell or list item (mentions do not fire in code)."""
    return "`" + str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def verdict(report: ActionReport) -> str:
    if report.mode == APPLY:
        return _apply_verdict(report)
    errors = report.count("error")
    icon = "✅" if report.ok else "❌"
    if not report.ok:
        kinds = sorted({_SOURCES.get(i.source, i.source) for i in report.issues if i.severity == "error"})
        reason = f"{errors} error{'s' * (errors != 1)} ({', '.join(kinds)})" if errors else "see below"
        return f"{icon} **lockgate: check failed** — {reason}"
    pending = len(report.plan)
    warnings = report.count("warning")
    tail = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
    what = f"merging applies {pending} migration{'s' * (pending != 1)}" if pending else "nothing to apply"
    return f"{icon} **lockgate: check passed** — {what}{tail}"


def _apply_verdict(report: ActionReport) -> str:
    applied = sum(1 for run in report.runs if run["outcome"] == "applied")
    failed = report.failed_run
    if failed is not None:
        return f"❌ **lockgate: migration failed** — {code(failed['id'])} rolled back; {applied} applied before it"
    if not report.ok:
        return "❌ **lockgate: nothing applied** — validation failed"
    if applied:
        return f"✅ **lockgate: applied {applied} migration{'s' * (applied != 1)}**"
    return "✅ **lockgate: database up to date** — nothing to apply"


def plan_table(rows: Iterable[PlanRow]) -> list[str]:
    lines = [
        "| # | version | name | transaction | locks on existing tables | lint |",
        "| ---: | --- | --- | --- | --- | --- |",
    ]
    for index, row in enumerate(rows, start=1):
        transaction = {True: "yes", False: "**no** (runs statement by statement)", None: "invalid SQL"}[
            row.transactional
        ]
        version = row.migration["version"]
        version_cell = f"{version} ⚠️ out of order" if row.out_of_order else str(version)
        lint = ", ".join(
            part
            for part in (
                f"{row.lint_errors} error{'s' * (row.lint_errors != 1)}" if row.lint_errors else "",
                f"{row.lint_warnings} warning{'s' * (row.lint_warnings != 1)}" if row.lint_warnings else "",
            )
            if part
        )
        locks = "<br>".join(cell(lock) for lock in row.locks) or "none"
        lines.append(
            f"| {index} | {version_cell} | {code(row.migration['name'])} | {transaction} | {locks} | {lint or 'clean'} |"
        )
    return lines


def run_table(rows: Iterable[RunResultJson]) -> list[str]:
    lines = ["| migration | outcome | duration | transaction |", "| --- | --- | ---: | --- |"]
    for row in rows:
        outcome = f"❌ {row['outcome']}" if row["outcome"] == "failed" else row["outcome"]
        lines.append(
            f"| {code(row['id'])} | {outcome} | {format_ms(row['execution_time_ms'])} | "
            f"{'yes' if row['transactional'] else 'no'} |"
        )
    return lines


def issue_line(issue: Issue) -> str:
    where = f"{code(issue.where)} " if issue.where else ""
    rule = f"[{issue.code}]({issue.url})" if issue.url else issue.code
    text = (
        f"- {_ICONS.get(issue.severity, '')} {where}**{_SOURCES.get(issue.source, issue.source)}** {rule}: "
    )
    text += cell(issue.message)
    if issue.help:
        text += f"<br>↳ {cell(issue.help)}"
    if issue.fix:
        fence = "````" if "```" in issue.fix else "```"
        text += (
            "\n\n  "
            + fence
            + "sql\n"
            + "".join(f"  {line}\n" for line in issue.fix.splitlines())
            + "  "
            + fence
        )
    return text


def footer(report: ActionReport) -> str:
    meta = report.meta
    parts = [f"lockgate {__version__}"]
    if meta.get("run_url"):
        parts.append(f"[run {meta.get('run_id', '')}]({meta['run_url']})")
    if meta.get("sha"):
        parts.append(f"commit {meta['sha'][:12]}")
    if report.mode == APPLY and meta.get("actor"):
        parts.append(f"by {meta['actor']}")
    if report.database:
        parts.append(f"database {code(report.database)}")
    return "<sub>" + " · ".join(parts) + "</sub>"


def fleet_table(groups: Iterable[dict[str, Any]]) -> list[str]:
    """One row per group of targets: who, where they stand, what merging would apply to them."""
    rows = ["| targets | state | would apply |", "|---|---|---|"]
    for group in groups:
        targets = list(group["targets"])
        shown = ", ".join(targets[:8]) + (f" and {len(targets) - 8} more" if len(targets) > 8 else "")
        pending = list(group["pending"])
        applies = (
            "nothing" if not pending else f"{len(pending)}: " + ", ".join(code(name) for name in pending[:5])
        )
        if len(pending) > 5:
            applies += f" … +{len(pending) - 5}"
        state = group["state"] + (f": {group['message']}" if group.get("message") else "")
        rows.append(f"| {cell(shown)} ({len(targets)}) | {cell(state)} | {applies} |")
    return rows


def drift_lines(drift: dict[str, Any], database: str) -> list[str]:
    """The drift check: its one-line summary (as ``lockgate status --drift`` says it), then a table."""
    differences = list(drift.get("differences") or [])
    error = drift.get("error")
    replayed = int(drift.get("replayed") or 0)
    if error:
        return [f"⚠️ drift not checked: {cell(error)}"]
    if not differences:
        return [f"✅ no drift: {code(database)} has the schema its {replayed} applied migration(s) build"]
    rows = [
        f"⚠️ {len(differences)} difference(s) between {code(database)} and the schema its {replayed} applied "
        "migration(s) build",
        "",
        "| kind | object | detail |",
        "|---|---|---|",
    ]
    rows += [f"| {cell(d['kind'])} | {cell(d['object'])} | {cell(d['detail'])} |" for d in differences]
    return rows


def render(report: ActionReport, *, marker: bool = True, issue_limit: int | None = None) -> str:
    """The full report; ``issue_limit`` keeps only the first findings (the comment's degraded form)."""
    lines = [MARKER] if marker else []
    lines += [verdict(report), ""]
    if report.mode == APPLY and report.runs:
        lines += ["**What ran**", "", *run_table(report.runs), ""]
    if report.plan and report.mode != APPLY:
        lines += ["**Merged plan** (what merging applies, in order)", "", *plan_table(report.plan), ""]
    elif report.plan and not report.runs:
        lines += ["**Pending, not applied**", "", *plan_table(report.plan), ""]
    if report.fleet:
        lines += [
            "**Merged plan per target** (targets with the same plan share a row)",
            "",
            *fleet_table(report.fleet),
            "",
        ]
    if report.dry_run:
        lines += ["**Dry run on the shadow database**", "", *run_table(report.dry_run), ""]
    if report.drift is not None:
        lines += ["**Drift** (the target's schema against the one its applied migrations build)", ""]
        lines += [*drift_lines(report.drift, report.database or "the target"), ""]
    # Drift has its own section above; the findings are what the files and the plan say.
    issues = sorted(
        (issue for issue in report.issues if issue.source != "drift"),
        key=lambda i: (i.severity != "error", i.file or "", i.line or 0),
    )
    if issues:
        shown = issues if issue_limit is None else issues[:issue_limit]
        lines += [f"**Findings** ({len(issues)})", "", *(issue_line(issue) for issue in shown)]
        if len(shown) < len(issues):
            lines.append(f"- … and {len(issues) - len(shown)} more in the job summary")
        lines.append("")
    lines += [f"> {cell(note)}" for note in report.notes]
    if report.notes:
        lines.append("")
    lines.append(footer(report))
    return "\n".join(lines) + "\n"


def render_comment(report: ActionReport) -> str:
    """The sticky comment, under ``COMMENT_BUDGET`` characters whatever the number of findings."""
    body = render(report)
    limit = len(report.issues)
    while len(body) > COMMENT_BUDGET and limit > 0:
        limit //= 2
        body = render(report, issue_limit=limit)
    if len(body) > COMMENT_BUDGET:  # a plan of thousands of files: verdict and a link only
        link = report.meta.get("run_url", "")
        body = "\n".join(
            [
                MARKER,
                verdict(report),
                "",
                f"The full report ({len(report.plan)} migrations, {len(report.issues)} findings) is too "
                f"long for a comment: see the [job summary]({link}).",
                "",
                footer(report),
            ]
        )
    return body


def render_summary(report: ActionReport) -> str:
    return render(report, marker=False)
