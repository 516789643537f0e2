"""The action's inputs, as the ``lockgate github`` commands receive them (``INPUT_*`` environment variables).

``action.yml`` passes every input through ``env:`` and never interpolates ``${{ inputs.* }}`` into a
script, so a value can never become shell code; here they are validated once, with errors naming the
input as the workflow author spelt it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lockgate.config import parse_setting
from lockgate.errors import ConfigError

MODES = ("auto", "check", "apply")
COMMENT_POLICIES = ("always", "on-change", "never")
FAIL_ON = ("error", "warning")


def _choice(environ: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = environ.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"input {name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip().lower()
    if value in {"", "false", "0", "no"}:
        return False
    if value in {"true", "1", "yes"}:
        return True
    raise ConfigError(f"input {name}: expected true or false, got {value!r}")


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip()
    return value or None


@dataclass(frozen=True)
class ActionInputs:
    """Validated inputs of one action run."""

    database_url: str | None = None
    shadow_database_url: str | None = None
    github_token: str | None = None
    migrations_dir: str | None = None
    mode: str = "auto"
    comment: str = "always"
    fail_on: str = "error"
    allow_out_of_order: bool = False
    atomic: bool = False
    dry_run: bool = False
    drift: bool = False
    """Check mode: compare the target's schema with the one its applied history builds (a shadow)."""
    lock_timeout: str | None = None
    targets: str | None = None
    """Check mode: the fleet's targets (a selector) whose merged plans the comment shows, grouped."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ActionInputs:
        env = os.environ if environ is None else environ
        inputs = cls(
            database_url=_text(env, "database-url"),
            shadow_database_url=_text(env, "shadow-database-url"),
            github_token=_text(env, "github-token"),
            migrations_dir=_text(env, "migrations-dir"),
            mode=_choice(env, "mode", MODES, "auto"),
            comment=_choice(env, "comment", COMMENT_POLICIES, "always"),
            fail_on=_choice(env, "fail-on", FAIL_ON, "error"),
            allow_out_of_order=_flag(env, "allow-out-of-order"),
            atomic=_flag(env, "atomic"),
            dry_run=_flag(env, "dry-run"),
            drift=_flag(env, "drift"),
            lock_timeout=_text(env, "lock-timeout"),
            targets=_text(env, "targets"),
        )
        if inputs.lock_timeout is not None:
            try:
                parse_setting("lock_timeout", inputs.lock_timeout)  # the same range as the config's
            except ValueError as exc:
                raise ConfigError(f"input lock-timeout: {exc}") from None
        if inputs.dry_run and not inputs.shadow_database_url:
            raise ConfigError("input dry-run: needs shadow-database-url (a dry run never touches the target)")
        if inputs.drift and not inputs.database_url:
            raise ConfigError("input drift: needs database-url (drift compares the target with its history)")
        if inputs.shadow_database_url and inputs.shadow_database_url == inputs.database_url:
            raise ConfigError("input shadow-database-url: must not be the database-url (the target)")
        return inputs

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.database_url, self.shadow_database_url)
