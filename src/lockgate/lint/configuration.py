"""``[tool.lockgate.lint]`` -> which rules run and at what severity, plus the target PostgreSQL version.

Accepted keys: ``select`` (replaces the default set), ``extend-select`` (adds, e.g. opt-in hygiene
rules), ``ignore`` (removes), and the ``severity`` table (``rule-id = "error" | "warning" | "info" |
"off"``). Selectors are rule ids, family ids or ``all``. Anything unknown is a ``ConfigError`` naming
the key: a misspelt rule id in a safety tool must never silently disable nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lockgate.errors import ConfigError
from lockgate.limits import count_setting
from lockgate.lint.registry import FAMILIES, Rule, all_rules
from lockgate.lint.supabase_config import resolve_exposed_schemas
from lockgate.problems import Severity
from lockgate.project import supabase_config_files, supabase_project

if TYPE_CHECKING:
    from lockgate.config import Config

DEFAULT_PG_MAJOR = 15
SUPABASE_FAMILY = "supabase"
KEYS = ("select", "extend-select", "ignore", "severity", "small-table-rows", "large-table-rows")
OFF = "off"


class LintSettings(NamedTuple):
    """The effective lint configuration for one run."""

    enabled: frozenset[str]
    severities: Mapping[str, Severity] = {}  # one shared empty dict: read-only by type, and picklable
    pg_major: int = DEFAULT_PG_MAJOR
    exposed_schemas: tuple[str, ...] = ("public",)
    note: str = ""
    """One sentence for the summary line: whether the Supabase rules run, and why."""
    small_table_rows: int = 1_000
    """With sizes from a database: a lock on a table this small (or under 1 MB) is no hazard at all."""
    large_table_rows: int = 1_000_000
    """With sizes from a database: a lock-safety warning on a table this large (or over 1 GB) is an error."""

    def severity(self, rule: Rule) -> Severity:
        return self.severities.get(rule.id, rule.severity)

    def active_rules(self) -> list[Rule]:
        return [rule for rule in all_rules() if rule.id in self.enabled]


def _where(config_file: Path | None, key: str) -> str:
    prefix = f"{config_file}: " if config_file else ""
    return f"{prefix}tool.lockgate.lint.{key}"


def _selectors(raw: Any, where: str) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{where}: expected a list of rule ids or family names, got {raw!r}")
    return [item.strip() for item in raw if item.strip()]


def expand(selectors: Iterable[str], where: str) -> set[str]:
    """Rule ids, family ids and ``all`` -> the rule ids they name; unknown names are errors."""
    rules = all_rules()
    ids = {rule.id for rule in rules}
    out: set[str] = set()
    for selector in selectors:
        if selector.lower() == "all":
            out |= ids
        elif selector in ids:
            out.add(selector)
        elif selector in FAMILIES:
            out |= {rule.id for rule in rules if rule.family == selector}
        else:
            raise ConfigError(f"{where}: unknown rule or family {selector!r} (see docs/rules.md)")
    return out


def build_settings(
    lint_table: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    pg_major: int | None = None,
    exposed_schemas: tuple[str, ...] = (),
    extra_select: Iterable[str] = (),
    extra_ignore: Iterable[str] = (),
    supabase: bool = True,
    default_severities: Mapping[str, Severity] | None = None,
    note: str = "",
) -> LintSettings:
    """Validate the raw lint table and resolve the enabled rule set and severities.

    ``extra_select``/``extra_ignore`` come from command-line flags and apply after the file. With
    ``supabase`` false the Supabase family is left out of the defaults (it still runs when selected by
    name). ``default_severities`` come from project settings (``empty_migrations``); the lint table's
    ``severity`` entries override them.
    """
    table = dict(lint_table or {})
    for key in table:
        if key not in KEYS:
            raise ConfigError(f"{_where(config_file, key)}: unknown setting (known: {', '.join(KEYS)})")
    rules = {rule.id: rule for rule in all_rules()}
    if "select" in table:
        enabled = expand(
            _selectors(table["select"], _where(config_file, "select")), _where(config_file, "select")
        )
    else:
        enabled = {
            rule_id
            for rule_id, rule in rules.items()
            if rule.enabled_by_default and (supabase or rule.family != SUPABASE_FAMILY)
        }
    enabled |= expand(
        _selectors(table.get("extend-select", []), _where(config_file, "extend-select")),
        _where(config_file, "extend-select"),
    )
    enabled |= expand(extra_select, "--select")
    ignore_where = _where(config_file, "ignore")
    ignore_list = _selectors(table.get("ignore", []), ignore_where)
    ignored = expand(ignore_list, ignore_where) | expand(extra_ignore, "--ignore")
    severities, off = _severities(table.get("severity", {}), config_file, rules)
    severities = {**(default_severities or {}), **severities}
    for rule_id in [*ignore_list, *extra_ignore, *off]:
        if rule_id in rules and rules[rule_id].required:
            raise ConfigError(f"{ignore_where}: rule {rule_id!r} cannot be turned off")
    enabled -= ignored | off
    enabled |= {rule_id for rule_id, rule in rules.items() if rule.required}
    return LintSettings(
        enabled=frozenset(enabled),
        severities=severities,
        pg_major=pg_major or DEFAULT_PG_MAJOR,
        exposed_schemas=exposed_schemas or ("public",),
        note=note,
        small_table_rows=_rows(table, "small-table-rows", 1_000, config_file),
        large_table_rows=_rows(table, "large-table-rows", 1_000_000, config_file),
    )


def _rows(table: Mapping[str, Any], key: str, default: int, config_file: Path | None) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**15:
        raise ConfigError(
            f"{_where(config_file, key)}: expected a number of rows (0 to 10**15), got {value!r}"
        )
    return value


def _severities(
    raw: Any, config_file: Path | None, rules: Mapping[str, Rule]
) -> tuple[dict[str, Severity], set[str]]:
    where = _where(config_file, "severity")
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{where}: must be a table of rule-id = "error" | "warning" | "info" | "off"')
    severities: dict[str, Severity] = {}
    off: set[str] = set()
    allowed = [s.value for s in Severity] + [OFF]
    for rule_id, value in raw.items():
        key = f"{where}.{rule_id}"
        if rule_id not in rules:
            raise ConfigError(f"{key}: unknown rule {rule_id!r} (see docs/rules.md)")
        if not isinstance(value, str) or value.lower() not in allowed:
            raise ConfigError(f"{key}: expected one of {', '.join(allowed)}, got {value!r}")
        if value.lower() == OFF:
            off.add(rule_id)
        else:
            severities[rule_id] = Severity(value.lower())
    return severities, off


def resolve_pg_major(configured: int | None, root: Path, migrations_path: Path | None = None) -> int:
    """``pg_major`` from config, else ``[db] major_version`` in ``supabase/config.toml``, else 15.

    The Supabase file is looked for under the config root and beside a ``supabase/migrations``
    directory, which is where the Supabase CLI keeps it.
    """
    if configured:
        return configured
    for candidate in supabase_config_files(root, migrations_path):
        import tomllib  # only when there is a file to read: the import costs hook start-up time

        try:
            document = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{candidate}: cannot read [db] major_version ({exc})") from exc
        db = document.get("db")
        version = db.get("major_version") if isinstance(db, dict) else None
        if version is None:
            continue
        try:
            return count_setting("pg_major", version)
        except ValueError as exc:
            raise ConfigError(f"{candidate}: db.major_version: {exc}") from None
    return DEFAULT_PG_MAJOR


def settings_for(
    config: Config, extra_select: Iterable[str] = (), extra_ignore: Iterable[str] = ()
) -> LintSettings:
    """The lint settings of a loaded ``Config``: what every door (CLI, hook, Action, API, ``run``'s lint
    gate) uses, so they all give one verdict."""
    supabase, why = supabase_project(config)
    strict_empty = {"empty-migration": Severity.ERROR} if config.empty_migrations == "error" else {}
    return build_settings(
        config.lint,
        config_file=config.config_file,
        pg_major=resolve_pg_major(config.pg_major, config.root, config.migrations_path),
        exposed_schemas=resolve_exposed_schemas(config.exposed_schemas, config.root, config.migrations_path),
        extra_select=extra_select,
        extra_ignore=extra_ignore,
        supabase=supabase,
        default_severities=strict_empty,
        note=f"Supabase rules {'on' if supabase else 'off'}: {why}.",
    )
