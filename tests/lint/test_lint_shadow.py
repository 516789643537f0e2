"""``lockgate lint --shadow``: the exact catalog source. The migrations before the linted files are applied to
a scratch database on the shadow server and its catalog is read, so lint knows what the static replay of the
history cannot (a column made by a DO block or a function); the scratch database is always dropped."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from cli_runner import run_cli

pytestmark = pytest.mark.db

# The static history cannot follow dynamic SQL: it sees a DO block, not the table it makes.
DYNAMIC = """DO $$
BEGIN
  EXECUTE 'CREATE TABLE public.notes (id bigint PRIMARY KEY, body text NOT NULL, code varchar(20))';
END
$$;
"""
NARROWING = "ALTER TABLE public.notes ALTER COLUMN body TYPE varchar(50);\n"
WIDENING = "ALTER TABLE public.notes ALTER COLUMN code TYPE varchar(200);\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.lockgate]\n")
    monkeypatch.chdir(tmp_path)
    for name in ("LOCKGATE_CONFIG", "LOCKGATE_PG_MAJOR", "LOCKGATE_MIGRATIONS_DIR", "LOCKGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "migrations" / "20250101000000_dynamic_notes.sql").write_text(DYNAMIC)
    return tmp_path


def _shadows(server: str) -> int:
    with psycopg.connect(server) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_database WHERE starts_with(datname, %s)",
            (f"lockgate_shadow_{os.getpid()}_",),
        ).fetchone()
    return int(row[0]) if row else -1


def test_a_narrowing_change_is_found_only_through_the_shadow(
    project: Path, pg_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = project / "migrations" / "20250102000000_narrow_body.sql"
    changed.write_text(NARROWING)
    before = _shadows(pg_server_url)
    static = run_cli(["lint", str(changed)], capsys)
    assert "narrows it from" not in static.out  # the static replay never saw public.notes
    shadow = run_cli(["lint", "--shadow-database-url", pg_server_url, str(changed)], capsys)
    assert "ALTER COLUMN body TYPE varchar(50) narrows it from text" in shadow.out, shadow.text
    assert "Traceback" not in shadow.text
    assert _shadows(pg_server_url) == before  # dropped


def test_a_widening_change_is_quiet_through_the_shadow(
    project: Path, pg_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """varchar(20) -> varchar(200) is binary-coercible: no rewrite, no scan. Only the shadow knows the old type."""
    import json

    changed = project / "migrations" / "20250102000000_widen_code.sql"
    changed.write_text(WIDENING)

    def rules(*extra: str) -> list[str]:
        result = run_cli(["lint", *extra, "--format", "json", str(changed)], capsys)
        assert "Traceback" not in result.text
        return [finding["rule"] for finding in json.loads(result.out)["findings"]]

    assert rules("--shadow", "--shadow-database-url", pg_server_url) == []
    body = project / "migrations" / "20250103000000_narrow_body.sql"  # the same shadow, a narrowing: found
    body.write_text(NARROWING)
    changed.unlink()
    changed = body
    assert rules("--shadow", "--shadow-database-url", pg_server_url) == ["alter-column-type"]


def test_a_history_that_does_not_replay_is_one_line_and_the_shadow_is_dropped(
    project: Path, pg_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "migrations" / "20250101120000_broken.sql").write_text(
        "SELECT 1;\nINSERT INTO nowhere VALUES (1);\n"
    )
    changed = project / "migrations" / "20250102000000_narrow_body.sql"
    changed.write_text(NARROWING)
    before = _shadows(pg_server_url)
    result = run_cli(["lint", "--shadow-database-url", pg_server_url, str(changed)], capsys)
    assert result.code == 2, result.text
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "20250101120000_broken.sql:2: failed in the shadow database" in lines[0]
    assert lines[0].startswith("error: --shadow:") and "Traceback" not in result.text
    assert _shadows(pg_server_url) == before


def test_the_shadow_does_not_mix_with_other_catalog_sources(
    project: Path, pg_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    both = run_cli(["lint", "--shadow", "--database-url", pg_server_url], capsys)
    assert both.code == 2 and "--shadow and --database-url are two catalog sources" in both.err
    alone = run_cli(["lint", "--shadow", "--no-history"], capsys)
    assert alone.code == 2 and "--shadow and --no-history contradict" in alone.err
    unreachable = run_cli(
        ["lint", "--shadow-database-url", "postgresql://lint:s3cret-pw@127.0.0.1:1/x?connect_timeout=2"],
        capsys,
    )
    assert (
        unreachable.code != 0 and "s3cret-pw" not in unreachable.text and "Traceback" not in unreachable.text
    )
