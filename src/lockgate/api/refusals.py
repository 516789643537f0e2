"""The audit of refused requests, batched: counted in memory, written by one background thread on one connection.

A refused request (no token, a bad one, a non-admin, over the rate limit) must cost the database nothing on
the request path: a flood of them once opened one connection each and exhausted the server. Instead each
refusal is added to a bounded table of *identical* refusals (same action, outcome, reason, client address,
user agent, user, method and path) with a count and the first and last time seen, and a writer thread
turns that table into audit rows every ``flush_seconds`` — sooner once ``flush_at`` distinct refusals wait —
over one connection it opens for the flush and closes after.

Memory stays bounded whatever arrives: past ``max_keys`` distinct refusals in one interval, further ones are
counted in one row per (action, outcome, status, method, path) whose details say they were dropped, so the
number of refusals is never lost, only the detail of the excess. A failed write keeps the table for the next
flush (still bounded); ``close`` writes what is left at shutdown. Refusals still waiting when the process is
killed are lost: at most ``flush_seconds`` of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import psycopg

from lockgate.errors import LockgateError, first_line

logger = logging.getLogger("lockgate.api")
FLUSH_AT = 200
MAX_KEYS = 2_000
DROPPED = "details dropped: more distinct refusals than the audit keeps per flush"


@dataclass(frozen=True)
class Refusal:
    """What identical refusals share; ``metadata`` as sorted (key, value) pairs so it can be a dict key."""

    action: str
    outcome: str
    status: int
    method: str
    path: str
    executed_by: str | None
    error_message: str | None
    metadata: tuple[tuple[str, str | int | None], ...]


@dataclass
class Tally:
    count: int
    first_seen: datetime
    last_seen: datetime

    def merge(self, other: Tally) -> None:
        self.count += other.count
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)


Writer = Callable[[dict[Refusal, Tally]], None]


class RefusalBatch:
    """Refusals waiting to be written, and the one thread that writes them."""

    def __init__(
        self,
        write: Writer,
        *,
        flush_seconds: float,
        describe: Callable[[Exception], str] | None = None,
        flush_at: int = FLUSH_AT,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._write = write
        self._describe = describe or _line
        self.flush_seconds = flush_seconds
        self.flush_at = flush_at
        self.max_keys = max_keys
        self._pending: dict[Refusal, Tally] = {}
        self._wake = threading.Condition()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, refusal: Refusal) -> None:
        """Count one refusal: no I/O, a dictionary update under a lock."""
        now = datetime.now(UTC)
        with self._wake:
            self._merge(refusal, Tally(1, now, now))
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="lockgate-audit", daemon=True)
                self._thread.start()
            if len(self._pending) >= self.flush_at:
                self._wake.notify()

    @property
    def pending(self) -> int:
        """How many refusals are counted but not written yet."""
        with self._wake:
            return sum(tally.count for tally in self._pending.values())

    def flush(self) -> int:
        """Write every waiting refusal now; the number written (0 when the write failed and they wait on)."""
        with self._flushing:
            with self._wake:
                batch, self._pending = self._pending, {}
            if not batch:
                return 0
            try:
                self._write(batch)
            except Exception as exc:  # the writer thread must outlive any failure, and nothing is dropped
                if isinstance(exc, LockgateError | psycopg.Error):
                    logger.warning(
                        "audit of %d refusal(s) not written yet: %s", len(batch), self._describe(exc)
                    )
                else:
                    logger.error("unexpected error writing the audit of refusals", exc_info=exc)
                with self._wake:
                    for refusal, tally in batch.items():
                        self._merge(refusal, tally)
                return 0
            return sum(tally.count for tally in batch.values())

    def close(self, timeout: float = 10.0) -> None:
        """Stop the writer and write what is left (at shutdown)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._closed and len(self._pending) < self.flush_at:
                    self._wake.wait(self.flush_seconds)
                closed = self._closed
            if closed:
                return  # close() does the last flush
            self.flush()

    def _merge(self, refusal: Refusal, tally: Tally) -> None:
        """Add to the table (caller holds ``_wake``); past ``max_keys`` entries, into a coarse one."""
        if refusal not in self._pending and len(self._pending) >= self.max_keys:
            refusal = replace(refusal, executed_by=None, error_message=DROPPED, metadata=())
        current = self._pending.get(refusal)
        if current is None:
            self._pending[refusal] = Tally(tally.count, tally.first_seen, tally.last_seen)
        else:
            current.merge(tally)


def _line(exc: Exception) -> str:
    return first_line(exc)
