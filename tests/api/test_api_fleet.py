"""``GET /api/fleet``: the fleet view for the dashboard — every target read-only, as ``status --targets all
--json`` gives it; 404 when no target is configured; admins only, as every endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import ADMIN, AppFactory, add

from json_schema_check import assert_matches
from pg_databases import fresh_database


def test_no_fleet_is_a_404_with_the_fix(make_client: AppFactory) -> None:
    answer = make_client().get("/api/fleet", headers=ADMIN)
    assert answer.status_code == 404
    assert answer.json()["error"] == "no-fleet" and "[tool.lockgate.targets" in answer.json()["message"]
    assert_matches(answer.json(), "error")


def test_the_fleet_view_reads_every_target(
    project: Path, make_client: AppFactory, pg_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(project, "20250101000000_a.sql", "CREATE TABLE a (id int);\n")
    with fresh_database(pg_server_url, "lg_apifleet") as one:
        monkeypatch.setenv("API_FLEET_ONE", one)
        (project / "lockgate.toml").write_text(
            '[targets.one]\nurl_env = "API_FLEET_ONE"\n\n[targets.two]\nurl_env = "API_FLEET_TWO"\nwave = 1\n',
            encoding="utf-8",
        )
        client = make_client()
        assert client.get("/api/fleet").status_code == 401
        answer = client.get("/api/fleet", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert_matches(document, "fleet_report")
    targets = {target["name"]: target for target in document["targets"]}
    assert targets["one"]["state"] == "pending" and targets["one"]["pending"] == [20250101000000]
    assert targets["two"]["state"] == "error" and "API_FLEET_TWO is not set" in targets["two"]["message"]
    assert "postgresql" not in answer.text
