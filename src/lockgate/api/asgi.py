"""Builds the ASGI application: routes, the dashboard's files, JSON errors and the middleware stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lockgate.api.actions import Actions, error_document
from lockgate.api.audit import AuditTrail
from lockgate.api.auth import Authenticator
from lockgate.api.middleware import BodyLimit, Guard, HeaderLimit, SecurityHeaders
from lockgate.api.ratelimit import RefusalLimiter
from lockgate.api.routes import Endpoints
from lockgate.api.settings import ApiSettings
from lockgate.config import Config
from lockgate.db import DatabaseTarget

STATIC = Path(__file__).parent / "static"


async def _dashboard(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def _favicon(request: Request) -> Response:
    """``/favicon.ico``, which browsers and bookmark tools ask for whatever the page links: the SVG icon."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Framework errors (404, 405) as JSON under /api/, keeping the ``Allow`` header of a 405."""
    assert isinstance(exc, HTTPException)
    # scope["path"], not request.url: the URL is rebuilt from the Host header, and `Host: [` cannot be parsed.
    if not str(request.scope.get("path", "")).startswith("/api/"):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = "method-not-allowed" if exc.status_code == 405 else "not-found"
    return JSONResponse(
        error_document(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug: a generic line to the client (no internals leak). Starlette re-raises the exception after this
    answer, and ``Guard`` logs it once, with its traceback."""
    return JSONResponse(error_document("internal", "unexpected server error; see the server log"), 500)


def create_app(config: Config, target: DatabaseTarget, settings: ApiSettings) -> Guard:
    """The whole server for one project (migrations directory) and one database."""
    audit = AuditTrail(config, target, flush_seconds=settings.audit_flush_seconds)
    limiter = RefusalLimiter(settings.refusals_per_minute)
    actions = Actions(config, target, shadow_url=settings.shadow_database_url)
    endpoints = Endpoints(actions, Authenticator(settings), audit, limiter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(audit.prepare)
        try:
            yield
        finally:
            await run_in_threadpool(audit.close)

    routes = [
        Route("/", _dashboard, methods=["GET"]),
        Route("/favicon.ico", _favicon, methods=["GET"]),
        Route("/api/openapi.json", endpoints.openapi_json, methods=["GET"]),
        Route("/api/migrations", endpoints.get_migrations, methods=["GET"]),
        Route("/api/migrations", endpoints.post_migrations, methods=["POST"]),
        Route("/api/migrations/history", endpoints.get_history, methods=["GET"]),
        Route("/api/fleet", endpoints.get_fleet, methods=["GET"]),
        Route("/api/drift", endpoints.get_drift, methods=["GET"]),
        Route("/api/drift", endpoints.post_drift, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    limited = HeaderLimit(
        BodyLimit(app, settings.max_body_bytes), settings.max_header_bytes, settings.max_headers
    )
    return Guard(SecurityHeaders(limited))
