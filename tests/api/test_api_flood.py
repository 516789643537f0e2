"""A flood of refused requests: answered 401/429 without a database connection each, admins still served, and
every refusal still counted in the audit log (batched). Plus the rate limiter and the batch on their own.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest
from api_helpers import (
    ADMIN,
    ADMIN_TOKEN,
    JWT_SECRET,
    USER_SUB,
    AppFactory,
    audit_rows,
    bearer,
    make_jwt,
    shut_down,
)
from live_server import LiveServers
from psycopg.conninfo import conninfo_to_dict

from lockgate.api.ratelimit import RefusalLimiter
from lockgate.api.refusals import DROPPED, Refusal, RefusalBatch, Tally
from lockgate.api.settings import ApiSettings, parse_admin_tokens

THREADS = 40
PER_THREAD = 15  # 600 refused requests
REFUSED_HEADERS = [
    {},
    {"Authorization": "Bearer not-the-admin-token-at-all"},
    {"Authorization": "Bearer a.b.c"},
    {"Authorization": f"Bearer {make_jwt(expires_in=-3600)}"},
    {"Authorization": "Basic YWRtaW46YWRtaW4="},
]


class ConnectionPeak:
    """Polls ``pg_stat_activity`` for connections to one database, from a connection to another."""

    def __init__(self, server_url: str, dbname: str) -> None:
        self.server_url, self.dbname = server_url, dbname
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ConnectionPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _poll(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.dbname,)
                ).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)
                self.samples += 1
                time.sleep(0.002)


def request(
    url: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], float]:
    """One request on its own connection (as a flood of clients makes them): status, headers, seconds."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, time.monotonic() - started
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.parametrize("jwks", [False, True], ids=["jwt secret", "jwks url down"])
def test_a_flood_of_refused_requests_costs_no_connections_and_admins_get_in(
    servers: LiveServers, db_url: str, pg_server_url: str, jwks: bool
) -> None:
    settings = ApiSettings(
        admin_token_digests=parse_admin_tokens(ADMIN_TOKEN),
        jwt_secret=JWT_SECRET,
        # With a JWKS URL the token checks run in threads; a dead endpoint must not slow anyone down.
        jwks_url="http://127.0.0.1:9/jwks.json" if jwks else None,
        jwks_timeout_seconds=1.0,
        audit_flush_seconds=0.5,
    )
    url = servers.start(db_url, settings)
    statuses: Counter[int] = Counter()
    retry_after: set[str] = set()
    admin: list[tuple[int, float]] = []
    flood_started = threading.Event()
    lock = threading.Lock()

    def flood(number: int) -> None:
        for i in range(PER_THREAD):
            headers = REFUSED_HEADERS[(number + i) % len(REFUSED_HEADERS)]
            status, answer, _ = request(url, "GET" if i % 2 else "POST", "/api/migrations", headers, b"{}")
            with lock:
                statuses[status] += 1
                if "retry-after" in answer:
                    retry_after.add(answer["retry-after"])
            flood_started.set()

    def admin_calls() -> None:
        flood_started.wait(10)
        for method, path, body in (
            ("GET", "/api/migrations", None),
            ("POST", "/api/migrations", b'{"action": "validate"}'),
            ("GET", "/api/migrations/history", None),
        ):
            status, _, seconds = request(
                url, method, path, ADMIN | {"Content-Type": "application/json"}, body
            )
            admin.append((status, seconds))

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(THREADS)]
    threads.append(threading.Thread(target=admin_calls))
    dbname = str(conninfo_to_dict(db_url)["dbname"])
    started = time.monotonic()
    with ConnectionPeak(pg_server_url, dbname) as connections:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    elapsed = time.monotonic() - started
    total = THREADS * PER_THREAD
    assert sum(statuses.values()) == total
    assert set(statuses) == {401, 429}, statuses
    # The burst of 30, plus one every 2 s while the flood lasted.
    assert statuses[401] <= settings.refusals_per_minute + elapsed / 2 + 1, (statuses, elapsed)
    assert retry_after and all(value.isdigit() and int(value) >= 1 for value in retry_after)
    assert [status for status, _ in admin] == [200, 200, 200]
    assert max(seconds for _, seconds in admin) < 5, admin
    # The admin's own requests use one connection at a time; the audit writer one; refusals none.
    assert connections.samples > 20
    assert connections.peak <= 3, connections.peak

    # Every refusal is in the audit log, counted in a handful of rows written by the background writer.
    deadline = time.monotonic() + 10
    while True:
        rows = audit_rows(db_url, "outcome LIKE 'refused-%'")
        counted = sum(row[4]["count"] for row in rows)
        if counted >= total or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert counted == total
    # One row per distinct refusal per flush interval: bounded by time, never by the number of requests.
    writing = time.monotonic() - started
    distinct = len({(row[1], row[3], row[4].get("path")) for row in rows})
    intervals = writing / settings.audit_flush_seconds + 2
    assert len(rows) <= distinct * intervals, (len(rows), distinct, writing)
    assert len(rows) < total / 2, len(rows)  # never a row per request
    by_outcome: Counter[str] = Counter()
    for row in rows:
        by_outcome[row[1]] += row[4]["count"]
    assert by_outcome == {"refused-unauthenticated": statuses[401], "refused-rate-limited": statuses[429]}
    assert audit_rows(db_url, "action = 'api-validate'")[0][1] == "valid"  # written before its answer


def test_the_rate_limit_refuses_strangers_but_never_an_admin(make_client: AppFactory, db_url: str) -> None:
    client = make_client(
        ApiSettings(
            admin_token_digests=parse_admin_tokens(ADMIN_TOKEN), jwt_secret=JWT_SECRET, refusals_per_minute=5
        )
    )
    answers = [client.get("/api/migrations", headers=bearer("a-wrong-token-0123456789")) for _ in range(8)]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
    limited = answers[-1]
    assert limited.json()["error"] == "rate-limited" and limited.headers["retry-after"] == "12"
    assert "retry after 12 s" in limited.json()["message"]
    # From the same address, admins authenticate and so are never refused, whatever the count.
    assert client.get("/api/migrations", headers=ADMIN).status_code == 200
    assert client.get("/api/migrations", headers=bearer(make_jwt())).status_code == 200
    assert client.post("/api/migrations", json={"action": "validate"}, headers=ADMIN).status_code == 200
    # A valid JWT of a non-admin is a refusal like any other: counted, and limited.
    assert client.get("/api/migrations", headers=bearer(make_jwt(USER_SUB, role=None))).status_code == 429
    shut_down(client)
    rows = audit_rows(db_url, "outcome LIKE 'refused-%'")
    counts = {(row[1], row[2]): row[4]["count"] for row in rows}
    assert counts == {
        ("refused-unauthenticated", None): 5,
        ("refused-rate-limited", None): 3,
        ("refused-rate-limited", USER_SUB): 1,
    }
    limited_row = next(row for row in rows if row[1] == "refused-rate-limited" and row[2] is None)
    assert limited_row[4]["http_status"] == 429 and "401: the bearer token is neither" in limited_row[3]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_refills_per_address_and_forgets_the_oldest() -> None:
    clock = Clock()
    limiter = RefusalLimiter(30, max_clients=3, clock=clock)
    assert [limiter.refuse("192.0.2.1") for _ in range(30)] == [None] * 30
    assert limiter.refuse("192.0.2.1") == 2  # one refusal every 2 s refills
    assert limiter.refuse("192.0.2.2") is None  # another address has its own bucket
    clock.now += 2
    assert limiter.refuse("192.0.2.1") is None
    assert limiter.refuse("192.0.2.1") == 2
    clock.now += 60
    assert [limiter.refuse("192.0.2.1") for _ in range(30)] == [None] * 30  # full again, not more
    assert limiter.refuse("192.0.2.1") is not None
    for address in ("192.0.2.3", "192.0.2.4", "192.0.2.5"):
        limiter.refuse(address)
    assert len(limiter._buckets) == 3 and "192.0.2.1" not in limiter._buckets


def refusal(client: str = "192.0.2.1", reason: str = "missing token") -> Refusal:
    return Refusal(
        "api-read",
        "refused-unauthenticated",
        401,
        "GET",
        "/api/migrations",
        None,
        reason,
        (("client", client),),
    )


class Written:
    """Stands in for the audit table's writer in the batch's own tests (the table is tested above)."""

    def __init__(self) -> None:
        self.batches: list[dict[Refusal, Tally]] = []
        self.fail = False

    def __call__(self, batch: dict[Refusal, Tally]) -> None:
        if self.fail:
            raise psycopg.OperationalError("the database is restarting")
        self.batches.append(batch)

    def counts(self) -> dict[Refusal, int]:
        total: Counter[Refusal] = Counter()
        for batch in self.batches:
            for key, tally in batch.items():
                total[key] += tally.count
        return dict(total)


def test_refusal_batch_aggregates_identical_refusals_and_bounds_the_rest() -> None:
    written = Written()
    batch = RefusalBatch(written, flush_seconds=60, max_keys=3)
    for _ in range(100):
        batch.add(refusal())
    for i in range(50):
        batch.add(refusal(client=f"198.51.100.{i}"))
    assert batch.pending == 150
    assert batch.flush() == 150
    counts = written.counts()
    assert counts[refusal()] == 100
    dropped = {key: n for key, n in counts.items() if key.error_message == DROPPED}
    assert len(counts) == 4 and sum(dropped.values()) == 48  # two addresses kept, 48 counted coarsely
    (coarse,) = dropped
    assert coarse.metadata == () and coarse.outcome == "refused-unauthenticated"
    batch.close()


def test_refusal_batch_keeps_refusals_a_failed_write_could_not_store(
    caplog: pytest.LogCaptureFixture,
) -> None:
    written = Written()
    batch = RefusalBatch(written, flush_seconds=60)
    written.fail = True
    for _ in range(10):
        batch.add(refusal())
    assert batch.flush() == 0 and batch.pending == 10
    assert "audit of 1 refusal(s) not written yet: the database is restarting" in caplog.text
    batch.add(refusal())
    written.fail = False
    assert batch.flush() == 11 and written.counts() == {refusal(): 11}
    batch.close()


def test_refusal_batch_is_written_by_its_thread_and_at_close() -> None:
    written = Written()
    batch = RefusalBatch(written, flush_seconds=0.2, flush_at=1_000)
    batch.add(refusal())
    deadline = time.monotonic() + 5
    while not written.batches and time.monotonic() < deadline:
        time.sleep(0.02)
    assert written.counts() == {refusal(): 1}
    early = RefusalBatch(written, flush_seconds=60, flush_at=5)
    for i in range(5):
        early.add(refusal(client=f"203.0.113.{i}"))  # five distinct ones: written at once, not in 60 s
    deadline = time.monotonic() + 5
    while len(written.batches) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(written.batches) == 2
    early.add(refusal(reason="at shutdown"))
    early.close()
    assert refusal(reason="at shutdown") in written.batches[-1]
    batch.close()
    first = next(iter(written.batches[0].values()))
    assert first.first_seen <= first.last_seen <= datetime.now(UTC)
