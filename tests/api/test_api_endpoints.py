"""The REST API against real PostgreSQL: each endpoint, what it writes, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from api_helpers import ADMIN, ADMIN_SUB, AppFactory, add, audit_rows, bearer, make_jwt, shut_down
from starlette.testclient import TestClient

from lockgate.cli import main

pytestmark = pytest.mark.db


def tracking_rows(db_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, status, executed_by::text, metadata FROM public.schema_migrations ORDER BY version"
        ).fetchall()


def two_migrations(project: Path) -> None:
    add(project, "20250101000000_create_notes.sql", "CREATE TABLE notes (id bigint PRIMARY KEY);\n")
    add(project, "20250102000000_add_body.sql", "ALTER TABLE notes ADD COLUMN body text;\n")


def test_get_migrations_is_the_status_json_document(
    client: TestClient, project: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    two_migrations(project)
    response = client.get("/api/migrations", headers=ADMIN)
    assert response.status_code == 200
    document = response.json()
    assert [e["id"] for e in document["pending"]] == [
        "20250101000000_create_notes",
        "20250102000000_add_body",
    ]
    assert document["counts"]["pending"] == 2 and document["valid"] is True
    capsys.readouterr()
    main(["status", "--json", "--database-url", db_url, "--dir", str(project / "migrations")])
    assert json.loads(capsys.readouterr().out) == document


def test_run_applies_and_records_the_jwt_subject(client: TestClient, project: Path, db_url: str) -> None:
    two_migrations(project)
    response = client.post("/api/migrations", json={"action": "run"}, headers=bearer(make_jwt()))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["ok"] is True and document["counts"]["applied"] == 2
    assert document["message"].startswith("applied 2 migration(s)")
    assert document["executed_by"] == ADMIN_SUB
    rows = tracking_rows(db_url)
    assert [(r[1], r[2]) for r in rows] == [("applied", ADMIN_SUB), ("applied", ADMIN_SUB)]
    metadata = rows[0][3]
    assert isinstance(metadata, dict)
    assert (
        metadata["via"] == "api" and metadata["subject"] == ADMIN_SUB and metadata["client"] == "testclient"
    )
    audit = audit_rows(db_url)
    assert [(a[0], a[1], a[2]) for a in audit] == [
        ("run", "applied", ADMIN_SUB),
        ("run", "applied", ADMIN_SUB),
        ("api-run", "applied", ADMIN_SUB),
    ]
    summary = audit[-1][4]
    assert isinstance(summary, dict)
    assert summary["applied"] == ["20250101000000_create_notes", "20250102000000_add_body"]
    assert summary["http_status"] == 200 and summary["auth"] == "jwt"
    again = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN).json()
    assert again["counts"]["applied"] == 0 and again["message"].startswith("nothing to do")
    assert client.get("/api/migrations", headers=ADMIN).json()["counts"]["applied"] == 2


def test_admin_token_run_has_no_user_id_but_names_the_token(
    client: TestClient, project: Path, db_url: str
) -> None:
    two_migrations(project)
    assert client.post("/api/migrations", json={"action": "run"}, headers=ADMIN).status_code == 200
    rows = tracking_rows(db_url)
    assert {r[2] for r in rows} == {None}
    metadata = rows[0][3]
    assert isinstance(metadata, dict)
    assert metadata["auth"] == "token" and str(metadata["actor"]).startswith("admin-token:")
    assert ADMIN["Authorization"].split()[1] not in json.dumps(audit_rows(db_url), default=str)


def test_admin_token_rows_take_executed_by_from_the_config(
    make_client: AppFactory, project: Path, db_url: str
) -> None:
    user = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    client = make_client(LOCKGATE_EXECUTED_BY=user)
    two_migrations(project)
    assert client.post("/api/migrations", json={"action": "run"}, headers=ADMIN).status_code == 200
    assert {r[2] for r in tracking_rows(db_url)} == {user}
    assert {a[2] for a in audit_rows(db_url)} == {user}
    client.get("/api/migrations", headers=bearer("not-an-admin-token-at-all"))
    shut_down(client)
    assert audit_rows(db_url)[-1][:3] == ("api-read", "refused-unauthenticated", None)


def test_dry_run_changes_nothing(client: TestClient, project: Path, db_url: str) -> None:
    two_migrations(project)
    response = client.post("/api/migrations", json={"action": "dry-run"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["action"] == "dry-run" and document["dry_run"] is True
    assert [r["outcome"] for r in document["results"]] == ["dry-run-ok", "dry-run-ok"]
    assert client.get("/api/migrations", headers=ADMIN).json()["counts"]["pending"] == 2
    assert [(a[0], a[1]) for a in audit_rows(db_url)] == [("api-dry-run", "dry-run-ok")]


def test_validate_reports_checksum_drift_and_is_audited(
    client: TestClient, project: Path, db_url: str
) -> None:
    two_migrations(project)
    client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
    add(project, "20250102000000_add_body.sql", "ALTER TABLE notes ADD COLUMN body varchar;\n")
    response = client.post("/api/migrations", json={"action": "validate"}, headers=ADMIN)
    assert response.status_code == 200
    document = response.json()
    assert document["valid"] is False and document["ok"] is False
    assert [p["code"] for p in document["problems"]] == ["checksum-mismatch"]
    assert audit_rows(db_url)[-1][:2] == ("api-validate", "invalid")
    blocked = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
    assert blocked.status_code == 422 and blocked.json()["blocked"] is True
    assert "checksum" in blocked.json()["message"]


def test_failing_migration_is_reported_with_its_error_and_line(
    client: TestClient, project: Path, db_url: str
) -> None:
    add(project, "20250101000000_ok.sql", "CREATE TABLE ok_table (id int);\n")
    add(
        project,
        "20250102000000_broken.sql",
        "CREATE TABLE half_done (id int);\n\n\nALTER TABLE missing_table\n  ADD COLUMN x int;\n",
    )
    response = client.post("/api/migrations", json={"action": "run"}, headers=bearer(make_jwt()))
    assert response.status_code == 422
    document = response.json()
    assert (
        document["ok"] is False and document["counts"]["applied"] == 1 and document["counts"]["failed"] == 1
    )
    failed = document["results"][-1]
    assert failed["id"] == "20250102000000_broken" and failed["outcome"] == "failed"
    assert failed["error"]["line"] == 4 and failed["error"]["sqlstate"] == "42P01"
    assert '20250102000000_broken.sql:4: relation "missing_table" does not exist' in document["message"]
    status = client.get("/api/migrations", headers=ADMIN).json()
    assert [e["id"] for e in status["failed"]] == ["20250102000000_broken"]
    assert "does not exist" in status["failed"][0]["error_message"]
    last = audit_rows(db_url)[-1]
    assert last[:3] == ("api-run", "failed", ADMIN_SUB) and "missing_table" in str(last[3])


def test_history_is_newest_first_and_paginated(client: TestClient, project: Path) -> None:
    two_migrations(project)
    client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
    client.post("/api/migrations", json={"action": "validate"}, headers=ADMIN)
    first = client.get("/api/migrations/history?limit=2", headers=ADMIN).json()
    assert [e["action"] for e in first["entries"]] == ["api-validate", "api-run"]
    assert first["next_offset"] == 2
    second = client.get("/api/migrations/history?limit=2&offset=2", headers=ADMIN).json()
    assert [(e["action"], e["migration_id"]) for e in second["entries"]] == [
        ("run", "20250102000000_add_body"),
        ("run", "20250101000000_create_notes"),
    ]
    assert second["entries"][0]["execution_time_ms"] >= 0
    assert second["next_offset"] is None
    assert client.get("/api/migrations/history?offset=99", headers=ADMIN).json()["entries"] == []


def test_history_of_a_fresh_database_is_empty(client: TestClient) -> None:
    response = client.get("/api/migrations/history", headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == {"schema": 2, "entries": [], "limit": 50, "offset": 0, "next_offset": None}


def test_database_password_never_leaves_the_server(make_client: AppFactory, project: Path) -> None:
    from lockgate.api.asgi import create_app
    from lockgate.api.settings import ApiSettings, parse_admin_tokens
    from lockgate.config import load_config
    from lockgate.db import DatabaseTarget

    url = "postgresql://app:pw-s3cret-value@127.0.0.1:1/postgres"
    config = load_config(cwd=project, overrides={"database_url": url}, environ={})
    settings = ApiSettings(admin_token_digests=parse_admin_tokens("x" * 20))
    with TestClient(create_app(config, DatabaseTarget(url, "test"), settings)) as unreachable:
        for response in (
            unreachable.get("/api/migrations", headers=bearer("x" * 20)),
            unreachable.post("/api/migrations", json={"action": "run"}, headers=bearer("x" * 20)),
            unreachable.get("/api/migrations/history", headers=bearer("x" * 20)),
        ):
            assert response.status_code == 503
            assert "pw-s3cret-value" not in response.text and "app:***@" in response.json()["message"]


def test_a_foreign_tracking_table_is_a_422_naming_it(make_client: AppFactory, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.schema_migrations (version text PRIMARY KEY)")
    client = make_client()
    for response in (
        client.get("/api/migrations", headers=ADMIN),
        client.post("/api/migrations", json={"action": "run"}, headers=ADMIN),
    ):
        assert response.status_code == 422
        assert response.json()["error"] == "refused"
        assert (
            "public.schema_migrations exists but is not a lockgate tracking table"
            in response.json()["message"]
        )
    with psycopg.connect(db_url) as conn:
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'schema_migrations'"
        ).fetchone()
    assert columns == (1,)


def test_validate_includes_the_supabase_checks_like_the_cli(
    make_client: AppFactory, project: Path, db_url: str
) -> None:
    """The API and `lockgate validate` report the same problems, Supabase's shared-history checks included."""
    add(project, "20250101_legacy.sql", "CREATE TABLE legacy (id int);\n")
    client = make_client(LOCKGATE_SUPABASE="true")
    response = client.post("/api/migrations", json={"action": "validate"}, headers=ADMIN)
    assert response.status_code == 200
    codes = [p["code"] for p in response.json()["problems"]]
    assert "supabase-version-format" in codes
