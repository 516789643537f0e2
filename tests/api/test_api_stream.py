"""The streamed run through the API door (POST /api/migrations, action run): files that end a stream
early (role defaults changed, a statement prepared or every one dropped in dynamic SQL) and a hostile
User-Agent in the prepared tracking row."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from api_helpers import ADMIN
from starlette.testclient import TestClient

pytestmark = pytest.mark.db

FILES = {
    "20250101000000_defaults.sql": "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET app.tenant = "
    "%L', session_user, current_database(), 'acme'); END $$;\n",
    "20250102000000_after.sql": "CREATE TABLE after_defaults AS SELECT current_setting('app.tenant', true) AS t;\n",
    "20250103000000_hidden.sql": "DO $$ BEGIN EXECUTE 'PREPARE hidden AS SELECT 1'; END $$;\n",
    "20250104000000_again.sql": "PREPARE hidden AS SELECT 2;\nCREATE TABLE again (id int);\n",
    "20250105000000_drops.sql": "DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$;\nCREATE TABLE drops (id int);\n",
    "20250106000000_last.sql": "CREATE TABLE last (id int);\n",
}


@pytest.mark.parametrize("atomic", [False, True], ids=["run", "atomic"])
def test_files_that_end_a_stream_early_apply_through_the_api(
    project: Path, client: TestClient, db_url: str, atomic: bool
) -> None:
    for name, text in FILES.items():
        (project / "migrations" / name).write_text(text, encoding="utf-8")
    agent = 'o\'brien \\ "x" $1 %s {}'
    body = {"action": "run", **({"atomic": True} if atomic else {})}
    applied = client.post("/api/migrations", json=body, headers={**ADMIN, "User-Agent": agent})
    assert applied.status_code == 200, applied.text
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT status, metadata->>'via', metadata->>'user_agent' FROM public.schema_migrations"
        ).fetchall()
        assert len(rows) == len(FILES) and {row[:2] for row in rows} == {("applied", "api")}, rows
        assert {row[2] for row in rows} == {agent}
        if not atomic:  # one transaction cannot take a new connection between two files
            assert conn.execute("SELECT t FROM public.after_defaults").fetchone() == ("acme",)
        failures = conn.execute(
            "SELECT count(*) FROM public.schema_migrations_log WHERE outcome <> 'applied'"
        )
        assert failures.fetchone() == (0,)
