"""What lint reads from a Supabase project's ``supabase/config.toml``: where the file is, and which
schemas the Data API serves (``[api] schemas``). ``settings.resolve_pg_major`` reads ``[db]
major_version`` from the same files.

Project knowledge, not a rule: the settings resolve it once per run (``resolve_exposed_schemas``), and
the Supabase rules ask ``exposed_schemas`` for a file's directory (a ``supabase/config.toml`` beside the
file's ``migrations`` directory wins over the default). Neither imports the other's module, so the
settings and the rules no longer import each other.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from lockgate.project import supabase_config_files

MANAGED_SCHEMAS = frozenset(
    {
        "auth",
        "storage",
        "realtime",
        "vault",
        "supabase_functions",
        "supabase_migrations",
        "graphql",
        "graphql_public",
        "pgsodium",
        "pgsodium_masks",
        "net",
        "extensions",
        "pgbouncer",
    }
)
"""Schemas Supabase creates and upgrades itself (the set splinter excludes from its lints)."""

DEFAULT_EXPOSED = ("public",)


def api_schemas(config_toml: Path) -> tuple[str, ...] | None:
    """``[api] schemas`` of a Supabase ``config.toml``; None when the file or key is missing or bad.

    A broken file is not the Supabase rules' to report (``supabase start`` does that), so it falls back
    to the default rather than failing the lint.
    """
    import tomllib  # only when there is a file to read: the import costs hook start-up time

    try:
        document = tomllib.loads(config_toml.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    api = document.get("api")
    schemas = api.get("schemas") if isinstance(api, dict) else None
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        return None
    return tuple(s.strip() for s in schemas if s.strip())


def resolve_exposed_schemas(
    configured: tuple[str, ...], root: Path, migrations_path: Path | None = None
) -> tuple[str, ...]:
    """Exposed schemas: lockgate config, else ``supabase/config.toml [api] schemas``, else ``public``.

    Looked for where ``settings.resolve_pg_major`` looks for ``[db] major_version``: under the config
    root and beside a ``supabase/migrations`` directory.
    """
    if configured:
        return configured
    for candidate in supabase_config_files(root, migrations_path):
        schemas = api_schemas(candidate)
        if schemas:
            return schemas
    return DEFAULT_EXPOSED


def exposed_schemas(configured: tuple[str, ...], path: str) -> frozenset[str]:
    """The schemas the Data API serves for the migration at ``path``, minus Supabase's own.

    The lint settings only carry lockgate's ``exposed_schemas`` (defaulting to ``public``), so when
    that is the default, the ``supabase/config.toml`` beside the file's ``migrations`` directory is
    read (once per directory).
    """
    schemas = tuple(configured)
    if schemas == DEFAULT_EXPOSED:
        schemas = _resolved_schemas_beside(os.path.dirname(path) or ".")
    return _served(schemas)


@lru_cache(maxsize=64)
def _schemas_beside(directory: str) -> tuple[str, ...] | None:
    """``[api] schemas`` for migrations in ``directory``: ``supabase/migrations`` has its
    ``config.toml`` one level up, a top-level ``migrations`` may sit beside ``supabase/``."""
    folder = Path(directory)
    if folder.name != "migrations":
        return None
    if folder.parent.name == "supabase":
        candidate = folder.parent / "config.toml"
    else:
        candidate = folder.parent / "supabase" / "config.toml"
    return api_schemas(candidate) if candidate.is_file() else None


@lru_cache(maxsize=64)
def _served(schemas: tuple[str, ...]) -> frozenset[str]:
    """``schemas`` minus Supabase's own, built once per configuration rather than per rule and file."""
    return frozenset(schemas) - MANAGED_SCHEMAS


@lru_cache(maxsize=64)
def _resolved_schemas_beside(directory: str) -> tuple[str, ...]:
    """``_schemas_beside`` for a file's directory, resolved once per directory (``Path.resolve`` is a
    system call per path component: too slow to repeat for every rule of every file).

    Keyed by directory, not by file: a per-file cache missed on every file of a run longer than its
    size, and a file's directory is one ``os.path.dirname`` away.
    """
    try:
        resolved = str(Path(directory).resolve())
    except (OSError, RuntimeError, ValueError):  # unresolvable paths (loops, NUL bytes)
        resolved = ""
    return _schemas_beside(resolved) or DEFAULT_EXPOSED
