"""The lint gate in front of ``lockgate run``: pending migrations are linted with the project's settings
before anything runs, so a deploy never applies what the pre-commit hook and the PR check call an error.

It reuses the parse ``run`` already made of each pending file (``Migration.parsed``), so the gate costs
the rules, not a second parse; with nothing pending it costs nothing (this module is not even imported).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lockgate.errors import SourceError
from lockgate.lint.findings import Finding
from lockgate.problems import Severity

if TYPE_CHECKING:
    from lockgate.catalog.model import Catalog
    from lockgate.config import Config
    from lockgate.source import Migration

LEFT_TO_OTHERS = frozenset({"empty-migration", "unused-ignore"})
"""Rules the gate does not report. ``empty-migration``: the plan reports an empty file at every gate already
(with the ``empty_migrations`` setting deciding warning or error), so it would be said twice.
``unused-ignore``: whether an ignore is used depends on what the rules knew (the database's schema here,
the history in the hook), and an ignore that silences nothing harms no deploy; ``lockgate lint`` and the
hook still report it."""

MODES = ("error", "warn", "off")
"""``lint_on_run``: refuse on lint errors (default), only report them, or skip the gate."""


def lint_each(
    config: Config,
    pending: Sequence[Migration],
    latest_applied: int | None = None,
    catalogs: Mapping[str, Catalog] | None = None,
) -> dict[str, tuple[Finding, ...]]:
    """The findings of each pending file, by migration id, in run order (files that do not parse are left
    to the plan, which already refuses them with ``invalid-sql``). Each file is judged against the schema
    the migrations before it build (``catalogs`` by file name: read from the database when the caller has
    one, else the history's); tables created after ``latest_applied`` are created by this very plan, so
    nobody uses them yet."""
    if not pending or config.lint_on_run == "off":
        return {}
    from lockgate.catalog.directory import directory_catalogs
    from lockgate.catalog.snapshots import Snapshots
    from lockgate.lint.configuration import settings_for
    from lockgate.lint.engine import display_path, lint_text

    settings = settings_for(config)
    if catalogs is None:
        catalogs = directory_catalogs(config.migrations_path, config.root / ".lockgate")
    # Lint only reads a catalog, one file at a time: a view of the one file meets, not a copy each (a copy
    # costs the whole schema, so a copy per file grew with the square of a plan's size).
    view = catalogs.view if isinstance(catalogs, Snapshots) else catalogs.get
    cwd = Path.cwd().resolve()
    by_id: dict[str, tuple[Finding, ...]] = {}
    for migration in pending:
        try:
            parsed = migration.parsed
        except SourceError:
            continue
        result = lint_text(
            migration.text,
            display_path(migration.path, cwd),
            settings,
            parsed=parsed,
            catalog=view(migration.filename) if migration.filename in catalogs else None,
            new_after=latest_applied or 0,
        )
        by_id[migration.id] = tuple(f for f in result.findings if f.rule_id not in LEFT_TO_OTHERS)
    return by_id


def lint_pending(
    config: Config,
    pending: Sequence[Migration],
    latest_applied: int | None = None,
    catalogs: Mapping[str, Catalog] | None = None,
) -> tuple[Finding, ...]:
    """Every finding of the pending files, in run order."""
    return tuple(
        finding
        for findings in lint_each(config, pending, latest_applied, catalogs).values()
        for finding in findings
    )


def blocking(config: Config, findings: Sequence[Finding]) -> list[Finding]:
    """The findings that stop ``run``: errors, unless ``lint_on_run`` is ``warn``."""
    if config.lint_on_run != "error":
        return []
    return [finding for finding in findings if finding.severity is Severity.ERROR]


HOW_TO_PROCEED = (
    "fix them, or mark a deliberate one with `-- lockgate-ignore: <rule> -- <reason>` on the line above "
    'the statement; `--no-lint` or lint_on_run = "warn" | "off" runs without the gate'
)
