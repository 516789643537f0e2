"""Helpers of the core tests (importable by name: ``from conftest import`` is ambiguous when several test
folders with a conftest.py run together)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "migrations"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


CliRunner = Callable[..., CliResult]


def add(project: Path, filename: str, sql: str) -> Path:
    path = project / "migrations" / filename
    path.write_text(sql, encoding="utf-8")
    return path
