"""What each endpoint does, as blocking functions from settings to a ``Reply`` (status code + JSON document).

These functions call the same ``service`` operations as the CLI — ``read_state`` for status and validate,
``run`` (with its advisory lock) for run and dry-run — and never anything else: a request chooses an action,
never SQL, so the server only ever runs the files in its migrations directory. Expected failures become
documented status codes (409 for the lock, 503 for an unreachable database, 422 for anything else the
pipeline refuses), so an API client never sees a 500 for a situation lockgate knows about.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from lockgate import service
from lockgate.api.audit import Caller
from lockgate.config import Config, with_overrides
from lockgate.db import DatabaseTarget, connect, mask_secrets
from lockgate.errors import ConnectionFailed, LockgateError, LockWaitTimeout, first_line
from lockgate.history import History
from lockgate.report import (
    drift_check_json,
    drift_summary,
    iso_timestamp,
    refusal_summary,
    run_json,
    run_summary,
    status_json,
    validate_json,
    validate_summary,
)
from lockgate.schemas import SCHEMA_VERSION

ACTIONS = ("run", "dry-run", "validate")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer plus what the audit log should say about it."""

    status: int
    document: dict[str, Any]
    outcome: str
    error: str | None = None


def error_document(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "error": code, "message": message, **extra}


@dataclass(frozen=True)
class ApiRun:
    """The run this server process is doing right now (to name the holder in a 409)."""

    label: str
    action: str
    started: datetime

    def describe(self) -> str:
        return f"{self.label} ({self.action} through this API since {self.started:%Y-%m-%d %H:%M:%S} UTC)"


class RunRegistry:
    """One API run per process at a time, refused at once (not queued) when another is in progress.

    This only makes the 409 name the API user; the database's advisory lock, taken by ``service.run``
    behind it, is still what keeps the API, CI and laptops from ever running at the same time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: ApiRun | None = None

    def try_begin(self, label: str, action: str) -> ApiRun | None:
        """None when this request may run; else the run in progress."""
        if not self._lock.acquire(blocking=False):
            return self._current or ApiRun("another request", "run", datetime.now(UTC))
        self._current = ApiRun(label, action, datetime.now(UTC))
        return None

    def end(self) -> None:
        self._current = None
        self._lock.release()


class Actions:
    """The operations behind the endpoints, bound to one project and database."""

    def __init__(self, config: Config, target: DatabaseTarget, shadow_url: str | None = None) -> None:
        self.config = with_overrides(config, via="api")
        self.target = target
        self.runs = RunRegistry()
        self.shadow_url = shadow_url
        self._drift: tuple[datetime, dict[str, Any]] | None = None
        self._drifting = threading.Lock()

    def last_drift(self) -> Reply:
        """The last drift check of this process (``checked_at`` null before the first)."""
        found = self._drift
        return Reply(200, self._drift_document(*(found or (None, None))), "ok")

    def check_drift(self) -> Reply:
        """Build a shadow, compare, keep the answer for ``last_drift``; 409 while another check runs (one
        shadow at a time is plenty). A shadow that cannot be built is the check's answer (200, with its
        ``error``), as in ``status --drift``; an unreachable target is a 503 like any other action's."""
        if not self._drifting.acquire(blocking=False):
            message = "a drift check is in progress: its answer will be at GET /api/drift"
            return Reply(409, error_document("drift-in-progress", message), "refused-locked", message)
        try:
            check = service.drift_check(self.config, self.target, self.shadow_url, lambda message: None)
        except (LockgateError, psycopg.Error) as exc:
            return self.failure(exc)
        finally:
            self._drifting.release()
        if check.error is not None:
            check = service.DriftCheck(
                check.replayed, check.differences, mask_secrets(check.error, self.target.url)
            )
        self._drift = (datetime.now(UTC), drift_check_json(check))
        document = self._drift_document(*self._drift)
        if not check.clean:
            return Reply(200, document, "drift", drift_summary(check, self.target.masked))
        return Reply(200, document, "no-drift")

    def _drift_document(self, when: datetime | None, drift: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "database": self.target.masked,
            "checked_at": iso_timestamp(when) if when else None,
            "drift": drift,
        }

    def status(self) -> Reply:
        try:
            state = service.read_state(self.config, self.target)
        except (LockgateError, psycopg.Error) as exc:
            return self.failure(exc)
        document = status_json(
            state.plan,
            database=self.target.masked,
            table=self.config.table,
            directory=str(state.source.directory),
            lint=service.pending_lint(self.config, state.plan),
        )
        return Reply(200, document, "ok")

    def fleet(self) -> Reply:
        """Every target of the fleet, read-only (``lockgate status --targets all --json``); 404 without one."""
        from lockgate.fleet import load_fleet
        from lockgate.fleet_report import fleet_json
        from lockgate.rollout import fleet_status

        if not self.config.targets and not dict(self.config.fleet).get("targets_file"):
            message = "no fleet: add [tool.lockgate.targets.<name>] to the config (docs/fleets.md)"
            return Reply(404, error_document("no-fleet", message), "ok")
        try:
            targets = load_fleet(self.config).select("all")
        except LockgateError as exc:
            return self.failure(exc)
        return Reply(200, fleet_json(fleet_status(self.config, targets, parallel=4)), "ok")

    def validate(self) -> Reply:
        try:
            state, problems = service.validate(self.config, self.target)
        except (LockgateError, psycopg.Error) as exc:
            return self.failure(exc)
        shared = validate_json(problems, files=len(state.source.migrations))
        counts, errors = shared["counts"], shared["counts"]["errors"]
        document = {
            **shared,
            "action": "validate",
            "ok": not errors,
            "message": validate_summary(counts["files"], problems),
        }
        return Reply(200, document, "valid" if not errors else "invalid")

    def run(self, caller: Caller, *, dry_run: bool, atomic: bool = False) -> Reply:
        """Apply (or dry-run) pending migrations; 409 at once if any runner holds the lock."""
        principal = caller.principal
        executed_by = principal.executed_by if principal else None
        config = with_overrides(
            self.config,
            lock_wait_ms=0,
            executed_by=executed_by or self.config.executed_by,
            atomic=atomic or self.config.atomic,
        )
        action = "dry-run" if dry_run else "run"
        busy = self.runs.try_begin(principal.label if principal else "unknown", action)
        if busy is not None:
            return self.locked(busy.describe())
        try:
            outcome = service.run(config, self.target, dry_run=dry_run, metadata=caller.metadata())
        except LockWaitTimeout as exc:
            return self.locked(exc.holder or str(exc))
        except (LockgateError, psycopg.Error) as exc:
            return self.failure(exc)
        finally:
            self.runs.end()
        message = _run_message(outcome, self.target.masked)
        document = {
            **run_json(
                outcome.plan,
                outcome.result,
                blocked=outcome.blocked,
                dry_run=dry_run,
                executed_by=config.executed_by,
                lint=outcome.lint,
            ),
            "action": action,
            "ok": not outcome.blocked and outcome.result.failed is None,
            "message": message,
        }
        if outcome.blocked:
            return Reply(422, document, "blocked", message)
        if outcome.result.failed is not None:
            return Reply(422, document, "failed", message)
        done = "dry-run-ok" if dry_run else "applied" if document["counts"]["applied"] else "nothing-to-do"
        return Reply(200, document, done)

    def history(self, limit: int, offset: int) -> Reply:
        """The audit log, newest first; ``next_offset`` is null on the last page."""
        try:
            with connect(self.target, command="api history", read_only=True) as conn:
                history = History(conn, self.config.table, self.config.log_table)
                rows = history.log_entries(limit + 1, offset)
                conn.rollback()
        except (LockgateError, psycopg.Error) as exc:
            return self.failure(exc)
        entries = [_json_row(row) for row in rows[:limit]]
        document = {
            "schema": SCHEMA_VERSION,
            "entries": entries,
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if len(rows) > limit else None,
        }
        return Reply(200, document, "ok")

    def locked(self, holder: str) -> Reply:
        message = f"a migration run is in progress: the lock on {self.config.table} is held by {holder}"
        return Reply(409, error_document("locked", message, holder=holder), "refused-locked", message)

    def failure(self, exc: LockgateError | psycopg.Error) -> Reply:
        """503 when the database is out of reach, 422 for anything else lockgate or PostgreSQL refused."""
        message = mask_secrets(first_line(exc), self.target.url)
        if isinstance(exc, psycopg.Error) and not isinstance(exc, psycopg.OperationalError):
            message = f"database error: {message}"
        if isinstance(exc, ConnectionFailed | psycopg.OperationalError):
            return Reply(503, error_document("database-unavailable", message), "error", message)
        return Reply(422, error_document("refused", message), "error", message)


def _run_message(outcome: service.RunOutcome, database: str) -> str:
    if outcome.blocked:
        return refusal_summary(outcome.plan, outcome.lint_blocking)
    return run_summary(outcome.result, dry_run=outcome.dry_run, database=database)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row with JSON-friendly values (timestamps as ISO 8601 in UTC, as in every document; UUIDs as
    text)."""
    document: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            document[key] = iso_timestamp(value)
        elif value is None or isinstance(value, str | int | float | bool | dict | list):
            document[key] = value
        else:
            document[key] = str(value)
    return document
