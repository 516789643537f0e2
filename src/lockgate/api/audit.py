"""The API's own rows in the audit log: every admin action and every refused request, with who, from where, outcome.

The runner already logs each migration attempt; this adds rows per *request*, including the ones that never
reach the runner (a bad token, a 409, a validate), so the log answers "who tried what from where" for the API
as it does for CI. What an authenticated admin does is written before the answer goes out, one row per
request: that record must never be lost. Refusals of callers who are not admins are counted in memory and
written in batches (``refusals.RefusalBatch``), so a flood of them costs the database one connection per
flush rather than one per request. Writing must never turn a request into a 500: a failure is reported on
the server's log and the request goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from lockgate.api.auth import Principal
from lockgate.api.refusals import Refusal, RefusalBatch, Tally
from lockgate.config import Config
from lockgate.db import DatabaseTarget, connect, mask_secrets
from lockgate.errors import LockgateError
from lockgate.history import History, LogEntry

logger = logging.getLogger("lockgate.api")
MAX_USER_AGENT = 200
MAX_TEXT = 500


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Text that PostgreSQL will store: no NUL (text and jsonb refuse it), no lone surrogate (not UTF-8), at
    most ``limit`` characters. Requests put their own bytes into audit rows (a path, a user agent, a JWT's
    ``kid`` quoted in a reason); one such row must not fail, nor fail the batch written with it."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Caller:
    """Where a request came from and, once known, who made it."""

    client: str | None
    user_agent: str | None
    principal: Principal | None = None

    def metadata(self) -> dict[str, Any]:
        """Keys added to every audit and tracking row this request writes."""
        document: dict[str, Any] = {"via": "api", "client": self.client}
        if self.user_agent:
            document["user_agent"] = clean(self.user_agent, MAX_USER_AGENT)
        if self.principal is not None:
            document["actor"] = clean(self.principal.label, MAX_USER_AGENT)
            document["subject"] = clean(self.principal.subject, MAX_USER_AGENT)
            document["auth"] = self.principal.method
        return document


class AuditTrail:
    """Appends the API's rows to the configured audit table: an admin's at once, refusals in batches."""

    def __init__(self, config: Config, target: DatabaseTarget, *, flush_seconds: float) -> None:
        self.config = config
        self.target = target
        self.refusals = RefusalBatch(self._write_refusals, flush_seconds=flush_seconds, describe=self._line)

    def prepare(self) -> None:
        """Create the tracking and audit tables at start-up, before requests can race to create them."""
        try:
            with connect(self.target, command="api start", autocommit=True) as conn:
                History(conn, self.config.table, self.config.log_table).ensure()
        except (LockgateError, psycopg.Error) as exc:
            logger.warning(
                "audit log not ready yet (%s); it is created on the first request", self._line(exc)
            )

    def close(self) -> None:
        """At shutdown: write the refusals still counted in memory."""
        self.refusals.close()

    def record(
        self,
        caller: Caller,
        action: str,
        outcome: str,
        *,
        status: int,
        error_message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """One row for an authenticated caller's request, written now (blocking: call from a worker thread)."""
        entry = LogEntry(
            action=f"api-{action}",
            outcome=outcome,
            executed_by=self._executed_by(caller),
            error_message=clean(error_message) if error_message else None,
            metadata={**caller.metadata(), "http_status": status, **(details or {})},
        )
        # Two requests may create the tables at the same moment; the loser's CREATE fails once, then works.
        for attempt in (1, 2):
            try:
                self._write(entry)
                return
            except (LockgateError, psycopg.Error, ValueError) as exc:
                if attempt == 2:
                    logger.warning(
                        "could not write the audit log entry for %s: %s", entry.action, self._line(exc)
                    )

    def refused(
        self, caller: Caller, action: str, outcome: str, *, status: int, reason: str, method: str, path: str
    ) -> None:
        """Count a refused request for the next batch: no database, no blocking (call it anywhere)."""
        metadata = {**caller.metadata(), "http_status": status, "method": method, "path": clean(path, 200)}
        self.refusals.add(
            Refusal(
                action=f"api-{action}",
                outcome=outcome,
                status=status,
                method=method,
                path=metadata["path"],
                executed_by=self._executed_by(caller),
                error_message=clean(reason),
                metadata=tuple(sorted(metadata.items())),
            )
        )

    def _line(self, exc: Exception) -> str:
        return mask_secrets(str(exc).splitlines()[0] if str(exc) else repr(exc), self.target.url)

    def _executed_by(self, caller: Caller) -> str | None:
        """The user's id; an admin token falls back to ``executed_by`` from the config, a refusal has none."""
        if caller.principal is None:
            return None
        if caller.principal.method == "jwt":
            return caller.principal.executed_by
        return caller.principal.executed_by or self.config.executed_by

    def _write(self, entry: LogEntry) -> None:
        with connect(self.target, command="api audit", autocommit=True) as conn:
            history = History(conn, self.config.table, self.config.log_table)
            history.ensure()
            history.log(entry)

    def _write_refusals(self, batch: dict[Refusal, Tally]) -> None:
        """One row per distinct refusal, with how many and when, in one transaction on one connection.

        All or nothing, so a batch that fails (the database went away) is kept and written whole later,
        never twice; a row the database refuses (bad data) is reported and skipped on its own savepoint."""
        with connect(self.target, command="api audit", autocommit=True) as conn:
            history = History(conn, self.config.table, self.config.log_table)
            history.ensure()
            with conn.transaction():
                for refusal, tally in batch.items():
                    try:
                        with conn.transaction():
                            history.log(_refusal_entry(refusal, tally))
                    # DataError: PostgreSQL refused a value; ValueError: psycopg could not encode one.
                    except (psycopg.DataError, ValueError) as exc:
                        logger.warning(
                            "an audit row of %d refusal(s) was refused: %s", tally.count, self._line(exc)
                        )


def _refusal_entry(refusal: Refusal, tally: Tally) -> LogEntry:
    return LogEntry(
        action=refusal.action,
        outcome=refusal.outcome,
        executed_by=refusal.executed_by,
        error_message=refusal.error_message,
        metadata={
            **dict(refusal.metadata),
            "http_status": refusal.status,
            "method": refusal.method,
            "path": refusal.path,
            "count": tally.count,
            "first_seen": tally.first_seen.isoformat(),
            "last_seen": tally.last_seen.isoformat(),
        },
    )
