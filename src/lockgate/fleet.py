"""A fleet: one migration history, many databases (staging, production, a database per tenant).

Targets come from ``[tool.lockgate.targets.<name>]`` in the config and, for fleets too large to write by
hand, from a JSON file named by ``[tool.lockgate.fleet] targets_file`` (a tenants list exported by a script).
Each names where its URL comes from — ``url_env``, an environment variable — never the URL itself when it
holds a password: a committed file is no place for one, so such a target is refused with the fix. Tags and a
wave (an integer: lower waves go first, e.g. 0 staging, 1 canary, 2 the rest) select and order targets; a
few settings may be overridden per target.

This module only reads and selects; ``rollout`` runs the fleet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockgate.config import Config, parse_setting
from lockgate.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OVERRIDES = {
    "lock_timeout": "lock_timeout_ms",
    "statement_timeout": "statement_timeout_ms",
    "lock_retries": "lock_retries",
    "retry_backoff": "retry_backoff_ms",
    "atomic": "atomic",
    "allow_out_of_order": "allow_out_of_order",
}
"""Settings a target may set for itself (the key in the file -> the ``Config`` field)."""
KEYS = {"url_env", "url", "tags", "wave", *OVERRIDES}


@dataclass(frozen=True)
class Target:
    """One database of the fleet."""

    name: str
    wave: int
    tags: tuple[str, ...]
    url_env: str | None
    url: str | None = field(default=None, repr=False)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""

    def connection_string(self, environ: Mapping[str, str]) -> str:
        """The URL to connect with; ConfigError naming the variable when it is not set."""
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        value = environ.get(self.url_env, "")
        if not value:
            raise ConfigError(
                f"target {self.name}: environment variable {self.url_env} is not set ({self.where})"
            )
        return value

    def config(self, base: Config, url: str) -> Config:
        """The project's settings with this target's URL and overrides."""
        return base._replace(database_url=url, **self.overrides)


@dataclass(frozen=True)
class Fleet:
    targets: tuple[Target, ...]
    max_failures: int = 0
    """How many failed targets a wave may have before the next waves are not started (0: none)."""

    def select(self, selector: str) -> list[Target]:
        """``all``, a target name, ``tag:NAME`` or ``wave:N``; comma-separated for a union. In wave order,
        then by name. An unknown name or a selector that matches nothing is a ConfigError."""
        chosen: dict[str, Target] = {}
        for part in (piece.strip() for piece in selector.split(",")):
            if not part:
                continue
            matched = [target for target in self.targets if _matches(target, part)]
            if not matched:
                known = ", ".join(target.name for target in self.targets[:10])
                raise ConfigError(
                    f"--targets {part!r} matches no target (all, a name, tag:NAME or wave:N; targets: {known}"
                    f"{', ...' if len(self.targets) > 10 else ''})"
                )
            chosen.update((target.name, target) for target in matched)
        if not chosen:
            raise ConfigError("--targets is empty: all, a name, tag:NAME or wave:N")
        return sorted(chosen.values(), key=lambda target: (target.wave, target.name))


def _matches(target: Target, part: str) -> bool:
    if part == "all":
        return True
    if part.startswith("tag:"):
        return part[4:] in target.tags
    if part.startswith("wave:"):
        return part[5:].strip().lstrip("+").isdigit() and int(part[5:]) == target.wave
    return target.name == part


def load_fleet(config: Config) -> Fleet:
    """The fleet the config describes; ConfigError (one line naming file and target) on anything wrong."""
    where = str(config.config_file) if config.config_file else "config"
    targets: list[Target] = []
    if not isinstance(config.targets, Mapping):
        raise ConfigError(f"{where}: [tool.lockgate.targets] must be a table of tables")
    for name, raw in config.targets.items():
        targets.append(_target(str(name), raw, f"{where}: targets.{name}"))
    settings = config.fleet if isinstance(config.fleet, Mapping) else {}
    unknown = set(settings) - {"targets_file", "max_failures"}
    if unknown:
        raise ConfigError(
            f"{where}: fleet.{sorted(unknown)[0]}: unknown setting (known: max_failures, targets_file)"
        )
    if "targets_file" in settings:
        targets += _from_file(config.root, settings["targets_file"], f"{where}: fleet.targets_file")
    max_failures = settings.get("max_failures", 0)
    if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 0:
        raise ConfigError(f"{where}: fleet.max_failures: expected a whole number >= 0, got {max_failures!r}")
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise ConfigError(f"{target.where}: a second target named {target.name}")
        seen.add(target.name)
    if not targets:
        raise ConfigError(f'{where}: no targets: add [tool.lockgate.targets.<name>] with url_env = "..."')
    return Fleet(tuple(targets), max_failures)


def _from_file(root: Path, name: Any, where: str) -> list[Target]:
    if not isinstance(name, str):
        raise ConfigError(f"{where}: expected a file name")
    path = Path(name) if Path(name).is_absolute() else root / name
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot read the targets file ({type(exc).__name__}: {exc})") from None
    entries = document.get("targets") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise ConfigError(f'{path}: expected a JSON list of targets (or {{"targets": [...]}})')
    targets = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f'{path}: target #{position + 1}: expected an object with a "name"')
        raw = {key: value for key, value in entry.items() if key != "name"}
        targets.append(_target(entry["name"], raw, f"{path}: target {entry['name']}"))
    return targets


def _target(name: str, raw: Any, where: str) -> Target:
    if not NAME.match(name):
        raise ConfigError(f"{where}: a target name is letters, digits, '.', '_' and '-' (at most 63)")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown setting (known: {', '.join(sorted(KEYS))})")
    url_env, url = raw.get("url_env"), raw.get("url")
    if url is not None:
        url = _url_without_password(url, where)
    if url_env is not None and (not isinstance(url_env, str) or not ENV_NAME.match(url_env)):
        raise ConfigError(
            f"{where}.url_env: expected the name of an environment variable, like PROD_DATABASE_URL"
        )
    if (url_env is None) == (url is None):
        raise ConfigError(f'{where}: set url_env = "NAME_OF_THE_VARIABLE" (the URL stays out of the file)')
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) and NAME.match(tag) for tag in tags):
        raise ConfigError(f'{where}.tags: expected a list of names, like ["prod", "eu"]')
    wave = raw.get("wave", 0)
    if isinstance(wave, bool) or not isinstance(wave, int) or not 0 <= wave <= 1000:
        raise ConfigError(f"{where}.wave: expected a whole number from 0 to 1000 (lower waves go first)")
    overrides = {}
    for key, attribute in OVERRIDES.items():
        if key in raw:
            try:
                overrides[attribute] = parse_setting(key, raw[key])
            except ValueError as exc:
                raise ConfigError(f"{where}.{key}: {exc}") from None
    return Target(name, wave, tuple(tags), url_env, url, overrides, where)


def _url_without_password(url: Any, where: str) -> str:
    """A URL in a committed file is allowed only without a password (a local socket, trust auth)."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}.url: expected text")
    from lockgate.conninfo import PASSWORD_KEYS, uri_scheme

    try:
        from psycopg.conninfo import conninfo_to_dict

        fields = conninfo_to_dict(url)
    except Exception:  # psycopg.ProgrammingError and friends: say nothing of the text, it may hold a secret
        scheme = uri_scheme(url) or "key=value"
        raise ConfigError(f"{where}.url: not a connection string libpq can parse ({scheme}...)") from None
    if any(fields.get(key) for key in PASSWORD_KEYS):
        raise ConfigError(
            f"{where}.url: holds a password, and this file is committed; put the URL in an environment "
            f'variable (or your CI\'s secrets) and name it: url_env = "..."'
        )
    return url


def by_wave(targets: Sequence[Target]) -> list[tuple[int, list[Target]]]:
    """Targets grouped by wave, lowest first."""
    waves: dict[int, list[Target]] = {}
    for target in targets:
        waves.setdefault(target.wave, []).append(target)
    return sorted(waves.items())
