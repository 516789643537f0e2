"""Helpers shared by the Supabase tests (a module of its own: ``conftest`` names collide across test dirs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

STATE_DIR = Path(os.environ.get("LOCKGATE_TEST_STATE_DIR", "/tmp/lockgate-test-state"))
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "migrations"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


LIST_ROW = re.compile(r"^\s*`?\s*(?P<local>\d*)\s*`?\s*\|\s*`?\s*(?P<remote>\d*)\s*`?\s*\|")


def migration_list(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    """(local, remote) version pairs from ``supabase migration list``."""
    assert result.returncode == 0, result.stdout + result.stderr
    pairs = []
    for line in result.stdout.splitlines():
        match = LIST_ROW.match(line)
        if match and (match["local"] or match["remote"]):
            pairs.append((match["local"], match["remote"]))
    return pairs


def copy_sample(project: Path) -> list[str]:
    """The sample project's migrations into ``supabase/migrations``; returns their versions."""
    target = project / "supabase" / "migrations"
    for path in sorted(SAMPLE.glob("*.sql")):
        shutil.copy(path, target / path.name)
    return [path.name.split("_", 1)[0] for path in sorted(SAMPLE.glob("*.sql"))]


def pooled_url(pgbouncer: object, tcp_url: str) -> str:
    """The URL of ``tcp_url``'s database through the test PgBouncer (transaction mode)."""
    import psycopg

    database = str(psycopg.conninfo.conninfo_to_dict(tcp_url)["dbname"])
    return str(pgbouncer.url(database))  # type: ignore[attr-defined]
