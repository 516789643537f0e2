"""Tables on a narrow terminal: versions and file names — what users type next for ``--to``, ``--revert`` and
``baseline`` — are never cut; optional columns go first. A pipe gets every column and no title line."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from core_helpers import add

pytestmark = pytest.mark.db

NAMES = [
    "20261203120000_add_user_preferences_and_notification_settings.sql",
    "20261203120100_backfill_notification_settings_for_existing_users.sql",
    "20261203120200_index_preferences.sql",
]


def _on_a_terminal(project: Path, db_url: str, columns: int, *args: str, stream: str = "stdout") -> str:
    """The real console script with stdout (or stderr) on a pseudo-terminal ``columns`` wide."""
    leader, follower = pty.openpty()
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url, "COLUMNS": str(columns), "LINES": "50"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "lockgate", *args],
        cwd=project,
        env=env,
        stdout=follower if stream == "stdout" else subprocess.DEVNULL,
        stderr=follower if stream == "stderr" else subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())


@pytest.mark.parametrize("columns", [60, 80])
def test_list_never_cuts_a_version_at_60_or_80_columns(project: Path, db_url: str, columns: int) -> None:
    for name in NAMES:
        add(project, name, "SELECT 1;\n")
    assert (
        subprocess.run(
            [sys.executable, "-m", "lockgate", "run", "--to", "20261203120100"],
            cwd=project,
            env={**os.environ, "LOCKGATE_DATABASE_URL": db_url},
            capture_output=True,
        ).returncode
        == 0
    )
    shown = _on_a_terminal(project, db_url, columns, "list")
    lines = shown.splitlines()
    assert all(len(line) <= columns for line in lines), shown
    for name in NAMES:
        version = name[:14]
        assert any(version in line for line in lines), shown  # whole, on one line
    if columns == 80:
        for name in NAMES:  # the name too, whole, once the optional columns are gone
            assert any(name[15:-4] in line for line in lines), shown
        assert "checksum" not in shown
    assert "state" in shown and "applied" in shown and "pending" in shown


def test_run_on_a_terminal_keeps_each_file_name_whole(project: Path, db_url: str) -> None:
    for name in NAMES:
        add(project, name, "SELECT 1;\n")
    shown = _on_a_terminal(project, db_url, 80, "run")
    for name in NAMES:
        assert name in shown.replace("\n", "") or any(name in line for line in shown.splitlines()), shown
    assert any(NAMES[1] in line for line in shown.splitlines()), shown


def test_a_pipe_gets_every_column_and_no_title(project: Path, db_url: str) -> None:
    for name in NAMES:
        add(project, name, "SELECT 1;\n")
    env = {**os.environ, "LOCKGATE_DATABASE_URL": db_url}
    ran = subprocess.run(
        [sys.executable, "-m", "lockgate", "run"], cwd=project, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0].split() == ["migration", "outcome", "time", "attempts", "transaction"]
    listed = subprocess.run(
        [sys.executable, "-m", "lockgate", "list"], cwd=project, env=env, capture_output=True, text=True
    )
    assert listed.stdout.splitlines()[0].split() == [
        "version",
        "name",
        "state",
        "applied_at",
        "executed_by",
        "duration",
        "checksum",
    ]


def test_the_progress_bar_knows_its_total_from_the_start(project: Path, db_url: str) -> None:
    for name in NAMES:
        add(project, name, "SELECT pg_sleep(0.2);\n")
    shown = _on_a_terminal(project, db_url, 100, "run", stream="stderr")
    assert "/3" in shown, shown
    assert "/?" not in shown, shown
