"""The API and the dashboard's data never carry the database password, whatever its characters.

Over the members of the class in ``masking_cases``: the status document shows the URL without its
password, run and history replies and the audit rows hold no fragment of it, and a string libpq misreads
or rejects is a 503 whose message names the target without the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from api_helpers import ADMIN, ADMIN_TOKEN, add
from starlette.testclient import TestClient

from lockgate.api.asgi import create_app
from lockgate.api.settings import ApiSettings, parse_admin_tokens
from lockgate.config import load_config
from lockgate.conninfo import display_url
from lockgate.db import DatabaseTarget
from masking_cases import BROKEN, WORKING, Member, Server, create_role, leaked, stored_rows


@contextmanager
def app_for(project: Path, url: str) -> Iterator[TestClient]:
    config = load_config(cwd=project, overrides={"database_url": url}, environ={})
    settings = ApiSettings(admin_token_digests=parse_admin_tokens(ADMIN_TOKEN))
    with TestClient(create_app(config, DatabaseTarget(url, "test"), settings)) as client:
        yield client


@pytest.mark.parametrize("member", WORKING, ids=str)
def test_documents_and_audit_rows_hold_no_password(member: Member, project: Path, db_url: str) -> None:
    add(project, "20250101000000_create_t.sql", "CREATE TABLE t (id int);\n")
    with create_role(db_url, member.password) as role:
        url = member.url(Server.of(db_url), role)
        with app_for(project, url) as client:
            status = client.get("/api/migrations", headers=ADMIN)
            run = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
            history = client.get("/api/migrations/history", headers=ADMIN)
            pages = [client.get("/"), client.get("/static/app.js")]
        rows = stored_rows(db_url, "public.schema_migrations", "public.schema_migrations_log")
    assert [status.status_code, run.status_code, history.status_code] == [200, 200, 200], run.text
    assert status.json()["database"] == display_url(url) and "***" in status.json()["database"]
    assert run.json()["counts"]["applied"] and "api-run" in rows
    texts = [status.text, run.text, history.text, rows, *(page.text for page in pages)]
    assert not leaked(member.password, *texts), texts


@pytest.mark.parametrize("member", BROKEN, ids=str)
def test_unusable_strings_are_a_503_without_the_password(member: Member, project: Path) -> None:
    url = member.url(Server("127.0.0.1", "1", "app"), "app")
    with app_for(project, url) as client:
        for response in (
            client.get("/api/migrations", headers=ADMIN),
            client.post("/api/migrations", json={"action": "run"}, headers=ADMIN),
            client.get("/api/migrations/history", headers=ADMIN),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "database-unavailable"
            assert not leaked(member.password, response.text), response.text
