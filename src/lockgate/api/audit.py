"""The API's own rows in the audit log: every action and every refused request, with who, from where, outcome.

The runner already logs each migration attempt; this adds one row per *request*, including the ones that
never reach the runner (a bad token, a 409, a validate), so the log answers "who tried what from where" for
the API as it does for CI. Writing it must never turn a request into a 500: a failure is reported on the
server's log and the request goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from lockgate.api.auth import Principal
from lockgate.config import Config
from lockgate.db import DatabaseTarget, connect, mask_secrets
from lockgate.errors import LockgateError
from lockgate.history import History, LogEntry

logger = logging.getLogger("lockgate.api")
MAX_USER_AGENT = 200


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
            document["user_agent"] = self.user_agent[:MAX_USER_AGENT]
        if self.principal is not None:
            document["actor"] = self.principal.label
            document["subject"] = self.principal.subject
            document["auth"] = self.principal.method
        return document


class AuditTrail:
    """Appends one row per API request to the configured audit table."""

    def __init__(self, config: Config, target: DatabaseTarget) -> None:
        self.config = config
        self.target = target

    def prepare(self) -> None:
        """Create the tracking and audit tables at start-up, before requests can race to create them."""
        try:
            with connect(self.target, command="api start", autocommit=True) as conn:
                History(conn, self.config.table, self.config.log_table).ensure()
        except (LockgateError, psycopg.Error) as exc:
            logger.warning(
                "audit log not ready yet (%s); it is created on the first request", self._line(exc)
            )

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
        entry = LogEntry(
            action=f"api-{action}",
            outcome=outcome,
            executed_by=self._executed_by(caller),
            error_message=error_message,
            metadata={**caller.metadata(), "http_status": status, **(details or {})},
        )
        # Two requests may create the tables at the same moment; the loser's CREATE fails once, then works.
        for attempt in (1, 2):
            try:
                self._write(entry)
                return
            except (LockgateError, psycopg.Error) as exc:
                if attempt == 2:
                    logger.warning(
                        "could not write the audit log entry for %s: %s", entry.action, self._line(exc)
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
