"""Hostile tests of the streamed run (``lockgate.batch.Stream``, ``Runner._apply_stream``): the session
marker (``lockgate.stale``) spoofed or left behind, lockgate's own tables changed mid-stream, values of
the tracking row through the prepared statement, interruptions with two files in flight."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from core_helpers import CliRunner, add

from lockgate import runner as runner_module

pytestmark = pytest.mark.db

COUNTER = "CREATE SEQUENCE side_effects;\nCREATE TABLE first (id int);\n"
SPY = "SELECT nextval('side_effects');\nCREATE TABLE {name} (id int);\n"


def statuses(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT version, status FROM public.schema_migrations ORDER BY version").fetchall()


def side_effects(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM side_effects").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def mends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``Runner._mend`` call; more than five for one run is a loop (the test fails instead of hanging)."""
    calls: list[str] = []
    original = runner_module.Runner._mend

    def counted(self: runner_module.Runner, marker: str) -> None:
        calls.append(marker)
        if len(calls) > 5:
            raise AssertionError(f"the runner mends the session again and again: {calls}")
        original(self, marker)

    monkeypatch.setattr(runner_module.Runner, "_mend", counted)
    return calls


@pytest.mark.parametrize(
    "marker", ["lockgate-stale-defaults", "lockgate-stale-prepared"], ids=["defaults", "prepared"]
)
def test_a_role_default_that_spoofs_the_session_marker_neither_loops_nor_fails_the_run(
    project: Path, lockgate: CliRunner, conn: psycopg.Connection, mends: list[str], marker: str
) -> None:
    """A migration sets ``lockgate.stale`` as a role default: every new session starts with the marker,
    so mending by reconnecting can never clear it."""
    add(project, "20250101000000_first.sql", COUNTER)
    add(
        project,
        "20250102000000_spoof.sql",
        "DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET lockgate.stale = %L', session_user, "
        f"current_database(), '{marker}'); END $$;\n",
    )
    add(project, "20250103000000_third.sql", SPY.format(name="third"))
    add(project, "20250104000000_fourth.sql", SPY.format(name="fourth"))
    result = lockgate("run")
    assert result.code == 0, result.text
    assert [status for _, status in statuses(conn)] == ["applied"] * 4
    assert side_effects(conn) == 2
    # A later run starts every session with the marker too.
    add(project, "20250105000000_fifth.sql", SPY.format(name="fifth"))
    add(project, "20250106000000_sixth.sql", SPY.format(name="sixth"))
    result = lockgate("run")
    assert result.code == 0, result.text
    assert side_effects(conn) == 4
