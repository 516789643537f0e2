"""ASGI middleware for what every response needs: security headers, and caps on request headers and bodies.

Written as plain ASGI callables rather than Starlette's ``BaseHTTPMiddleware`` so a request that is too large
is refused before the app sees a byte of it, and so the headers are added to every response, errors included.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from lockgate.schemas import SCHEMA_VERSION

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("lockgate.api")

# No inline script or style anywhere: the dashboard's JS and CSS are files served by this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
COMMON_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


def response_headers(is_api: bool, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` plus the security headers, with ``Cache-Control: no-store`` for API answers."""
    kept = [(name, value) for name, value in headers if not (is_api and name.lower() == b"cache-control")]
    return [*kept, *COMMON_HEADERS, (b"cache-control", b"no-store" if is_api else b"no-cache")]


async def send_json_error(
    send: Send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """An error answer in the API's shape, sent straight to the ASGI server (for refusals made before the app)."""
    body = json.dumps({"schema": SCHEMA_VERSION, "error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds the security headers to every response, and ``Cache-Control: no-store`` to API responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = response_headers(is_api, list(message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Reads the whole body up to ``max_bytes`` first; a larger one gets 413 and the app never runs."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await send_json_error(
            send, 413, "too-large", f"the request body is larger than {self.max_bytes} bytes"
        )


class HeaderLimit:
    """Refuses (431) a request whose header block, request target included, is over ``max_bytes`` or has more
    than ``max_count`` fields.

    The ASGI server bounds only a header block that arrives slowly (h11 keeps at most 16 KiB of an incomplete
    one); a complete 64 KiB block that arrives in one read reaches the app. Counting here makes the documented
    limit hold whichever server and however the bytes arrive.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_count: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        size = len(scope.get("raw_path") or str(scope.get("path", "")).encode()) + len(
            scope.get("query_string", b"")
        )
        size += sum(len(name) + len(value) + 4 for name, value in headers)  # ": " and CRLF, as sent
        if len(headers) > self.max_count:
            message = f"the request has {len(headers)} header fields; at most {self.max_count} are accepted"
        elif size > self.max_bytes:
            message = f"the request's headers are larger than {self.max_bytes} bytes"
        else:
            await self.app(scope, receive, send)
            return
        await send_json_error(send, 431, "headers-too-large", message, [(b"connection", b"close")])


class Guard:
    """The outermost layer: an exception that nothing handled is logged once, with its traceback, as
    ``unexpected error`` on the ``lockgate.api`` logger, and answered with a JSON 500 if no answer has started.

    Starlette's own handler already answers a route's exception (and then re-raises it to the server); this
    catches those re-raised ones too, so a bug is logged in one place, the ASGI server never prints a second
    traceback, and the test suite can fail any test that logged one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            path = str(scope.get("path", ""))
            logger.exception("unexpected error on %s %s", scope.get("method"), path[:200])
            if not started:
                headers = response_headers(path.startswith("/api/"), [])
                await send_json_error(
                    send, 500, "internal", "unexpected server error; see the server log", headers
                )
