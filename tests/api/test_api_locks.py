"""The API's pending list (the status document, which the dashboard draws) and its dry-run answer carry the locks
each pending migration takes on existing tables: the same list as ``lockgate run --dry-run`` and the PR comment."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import ADMIN
from starlette.testclient import TestClient

from json_schema_check import assert_matches

pytestmark = pytest.mark.db

ACCOUNTS = "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\n"
INDEX = "CREATE INDEX accounts_email ON accounts (email);\n"
PREFS = "CREATE TABLE prefs (id bigint REFERENCES accounts (id));\nALTER TABLE prefs ADD COLUMN b int;\n"


def test_pending_list_and_dry_run_name_the_locks(project: Path, client: TestClient) -> None:
    migrations = project / "migrations"
    (migrations / "20250101000000_accounts.sql").write_text(ACCOUNTS)
    assert client.post("/api/migrations", json={"action": "run"}, headers=ADMIN).status_code == 200
    (migrations / "20250102000000_index.sql").write_text(INDEX)
    (migrations / "20250103000000_prefs.sql").write_text(PREFS)
    expected = {
        "20250102000000_index": ["SHARE on accounts"],
        "20250103000000_prefs": ["SHARE ROW EXCLUSIVE on accounts"],
    }

    listing = client.get("/api/migrations", headers=ADMIN).json()
    assert_matches(listing, "status")
    assert {entry["id"]: entry["locks"] for entry in listing["pending"]} == expected

    dry = client.post("/api/migrations", json={"action": "dry-run"}, headers=ADMIN)
    assert dry.status_code == 200, dry.text
    assert_matches(dry.json(), "api_run")
    assert {result["id"]: result["locks"] for result in dry.json()["results"]} == expected

    applied = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN).json()
    assert all("locks" not in result for result in applied["results"])  # a real run reports what it did
