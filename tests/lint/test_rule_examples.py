"""The documented examples are executable: each rule fires on its "bad" SQL and not on its "good" SQL.

Engine-reported rules (syntax errors, unreadable files, ignores) have illustrative examples only.
"""

from __future__ import annotations

import re

import pytest

from lockgate.lint.configuration import build_settings
from lockgate.lint.engine import lint_text
from lockgate.lint.registry import Rule, all_rules

CHECKED = [rule for rule in all_rules() if rule.file_check or rule.statement_check]
# Rules whose example needs an older PostgreSQL to fire.
PG_MAJOR = {"enum-add-value-in-transaction": 11}


FILE_HEADER = re.compile(r"^-- \d{14}_\w+\.sql$", re.MULTILINE)


def _rules_fired(rule: Rule, sql: str) -> set[str]:
    """Examples showing several migrations separate them with ``-- <version>_<name>.sql`` lines."""
    settings = build_settings({"select": ["all"]}, pg_major=PG_MAJOR.get(rule.id))
    fired: set[str] = set()
    for chunk in FILE_HEADER.split(sql):
        if chunk.strip():
            fired |= {finding.rule_id for finding in lint_text(chunk, "example.sql", settings).findings}
    return fired


@pytest.mark.parametrize("rule", CHECKED, ids=lambda rule: rule.id)
def test_bad_example_fires(rule: Rule) -> None:
    assert rule.id in _rules_fired(rule, rule.bad)


@pytest.mark.parametrize("rule", CHECKED, ids=lambda rule: rule.id)
def test_good_example_is_quiet(rule: Rule) -> None:
    assert rule.id not in _rules_fired(rule, rule.good)


def test_every_checked_rule_is_covered() -> None:
    assert {rule.family for rule in CHECKED} >= {"apply-correctness", "lock-safety"}
    assert {rule.family for rule in CHECKED} >= {"apply-correctness", "lock-safety"}
    assert len(CHECKED) >= 25
