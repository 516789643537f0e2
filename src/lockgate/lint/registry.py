"""Rule metadata and the registry every rule module adds itself to with a decorator.

Metadata is the single source of the docs page (``docs/rules.md``), the SARIF rule table and the
severity/selection config, so a rule's id, "why" and examples cannot drift from what it does.
Two shapes of check exist because most rules look at one statement kind at a time (the engine
dispatches those by kind, which is cheaper than every rule scanning every statement) while a few need
the whole file (transaction structure, "two tables locked in one transaction").
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from lockgate.lint.findings import Violation
from lockgate.problems import Severity

if TYPE_CHECKING:
    from lockgate.lint.context import FileContext
    from lockgate.statements import Statement

FileCheck = Callable[["FileContext"], Iterable[Violation]]
StatementCheck = Callable[["FileContext", "Statement"], Iterable[Violation]]

RULE_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class Family(NamedTuple):
    """A group of rules; usable as a selector in ``select``/``ignore``."""

    id: str
    title: str
    description: str


FAMILIES: dict[str, Family] = {
    family.id: family
    for family in (
        Family(
            "apply-correctness",
            "Apply correctness",
            "Migrations that would fail, or stop half-way, when deployed. Errors by default.",
        ),
        Family(
            "lock-safety",
            "Lock safety",
            "Statements that hold heavy locks on tables that already exist (and so have traffic) for "
            "longer than a moment. Tables created earlier in the same file are new and exempt.",
        ),
        Family(
            "compatibility",
            "Compatibility",
            "Changes that break application code still running against the old schema.",
        ),
        Family("supabase", "Supabase security", "Data exposed through the Supabase API by mistake."),
        Family("hygiene", "Hygiene", "Style and conventions. Off by default; enable with `extend-select`."),
        Family(
            "lint", "Lint controls", "Problems with lockgate's own comments and with files it cannot read."
        ),
    )
}


class Rule(NamedTuple):
    """One rule: its metadata and (unless the engine emits it itself) its check."""

    id: str
    family: str
    severity: Severity
    summary: str
    why: str
    bad: str
    good: str
    help: str
    opt_in: bool = False
    pg_versions: str | None = None
    """How the target PostgreSQL major version (``pg_major``) changes the rule, if it does."""
    required: bool = False
    """Engine rules that cannot be turned off (a file that does not parse must never pass silently)."""
    kinds: frozenset[str] | None = None
    """Statement rules: the node kinds they are called for. File rules: they run only in files with a
    statement of one of these kinds (None: every file)."""
    statement_check: StatementCheck | None = None
    file_check: FileCheck | None = None
    embedded: bool = True
    """Statement rules also see SQL statements inside ``DO`` blocks (they run during the migration)."""

    @property
    def enabled_by_default(self) -> bool:
        return not self.opt_in


REGISTRY: dict[str, Rule] = {}


def _register(rule: Rule) -> None:
    if not RULE_ID.match(rule.id):
        raise ValueError(f"rule id {rule.id!r} is not kebab-case")
    if rule.family not in FAMILIES:
        raise ValueError(f"rule {rule.id}: unknown family {rule.family!r}")
    existing = REGISTRY.get(rule.id)
    if existing is not None and existing != rule:
        raise ValueError(f"rule id {rule.id!r} is registered twice")
    REGISTRY[rule.id] = rule


def _meta(
    id: str,
    family: str,
    severity: Severity | str,
    summary: str,
    why: str,
    bad: str,
    good: str,
    help: str,
    opt_in: bool,
    pg_versions: str | None,
) -> Rule:
    return Rule(
        id=id,
        family=family,
        severity=Severity(severity),
        summary=summary,
        why=_dedent(why),
        bad=_dedent(bad),
        good=_dedent(good),
        help=help,
        opt_in=opt_in,
        pg_versions=pg_versions,
    )


def _dedent(text: str) -> str:
    """``inspect.cleandoc(text).strip()`` without importing inspect (a tenth of the hook's start-up)."""
    lines = text.expandtabs().split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.lstrip()]
    margin = min(indents, default=0)
    cleaned = [lines[0].lstrip(), *(line[margin:] for line in lines[1:])]
    return "\n".join(cleaned).strip()


def statement_rule(
    *,
    id: str,
    family: str,
    severity: Severity | str,
    kinds: Iterable[str],
    summary: str,
    why: str,
    bad: str,
    good: str,
    help: str,
    opt_in: bool = False,
    pg_versions: str | None = None,
    embedded: bool = True,
) -> Callable[[StatementCheck], StatementCheck]:
    """Register ``check(ctx, statement)``, called for each statement whose ``kind`` is in ``kinds``."""

    def decorate(check: StatementCheck) -> StatementCheck:
        meta = _meta(id, family, severity, summary, why, bad, good, help, opt_in, pg_versions)
        _register(meta._replace(kinds=frozenset(kinds), statement_check=check, embedded=embedded))
        return check

    return decorate


def file_rule(
    *,
    id: str,
    family: str,
    severity: Severity | str,
    summary: str,
    why: str,
    bad: str,
    good: str,
    help: str,
    opt_in: bool = False,
    pg_versions: str | None = None,
    kinds: Iterable[str] | None = None,
) -> Callable[[FileCheck], FileCheck]:
    """Register ``check(ctx)``, called once per parsed file; with ``kinds``, only for files that contain
    a statement of one of those kinds (most files have no BEGIN, so most files skip BEGIN checks)."""

    def decorate(check: FileCheck) -> FileCheck:
        meta = _meta(id, family, severity, summary, why, bad, good, help, opt_in, pg_versions)
        _register(meta._replace(file_check=check, kinds=frozenset(kinds) if kinds is not None else None))
        return check

    return decorate


def engine_rule(
    *,
    id: str,
    family: str,
    severity: Severity | str,
    summary: str,
    why: str,
    bad: str,
    good: str,
    help: str,
    required: bool = False,
) -> Rule:
    """Register a rule the engine itself reports (syntax errors, unreadable files, ignores)."""
    rule = _meta(id, family, severity, summary, why, bad, good, help, False, None)._replace(required=required)
    _register(rule)
    return rule


_loaded = False


def load_rules() -> dict[str, Rule]:
    """Import every module in ``lockgate.lint.rules`` once; each registers its rules on import."""
    global _loaded
    if not _loaded:
        from lockgate.lint import rules

        # A directory listing instead of pkgutil: pkgutil's imports cost milliseconds of hook start-up.
        names = {
            entry.name.rsplit(".", 1)[0]
            for directory in rules.__path__
            for entry in os.scandir(directory)
            if entry.name.endswith(".py") and not entry.name.startswith("_")
        }
        for name in sorted(names):
            importlib.import_module(f"{rules.__name__}.{name}")
        _loaded = True
    return REGISTRY


_sorted: tuple[int, list[Rule]] = (-1, [])


def all_rules() -> list[Rule]:
    """Every registered rule, ordered by family (as in ``FAMILIES``) then id (computed once)."""
    global _sorted
    registry = load_rules()
    if _sorted[0] != len(registry):
        order = list(FAMILIES)
        _sorted = (len(registry), sorted(registry.values(), key=lambda r: (order.index(r.family), r.id)))
    return list(_sorted[1])
