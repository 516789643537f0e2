"""Fixtures for the core tests: a project on disk and the CLI run in-process against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_helpers import CliResult, CliRunner

from lockgate.cli import main


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
        capsys.readouterr()
        try:
            returned = main(list(args))  # click returns the exit code in non-standalone mode
            code = returned if isinstance(returned, int) else 0
        except SystemExit as exc:
            code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
