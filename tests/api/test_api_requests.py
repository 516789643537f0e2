"""Bad input, limits, headers and concurrency: what the server does when requests are not the happy path."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from api_helpers import ADMIN, add, bearer, make_jwt
from starlette.testclient import TestClient

from lockgate.api.serve import exposure_check
from lockgate.api.settings import ApiSettings, is_loopback, parse_admin_tokens
from lockgate.cli import main
from lockgate.db import DatabaseTarget
from lockgate.errors import ConfigError
from lockgate.locking import run_lock

pytestmark = pytest.mark.db

BAD_BODIES = {
    "not json": (b"{action: run}", "JSON object"),
    "a list": (b'["run"]', "JSON object"),
    "unknown action": (b'{"action": "drop-database"}', "unknown action 'drop-database'"),
    "no action": (b"{}", "unknown action None"),
    "unknown field": (b'{"action": "run", "sql": "DROP TABLE notes"}', "unknown field(s): 'sql'"),
    "not utf-8": (b'{"action": "\xff"}', "JSON object"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES), ids=list(BAD_BODIES))
def test_bad_bodies_get_400_and_are_audited(client: TestClient, db_url: str, case: str) -> None:
    body, words = BAD_BODIES[case]
    response = client.post(
        "/api/migrations", content=body, headers=ADMIN | {"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad-request" and words in response.json()["message"]
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT action, outcome, error_message FROM public.schema_migrations_log"
        ).fetchone()
    assert row is not None and row[:2] == ("api-request", "refused-bad-request") and words in row[2]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=abc", "offset=-1", "limit=1e3", "limit=%C2%B2"]
)
def test_bad_history_page_gets_400(client: TestClient, query: str) -> None:
    response = client.get(f"/api/migrations/history?{query}", headers=ADMIN)
    assert response.status_code == 400 and "query parameter" in response.json()["message"]


def test_large_bodies_are_refused_before_parsing(client: TestClient) -> None:
    response = client.post("/api/migrations", content=b'{"action": "run"}' + b" " * 20_000, headers=ADMIN)
    assert response.status_code == 413 and response.json()["error"] == "too-large"

    def chunks() -> object:
        yield b'{"action": '
        yield b" " * 20_000

    streamed = client.post("/api/migrations", content=chunks(), headers=ADMIN)  # type: ignore[arg-type]
    assert streamed.status_code == 413


def test_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for response in (
        client.get("/api/migrations", headers=ADMIN),
        client.get("/api/migrations"),
        client.get("/api/openapi.json"),
        client.put("/api/migrations", headers=ADMIN),
    ):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == csp
        assert response.headers["content-type"] == "application/json"
    assert client.put("/api/migrations", headers=ADMIN).status_code == 405


def test_requests_never_carry_sql(client: TestClient, project: Path, db_url: str) -> None:
    """Whatever is posted, only the files in the migrations directory run."""
    add(project, "20250101000000_create_notes.sql", "CREATE TABLE notes (id bigint);\n")
    response = client.post(
        "/api/migrations?sql=DROP+TABLE+notes",
        json={"action": "run"},
        headers=ADMIN | {"X-Sql": "CREATE TABLE injected (id int)"},
    )
    assert response.status_code == 200
    with psycopg.connect(db_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "notes" in tables and "injected" not in tables


def test_concurrent_posts_run_once_and_the_other_gets_409(
    client: TestClient, project: Path, db_url: str
) -> None:
    add(project, "20250101000000_slow.sql", "SELECT pg_sleep(1.5);\nCREATE TABLE slow_done (id int);\n")
    admin_jwt = bearer(make_jwt())
    responses: list[tuple[int, dict[str, object]]] = []

    def post() -> None:
        response = client.post("/api/migrations", json={"action": "run"}, headers=admin_jwt)
        responses.append((response.status_code, response.json()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(status for status, _ in responses) == [200, 409]
    ran = next(document for status, document in responses if status == 200)
    refused = next(document for status, document in responses if status == 409)
    assert ran["counts"]["applied"] == 1
    assert refused["error"] == "locked" and "run through this API since" in str(refused["holder"])
    assert "@example.com" in str(refused["message"])
    with psycopg.connect(db_url) as conn:
        outcomes = conn.execute(
            "SELECT action, outcome FROM public.schema_migrations_log WHERE action LIKE 'api-%' ORDER BY log_id"
        ).fetchall()
        applied = conn.execute(
            "SELECT count(*) FROM public.schema_migrations_log WHERE action = 'run'"
        ).fetchone()
    assert sorted(outcomes) == [("api-run", "applied"), ("api-run", "refused-locked")]
    assert applied == (1,)


def test_run_while_another_process_holds_the_lock_gets_409_naming_it(
    client: TestClient, project: Path, db_url: str
) -> None:
    add(project, "20250101000000_create_notes.sql", "CREATE TABLE notes (id bigint);\n")
    target = DatabaseTarget(db_url, "test")
    with run_lock(target, "public.schema_migrations", "public.schema_migrations_log", 1000, print):
        response = client.post("/api/migrations", json={"action": "dry-run"}, headers=ADMIN)
    assert response.status_code == 409
    holder = response.json()["holder"]
    assert holder.startswith("pid ") and "lockgate run (lock)" in holder
    assert client.post("/api/migrations", json={"action": "run"}, headers=ADMIN).status_code == 200


def test_server_refuses_a_public_host_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("example.com")
    exposure_check("127.0.0.1", ApiSettings())
    exposure_check("0.0.0.0", ApiSettings(admin_token_digests=parse_admin_tokens("x" * 16)))
    for name in ("LOCKGATE_ADMIN_TOKENS", "LOCKGATE_JWT_SECRET", "SUPABASE_JWT_SECRET", "LOCKGATE_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--host", "0.0.0.0", "--port", "1"])
    assert exited.value.code == 2


@pytest.mark.parametrize("secret", ["a", "x" * 16, "y" * 31, "é" * 15])
def test_a_short_jwt_secret_is_refused_beyond_loopback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], secret: str
) -> None:
    for variable in ("LOCKGATE_JWT_SECRET", "SUPABASE_JWT_SECRET"):
        for name in (
            "LOCKGATE_ADMIN_TOKENS",
            "LOCKGATE_JWT_SECRET",
            "SUPABASE_JWT_SECRET",
            "LOCKGATE_JWKS_URL",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(variable, secret)
        # Even with an admin token as well: a guessable secret lets anyone mint an admin JWT.
        monkeypatch.setenv("LOCKGATE_ADMIN_TOKENS", "x" * 32)
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--host", "0.0.0.0", "--port", "1"])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert f"{variable} is shorter than 32 bytes" in err and "Traceback" not in err
        assert len(secret) < 4 or secret not in err
    settings = ApiSettings(jwt_secret=secret)
    exposure_check("127.0.0.1", settings)  # a loopback try-out may use a short one
    with pytest.raises(ConfigError, match="shorter than 32 bytes"):
        exposure_check("192.0.2.10", settings)
    exposure_check("192.0.2.10", ApiSettings(jwt_secret="z" * 32))


def test_serve_on_loopback_without_credentials_prints_a_one_time_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], project: Path, db_url: str
) -> None:
    import uvicorn

    for name in ("LOCKGATE_ADMIN_TOKENS", "LOCKGATE_JWT_SECRET", "SUPABASE_JWT_SECRET", "LOCKGATE_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    served: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    main(["serve", "--database-url", db_url, "--dir", str(project / "migrations"), "--port", "8799"])
    assert served["host"] == "127.0.0.1" and served["port"] == 8799
    err = capsys.readouterr().err
    token = err.split("admin token for this session: ", 1)[1].split()[0]
    assert "lockgate dashboard on http://127.0.0.1:8799/" in err
    with TestClient(served["app"]) as client:  # type: ignore[arg-type]
        assert client.get("/api/migrations", headers=bearer(token)).status_code == 200
        assert client.get("/api/migrations", headers=bearer("x" * 43)).status_code == 401
