"""Every API answer against the JSON Schema shipped in the package: the documents (status, validate, run,
dry-run, a failed and a blocked run, the audit log) and the errors; the OpenAPI components are that schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from api_helpers import ADMIN, ADMIN_SUB, USER_SUB, AppFactory, add, bearer, make_jwt
from starlette.testclient import TestClient

from cli_runner import run_cli
from json_schema_check import assert_matches
from lockgate.api.asgi import create_app
from lockgate.api.openapi import COMPONENTS, document_schemas, openapi_document
from lockgate.api.settings import ApiSettings, parse_admin_tokens
from lockgate.config import load_config
from lockgate.db import DatabaseTarget
from lockgate.locking import run_lock
from lockgate.schemas import json_schema

API_FIELDS = ("action", "ok", "message")


def post(client: TestClient, action: str, headers: dict[str, str] = ADMIN) -> httpx.Response:
    return client.post("/api/migrations", json={"action": action}, headers=headers)


def matches(response: httpx.Response, status: int, definition: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    document: dict[str, Any] = response.json()
    assert_matches(document, definition)
    return document


def without_api_fields(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in API_FIELDS}


def test_every_document_through_a_projects_life(
    client: TestClient, project: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    matches(client.get("/api/migrations", headers=ADMIN), 200, "status")  # no files, no table
    matches(client.get("/api/migrations/history", headers=ADMIN), 200, "history")
    first = add(project, "20250101000000_create_notes.sql", "CREATE TABLE notes (id bigint);\n")
    add(project, "20250102000000_add_body.sql", "ALTER TABLE notes ADD COLUMN body text;\n")
    matches(client.get("/api/migrations", headers=ADMIN), 200, "status")

    validated = matches(post(client, "validate"), 200, "api_validate")
    cli = run_cli(
        ["validate", "--json", "--database-url", db_url, "--dir", str(project / "migrations")], capsys
    )
    assert without_api_fields(validated) == json.loads(cli.out)  # the CLI's document plus three fields

    dry = matches(post(client, "dry-run"), 200, "api_run")
    assert dry["dry_run"] is True and dry["counts"]["dry-run-ok"] == 2
    ran = matches(post(client, "run", bearer(make_jwt())), 200, "api_run")
    assert ran["executed_by"] == ADMIN_SUB and ran["counts"]["applied"] == 2
    status = matches(client.get("/api/migrations", headers=ADMIN), 200, "status")
    assert {m["executed_by"] for m in status["applied"]} == {ADMIN_SUB}
    assert {m["metadata"]["via"] for m in status["applied"]} == {"api"}
    page = matches(client.get("/api/migrations/history?limit=2", headers=ADMIN), 200, "history")
    assert page["next_offset"] == 2 and all(e["logged_at"].endswith("+00:00") for e in page["entries"])
    matches(client.get("/api/migrations/history?limit=200", headers=ADMIN), 200, "history")

    add(project, "20250103000000_broken.sql", "SELECT 1;\nINSERT INTO missing VALUES (1);\n")
    failed = matches(post(client, "run"), 422, "api_run")
    assert failed["ok"] is False and failed["results"][0]["error"]["line"] == 2
    assert failed["executed_by"] is None  # an admin token has no user id
    first.write_text("CREATE TABLE notes (id int);\n", encoding="utf-8")
    blocked = matches(post(client, "run"), 422, "api_run")
    assert blocked["blocked"] is True and blocked["results"] == []
    invalid = matches(post(client, "validate"), 200, "api_validate")
    assert invalid["valid"] is False and invalid["counts"]["errors"] >= 1
    drifted = matches(client.get("/api/migrations", headers=ADMIN), 200, "status")
    assert drifted["counts"]["modified"] == 1 and drifted["valid"] is False


def test_every_error_answer(make_client: AppFactory, project: Path, db_url: str) -> None:
    client = make_client()
    add(project, "20250101000000_create_notes.sql", "CREATE TABLE notes (id bigint);\n")
    json_body = ADMIN | {"Content-Type": "application/json"}
    answers = {
        401: client.get("/api/migrations"),
        403: post(client, "run", bearer(make_jwt(USER_SUB, role=None))),
        400: client.post("/api/migrations", content=b'{"action": "drop"}', headers=json_body),
        405: client.request("DELETE", "/api/migrations", headers=ADMIN),
        413: client.post("/api/migrations", content=b" " * 20_000, headers=json_body),
        415: client.post("/api/migrations", content=b"action=run", headers=ADMIN),
    }
    target = DatabaseTarget(db_url, "test")
    with run_lock(target, "public.schema_migrations", "public.schema_migrations_log", 1000, print):
        answers[409] = post(client, "dry-run")
    for status, response in answers.items():
        document = matches(response, status, "error")
        assert ("holder" in document) is (status == 409)
    url = "postgresql://app:secret@127.0.0.1:1/postgres"
    config = load_config(cwd=project, overrides={"database_url": url}, environ={})
    settings = ApiSettings(admin_token_digests=parse_admin_tokens("x" * 20))
    with TestClient(create_app(config, DatabaseTarget(url, "test"), settings)) as down:
        matches(down.get("/api/migrations", headers=bearer("x" * 20)), 503, "error")


# -- the OpenAPI document is derived from the same file -------------------------------------------------------


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def resolve(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_openapi_components_are_the_json_schemas_definitions() -> None:
    document = openapi_document()
    components = document["components"]["schemas"]
    definitions = json_schema()["$defs"]
    assert set(definitions) <= set(components) and components == document_schemas() | {
        "ActionRequest": components["ActionRequest"]
    }
    for name, definition in definitions.items():
        moved = json.dumps(definition).replace('"#/$defs/', f'"{COMPONENTS}')
        assert components[name] == json.loads(moved), name
    every_ref = refs(document)
    assert every_ref and not [ref for ref in every_ref if not ref.startswith(COMPONENTS)]
    for ref in every_ref:
        resolve(document, ref)  # every pointer leads somewhere
    responses = document["paths"]["/api/migrations"]
    assert responses["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": f"{COMPONENTS}status"
    }
