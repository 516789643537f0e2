"""Hostile migration files on disk never turn the API into a 500: it reports them as the CLI does."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import ADMIN
from starlette.testclient import TestClient

pytestmark = pytest.mark.db

GOOD = "CREATE TABLE good (id int);\n"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            ("SELECT " + " || ".join(["'b'"] * 600) + " AS deep;\n").encode(), id="600-concatenations"
        ),
        pytest.param(("SELECT " + "(SELECT " * 200 + "1" + ")" * 200 + ";\n").encode(), id="200-subqueries"),
    ],
)
def test_deep_files_are_applied_through_the_api(project: Path, client: TestClient, content: bytes) -> None:
    (project / "migrations" / "20250101000000_good.sql").write_text(GOOD)
    (project / "migrations" / "20250102000000_deep.sql").write_bytes(content)
    listing = client.get("/api/migrations", headers=ADMIN)
    assert listing.status_code == 200, listing.text
    assert listing.json()["counts"]["pending"] == 2
    applied = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
    assert applied.status_code == 200, applied.text
    assert client.get("/api/migrations", headers=ADMIN).json()["counts"]["applied"] == 2


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b"CREATE TABLE a (id int);\0DROP TABLE good;\n", "NUL byte", id="nul"),
        pytest.param(
            b"CREATE TABLE c (id int);\nCOPY c FROM stdin;\n", "COPY ... FROM stdin", id="copy-stdin"
        ),
    ],
)
def test_refused_files_are_reported_not_run(
    project: Path, client: TestClient, content: bytes, words: str
) -> None:
    (project / "migrations" / "20250101000000_good.sql").write_text(GOOD)
    (project / "migrations" / "20250102000000_bad.sql").write_bytes(content)
    listing = client.get("/api/migrations", headers=ADMIN)
    assert listing.status_code == 200, listing.text
    assert words in listing.text
    refused = client.post("/api/migrations", json={"action": "run"}, headers=ADMIN)
    assert refused.status_code < 500, refused.text
    assert words in refused.text
    assert client.get("/api/migrations", headers=ADMIN).json()["counts"]["applied"] == 0
