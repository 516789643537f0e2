"""``GET``/``POST /api/drift``: the dashboard's drift card. A check builds a shadow database (on
``LOCKGATE_SHADOW_DATABASE_URL``'s server, else the embedded PostgreSQL) and compares it with the target; the
answer is kept, so a dashboard load never builds one. Admins only, audited, one check at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from api_helpers import ADMIN, ADMIN_TOKEN, JWT_SECRET, AppFactory, add

from json_schema_check import assert_matches
from lockgate.api.settings import ApiSettings, parse_admin_tokens

pytestmark = pytest.mark.db

HISTORY = {
    "20250101000000_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
    "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;\n"
    "CREATE POLICY accounts_all ON accounts FOR SELECT USING (true);\n",
    "20250102000000_index.sql": "CREATE INDEX accounts_email ON accounts (email);\n",
}


@pytest.fixture
def drift_client(project: Path, make_client: AppFactory, pg_server_url: str) -> object:
    (project / "lockgate.toml").write_text('[tool.lockgate]\nlint_on_run = "off"\n', encoding="utf-8")
    for name, text in HISTORY.items():
        add(project, name, text)
    settings = ApiSettings(
        admin_token_digests=parse_admin_tokens(ADMIN_TOKEN),
        jwt_secret=JWT_SECRET,
        shadow_database_url=pg_server_url,
    )
    client = make_client(settings=settings)
    ran = client.post("/api/migrations", headers=ADMIN, json={"action": "run"})
    assert ran.status_code == 200, ran.text
    return client


def _check(client: object) -> dict[str, object]:
    answer = client.post("/api/drift", headers=ADMIN)  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    document: dict[str, object] = answer.json()
    assert_matches(document, "api_drift")
    assert "password" not in answer.text
    return document


def test_before_any_check_the_last_one_is_none(drift_client: object) -> None:
    answer = drift_client.get("/api/drift", headers=ADMIN)  # type: ignore[attr-defined]
    assert answer.status_code == 200
    assert_matches(answer.json(), "api_drift")
    assert answer.json()["checked_at"] is None and answer.json()["drift"] is None


def test_a_freshly_migrated_database_has_no_drift_and_the_answer_is_kept(drift_client: object) -> None:
    document = _check(drift_client)
    assert document["drift"] == {"replayed": 2, "differences": [], "error": None}
    kept = drift_client.get("/api/drift", headers=ADMIN).json()  # type: ignore[attr-defined]
    assert kept == document and kept["checked_at"] is not None


@pytest.mark.parametrize(
    ("by_hand", "expected"),
    [
        ("ALTER TABLE accounts ADD COLUMN nickname text", ("added", "column public.accounts.nickname")),
        ("DROP INDEX accounts_email", ("missing", "index public.accounts_email")),
        (
            "ALTER POLICY accounts_all ON accounts USING (false)",
            ("changed", "policy public.accounts: accounts_all"),
        ),
    ],
)
def test_a_change_made_by_hand_is_reported_and_audited(
    drift_client: object, conn: psycopg.Connection, by_hand: str, expected: tuple[str, str]
) -> None:
    conn.execute(by_hand)
    document = _check(drift_client)
    drift = document["drift"]
    assert [(d["kind"], d["object"]) for d in drift["differences"]] == [expected]  # type: ignore[index]
    row = conn.execute(
        "SELECT outcome, error_message, metadata->>'differences' FROM schema_migrations_log "
        "WHERE action = 'api-drift' ORDER BY log_id DESC LIMIT 1"
    ).fetchone()
    assert row is not None and row[0] == "drift" and "1 difference(s)" in str(row[1]) and row[2] == "1"


def test_only_admins_check_drift_and_refusals_are_audited(drift_client: object) -> None:
    assert drift_client.post("/api/drift").status_code == 401  # type: ignore[attr-defined]
    assert drift_client.get("/api/drift").status_code == 401  # type: ignore[attr-defined]
    bad = drift_client.post("/api/drift", headers={"Authorization": "Bearer not-a-token-at-all"})  # type: ignore[attr-defined]
    assert bad.status_code == 401


def test_one_check_at_a_time(drift_client: object, project: Path, conn: psycopg.Connection) -> None:
    """A second POST while a check runs gets a 409 at once, not a second shadow."""
    add(project, "20250103000000_slow.sql", "SELECT pg_sleep(3);\n")
    ran = drift_client.post("/api/migrations", headers=ADMIN, json={"action": "run"})  # type: ignore[attr-defined]
    assert ran.status_code == 200, ran.text
    answers: list[int] = []
    first = threading.Thread(
        target=lambda: answers.append(drift_client.post("/api/drift", headers=ADMIN).status_code)  # type: ignore[attr-defined]
    )
    first.start()
    try:
        for _ in range(100):  # until the shadow replays the slow migration
            replaying = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'lockgate_shadow_%' "
                "AND query LIKE 'SELECT pg_sleep(3)%'"
            ).fetchone()
            if replaying and replaying[0]:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the first check never started replaying")
        second = drift_client.post("/api/drift", headers=ADMIN)  # type: ignore[attr-defined]
        assert second.status_code == 409 and second.json()["error"] == "drift-in-progress"
        assert_matches(second.json(), "error")
    finally:
        first.join(timeout=120)
    assert answers == [200]
