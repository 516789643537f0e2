"""How many refused requests a client address may make: a token bucket per address, in memory.

Only *refusals* spend tokens (a bad or missing token, a non-admin JWT): an admin's requests authenticate and are
never counted, so however hard someone hammers the server from the admin's own address (or from the reverse
proxy every client shares), the admin still gets in. Past the limit a refusal is answered 429 with
``Retry-After`` instead of 401/403 — what a well-behaved client needs to back off, and a cheap answer for the
rest. The table of addresses is bounded: the least recently refused ones are forgotten first (which only
gives them a fresh bucket).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_CLIENTS = 10_000


class RefusalLimiter:
    """``per_minute`` refusals per client address, as a burst of ``per_minute`` refilled evenly over a minute."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(max(per_minute, 1))
        self.rate = self.capacity / 60.0  # tokens per second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)
        self._lock = threading.Lock()

    def refuse(self, client: str | None) -> int | None:
        """Count one refusal for ``client``: None while within the limit, else the seconds to wait
        (``Retry-After``) before the next refusal is answered with 401/403 again."""
        key = client or "unknown"
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = None
            else:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait
