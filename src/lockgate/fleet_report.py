"""A fleet's outcome in words and JSON, composed once for every door: the CLI's summary lines, the
``fleet_report`` document (``--json``, the GitHub fleet jobs' artifacts) and what ``lockgate github
summarize`` reads back and merges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lockgate.rollout import BAD, NOT_STARTED, PENDING, PROBLEMS, UP_TO_DATE, FleetOutcome, TargetOutcome
from lockgate.schemas import SCHEMA_VERSION

SHOWN_NAMES = 5


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
