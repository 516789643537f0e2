"""The API's run goes through the same lint gate as the CLI, and its status document (the dashboard's pending
list) carries the findings the gate would report."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import ADMIN
from starlette.testclient import TestClient

pytestmark = pytest.mark.db

ORDERS = "CREATE TABLE orders (id bigint);\n"
NOT_NULL = "ALTER TABLE orders ADD COLUMN customer_id bigint NOT NULL;\n"


def test_run_refuses_a_lint_error_and_applies_nothing(project: Path, client: TestClient) -> None:
    (project / "migrations" / "20250101000000_orders.sql").write_text(ORDERS)
    assert client.post("/api/migrations", json={"action": "run"}, headers=ADMIN).status_code == 200
    (project / "migrations" / "20250102000000_customer.sql").write_text(NOT_NULL)
    listing = client.get("/api/migrations", headers=ADMIN).json()
    lint = {entry["id"]: [f["rule"] for f in entry["lint"]] for entry in listing["pending"]}
    assert lint == {"20250102000000_customer": ["add-not-null-column-without-default"]}
    refused = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
    assert refused.status_code == 422, refused.text
    document = refused.json()
    assert document["blocked"] is True and document["counts"]["applied"] == 0  # of this run
    assert "nothing was run: 1 lint error(s)" in document["message"]
    assert "20250102000000_customer.sql:1: [add-not-null-column-without-default]" in document["message"]
    assert [f["rule"] for f in document["lint"]] == ["add-not-null-column-without-default"]
    assert client.get("/api/migrations", headers=ADMIN).json()["counts"]["applied"] == 1


def test_an_explained_ignore_lets_the_api_run_it(project: Path, client: TestClient) -> None:
    (project / "migrations" / "20250101000000_orders.sql").write_text(ORDERS)
    (project / "migrations" / "20250102000000_customer.sql").write_text(
        "-- lockgate-ignore: add-not-null-column-without-default -- orders is empty until launch\n" + NOT_NULL
    )
    applied = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
    assert applied.status_code == 200, applied.text
    assert applied.json()["counts"]["applied"] == 2
