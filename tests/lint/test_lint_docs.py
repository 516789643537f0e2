"""docs/rules.md is generated from rule metadata; this fails while the committed page is stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.lint.docs import main, render_docs
from lockgate.lint.findings import rule_url
from lockgate.lint.registry import RULE_ID, all_rules

ROOT = Path(__file__).resolve().parents[2]


def test_committed_docs_are_up_to_date() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == render_docs(), "docs/rules.md is stale: run `python -m lockgate.lint.docs`"


def test_check_mode_reports_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "rules.md"
    assert main(["--output", str(target), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["--output", str(target)]) == 0
    assert main(["--output", str(target), "--check"]) == 0
    target.write_text(target.read_text() + "edited\n")
    assert main(["--output", str(target), "--check"]) == 1


def test_every_rule_is_documented_under_its_anchor() -> None:
    page = render_docs()
    for rule in all_rules():
        assert RULE_ID.match(rule.id)
        assert f"\n### {rule.id}\n" in page
        assert rule.why and rule.bad and rule.good and rule.help and rule.summary
        assert rule_url(rule.id).endswith(f"docs/rules.md#{rule.id}")


def test_version_dependent_rules_say_so() -> None:
    rules = {rule.id: rule for rule in all_rules()}
    for rule_id in (
        "enum-add-value-in-transaction",
        "volatile-default",
        "set-not-null",
        "reindex-without-concurrently",
    ):
        assert rules[rule_id].pg_versions, rule_id
        assert "PostgreSQL versions:" in render_docs().split(f"### {rule_id}\n")[1].split("\n### ")[0]
