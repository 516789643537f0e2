"""Hostile JWTs against a server with a JWKS URL (and a JWT secret): every one is a 401 with a reason, is in the
audit log, and none reaches a 500 — whatever the token's header claims and whatever the JWKS endpoint does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from api_helpers import JWT_SECRET, AppFactory, audit_rows, bearer, make_jwt, shut_down
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lockgate.api.auth import JWT_LEEWAY_SECONDS
from lockgate.api.settings import ApiSettings

pytestmark = pytest.mark.db

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(public_jwk: str, kid: str, alg: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(public_jwk)
    return document | {"kid": kid, "alg": alg, "use": "sig"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


GOOD_JWKS = {
    "keys": [
        _jwk(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key()), "rsa", "RS256"),
        _jwk(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key()), "ec", "ES256"),
        # A symmetric key in the set: a token must never get it used as an HMAC secret.
        {"kty": "oct", "kid": "oct", "alg": "HS256", "use": "sig", "k": _b64(JWT_SECRET.encode())},
    ]
}
# What a misbehaving JWKS endpoint may answer: (status, body).
BROKEN_ENDPOINTS = {
    "html": (200, b"<html><body>Bad gateway</body></html>"),
    "json array": (200, b"[]"),
    "no keys": (200, b'{"keys": []}'),
    "unusable keys": (200, b'{"keys": [{"kty": "bogus", "kid": "rsa"}, {"kid": "rsa"}]}'),
    "keys not a list": (200, b'{"keys": "rsa"}'),
    "server error": (500, b'{"error": "down"}'),
    "truncated": (200, json.dumps(GOOD_JWKS).encode()[:100]),
}


@dataclass
class JwksServer:
    """A JWKS endpoint on a loopback port: ``/good``, ``/slow`` (answers after 2 s) and the broken ones."""

    fetches: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fetches = self.fetches

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/").replace("-", " ")
                fetches[name] = fetches.get(name, 0) + 1
                if name == "slow":
                    time.sleep(2)
                status, body = BROKEN_ENDPOINTS.get(name, (200, json.dumps(GOOD_JWKS).encode()))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the slow answer's client has given up

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"{self.base}/{name.replace(' ', '-')}"


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def settings_for(url: str, **extra: Any) -> ApiSettings:
    # The rate limit is tested in test_api_flood.py; here every refusal must show its own 401.
    return ApiSettings(jwks_url=url, jwks_timeout_seconds=0.5, refusals_per_minute=10_000, **extra)


def admin_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(make_jwt(), options={"verify_signature": False})
    return claims | changes


def signed(key: Any, algorithm: str, kid: str | None, **claims: Any) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(admin_claims(**claims), key, algorithm=algorithm, headers=headers)


def forged(header: Any, payload: Any = None, signature: bytes = b"not-a-signature") -> str:
    """A token with any header at all (PyJWT will not write most of these)."""
    body = admin_claims() if payload is None else payload
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(body).encode()), _b64(signature)))


def hs256_with(secret: bytes, header: dict[str, Any]) -> str:
    """An HS256-signed token keyed with ``secret`` (say, the server's public key: "alg confusion")."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(admin_claims()).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
HOSTILE_TOKENS: dict[str, tuple[str, str]] = {
    # name: (token, words of the 401's message)
    "ES256 naming the RSA key": (
        signed(EC_KEY, "ES256", "rsa"),
        "says alg 'ES256' but its key 'rsa' is for 'RS256'",
    ),
    "RS256 naming the EC key": (
        signed(RSA_KEY, "RS256", "ec"),
        "says alg 'RS256' but its key 'ec' is for 'ES256'",
    ),
    "PS256 naming the RS256 key": (signed(RSA_KEY, "PS256", "rsa"), "says alg 'PS256'"),
    "alg none": (forged({"alg": "none", "kid": "rsa"}, signature=b""), "'none' are not accepted"),
    "alg missing": (forged({"kid": "rsa"}), "None are not accepted"),
    "alg a list": (forged({"alg": ["RS256"], "kid": "rsa"}), "['RS256'] are not accepted"),
    "alg an object": (forged({"alg": {"RS256": 1}, "kid": "rsa"}), "are not accepted"),
    "alg unknown": (forged({"alg": "RS1024", "kid": "rsa"}), "'RS1024' are not accepted"),
    "HS512": (forged({"alg": "HS512"}), "'HS512' are not accepted"),
    "HS256 keyed with the RSA public key": (
        hs256_with(RSA_PUBLIC_PEM, {"alg": "HS256", "kid": "rsa"}),
        "'HS256' are not accepted",
    ),
    "HS256 naming the JWKS's symmetric key": (
        hs256_with(JWT_SECRET.encode(), {"alg": "HS256", "kid": "oct"}),
        "'HS256' are not accepted",
    ),
    "RS256 naming the symmetric key": (forged({"alg": "RS256", "kid": "oct"}), "is for 'HS256'"),
    "unknown kid": (signed(RSA_KEY, "RS256", "rotated-away"), "no key with kid 'rotated-away'"),
    "no kid": (signed(RSA_KEY, "RS256", None), "names no signing key"),
    "kid a number": (forged({"alg": "RS256", "kid": 7}), "not a valid JWT"),
    "kid a list": (forged({"alg": "RS256", "kid": ["rsa"]}), "not a valid JWT"),
    "kid 4 KiB long": (forged({"alg": "RS256", "kid": "k" * 4096}), "no key with kid"),
    "kid with a NUL": (forged({"alg": "RS256", "kid": "rsa\u0000"}), "no key with kid"),
    "signed by another RSA key": (signed(OTHER_RSA_KEY, "RS256", "rsa"), "Signature verification failed"),
    "jku pointing elsewhere": (
        jwt.encode(admin_claims(), OTHER_RSA_KEY, "RS256", {"kid": "rsa", "jku": "http://evil/jwks"}),
        "Signature verification failed",
    ),
    "unknown crit extension": (
        jwt.encode(admin_claims(), RSA_KEY, "RS256", {"kid": "rsa", "crit": ["exp"]}),
        "not a valid JWT",
    ),
    "header not base64": ("!!!." + _b64(b"{}") + ".c2ln", "not a valid JWT"),
    "header not JSON": (_b64(b"{alg: RS256") + "." + _b64(b"{}") + ".c2ln", "not a valid JWT"),
    "header a JSON list": (_b64(b'["RS256"]') + "." + _b64(b"{}") + ".c2ln", "not a valid JWT"),
    "payload not base64": (_b64(b'{"alg": "RS256", "kid": "rsa"}') + ".%%%.c2ln", "not a valid JWT"),
    "payload a JSON list": (forged({"alg": "RS256", "kid": "rsa"}, payload=["sub"]), "rejected"),
    "payload not JSON": (
        _b64(b'{"alg": "RS256", "kid": "rsa"}') + "." + _b64(b"sub=x") + ".c2ln",
        "rejected",
    ),
    "signature not base64": (signed(RSA_KEY, "RS256", "rsa").rsplit(".", 1)[0] + ".@@@", "not a valid JWT"),
    "empty segments": ("..", "not a valid JWT"),
    "huge token (15 KiB)": (
        signed(RSA_KEY, "RS256", "rsa", padding="x" * 11_000)[:-8] + "AAAAAAAA",
        "rejected",
    ),
    "expired past the leeway": (
        signed(RSA_KEY, "RS256", "rsa", exp=int(time.time()) - JWT_LEEWAY_SECONDS - 30),
        "expired",
    ),
    "no exp": (forged({"alg": "RS256", "kid": "rsa"}, payload={"sub": "x"}), "rejected"),
}


def test_every_hostile_jwt_is_a_401_and_audited(
    make_client: AppFactory, jwks: JwksServer, db_url: str
) -> None:
    client = make_client(settings_for(jwks.url("good")))
    assert client.get("/api/migrations", headers=bearer(signed(RSA_KEY, "RS256", "rsa"))).status_code == 200
    assert client.get("/api/migrations", headers=bearer(signed(EC_KEY, "ES256", "ec"))).status_code == 200
    for case, (token, words) in HOSTILE_TOKENS.items():
        response = client.get("/api/migrations", headers=bearer(token))
        assert response.status_code == 401, (case, response.text)
        assert words in response.json()["message"], (case, response.json()["message"])
        assert response.headers["www-authenticate"].startswith("Bearer"), case
    post = client.post(
        "/api/migrations", json={"action": "run"}, headers=bearer(HOSTILE_TOKENS["alg none"][0])
    )
    assert post.status_code == 401
    shut_down(client)
    rows = audit_rows(db_url, "outcome = 'refused-unauthenticated'")
    assert sum(row[4]["count"] for row in rows) == len(HOSTILE_TOKENS) + 1
    reasons = [row[3] for row in rows]
    for case, (_, words) in HOSTILE_TOKENS.items():
        assert any(words in reason for reason in reasons), case
    assert all(len(reason) <= 500 and "\x00" not in reason for reason in reasons)


def test_hs256_is_checked_only_against_the_secret_even_when_both_are_configured(
    make_client: AppFactory, jwks: JwksServer
) -> None:
    client = make_client(settings_for(jwks.url("good"), jwt_secret=JWT_SECRET))
    assert client.get("/api/migrations", headers=bearer(make_jwt())).status_code == 200
    assert client.get("/api/migrations", headers=bearer(signed(RSA_KEY, "RS256", "rsa"))).status_code == 200
    # The secret checks HS256 only: a token that names a JWKS key but is HMAC-keyed with its public key fails.
    confused = hs256_with(RSA_PUBLIC_PEM, {"alg": "HS256", "kid": "rsa"})
    assert client.get("/api/migrations", headers=bearer(confused)).status_code == 401
    # And an HS256 token on a server with only a JWKS URL is refused outright.
    jwks_only = make_client(settings_for(jwks.url("good")))
    response = jwks_only.get("/api/migrations", headers=bearer(make_jwt()))
    assert response.status_code == 401 and "'HS256' are not accepted" in response.json()["message"]


def test_expiry_leeway_is_the_documented_30_seconds(make_client: AppFactory, jwks: JwksServer) -> None:
    client = make_client(settings_for(jwks.url("good"), jwt_secret=JWT_SECRET))
    now = int(time.time())
    within = signed(RSA_KEY, "RS256", "rsa", exp=now - JWT_LEEWAY_SECONDS + 10)
    beyond = signed(RSA_KEY, "RS256", "rsa", exp=now - JWT_LEEWAY_SECONDS - 10)
    assert client.get("/api/migrations", headers=bearer(within)).status_code == 200
    assert client.get("/api/migrations", headers=bearer(beyond)).status_code == 401
    assert (
        client.get(
            "/api/migrations", headers=bearer(make_jwt(expires_in=-JWT_LEEWAY_SECONDS - 10))
        ).status_code
        == 401
    )
    assert JWT_LEEWAY_SECONDS == 30


@pytest.mark.parametrize("endpoint", [*BROKEN_ENDPOINTS, "slow", "down"])
def test_a_broken_jwks_endpoint_is_a_401_fetched_once_not_per_request(
    make_client: AppFactory, jwks: JwksServer, db_url: str, endpoint: str
) -> None:
    url = "http://127.0.0.1:9/jwks.json" if endpoint == "down" else jwks.url(endpoint)
    client = make_client(settings_for(url, jwt_secret=JWT_SECRET))
    token = bearer(signed(RSA_KEY, "RS256", "rsa"))
    first = client.get("/api/migrations", headers=token)
    assert first.status_code == 401, first.text
    assert "signing key could not be found" in first.json()["message"]
    started = time.monotonic()
    for _ in range(5):
        again = client.get("/api/migrations", headers=token)
        assert again.status_code == 401 and again.json()["message"] == first.json()["message"]
    # The failure is remembered: five more requests do not each wait out the 0.5 s timeout or refetch.
    assert time.monotonic() - started < 1.0
    assert jwks.fetches.get(endpoint, 0) <= 1
    # HS256 tokens and admin tokens do not depend on the JWKS endpoint.
    assert client.get("/api/migrations", headers=bearer(make_jwt())).status_code == 200
    shut_down(client)
    rows = audit_rows(db_url, "outcome = 'refused-unauthenticated'")
    assert sum(row[4]["count"] for row in rows) == 6


def test_claims_postgresql_cannot_store_still_leave_an_audit_row(
    make_client: AppFactory, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A NUL or a lone surrogate in a signed token's `sub`/`email` ends up in audit rows: they are escaped,
    not lost (jsonb refuses \\u0000, UTF-8 has no surrogates)."""
    client = make_client(ApiSettings(jwt_secret=JWT_SECRET))
    odd = {"email": "adm\u0000in@example.com\ud800"}
    admin = bearer(make_jwt("admin\u0000sub", **odd))
    stranger = bearer(make_jwt("user\u0000sub\udfff", role=None, **odd))
    assert client.post("/api/migrations", json={"action": "validate"}, headers=admin).status_code == 200
    assert client.get("/api/migrations", headers=stranger).status_code == 403
    shut_down(client)
    rows = {row[1]: row for row in audit_rows(db_url)}
    assert set(rows) == {"valid", "refused-forbidden"}
    assert rows["valid"][4]["actor"] == "adm\\x00in@example.com\\ud800"
    assert rows["refused-forbidden"][4]["subject"] == "user\\x00sub\\udfff"
    assert "could not write" not in caplog.text and "was refused" not in caplog.text
