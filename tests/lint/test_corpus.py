"""Lint on real migrations (``tests/lint/fixtures/corpus``: 970 files of 12 public projects, each linted as a
project with its history replayed): nothing crashes, every file is linted or reported at file:line, and the
number of findings per project and rule is pinned in ``counts.json`` beside the corpus, so a change that
makes lint noisier or deafer on real files fails here with the difference (``docs/lint-corpus.md`` says
which rules were reviewed and why each count is what it is).

After a deliberate change, rewrite the pinned counts with ``LOCKGATE_UPDATE_CORPUS_COUNTS=1`` and say why in
``docs/lint-corpus.md``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from lockgate.lint.configuration import build_settings
from lockgate.lint.engine import lint_paths
from lockgate.lint.findings import LintReport

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
COUNTS = CORPUS / "counts.json"
PROJECTS = sorted(path.name for path in CORPUS.iterdir() if (path / "migrations").is_dir())


def _lint(project: str) -> LintReport:
    """As ``bench/corpus_review.py`` lints it: history on, no cache; Supabase's rules on Supabase's own
    schemas only."""
    settings = build_settings(supabase=project.startswith("supabase-"))
    return lint_paths([CORPUS / project / "migrations"], settings, jobs=1, history=True)


@pytest.fixture(scope="module")
def reports() -> dict[str, LintReport]:
    return {project: _lint(project) for project in PROJECTS}


def test_the_corpus_is_twelve_projects_and_970_files() -> None:
    assert len(PROJECTS) == 12
    assert sum(len(list((CORPUS / p / "migrations").glob("*.sql"))) for p in PROJECTS) == 970


def test_every_file_is_linted_without_a_crash(reports: dict[str, LintReport]) -> None:
    for project, report in reports.items():
        files = sorted((CORPUS / project / "migrations").glob("*.sql"))
        assert [Path(result.path).name for result in report.files] == [path.name for path in files]
        for finding in report.findings:
            assert finding.rule_id != "internal-error", f"{finding.path}:{finding.line}: {finding.message}"
            assert "Traceback" not in finding.message
            assert finding.line >= 1 and Path(finding.path).name.endswith(".sql")


def test_every_file_parses_or_is_reported_at_a_line(reports: dict[str, LintReport]) -> None:
    for report in reports.values():
        for result in report.files:
            unparsed = [f for f in result.findings if f.rule_id in {"syntax-error", "unreadable-file"}]
            empty = any(f.rule_id == "empty-migration" for f in result.findings)
            assert result.statements > 0 or empty or unparsed, result.path
            for finding in unparsed:  # none today: every file of the corpus is PostgreSQL's SQL
                assert finding.line >= 1 and finding.message, finding


def _counts(reports: dict[str, LintReport]) -> dict[str, dict[str, int]]:
    return {
        project: dict(sorted(Counter(finding.rule_id for finding in report.findings).items()))
        for project, report in reports.items()
    }


def test_finding_counts_per_project_and_rule_are_pinned(reports: dict[str, LintReport]) -> None:
    counts = _counts(reports)
    if os.environ.get("LOCKGATE_UPDATE_CORPUS_COUNTS") == "1":
        COUNTS.write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n")
    pinned: dict[str, dict[str, int]] = json.loads(COUNTS.read_text())
    changes = [
        f"{project} {rule}: pinned {pinned.get(project, {}).get(rule, 0)}, now {counts.get(project, {}).get(rule, 0)}"
        for project in sorted(set(pinned) | set(counts))
        for rule in sorted(set(pinned.get(project, {})) | set(counts.get(project, {})))
        if pinned.get(project, {}).get(rule, 0) != counts.get(project, {}).get(rule, 0)
    ]
    assert not changes, "lint's findings on the real corpus changed:\n" + "\n".join(changes)
