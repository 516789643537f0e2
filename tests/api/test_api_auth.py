"""Who may call the API: every auth path, what a refusal looks like, and that refusals are audited."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import psycopg
import pytest
from api_helpers import (
    ADMIN,
    ADMIN_SUB,
    ADMIN_TOKEN,
    JWT_SECRET,
    USER_SUB,
    AppFactory,
    bearer,
    make_jwt,
    shut_down,
)
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from lockgate.api.auth import Authenticator, AuthError, claim_matches
from lockgate.api.settings import AdminClaim, ApiSettings, parse_admin_tokens, token_digest
from lockgate.errors import ConfigError

pytestmark = pytest.mark.db

REFUSALS = {
    "no header": ({}, 401, "missing"),
    "not bearer": ({"Authorization": f"Basic {ADMIN_TOKEN}"}, 401, "Bearer"),
    "wrong token": (bearer("not-the-admin-token-at-all"), 401, "neither"),
    "garbage jwt": (bearer("a.b.c"), 401, "not a valid JWT"),
    "expired jwt": (bearer(make_jwt(expires_in=-3600)), 401, "expired"),
    "wrong secret": (bearer(make_jwt(secret="another-secret-of-at-least-32-bytes")), 401, "rejected"),
    "wrong audience": (bearer(make_jwt(aud="anon")), 401, "rejected"),
    "unsigned jwt": (
        bearer(jwt.encode({"sub": ADMIN_SUB, "app_metadata": {"role": "admin"}}, None, algorithm="none")),
        401,
        "not accepted",
    ),
}


def test_bad_credentials_get_401_on_every_endpoint(client: TestClient) -> None:
    # One database for all the cases: each is independent, and a database per case costs a second.
    for case, (headers, status, words) in REFUSALS.items():
        for method, path in (("GET", "/api/migrations"), ("GET", "/api/migrations/history")):
            response = client.request(method, path, headers=headers)
            assert response.status_code == status, (case, method, path, response.text)
            assert words in response.json()["message"], case
            assert response.headers["www-authenticate"].startswith("Bearer")
        refused = client.post("/api/migrations", json={"action": "run"}, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized", case


def test_valid_jwt_of_a_non_admin_gets_403_and_the_attempt_is_audited(
    client: TestClient, db_url: str
) -> None:
    token = make_jwt(USER_SUB, role=None)
    assert client.get("/api/migrations", headers=bearer(token)).status_code == 403
    response = client.post("/api/migrations", json={"action": "run"}, headers=bearer(token))
    assert response.status_code == 403
    assert "app_metadata.role == 'admin'" in response.json()["message"]
    shut_down(client)  # refusals are written in batches; shutting down writes what is left
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT action, outcome, metadata, executed_by::text FROM public.schema_migrations_log ORDER BY log_id"
        ).fetchall()
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("api-read", "refused-forbidden", USER_SUB),
        ("api-request", "refused-forbidden", USER_SUB),
    ]
    metadata = rows[1][2]
    assert metadata["subject"] == USER_SUB and metadata["http_status"] == 403
    assert metadata["client"] == "testclient" and metadata["method"] == "POST" and metadata["count"] == 1


def test_unauthenticated_attempt_is_audited_with_where_it_came_from(client: TestClient, db_url: str) -> None:
    client.post("/api/migrations", json={"action": "run"}, headers={"User-Agent": "curl/8.0"})
    shut_down(client)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT action, outcome, executed_by, error_message, metadata, logged_at "
            "FROM public.schema_migrations_log"
        ).fetchone()
    assert row is not None
    action, outcome, executed_by, error_message, metadata, logged_at = row
    assert (action, outcome, executed_by) == ("api-request", "refused-unauthenticated", None)
    assert "missing" in error_message and logged_at is not None
    assert metadata["client"] == "testclient" and metadata["user_agent"] == "curl/8.0"
    assert metadata["path"] == "/api/migrations" and metadata["http_status"] == 401


@pytest.mark.parametrize("headers", [ADMIN, bearer(make_jwt())], ids=["admin token", "admin jwt"])
def test_admins_are_let_in(client: TestClient, headers: dict[str, str]) -> None:
    for path in ("/api/migrations", "/api/migrations/history"):
        assert client.get(path, headers=headers).status_code == 200


def test_admin_claim_is_configurable(make_client: AppFactory) -> None:
    settings = ApiSettings(jwt_secret=JWT_SECRET, admin_claim=AdminClaim.parse("app_metadata.roles=dba"))
    client = make_client(settings)
    assert client.get("/api/migrations", headers=bearer(make_jwt())).status_code == 403
    token = make_jwt(app_metadata={"roles": ["reader", "dba"]})
    assert client.get("/api/migrations", headers=bearer(token)).status_code == 200
    assert client.get("/api/migrations", headers=ADMIN).status_code == 401


def test_claim_matching() -> None:
    claim = AdminClaim.parse("app_metadata.role=admin")
    assert claim_matches({"app_metadata": {"role": "admin"}}, claim)
    assert not claim_matches({"app_metadata": {"role": "administrator"}}, claim)
    assert not claim_matches({"app_metadata": "admin"}, claim)
    assert not claim_matches({"role": "admin"}, claim)
    assert claim_matches({"is_admin": True}, AdminClaim.parse("is_admin=true"))
    for bad in ("app_metadata.role", "=admin", "role="):
        with pytest.raises(ConfigError, match="LOCKGATE_ADMIN_CLAIM"):
            AdminClaim.parse(bad)


def test_admin_tokens_are_kept_hashed_and_may_be_given_hashed() -> None:
    plain = "a-plain-admin-token-0123"
    hashed = f"sha256:{token_digest('another-admin-token-4567').hex()}"
    digests = parse_admin_tokens(f" {plain} , {hashed},")
    assert digests == (token_digest(plain), token_digest("another-admin-token-4567"))
    authenticator = Authenticator(ApiSettings(admin_token_digests=digests))
    assert authenticator.authenticate(f"Bearer {plain}").method == "token"
    assert authenticator.authenticate("bearer another-admin-token-4567").subject.startswith("admin-token:")
    with pytest.raises(AuthError) as refused:
        authenticator.authenticate(f"Bearer {hashed}")
    assert refused.value.status == 401
    with pytest.raises(ConfigError, match="at least 16"):
        parse_admin_tokens("short")


def test_settings_from_the_environment() -> None:
    settings = ApiSettings.from_environ(
        {"LOCKGATE_ADMIN_TOKENS": ADMIN_TOKEN, "SUPABASE_JWT_SECRET": JWT_SECRET, "LOCKGATE_JWT_AUDIENCE": ""}
    )
    assert settings.has_credentials and settings.jwt_secret == JWT_SECRET and settings.jwt_audience is None
    assert ADMIN_TOKEN not in repr(settings)
    assert not ApiSettings.from_environ({}).has_credentials


class _JwksServer:
    """A JWKS endpoint on a loopback port, like Supabase's ``/auth/v1/.well-known/jwks.json``."""

    def __init__(self, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/auth/v1/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def rsa_key_and_jwks() -> Iterator[tuple[rsa.RSAPrivateKey, str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    server = _JwksServer({"keys": [public | {"kid": "test-key", "alg": "RS256", "use": "sig"}]})
    server.thread.start()
    try:
        yield key, server.url
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_jwt_verified_through_a_jwks_url(
    make_client: AppFactory, rsa_key_and_jwks: tuple[rsa.RSAPrivateKey, str]
) -> None:
    key, url = rsa_key_and_jwks
    client = make_client(ApiSettings(jwks_url=url))
    claims = jwt.decode(make_jwt(), options={"verify_signature": False})
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})
    assert client.get("/api/migrations", headers=bearer(token)).status_code == 200
    unknown_kid = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "rotated-away"})
    response = client.get("/api/migrations", headers=bearer(unknown_kid))
    assert response.status_code == 401 and "signing key" in response.json()["message"]
    # An HS256 token must not be accepted when only a JWKS URL is configured (no secret to verify it).
    assert client.get("/api/migrations", headers=bearer(make_jwt())).status_code == 401
