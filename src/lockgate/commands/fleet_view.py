"""``run --targets`` and ``status --targets``: the fleet as a table, a grouped summary and JSON.

Many targets in one state are one line ("412 up to date"), so a fleet of thousands still reads at a glance;
the table lists each target (its first problem or failure in one line) and JSON carries everything.
"""

from __future__ import annotations

import click

from lockgate.config import Config
from lockgate.console import Output
from lockgate.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from lockgate.fleet import load_fleet
from lockgate.fleet_report import fleet_json, grouped, summary
from lockgate.rollout import BAD, NOT_STARTED, UP_TO_DATE, TargetOutcome, fleet_status, rollout

targets_option = click.option(
    "--targets",
    "targets",
    metavar="SELECTOR",
    help="Every target the selector picks from [tool.lockgate.targets]: all, a name, tag:NAME, wave:N "
    "(comma-separated for several).",
)
parallel_option = click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="With --targets: how many targets at once inside a wave.",
)


def run_fleet(config: Config, selector: str, parallel: int, dry_run: bool, as_json: bool) -> None:
    """Roll out to the selected targets; exit 1 if any failed or a wave was not started, 130 on Ctrl-C."""
    fleet = load_fleet(config)
    targets = fleet.select(selector)
    output = Output()
    output.notice(f"{len(targets)} target(s) in {len({t.wave for t in targets})} wave(s), {parallel} at once")

    def report(outcome: TargetOutcome) -> None:
        line = f"{outcome.target.name}: {_said(outcome)} ({outcome.seconds:.1f} s)"
        if outcome.state in BAD:
            output.error(line)
        elif not as_json:
            output.notice(line)

    result = rollout(config, fleet, targets, parallel=parallel, dry_run=dry_run, report=report)
    if as_json:
        output.json(fleet_json(result))
    else:
        output.table(
            ["target", "wave", "outcome", "migrations", "latest", "time", "message"],
            [
                [
                    o.target.name,
                    str(o.target.wave),
                    o.state,
                    str(o.applied),
                    str(o.latest or ""),
                    f"{o.seconds:.1f} s" if o.state != NOT_STARTED else "",
                    o.message,
                ]
                for o in result.outcomes
            ],
            optional=["message", "time", "latest", "wave"],
        )
        output.line(summary(result))
    if result.interrupted:
        raise SystemExit(EXIT_INTERRUPTED)
    stopped = any(o.state == NOT_STARTED for o in result.outcomes)
    raise SystemExit(EXIT_FAILED if result.failed or stopped else EXIT_OK)


def status_fleet(config: Config, selector: str, parallel: int, as_json: bool, exit_code: bool) -> None:
    """Where each selected target stands, grouped; with ``exit_code``, 1 while any is not up to date."""
    targets = load_fleet(config).select(selector)
    result = fleet_status(config, targets, parallel=parallel)
    output = Output()
    if as_json:
        output.json(fleet_json(result))
    else:
        output.table(
            ["target", "wave", "state", "applied", "pending", "failed", "latest", "problem"],
            [
                [
                    o.target.name,
                    str(o.target.wave),
                    o.state,
                    str(o.applied),
                    str(len(o.pending)),
                    str(o.failed),
                    str(o.latest or ""),
                    o.message,
                ]
                for o in result.outcomes
            ],
            optional=["problem", "failed", "wave", "latest"],
        )
        for line in grouped(result.outcomes):
            output.line(line)
    if exit_code and any(o.state != UP_TO_DATE for o in result.outcomes):
        raise SystemExit(EXIT_FAILED)


def _said(outcome: TargetOutcome) -> str:
    if outcome.state == UP_TO_DATE:
        return "up to date"
    return f"{outcome.state}: {outcome.message}" if outcome.message else outcome.state
