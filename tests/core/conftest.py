"""Fixtures for the core tests: a project on disk and the CLI run in-process against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_helpers import CliRunner

from cli_runner import CliResult, run_cli


@pytest.fixture
def lockgate(
    project: Path, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    """``lockgate("run", "--dry-run")`` runs the real CLI in ``project`` against the test database."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", db_url)
    monkeypatch.setenv("LOCKGATE_RETRY_BACKOFF", "10ms")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def invoke(*args: str) -> CliResult:
        return run_cli(list(args), capsys)

    return invoke
