"""Fixtures for the API tests: the real ASGI app over a project on disk and a fresh real database.

Requests go through Starlette's ``TestClient`` (in-process, no port), except where a real server is needed
(the browser and flood tests start uvicorn on a free loopback port).

Every API test also fails if the server logged an unexpected error: the app answers any exception nothing
handled with a JSON 500 and logs it (``middleware.Guard``), so a hostile input that reaches a bug fails the
test that sent it even where the test does not look at the status code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ADMIN_TOKEN, JWT_SECRET, AppFactory
from live_server import LiveServers
from starlette.testclient import TestClient

from lockgate.api.asgi import create_app
from lockgate.api.settings import ApiSettings, parse_admin_tokens
from lockgate.config import load_config
from lockgate.db import DatabaseTarget


@pytest.fixture
def make_client(project: Path, db_url: str) -> Iterator[AppFactory]:
    """``make_client(settings=...)`` builds the app for ``project`` and the test database."""
    clients: list[TestClient] = []

    def build(settings: ApiSettings | None = None, **environ: str) -> TestClient:
        config = load_config(
            cwd=project,
            overrides={"database_url": db_url},
            environ={"LOCKGATE_RETRY_BACKOFF": "10ms", **environ},
        )
        settings = settings or ApiSettings(
            admin_token_digests=parse_admin_tokens(ADMIN_TOKEN), jwt_secret=JWT_SECRET
        )
        app = create_app(config, DatabaseTarget(db_url, "test"), settings)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()  # runs the app's start-up, as uvicorn does
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


@pytest.fixture
def servers(project: Path) -> Iterator[LiveServers]:
    started = LiveServers(project)
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if the server logged an error (a 500, a crash of the audit writer)."""
    yield
    errors = [
        record
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if record.levelno >= logging.ERROR and record.name in ("lockgate.api", "uvicorn.error")
    ]
    if errors:
        pytest.fail(
            "the server logged an unexpected error:\n" + "\n".join(caplog.text.splitlines()[-40:]),
            pytrace=False,
        )
