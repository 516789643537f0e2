"""Settings: defaults < ``[tool.lockgate]`` in pyproject.toml or lockgate.toml < ``LOCKGATE_*`` env < flags.

One frozen ``Config`` flows through the pipeline so no stage reads the environment itself. Unknown keys
are errors that name the key and the file: a typo in a safety setting must never be silently ignored.
Every number is checked against its range here (``limits``), naming where the value came from, so a
value PostgreSQL or the runner would refuse never reaches them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from lockgate.durations import format_ms
from lockgate.errors import ConfigError
from lockgate.limits import MAX_RETRY_WAIT_MS, count_setting, duration_setting, retry_wait_ms

CONFIG_FILES = ("lockgate.toml", "pyproject.toml")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _duration(name: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        return duration_setting(name, value)

    return parse


def _count(name: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        return count_setting(name, value)

    return parse


def _to_str(value: Any) -> str:
    if not isinstance(value, str | int):
        raise ValueError(f"expected text, got {value!r}")
    return str(value)


def _to_url(value: Any) -> str:
    """A connection string: text only, and an error never repeats the value (it may hold a password)."""
    if not isinstance(value, str):
        raise ValueError(f"expected text (a connection string), got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", list: "an array", dict: "a table"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _to_level(value: Any) -> str:
    text = _to_str(value).strip().lower()
    if text not in {"warning", "error"}:
        raise ValueError(f'expected "warning" or "error", got {value!r}')
    return text


def _to_lint_mode(value: Any) -> str:
    text = _to_str(value).strip().lower()
    if text not in {"error", "warn", "off"}:
        raise ValueError(f'expected "error", "warn" or "off", got {value!r}')
    return text


def _to_table(value: Any) -> str:
    text = _to_str(value).strip()
    parts = text.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.replace("_", "a").isalnum() for p in parts):
        raise ValueError(f"expected [schema.]table made of letters, digits and _, got {value!r}")
    return text if len(parts) == 2 else f"public.{text}"


def _to_uuid(value: Any) -> str:
    import uuid

    try:
        return str(uuid.UUID(_to_str(value)))
    except ValueError:
        raise ValueError(f"expected a UUID (the user's id), got {value!r}") from None


def _to_schemas(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of schema names, got {value!r}")
    return tuple(str(v).strip() for v in value if str(v).strip())


class Config(NamedTuple):
    """Every setting a command may need. Durations are milliseconds.

    A NamedTuple rather than a frozen dataclass: it is built on every command's start-up path, and the
    pre-commit hook's budget has no room for ``dataclasses`` (see ``lockgate.lint.findings``).
    """

    root: Path = Path()
    config_file: Path | None = None
    migrations_dir: Path | None = None
    database_url: str | None = None
    table: str = "public.schema_migrations"
    log_table: str = "public.schema_migrations_log"
    lock_timeout_ms: int = 2_000
    statement_timeout_ms: int = 3_600_000
    lock_wait_ms: int = 600_000
    lock_retries: int = 5
    retry_backoff_ms: int = 1_000
    max_version_gap_ms: int = 365 * 86_400_000
    allow_out_of_order: bool = False
    via: str = "cli"
    pg_major: int | None = None
    exposed_schemas: tuple[str, ...] = ()
    supabase: bool | None = None
    executed_by: str | None = None
    empty_migrations: str = "warning"
    """How an empty or comment-only migration is reported: "warning" (applied as a no-op) or "error"."""
    atomic: bool = False
    """Apply every pending migration in one transaction (all or nothing)."""
    lint_on_run: str = "error"
    """``run`` lints pending files first: "error" refuses on lint errors, "warn" reports them, "off" skips."""
    lint: Mapping[str, Any] = {}  # one shared empty dict: read-only by type (Mapping), and picklable
    targets: Mapping[str, Any] = {}
    """``[tool.lockgate.targets.<name>]``: the databases of a fleet, as written (``lockgate.fleet`` reads them)."""
    fleet: Mapping[str, Any] = {}
    """``[tool.lockgate.fleet]``: ``targets_file``, ``max_failures`` (``lockgate.fleet``)."""

    @property
    def migrations_path(self) -> Path:
        """The migrations directory: configured, else ``supabase/migrations`` if present, else ``migrations``."""
        if self.migrations_dir is not None:
            path = self.migrations_dir
            return path if path.is_absolute() else self.root / path
        supabase_dir = self.root / "supabase" / "migrations"
        return supabase_dir if supabase_dir.is_dir() else self.root / "migrations"


# key in files -> (Config field, parser, env variable)
_SETTINGS: dict[str, tuple[str, Callable[[Any], Any], str]] = {
    "migrations_dir": (
        "migrations_dir",
        lambda v: Path(v if isinstance(v, Path) else _to_str(v)),
        "LOCKGATE_MIGRATIONS_DIR",
    ),
    "database_url": ("database_url", _to_url, "LOCKGATE_DATABASE_URL"),
    "table": ("table", _to_table, "LOCKGATE_TABLE"),
    "log_table": ("log_table", _to_table, "LOCKGATE_LOG_TABLE"),
    "lock_timeout": ("lock_timeout_ms", _duration("lock_timeout"), "LOCKGATE_LOCK_TIMEOUT"),
    "statement_timeout": (
        "statement_timeout_ms",
        _duration("statement_timeout"),
        "LOCKGATE_STATEMENT_TIMEOUT",
    ),
    "lock_wait": ("lock_wait_ms", _duration("lock_wait"), "LOCKGATE_LOCK_WAIT"),
    "lock_retries": ("lock_retries", _count("lock_retries"), "LOCKGATE_LOCK_RETRIES"),
    "retry_backoff": ("retry_backoff_ms", _duration("retry_backoff"), "LOCKGATE_RETRY_BACKOFF"),
    "max_version_gap": ("max_version_gap_ms", _duration("max_version_gap"), "LOCKGATE_MAX_VERSION_GAP"),
    "allow_out_of_order": ("allow_out_of_order", _to_bool, "LOCKGATE_ALLOW_OUT_OF_ORDER"),
    "atomic": ("atomic", _to_bool, "LOCKGATE_ATOMIC"),
    "pg_major": ("pg_major", _count("pg_major"), "LOCKGATE_PG_MAJOR"),
    "exposed_schemas": ("exposed_schemas", _to_schemas, "LOCKGATE_EXPOSED_SCHEMAS"),
    "supabase": ("supabase", _to_bool, "LOCKGATE_SUPABASE"),
    "executed_by": ("executed_by", _to_uuid, "LOCKGATE_EXECUTED_BY"),
    "empty_migrations": ("empty_migrations", _to_level, "LOCKGATE_EMPTY_MIGRATIONS"),
    "lint_on_run": ("lint_on_run", _to_lint_mode, "LOCKGATE_LINT_ON_RUN"),
}
_SUBTABLES = {"lint", "targets", "fleet"}


def find_config_file(start: Path) -> Path | None:
    """Walk up from ``start`` to the first lockgate.toml, or pyproject.toml with ``[tool.lockgate]``."""
    for directory in (start, *start.parents):
        lockgate_toml = directory / "lockgate.toml"
        if lockgate_toml.is_file():
            return lockgate_toml
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "[tool.lockgate" in _read_text(pyproject):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from exc


def _file_settings(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a config file: the import costs hook start-up time

    try:
        document = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    tool = document.get("tool")
    if path.name == "pyproject.toml":
        section = tool.get("lockgate", {}) if isinstance(tool, dict) else {}
        prefix = "tool.lockgate"
    else:  # settings at the top, or under [tool.lockgate]; a "tool" that is no table is an unknown key
        section = tool.get("lockgate", document) if isinstance(tool, dict) else document
        prefix = "lockgate"
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{prefix}] must be a table")
    return {key: (value, f"{path}: {prefix}.{key}") for key, value in section.items()}


def parse_setting(key: str, raw: Any) -> Any:
    """One setting's value as ``Config`` holds it; ``ValueError`` naming the accepted values. For doors
    that take settings under their own names (the Action's inputs) and must name them in errors."""
    try:
        return _SETTINGS[key][1](raw)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(_without_secrets(str(exc), raw)) from None


def _without_secrets(message: str, raw: Any) -> str:
    """A setting's error without any password the value held: a connection string pasted under the wrong
    key (or a list holding one) is still a secret. Masked from the parsed password, as everywhere."""
    texts = [raw] if isinstance(raw, str) else [item for item in _leaves(raw) if isinstance(item, str)]
    if not any("@" in text or "password" in text.lower() for text in texts):
        return message  # nothing that could carry a password: skip importing psycopg on the hook path
    from lockgate.conninfo import scrub

    for text in texts:
        message = scrub(message, text, environ={})
    return message


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _apply(values: dict[str, Any], key: str, raw: Any, where: str, origins: dict[str, str]) -> None:
    if key in _SUBTABLES:
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a table")
        values[key] = raw
        return
    if key not in _SETTINGS:
        known = ", ".join(sorted([*_SETTINGS, *_SUBTABLES]))
        raise ConfigError(f"{where}: unknown setting {key!r} (known: {known})")
    attribute = _SETTINGS[key][0]
    try:
        values[attribute] = parse_setting(key, raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    origins[key] = where


def _check_tables(values: Mapping[str, Any], origins: Mapping[str, str]) -> None:
    """The history and the audit log are two tables: one name for both would have the audit log's shape
    checked against the history's rows (and refused with an error naming the wrong setting)."""
    table = values.get("table", Config._field_defaults["table"])
    log_table = values.get("log_table", Config._field_defaults["log_table"])
    if table == log_table:
        raise ConfigError(
            f"table ({origins.get('table', 'default')}) and log_table ({origins.get('log_table', 'default')}) "
            f"are both {table}: the audit log needs a table of its own"
        )


def _check_retry_wait(values: Mapping[str, Any], origins: Mapping[str, str]) -> None:
    """The runner sleeps ``retry_backoff * 2 ** (attempt - 1)`` after each lock timeout: with enough
    retries, even a small backoff adds up to days (or to a sleep too long for the clock to express)."""
    retries = values.get("lock_retries", Config._field_defaults["lock_retries"])
    backoff = values.get("retry_backoff_ms", Config._field_defaults["retry_backoff_ms"])
    wait = retry_wait_ms(retries, backoff)
    if wait > MAX_RETRY_WAIT_MS:
        retries_from = origins.get("lock_retries", "default")
        backoff_from = origins.get("retry_backoff", "default")
        raise ConfigError(
            f"lock_retries = {retries} ({retries_from}) with retry_backoff = {format_ms(backoff)} "
            f"({backoff_from}): the wait before the last retry would be {format_ms(wait)}; "
            f"expected at most {format_ms(MAX_RETRY_WAIT_MS)} (lower lock_retries or retry_backoff)"
        )


def load_config(
    cwd: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    """Resolve the effective settings; ``overrides`` are flag values keyed like the file keys."""
    cwd = (cwd or Path.cwd()).resolve()
    environ = os.environ if environ is None else environ
    explicit = config_file or (Path(environ["LOCKGATE_CONFIG"]) if environ.get("LOCKGATE_CONFIG") else None)
    if explicit is not None and not explicit.is_file():
        raise ConfigError(f"config file {explicit} does not exist (--config / LOCKGATE_CONFIG)")
    path = explicit or find_config_file(cwd)
    values: dict[str, Any] = {"root": path.parent.resolve() if path else cwd, "config_file": path}
    origins: dict[str, str] = {}
    if path is not None:
        for key, (raw, where) in _file_settings(path).items():
            _apply(values, key, raw, where, origins)
    for key, (_, _, env_name) in _SETTINGS.items():
        if environ.get(env_name, "") != "":
            _apply(values, key, environ[env_name], f"environment variable {env_name}", origins)
    for key, raw in (overrides or {}).items():
        if raw is not None:
            _apply(values, key, raw, f"--{key.replace('_', '-')}", origins)
    _check_retry_wait(values, origins)
    _check_tables(values, origins)
    if (overrides or {}).get("migrations_dir") is not None:
        # A --dir flag is relative to where the user typed it, not to the config file.
        flag_dir = values["migrations_dir"]
        values["migrations_dir"] = flag_dir if flag_dir.is_absolute() else cwd / flag_dir
    return Config(**values)


def with_overrides(config: Config, **changes: Any) -> Config:
    """A copy of ``config`` with some fields replaced (used by doors such as the Action and the API)."""
    unknown = set(changes) - set(Config._fields)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return config._replace(**changes)
