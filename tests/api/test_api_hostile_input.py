"""Hostile bodies, headers, paths and methods: each is a 4xx that says why, never a 500.

The same inputs go through the in-process client and, where only a real server shows the behaviour (a 64 KiB
header block arriving in one read, a ``Host`` header that is no host), through uvicorn with ``lockgate serve``'s
options. Besides the explicit statuses asserted here, the ``no_unexpected_errors`` fixture fails any test during
which the server logged an unexpected error.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from api_helpers import ADMIN, ADMIN_TOKEN, AppFactory, audit_rows, bearer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import LiveServers
from starlette.testclient import TestClient

from lockgate.api.actions import Actions
from lockgate.api.middleware import Guard
from lockgate.api.settings import ApiSettings, parse_admin_tokens

pytestmark = pytest.mark.db

JSON = {"Content-Type": "application/json"}
NESTED_TOO_DEEP = "nested too deeply"
NOT_AN_OBJECT = "must be a JSON object"

HOSTILE_BODIES: dict[str, tuple[bytes, str]] = {
    # name: (body, words of the 400's message)
    "arrays 5,000 deep": (b"[" * 5000 + b"]" * 5000, NESTED_TOO_DEEP),
    "objects 2,500 deep": (b'{"a":' * 2500 + b"1" + b"}" * 2500, NESTED_TOO_DEEP),
    "16,000 unclosed arrays": (b"[" * 16_000, NESTED_TOO_DEEP),
    "the action an array 900 deep": (b'{"action": ' + b"[" * 900 + b"]" * 900 + b"}", "unknown action"),
    "the action 1e999999": (b'{"action": 1e999999}', "unknown action float"),
    "1e999999 alone": (b"1e999999", NOT_AN_OBJECT),
    "-1e999999 alone": (b"-1e999999", NOT_AN_OBJECT),
    "the action NaN": (b'{"action": NaN}', "unknown action float"),
    "a 5,000-digit number": (b'{"action": ' + b"9" * 5000 + b"}", NOT_AN_OBJECT),
    "a duplicate key": (b'{"action": "validate", "action": "run"}', "'action' is given twice"),
    "a duplicate unknown key": (b'{"x": 1, "x": 2}', "'x' is given twice"),
    "1,000 unknown fields": (
        json.dumps({f"k{i}": 0 for i in range(1000)}).encode(),
        "unknown field(s): 'k0', ",
    ),
    "invalid UTF-8": (b'{"action": "\xff\xfe"}', NOT_AN_OBJECT),
    "overlong UTF-8": (b'{"action": "\xc0\xaf"}', NOT_AN_OBJECT),
    "UTF-16": ('{"action": "run"}'.encode("utf-16"), NOT_AN_OBJECT),
    "a UTF-8 BOM": (b'\xef\xbb\xbf{"action": "run"}', NOT_AN_OBJECT),
    "a lone surrogate": (b'{"action": "\\ud800"}', "unknown action '\\ud800'"),
    "a NUL in the action": (b'{"action": "run\\u0000"}', "unknown action 'run\\x00'"),
    "a NUL in a key": (b'{"\\u0000": 1}', "unknown field(s): '\\x00'"),
    "empty": (b"", NOT_AN_OBJECT),
    "whitespace": (b" \n\t ", NOT_AN_OBJECT),
    "a string": (b'"run"', NOT_AN_OBJECT),
    "null": (b"null", NOT_AN_OBJECT),
    "atomic with validate": (b'{"action": "validate", "atomic": true}', "'run' and 'dry-run' actions only"),
    "atomic not a boolean": (b'{"action": "run", "atomic": "yes"}', "'atomic' must be true or false"),
    "trailing garbage": (b'{"action": "run"} x', NOT_AN_OBJECT),
}


@pytest.fixture
def admin_client(make_client: AppFactory) -> TestClient:
    """The rate limit stays out of the way: these tests send hundreds of requests from one address."""
    return make_client(
        ApiSettings(admin_token_digests=parse_admin_tokens(ADMIN_TOKEN), refusals_per_minute=100_000)
    )


def test_hostile_bodies_are_400_and_audited(admin_client: TestClient, db_url: str) -> None:
    for case, (body, words) in HOSTILE_BODIES.items():
        response = admin_client.post("/api/migrations", content=body, headers=ADMIN | JSON)
        assert response.status_code == 400, (case, response.text)
        assert response.json()["error"] == "bad-request", case
        message = response.json()["message"]
        assert words in message and len(message) < 300, (case, message)
    rows = audit_rows(db_url)
    assert [row[1] for row in rows] == ["refused-bad-request"] * len(HOSTILE_BODIES)
    assert any("'run\\x00'" in row[3] for row in rows) and any("'\\ud800'" in row[3] for row in rows)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json-patch+json",
        "json",
    ],
)
def test_a_body_that_is_not_declared_json_is_415(
    admin_client: TestClient, db_url: str, content_type: str | None
) -> None:
    headers = ADMIN | ({"Content-Type": content_type} if content_type else {})
    response = admin_client.post("/api/migrations", content=b'{"action": "validate"}', headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported-media-type"
    assert audit_rows(db_url)[-1][1] == "refused-bad-request"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", " application/json "]
)
def test_json_content_types_are_accepted(admin_client: TestClient, content_type: str) -> None:
    response = admin_client.post(
        "/api/migrations", content=b'{"action": "validate"}', headers=ADMIN | {"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("size", [16 * 1024 + 1, 1024 * 1024])
def test_bodies_over_16_kib_are_413(admin_client: TestClient, size: int) -> None:
    body = b'{"action": "run", "pad": "' + b"x" * size + b'"}'
    response = admin_client.post("/api/migrations", content=body, headers=ADMIN | JSON)
    assert response.status_code == 413 and response.json()["error"] == "too-large"
    # Refused before authentication too: a stranger's large body is not read either.
    assert admin_client.post("/api/migrations", content=body, headers=JSON).status_code == 413


HOSTILE_HEADERS: dict[str, tuple[dict[str, str], str]] = {
    "one 17 KiB header": ({"X-Pad": "x" * 17 * 1024}, "larger than 16384 bytes"),
    "a 20 KiB bearer token": (bearer("t" * 20 * 1024), "larger than 16384 bytes"),
    "64 KiB over 8 headers": ({f"X-Pad-{i}": "x" * 8 * 1024 for i in range(8)}, "larger than 16384 bytes"),
    "101 header fields": ({f"X-H{i}": "1" for i in range(101)}, "header fields; at most 100 are accepted"),
}


@pytest.mark.parametrize("case", list(HOSTILE_HEADERS), ids=list(HOSTILE_HEADERS))
def test_header_blocks_over_the_limits_are_431(admin_client: TestClient, case: str) -> None:
    headers, words = HOSTILE_HEADERS[case]
    for method, path in (("GET", "/api/migrations"), ("POST", "/api/migrations"), ("GET", "/")):
        response = admin_client.request(method, path, headers=ADMIN | headers)
        assert response.status_code == 431, (case, path, response.text)
        assert words in response.json()["message"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_header_blocks_within_the_limits_are_served(admin_client: TestClient) -> None:
    nearly = {"X-Pad": "x" * 15 * 1024}
    assert admin_client.get("/api/migrations", headers=ADMIN | nearly).status_code == 200
    many = {f"X-H{i}": "1" for i in range(80)}
    assert admin_client.get("/api/migrations", headers=ADMIN | many).status_code == 200
    assert admin_client.get("/api/migrations?" + "q=1&" * 3000, headers=ADMIN).status_code == 200
    assert admin_client.get("/api/migrations?" + "q=1&" * 5000, headers=ADMIN).status_code == 431


def raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (in one write) to a live server; its status code and the answer's head.

    The connection stays open for writing (a half-closed one reads to uvicorn as a client that went away), and
    only the head is read, so a keep-alive connection is not waited out."""
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(request)
            while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):  # it answered and closed before reading all we sent
            pass
    return int(answer.split(b" ", 2)[1]), answer


def test_a_live_server_holds_the_header_limit_however_the_bytes_arrive(
    servers: LiveServers, db_url: str, project: Path
) -> None:
    url = servers.start(db_url)
    token = f"Authorization: Bearer {ADMIN_TOKEN}\r\n".encode()
    ok = b"GET /api/migrations HTTP/1.1\r\nHost: x\r\n" + token + b"Connection: close\r\n\r\n"
    assert raw_request(url, ok)[0] == 200
    for pad in (20 * 1024, 64 * 1024):
        big = b"GET /api/migrations HTTP/1.1\r\nHost: x\r\n" + token + b"X-Pad: " + b"x" * pad + b"\r\n\r\n"
        status, _ = raw_request(url, big)
        assert status in (400, 431), pad  # 431 from lockgate, or h11 refusing the block before it is complete
    sixty_four = b"GET /api/migrations HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"x" * 64 * 1024 + b"\r\n\r\n"
    assert raw_request(url, sixty_four)[0] in (400, 431)


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GET /api/nowhere HTTP/1.1\r\nHost: [\r\n\r\n", 404),
        (b"GET /api/migrations HTTP/1.1\r\nHost: [\r\n\r\n", 401),
        (b"POST /api/migrations HTTP/1.1\r\nHost: [::1\r\nContent-Length: 2\r\n\r\n{}", 401),
        (b"GET /api/migrations/ HTTP/1.1\r\nHost: a b\r\n\r\n", 307),
        (b"GET /api/migrations HTTP/1.0\r\n\r\n", 401),
        (b"GET /api/migrations%00 HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"GET /api/migrations/history?limit=%ff HTTP/1.1\r\nHost: x\r\n\r\n", 401),
        (b"GET /api/migrations HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\xfe\x80\r\n\r\n", 401),
        (b"GET /api/migrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n", 401),
        (b"GET /api/migrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a.b\xff.c\r\n\r\n", 401),
        (b"POST /api/migrations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST /api/migrations HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
        (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"GET /static/../../pyproject.toml HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ],
)
def test_a_live_server_answers_malformed_requests_with_4xx(
    servers: LiveServers, db_url: str, request_bytes: bytes, status: int
) -> None:
    url = servers.start(db_url)
    got, answer = raw_request(url, request_bytes)
    assert got == status, answer[:400]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_are_405(admin_client: TestClient, method: str) -> None:
    for path in ("/api/migrations", "/api/migrations/history"):
        response = admin_client.request(method, path, headers=ADMIN)
        assert response.status_code == 405 and response.json()["error"] == "method-not-allowed"


def test_an_unexpected_exception_is_a_json_500_and_is_logged(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Actions) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Actions, "status", broken)
    response = admin_client.get("/api/migrations", headers=ADMIN)
    assert response.status_code == 500
    assert response.json() == {
        "schema": 2,
        "error": "internal",
        "message": "unexpected server error; see the server log",
    }
    assert response.headers["cache-control"] == "no-store" and "a bug" not in response.text
    logged = [r for r in caplog.records if r.name == "lockgate.api" and r.levelname == "ERROR"]
    assert len(logged) == 1 and "unexpected error on GET /api/migrations" in logged[0].getMessage()
    assert logged[0].exc_info is not None
    caplog.clear()  # expected here; anywhere else the no_unexpected_errors fixture fails the test


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def _run(app: Callable[..., Awaitable[None]], path: str) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)
    return sent


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_guard_answers_an_exception_outside_starlette(caplog: pytest.LogCaptureFixture) -> None:
    async def fails_before(scope: Scope, receive: Any, send: Any) -> None:
        raise ValueError("in a middleware")

    async def fails_after(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("mid-answer")

    before = await _run(Guard(fails_before), "/api/migrations")
    assert before[0]["status"] == 500 and json.loads(before[1]["body"])["error"] == "internal"
    assert (b"cache-control", b"no-store") in before[0]["headers"]
    after = await _run(Guard(fails_after), "/")
    assert [m["type"] for m in after] == ["http.response.start"]  # no second answer once one has started
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 2
    caplog.clear()


AUTHORIZATION = st.one_of(
    st.none(),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300),
    st.builds(
        lambda t: f"Bearer {t}", st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300)
    ),
    st.sampled_from([f"Bearer {ADMIN_TOKEN}", "Bearer a.b.c", "Bearer ..", "bearer  "]),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
BODY = st.one_of(
    st.binary(max_size=300),
    JSONISH.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(["action", "Action", "x"]), JSONISH, max_size=3).map(
        lambda value: json.dumps(value).encode()
    ),
)
CONTENT_TYPE = st.one_of(
    st.none(), st.sampled_from(["application/json", "text/plain", "application/json; x=\xff"])
)


@pytest.mark.slow
def test_fuzzed_requests_never_get_a_5xx(admin_client: TestClient) -> None:
    """Random tokens, bodies and content types: every answer is below 500 (a run is never started: the
    project has no migrations, so even a valid `run` body is harmless)."""

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        method=st.sampled_from(["GET", "POST"]),
        path=st.sampled_from(["/api/migrations", "/api/migrations/history"]),
        authorization=AUTHORIZATION,
        content_type=CONTENT_TYPE,
        body=BODY,
    )
    def never_5xx(
        method: str, path: str, authorization: str | None, content_type: str | None, body: bytes
    ) -> None:
        headers = {}
        if authorization is not None:
            headers["Authorization"] = authorization.encode("latin-1")
        if content_type is not None:
            headers["Content-Type"] = content_type.encode("latin-1")
        response = admin_client.request(method, path, content=body, headers=headers)  # type: ignore[arg-type]
        assert response.status_code < 500, response.text

    never_5xx()


@pytest.mark.parametrize(
    "body",
    [
        {"action": "run"},
        {"action": "dry-run", "atomic": True},
        {"action": "validate", "atomic": False},
        {"action": "validate", "atomic": True},
        {"action": "run", "atomic": "yes"},
        {"action": "validate", "extra": 1},
        {"atomic": True},
    ],
)
def test_the_openapi_request_schema_and_the_server_agree(body: dict[str, object]) -> None:
    """What the published schema allows is exactly what ``POST /api/migrations`` accepts (a client
    generated from the schema never meets a 400 for a body the schema allows, nor the reverse)."""
    import jsonschema

    from lockgate.api.openapi import ACTION_REQUEST
    from lockgate.api.payload import BadRequest, parse_options

    allowed = jsonschema.Draft202012Validator(ACTION_REQUEST).is_valid(body)
    try:
        parse_options(json.dumps(body).encode())
        accepted = True
    except BadRequest:
        accepted = False
    assert allowed == accepted, body
