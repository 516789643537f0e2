"""The pull-request checks that need no database: lint, naming and immutability of the changed files.

Naming and immutability come from the checks stage (``lockgate.checks``), the same problems the pre-commit
hooks print, applied to the PR's diff instead of the staged index, so a PR fails in CI for exactly the
reasons (and with the same text) the hook would have stopped the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from lockgate.catalog.model import Catalog
from lockgate.checks import filenames, immutability
from lockgate.config import Config
from lockgate.git import files_in_tree, parent_of
from lockgate.github.changes import PullRequestDiff
from lockgate.github.model import Issue
from lockgate.lint.configuration import LintSettings
from lockgate.lint.findings import FileResult, Finding
from lockgate.problems import Severity


@dataclass(frozen=True)
class LintOutcome:
    """Findings with repository-relative paths, and per-file (errors, warnings) counts."""

    findings: tuple[Finding, ...]
    counts: dict[str, tuple[int, int]]


def lint_files(config: Config, root: Path, paths: Sequence[str]) -> LintOutcome:
    """Lint ``paths`` (relative to ``root``) with the project's lint settings."""
    if not paths:
        return LintOutcome((), {})
    from lockgate.lint.configuration import settings_for

    settings = settings_for(config)
    catalogs, new_after = _history(root, paths)
    findings: list[Finding] = []
    counts: dict[str, tuple[int, int]] = {}
    for path in paths:
        result = _lint_one(root / path, settings, path, catalogs, new_after)
        file_findings = [finding._replace(path=path) for finding in result.findings]
        findings.extend(file_findings)
        counts[path] = (
            sum(1 for f in file_findings if f.severity is Severity.ERROR),
            sum(1 for f in file_findings if f.severity is Severity.WARNING),
        )
    return LintOutcome(tuple(findings), counts)


def _history(root: Path, paths: Sequence[str]) -> tuple[dict[Path, Catalog], int | None]:
    """The catalog each changed file meets (from its directory's history), and the newest version the PR
    does not touch: tables created after it are created by the PR itself, so nobody uses them yet."""
    from lockgate.catalog.directory import directory_catalogs
    from lockgate.naming import NameError_, parse_filename

    changed = {(root / path).resolve() for path in paths}
    catalogs: dict[Path, Catalog] = {}
    untouched: list[int] = []
    for directory in sorted({(root / path).resolve().parent for path in paths}):
        by_name = directory_catalogs(directory)  # no cache: never write into the checkout under review
        for name in by_name:  # a catalog is built only for the files the PR changes
            if directory / name in changed:
                catalogs[directory / name] = by_name[name]
            else:
                try:
                    untouched.append(parse_filename(name).version)
                except NameError_:
                    continue
    return catalogs, (max(untouched) if untouched else 0)


def _lint_one(
    path: Path, settings: LintSettings, display: str, catalogs: dict[Path, Catalog], new_after: int | None
) -> FileResult:
    from lockgate.lint.engine import lint_file

    return lint_file(
        path, settings, display=display, catalog=catalogs.get(path.resolve()), new_after=new_after
    )


def lint_issue(finding: Finding) -> Issue:
    return Issue(
        source="lint",
        severity=finding.severity,
        code=finding.rule_id,
        message=finding.message,
        file=finding.path,
        line=finding.line,
        help=finding.help,
        url=finding.url,
        fix=finding.fix,
    )


def immutability_issues(diff: PullRequestDiff, base_label: str) -> list[Issue]:
    """Edits, renames and deletions of migrations that are on the base branch."""
    base = immutability.Base(diff.fork_point, base_label)
    issues: list[Issue] = []
    for change in diff.changes:
        verdict = immutability.judge(diff.root, base, change)
        if verdict is None:
            continue
        issues.append(
            Issue(
                source="immutable",
                severity=verdict.severity,
                code=verdict.code,
                message=verdict.message,
                file=change.path,
                help="a migration that may have run somewhere is never edited: revert it and add a new one",
            )
        )
    return issues


def naming_issues(
    diff: PullRequestDiff, base_sha: str, base_label: str, *, allow_out_of_order: bool
) -> list[Issue]:
    """The naming hook's checks on the files the PR adds.

    With ``allow-out-of-order`` the base branch is left out of the context, which drops exactly the
    "sorts before a committed migration" check and keeps the format, date and duplicate checks.
    """
    added = [str(diff.root / path) for path in diff.added]
    if not added:
        return []
    base = None if allow_out_of_order else _load_base(diff, base_sha, base_label)
    context = filenames.Context(now=datetime.now(UTC), base=base)
    issues: list[Issue] = []
    for path, absolute in zip(diff.added, added, strict=True):
        for problem in filenames.check_file(absolute, context):
            issues.append(
                Issue(
                    source="naming",
                    severity=problem.severity,
                    code=problem.code,
                    message=problem.message,
                    file=path,
                    help="new migrations are <YYYYMMDDHHMMSS>_<snake_case>.sql and sort after every "
                    "migration on the base branch (lockgate create names them)",
                )
            )
    return issues


class _ListedBase(filenames.BaseBranch):
    """The hook's ``BaseBranch`` with each directory's listing computed once.

    The hook asks for it twice per new file; on a 1,000-migration history rebuilding it each time was
    most of the check's naming cost.
    """

    @cached_property
    def _by_directory(self) -> dict[str, list[str]]:
        listing: dict[str, list[str]] = {}
        for path in self.paths:
            directory, _, name = path.rpartition("/")
            listing.setdefault(directory, []).append(name)
        return listing

    def names_in(self, directory: str) -> list[str]:
        return list(self._by_directory.get(directory, ()))


def _load_base(diff: PullRequestDiff, base_sha: str, label: str) -> filenames.BaseBranch:
    """The base branch tip's migrations: a new file must sort after what merging lands next to."""
    directories = sorted({parent_of(path) for path in diff.added})
    paths = frozenset(files_in_tree(diff.root, base_sha, directories))
    return _ListedBase(label, diff.root, paths)
