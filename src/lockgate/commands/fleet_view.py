"""``run --targets`` and ``status --targets``: the fleet as a table, a grouped summary and JSON.

Many targets in one state are one line ("412 up to date"), so a fleet of thousands still reads at a glance;
the table lists each target (its first problem or failure in one line) and JSON carries everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from lockgate.config import Config
from lockgate.console import Output
from lockgate.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from lockgate.fleet import load_fleet
from lockgate.rollout import (
    BAD,
    NOT_STARTED,
    PENDING,
    PROBLEMS,
    UP_TO_DATE,
    FleetOutcome,
    TargetOutcome,
    fleet_status,
    rollout,
)
from lockgate.schemas import SCHEMA_VERSION

SHOWN_NAMES = 5

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


def summary(result: FleetOutcome) -> str:
    """``fleet: 18 applied, 1 up to date, 1 failed (tenant-07); wave 3 not started``."""
    counts: dict[str, list[str]] = {}
    for outcome in result.outcomes:
        counts.setdefault(outcome.state, []).append(outcome.target.name)
    parts = []
    for state, names in counts.items():
        shown = f" ({_names(names)})" if state in BAD or state == NOT_STARTED else ""
        parts.append(f"{len(names)} {state.replace('-', ' ')}{shown}")
    tail = ""
    if result.stopped_after_wave is not None:
        tail = f"; stopped after wave {result.stopped_after_wave} (its failures exceed max_failures)"
    if result.interrupted:
        tail += "; interrupted: no further target was started"
    return f"fleet: {', '.join(parts)}{tail}"


def grouped(outcomes: Sequence[TargetOutcome]) -> list[str]:
    """One line per group of targets in the same state (and, when pending, the same pending files)."""
    groups: dict[tuple[str, tuple[int, ...], str], list[str]] = {}
    for outcome in outcomes:
        key = (outcome.state, outcome.pending, outcome.message if outcome.state in {PROBLEMS, *BAD} else "")
        groups.setdefault(key, []).append(outcome.target.name)
    lines = []
    for (state, pending, message), names in sorted(groups.items(), key=lambda item: -len(item[1])):
        if state == UP_TO_DATE:
            lines.append(f"{len(names)} target(s) up to date ({_names(names)})")
        elif state == PENDING:
            first = f"{pending[0]}" + ("…" if len(pending) > 1 else "")
            lines.append(f"{len(names)} target(s) with {len(pending)} pending from {first} ({_names(names)})")
        else:
            lines.append(f"{len(names)} target(s) {state}: {message} ({_names(names)})")
    return lines


def _names(names: Sequence[str]) -> str:
    more = f", +{len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    return ", ".join(names[:SHOWN_NAMES]) + more


def fleet_json(result: FleetOutcome) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "targets": [
            {
                "name": o.target.name,
                "wave": o.target.wave,
                "tags": list(o.target.tags),
                "state": o.state,
                "message": o.message,
                "applied": o.applied,
                "pending": list(o.pending),
                "failed": o.failed,
                "latest": o.latest,
                "seconds": round(o.seconds, 3),
            }
            for o in result.outcomes
        ],
        "stopped_after_wave": result.stopped_after_wave,
        "interrupted": result.interrupted,
    }
