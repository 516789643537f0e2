"""What kind of project this is, read from the files around the migrations (no database, no heavy imports:
the pre-commit hooks ask too).

One place decides whether a project is a Supabase project and where its ``config.toml`` is, so lint's
Supabase rules, the shared-history checks and ``lockgate run`` never disagree about it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.config import Config


def supabase_config_files(root: Path, migrations_path: Path | None = None) -> list[Path]:
    """Where a Supabase ``config.toml`` may be, in order: under the config root, and beside the migrations
    directory (the Supabase CLI keeps ``supabase/config.toml`` beside ``supabase/migrations``)."""
    candidates = [root / "supabase" / "config.toml"]
    if migrations_path is not None:
        candidates.append(migrations_path.parent / "config.toml")
    seen: set[Path] = set()
    found: list[Path] = []
    for candidate in candidates:
        if candidate not in seen and candidate.is_file():
            seen.add(candidate)
            found.append(candidate)
    return found


def supabase_project(config: Config) -> tuple[bool, str]:
    """Whether this is a Supabase project, and how we know. ``supabase = true | false`` decides; else a
    ``supabase/`` directory in the project root, migrations inside a ``supabase/`` directory, or a
    ``config.toml`` beside them. (Whether a database carries Supabase's history table is the other sign,
    which only ``lockgate.supabase.shared_history`` can read.)"""
    if config.supabase is not None:
        return config.supabase, f"supabase = {str(config.supabase).lower()} in the configuration"
    migrations = config.migrations_path.resolve()
    if (config.root / "supabase").is_dir():
        return True, f"{config.root / 'supabase'} exists"
    if migrations.parent.name == "supabase" or (migrations.parent / "config.toml").is_file():
        return True, f"{migrations} is a Supabase migrations directory"
    return False, "not a Supabase project; --select supabase or supabase = true turns them on"
