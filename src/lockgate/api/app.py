"""Builds the ASGI application: routes, the dashboard's files, JSON errors and the middleware stack."""

from __future__ import annotations

import logging
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
from lockgate.api.middleware import BodyLimit, SecurityHeaders
from lockgate.api.routes import Endpoints
from lockgate.api.settings import ApiSettings
from lockgate.config import Config
from lockgate.db import DatabaseTarget

STATIC = Path(__file__).parent / "static"
logger = logging.getLogger("lockgate.api")


async def _dashboard(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Framework errors (404, 405) as JSON under /api/, keeping the ``Allow`` header of a 405."""
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = "method-not-allowed" if exc.status_code == 405 else "not-found"
    return JSONResponse(
        error_document(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug: logged with its traceback on the server, a generic line to the client (no internals leak)."""
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_document("internal", "unexpected server error; see the server log"), 500)


def create_app(config: Config, target: DatabaseTarget, settings: ApiSettings) -> SecurityHeaders:
    """The whole server for one project (migrations directory) and one database."""
    audit = AuditTrail(config, target)
    endpoints = Endpoints(Actions(config, target), Authenticator(settings), audit)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(audit.prepare)
        yield

    routes = [
        Route("/", _dashboard, methods=["GET"]),
        Route("/api/openapi.json", endpoints.openapi_json, methods=["GET"]),
        Route("/api/migrations", endpoints.get_migrations, methods=["GET"]),
        Route("/api/migrations", endpoints.post_migrations, methods=["POST"]),
        Route("/api/migrations/history", endpoints.get_history, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    return SecurityHeaders(BodyLimit(app, settings.max_body_bytes))
