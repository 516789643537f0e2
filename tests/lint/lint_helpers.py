"""Helpers for rule tests: lint a SQL snippet and get ``(rule, line, column)`` triples back."""

from __future__ import annotations

import textwrap
from typing import Any

from lockgate.lint.configuration import build_settings
from lockgate.lint.engine import lint_text
from lockgate.lint.findings import Finding


def lint_sql(sql: str, lint: dict[str, Any] | None = None, pg_major: int | None = None) -> list[Finding]:
    """Lint dedented ``sql`` with an optional ``[tool.lockgate.lint]`` table; all rules' findings."""
    settings = build_settings(lint or {}, pg_major=pg_major)
    return list(lint_text(textwrap.dedent(sql).strip("\n") + "\n", "m.sql", settings).findings)


def hits(sql: str, rule_id: str, pg_major: int | None = None) -> list[tuple[int, int]]:
    """(line, column) of each finding of ``rule_id`` for ``sql``."""
    return [(f.line, f.column) for f in lint_sql(sql, pg_major=pg_major) if f.rule_id == rule_id]
