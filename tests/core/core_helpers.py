"""Helpers of the core tests (importable by name: ``from conftest import`` is ambiguous when several test
folders with a conftest.py run together)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_runner import CliResult

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "migrations"


CliRunner = Callable[..., CliResult]


def add(project: Path, filename: str, sql: str) -> Path:
    path = project / "migrations" / filename
    path.write_text(sql, encoding="utf-8")
    return path
