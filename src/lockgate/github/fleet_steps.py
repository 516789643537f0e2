"""``lockgate github matrix`` and ``lockgate github summarize``: GitHub Actions as the engine for a fleet.

A fleet too large for one machine, or one whose databases each sit behind their own secret or environment,
runs as jobs: ``matrix`` prints a ``strategy.matrix`` for one wave (one entry per shard of targets, each
naming the secret its target's URL comes from), the jobs run ``lockgate run --targets <shard> --json`` and
upload that ``fleet_report``, and a last job's ``summarize`` merges every report into the job summary and
the one sticky comment on the pull request that was merged. Waves are chained in the workflow with
``needs:`` (examples/workflows/fleet.yml); GitHub allows 256 jobs per matrix, so larger waves take
``--per-job`` targets per job (then each job needs every secret of its shard).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from lockgate.config import load_config
from lockgate.errors import EXIT_FAILED, EXIT_OK, ConfigError
from lockgate.fleet import Target, load_fleet
from lockgate.fleet_report import grouped, summary
from lockgate.github.markdown import MARKER
from lockgate.rollout import BAD, NOT_STARTED, FleetOutcome, TargetOutcome

MAX_JOBS = 256
"""GitHub's limit of jobs per matrix."""


@click.command("matrix")
@click.option(
    "--targets", "selector", required=True, metavar="SELECTOR", help="all, a name, tag:NAME, wave:N"
)
@click.option(
    "--per-job", type=click.IntRange(1, 10_000), default=1, show_default=True, help="Targets per job."
)
def matrix(selector: str, per_job: int) -> None:
    """Print the strategy.matrix JSON for the selected targets (and set the `matrix` step output)."""
    config = load_config(cwd=Path.cwd())
    targets = load_fleet(config).select(selector)
    document = matrix_for(targets, per_job)
    text = json.dumps(document, separators=(",", ":"))
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"matrix={text}\n")
    click.echo(text)


def matrix_for(targets: list[Target], per_job: int) -> dict[str, Any]:
    """``{"include": [{"shard", "wave", "targets", "secret", "environment"}...]}``: shards of ``per_job``
    targets in wave order. For a one-target shard, ``environment`` is the target's name (a GitHub
    environment holding its ``DATABASE_URL``) and ``secret`` its ``url_env`` (the variable the job exports
    it as); both empty when a shard holds several. ConfigError beyond GitHub's 256 jobs."""
    include: list[dict[str, Any]] = []
    by_wave: dict[int, list[Target]] = {}
    for target in targets:
        by_wave.setdefault(target.wave, []).append(target)
    for wave, members in sorted(by_wave.items()):
        for start in range(0, len(members), per_job):
            shard = members[start : start + per_job]
            include.append(
                {
                    "shard": f"wave{wave}-{start // per_job + 1:03d}",
                    "wave": wave,
                    "targets": ",".join(target.name for target in shard),
                    "secret": shard[0].url_env or "" if len(shard) == 1 else "",
                    "environment": shard[0].name if len(shard) == 1 else "",
                }
            )
    if len(include) > MAX_JOBS:
        needed = -(-len(targets) // MAX_JOBS)
        raise ConfigError(
            f"{len(include)} jobs: a GitHub matrix holds at most {MAX_JOBS}; select one wave at a time "
            f"(--targets wave:N) or pass --per-job {needed} or more"
        )
    return {"include": include}


@click.command("summarize")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--comment",
    type=click.Choice(["always", "never"]),
    default="always",
    show_default=True,
    help="Post the summary as the sticky comment on the merged pull request (needs GITHUB_TOKEN).",
)
@click.option(
    "--targets",
    "selector",
    metavar="SELECTOR",
    help="The rollout's whole selection: a selected target without a report (its job never ran, e.g. a "
    "later wave after a failure) is listed as not started.",
)
def summarize(paths: tuple[Path, ...], comment: str, selector: str | None) -> None:
    """Merge the fleet_report JSON files under PATHS (the jobs' artifacts) into one summary and comment;
    exit 1 when any target failed or was not started."""
    outcomes = read_reports(paths)
    if selector is not None:
        reported = {o.target.name for o in outcomes}
        for target in load_fleet(load_config(cwd=Path.cwd())).select(selector):
            if target.name not in reported:
                outcomes.append(TargetOutcome(target, NOT_STARTED, "no report: its job did not run"))
        outcomes.sort(key=lambda o: (o.target.wave, o.target.name))
    result = FleetOutcome(outcomes)
    body = render(result)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(body + "\n")
    click.echo(body)
    if comment == "always":
        _comment(body)
    bad = [o for o in outcomes if o.state in BAD or o.state == NOT_STARTED]
    sys.exit(EXIT_FAILED if bad else EXIT_OK)


def read_reports(paths: tuple[Path, ...]) -> list[TargetOutcome]:
    """Every target of every ``fleet_report`` under ``paths`` (files, or directories searched for
    ``*.json``), in wave order; a target reported twice is an error (two jobs ran it)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.rglob("*.json")) if path.is_dir() else [path]
    found: dict[str, TargetOutcome] = {}
    for file in files:
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ConfigError(f"{file}: not a readable JSON report ({type(exc).__name__})") from None
        if not isinstance(document, dict) or not isinstance(document.get("targets"), list):
            continue  # another artifact (report.json of a single run, a log): not a fleet report
        for entry in document["targets"]:
            outcome = _outcome(entry, file)
            if outcome.target.name in found:
                raise ConfigError(f"{file}: target {outcome.target.name} is also in another report")
            found[outcome.target.name] = outcome
    if not found:
        raise ConfigError(
            f"no fleet report (lockgate run --targets ... --json) under {', '.join(map(str, paths))}"
        )
    return sorted(found.values(), key=lambda o: (o.target.wave, o.target.name))


def _outcome(entry: Any, file: Path) -> TargetOutcome:
    try:
        target = Target(str(entry["name"]), int(entry["wave"]), tuple(map(str, entry.get("tags", []))), None)
        return TargetOutcome(
            target,
            str(entry["state"]),
            str(entry.get("message", "")),
            applied=int(entry.get("applied", 0)),
            pending=tuple(int(v) for v in entry.get("pending", [])),
            failed=int(entry.get("failed", 0)),
            latest=int(entry["latest"]) if entry.get("latest") is not None else None,
            seconds=float(entry.get("seconds", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{file}: a target entry is not a fleet report's ({type(exc).__name__}: {exc})"
        ) from None


def render(result: FleetOutcome) -> str:
    """The Markdown of the summary and the comment: the one line, the groups, then every target that needs
    attention (failed, blocked, not started) with its one-line reason."""
    lines = [MARKER, "### lockgate fleet rollout", "", summary(result), ""]  # the one sticky comment's marker
    lines += [f"- {line}" for line in grouped(result.outcomes)]
    attention = [o for o in result.outcomes if o.state in BAD or o.state == NOT_STARTED]
    if attention:
        lines += ["", "| target | wave | outcome | reason |", "|---|---|---|---|"]
        for o in attention:
            reason = o.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {o.target.name} | {o.target.wave} | {o.state} | {reason} |")
    lines += ["", f"<details><summary>every target ({len(result.outcomes)})</summary>", ""]
    lines += ["| target | wave | outcome | migrations | latest |", "|---|---|---|---|---|"]
    for o in result.outcomes:
        lines.append(f"| {o.target.name} | {o.target.wave} | {o.state} | {o.applied} | {o.latest or ''} |")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _comment(body: str) -> None:
    """The sticky comment, through the Action's comment path (never fails the job)."""
    from lockgate.github.event import ActionEnv
    from lockgate.github.inputs import ActionInputs
    from lockgate.github.model import APPLY
    from lockgate.github.publish import post_comment
    from lockgate.github.workflow import Workflow

    env = ActionEnv.from_environ()
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("INPUT_GITHUB-TOKEN")
    workflow = Workflow([], output_file=env.output_file)
    inputs = ActionInputs(github_token=token, comment="always")
    document = {"comment": body, "relevant": True, "pull_requests": [], "mode": APPLY}
    post_comment(env, inputs, document, workflow)
