"""Noise review of lint on real migrations: ``tests/lint/fixtures/corpus``, project by project.

Why: a linter that cries wolf is switched off, and one that misses a table rewrite is worse; the only way to
tell which is to read its findings on files real teams wrote (see ``docs/lint-corpus.md``). This lints every
project of the corpus as a project (each directory's history replayed into the static catalog, as
``lockgate lint`` does), prints files, findings by severity and findings per file per project and per rule,
with squawk's count beside when squawk is installed (``pip install squawk-cli``), and with ``--samples N``
prints N findings of every rule (file:line, the message and the statement's first line) for a reviewer.

    .venv/bin/python bench/corpus_review.py [--samples 15] [--rule RULE ...] [--project NAME ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT / "tests" / "lint" / "fixtures" / "corpus"

sys.path.insert(0, str(REPO_ROOT / "src"))

from lockgate.checksum import normalise_text  # noqa: E402
from lockgate.lint.configuration import build_settings  # noqa: E402
from lockgate.lint.engine import lint_paths  # noqa: E402
from lockgate.lint.findings import Finding, LintReport  # noqa: E402
from lockgate.problems import Severity  # noqa: E402
from lockgate.statements import SqlError, parse_sql  # noqa: E402


def projects(names: list[str] | None = None) -> list[Path]:
    found = sorted(path for path in CORPUS.iterdir() if (path / "migrations").is_dir())
    return [path for path in found if not names or path.name in names]


def lint_project(project: Path) -> LintReport:
    """One project as ``lockgate lint migrations/`` would see it: history on, no cache. Supabase's rules run
    on Supabase's own schemas (the ``supabase-*`` projects) only, as they would in a Supabase project."""
    settings = build_settings(supabase=project.name.startswith("supabase-"))
    return lint_paths([project / "migrations"], settings, jobs=1, history=True)


def squawk_counts(project: Path) -> Counter[str] | None:
    squawk = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk")
    if squawk is None:
        return None
    files = sorted(str(path) for path in (project / "migrations").glob("*.sql"))
    done = subprocess.run([squawk, "--reporter", "json", *files], capture_output=True, text=True, check=False)
    try:
        violations = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return None
    return Counter(str(violation.get("rule_name")) for violation in violations)


def statement_head(finding: Finding, project: Path) -> str:
    """The first line of the statement the finding is in (the finding's own line when the file does not
    parse), so a reviewer sees what was flagged without opening the file."""
    path = REPO_ROOT / finding.path if not Path(finding.path).is_absolute() else Path(finding.path)
    try:
        parsed = parse_sql(normalise_text(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, SqlError, ValueError, RecursionError):
        return finding.source_line.strip()
    for statement in parsed.statements:
        if statement.line <= finding.line <= statement.end_line:
            lines = [line.strip() for line in statement.text.splitlines() if line.strip()]
            return lines[0][:120] if lines else ""
    return finding.source_line.strip()


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=0, help="findings to print per rule (random, seeded)")
    parser.add_argument("--rule", action="append", help="only these rules' samples")
    parser.add_argument("--project", action="append", help="only these projects")
    parser.add_argument("--json", action="store_true", help="per-project per-rule counts as JSON")
    args = parser.parse_args(argv)

    per_project: dict[str, Counter[str]] = {}
    all_findings: list[tuple[Finding, Path]] = []
    print(
        _row(
            [
                "project",
                "files",
                "findings",
                "errors",
                "warnings",
                "info",
                "per file",
                "squawk",
                "squawk/file",
            ]
        )
    )
    print(_row(["---"] * 9))
    totals = Counter[str]()
    for project in projects(args.project):
        report = lint_project(project)
        findings = report.findings
        all_findings.extend((finding, project) for finding in findings)
        per_project[project.name] = Counter(finding.rule_id for finding in findings)
        squawk = squawk_counts(project)
        files = len(report.files)
        squawk_total = sum(squawk.values()) if squawk is not None else None
        counts = {severity: report.count(severity) for severity in Severity}
        totals.update(
            files=files,
            findings=len(findings),
            squawk=squawk_total or 0,
            **{s.value: n for s, n in counts.items()},
        )
        print(
            _row(
                [
                    project.name,
                    str(files),
                    str(len(findings)),
                    *(
                        str(counts[severity])
                        for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
                    ),
                    f"{len(findings) / max(files, 1):.2f}",
                    "—" if squawk_total is None else str(squawk_total),
                    "—" if squawk_total is None else f"{squawk_total / max(files, 1):.2f}",
                ]
            )
        )
    files = max(totals["files"], 1)
    print(
        _row(
            [
                "**all**",
                str(totals["files"]),
                str(totals["findings"]),
                str(totals["error"]),
                str(totals["warning"]),
                str(totals["info"]),
                f"{totals['findings'] / files:.2f}",
                str(totals["squawk"]),
                f"{totals['squawk'] / files:.2f}",
            ]
        )
    )

    by_rule = Counter(finding.rule_id for finding, _ in all_findings)
    severity_of = {finding.rule_id: finding.severity.value for finding, _ in all_findings}
    projects_of: dict[str, set[str]] = {}
    for finding, project in all_findings:
        projects_of.setdefault(finding.rule_id, set()).add(project.name)
    print()
    print(_row(["rule", "severity", "findings", "per file", "projects"]))
    print(_row(["---"] * 5))
    for rule_id, count in by_rule.most_common():
        print(
            _row(
                [
                    rule_id,
                    severity_of[rule_id],
                    str(count),
                    f"{count / files:.3f}",
                    str(len(projects_of[rule_id])),
                ]
            )
        )

    if args.json:
        print(
            json.dumps({name: dict(sorted(counts.items())) for name, counts in per_project.items()}, indent=1)
        )

    if args.samples:
        chooser = random.Random(20250101)
        for rule_id, _ in by_rule.most_common():
            if args.rule and rule_id not in args.rule:
                continue
            hits = [(finding, project) for finding, project in all_findings if finding.rule_id == rule_id]
            chosen = hits if len(hits) <= args.samples else chooser.sample(hits, args.samples)
            print(f"\n## {rule_id} ({len(hits)})")
            for finding, project in sorted(chosen, key=lambda hit: (hit[0].path, hit[0].line)):
                name = Path(finding.path).name
                print(f"- {project.name}/{name}:{finding.line}: {finding.message}")
                print(f"    {statement_head(finding, project)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
