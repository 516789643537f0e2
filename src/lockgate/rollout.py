"""Run or inspect a fleet: every selected target, wave by wave, up to N at once.

Each target is exactly a single ``lockgate run`` (``service.run``): its own connection, run lock, lint gate,
timeouts and tracking rows, so a fleet rollout guarantees per database what one run does. What the fleet
adds is order and a stop: waves run lowest first; a wave whose failed targets exceed ``max_failures`` stops
the waves after it, and a re-run resumes (targets already up to date apply nothing: their own history says
so). Ctrl-C starts no further target; the ones running finish their run (a run is never cut between a
migration's body and its record) and the rest are reported as not started.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lockgate.config import Config
from lockgate.errors import LockgateError
from lockgate.fleet import Fleet, Target, by_wave

if TYPE_CHECKING:
    from lockgate.db import DatabaseTarget

APPLIED = "applied"
UP_TO_DATE = "up-to-date"
FAILED = "failed"
BLOCKED = "blocked"
ERROR = "error"
NOT_STARTED = "not-started"
DRY_RUN = "dry-run"
PENDING = "pending"
PROBLEMS = "problems"
BAD = frozenset({FAILED, BLOCKED, ERROR})
"""Outcomes that count against ``max_failures`` and make the exit code non-zero."""


@dataclass(frozen=True)
class TargetOutcome:
    """What one target did (``run``) or where it stands (``status``)."""

    target: Target
    state: str
    message: str = ""
    applied: int = 0
    pending: tuple[int, ...] = ()
    failed: int = 0
    latest: int | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())


@dataclass
class FleetOutcome:
    outcomes: list[TargetOutcome]
    stopped_after_wave: int | None = None
    interrupted: bool = False

    @property
    def failed(self) -> list[TargetOutcome]:
        return [outcome for outcome in self.outcomes if outcome.state in BAD]


Report = Callable[[TargetOutcome], None]


def rollout(
    config: Config,
    fleet: Fleet,
    targets: Sequence[Target],
    *,
    parallel: int = 1,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
    report: Report = lambda outcome: None,
) -> FleetOutcome:
    """Apply pending migrations to ``targets``, wave by wave; ``report`` hears of each target as it ends."""
    return _by_waves(
        targets,
        lambda target: _run_one(config, target, dry_run, os.environ if environ is None else environ),
        parallel=parallel,
        max_failures=fleet.max_failures,
        report=report,
        stop_on_failure=not dry_run,
    )


def fleet_status(
    config: Config,
    targets: Sequence[Target],
    *,
    parallel: int = 1,
    environ: Mapping[str, str] | None = None,
) -> FleetOutcome:
    """Where each target stands (read-only): applied, pending, failed, latest, problems."""
    return _by_waves(
        targets,
        lambda target: _status_one(config, target, os.environ if environ is None else environ),
        parallel=parallel,
        max_failures=len(targets),
        report=lambda outcome: None,
        stop_on_failure=False,
    )


def _by_waves(
    targets: Sequence[Target],
    one: Callable[[Target], TargetOutcome],
    *,
    parallel: int,
    max_failures: int,
    report: Report,
    stop_on_failure: bool,
) -> FleetOutcome:
    result = FleetOutcome([])
    done: dict[str, TargetOutcome] = {}
    waves = by_wave(targets)
    for position, (wave, members) in enumerate(waves):
        if result.interrupted or result.stopped_after_wave is not None:
            why = (
                "interrupted before it started"
                if result.interrupted
                else f"wave {wave} not started: wave {result.stopped_after_wave} had too many failures"
            )
            for target in members:
                done[target.name] = TargetOutcome(target, NOT_STARTED, why)
            continue
        failures = _run_wave(members, one, parallel, done, report, result)
        last = position == len(waves) - 1
        if stop_on_failure and failures > max_failures and not last:
            result.stopped_after_wave = wave
    result.outcomes = [done[target.name] for target in targets]
    return result


def _run_wave(
    members: Sequence[Target],
    one: Callable[[Target], TargetOutcome],
    parallel: int,
    done: dict[str, TargetOutcome],
    report: Report,
    result: FleetOutcome,
) -> int:
    """Run one wave, up to ``parallel`` at once; Ctrl-C starts nothing more and waits for the running."""
    executor = ThreadPoolExecutor(
        max_workers=max(1, min(parallel, len(members))), thread_name_prefix="lockgate-target"
    )
    futures: dict[Future[TargetOutcome], Target] = {
        executor.submit(one, target): target for target in members
    }
    remaining = set(futures)
    try:
        while remaining:
            try:
                finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                result.interrupted = True
                for future in remaining:
                    future.cancel()
                finished = wait(remaining).done
                remaining = set()
            for future in finished:
                target = futures[future]
                if future.cancelled():
                    outcome = TargetOutcome(target, NOT_STARTED, "interrupted before it started")
                else:
                    outcome = future.result()
                done[target.name] = outcome
                report(outcome)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return sum(1 for target in members if done[target.name].state in BAD)


def _connect_to(config: Config, target: Target, environ: Mapping[str, str]) -> tuple[Config, DatabaseTarget]:
    from lockgate.db import DatabaseTarget

    url = target.connection_string(environ)
    origin = f"target {target.name} ({target.url_env})" if target.url_env else f"target {target.name}"
    return target.config(config, url), DatabaseTarget(url, origin)


def _run_one(config: Config, target: Target, dry_run: bool, environ: Mapping[str, str]) -> TargetOutcome:
    from lockgate import service

    started = time.monotonic()
    warnings: list[str] = []
    try:
        settings, database = _connect_to(config, target, environ)
        outcome = service.run(settings, database, dry_run=dry_run, notify=lambda message: None)
    except Exception as exc:
        return TargetOutcome(target, ERROR, _line(exc), seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    warnings += [problem.message for problem in outcome.plan.warnings]
    applied = outcome.result.count("applied") + outcome.result.count("dry-run-ok")
    latest = outcome.plan.latest_applied.version if outcome.plan.latest_applied else None
    if outcome.blocked:
        errors = outcome.plan.errors
        if errors:
            first = errors[0]
            message = f"[{first.code}] {first.message}" + (
                f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            )
        else:
            message = f"nothing was run: {len(outcome.lint_blocking)} lint error(s) in pending migrations"
        return TargetOutcome(
            target, BLOCKED, message, latest=latest, seconds=seconds, warnings=tuple(warnings)
        )
    failed = outcome.result.failed
    if failed is not None:
        message = (
            failed.error.one_line(failed.migration) if failed.error else f"{failed.migration.filename} failed"
        )
        return TargetOutcome(
            target,
            FAILED,
            message,
            applied=applied,
            failed=1,
            latest=latest,
            seconds=seconds,
            warnings=tuple(warnings),
        )
    if applied:
        state = DRY_RUN if dry_run else APPLIED
        last = outcome.result.results[-1].migration.version
        return TargetOutcome(
            target,
            state,
            f"{applied} migration(s)",
            applied=applied,
            latest=latest if dry_run else last,
            seconds=seconds,
            warnings=tuple(warnings),
        )
    return TargetOutcome(target, UP_TO_DATE, "", latest=latest, seconds=seconds, warnings=tuple(warnings))


def _status_one(config: Config, target: Target, environ: Mapping[str, str]) -> TargetOutcome:
    from lockgate import service

    started = time.monotonic()
    try:
        settings, database = _connect_to(config, target, environ)
        state = service.read_state(settings, database)
    except Exception as exc:
        return TargetOutcome(target, ERROR, _line(exc), seconds=time.monotonic() - started)
    from lockgate.history import IN_DATABASE

    plan = state.plan
    applied = sum(
        1 for entry in plan.entries if entry.record is not None and entry.record.status in IN_DATABASE
    )
    failed = plan.count("failed") + plan.count("running")
    latest = plan.latest_applied.version if plan.latest_applied else None
    pending = tuple(migration.version for migration in plan.pending)
    errors = plan.errors
    if errors:
        first = errors[0]
        message = f"[{first.code}] {first.message}" + (
            f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        )
        status = PROBLEMS
    else:
        message, status = "", (PENDING if pending else UP_TO_DATE)
    return TargetOutcome(
        target,
        status,
        message,
        applied=applied,
        pending=pending,
        failed=failed,
        latest=latest,
        seconds=time.monotonic() - started,
    )


def _line(exc: Exception) -> str:
    """One line, without any password, for any failure of one target."""
    if isinstance(exc, LockgateError):
        return str(exc)
    from lockgate.db import mask_known_secrets

    lines = str(exc).strip().splitlines()
    return mask_known_secrets(f"{type(exc).__name__}: {lines[0] if lines else ''}".strip())
