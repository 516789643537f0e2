"""``lockgate create "add user preferences table"``: a new file named with the UTC timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from lockgate.console import build_config
from lockgate.errors import ConfigError
from lockgate.naming import SNAKE_NAME, parse_filename, snake_case, timestamp_version, version_to_datetime
from lockgate.source import discover

TEMPLATE = """-- Migration: {title}
-- Date: {date}
-- Description: {title}

"""


def _next_timestamp(existing: list[int], now: datetime) -> str:
    """Now, or one second after the newest file if that is later (two creates in one second, clock skew):
    a new migration must always sort last."""
    candidate = now.replace(microsecond=0)
    if existing:
        newest = version_to_datetime(max(existing))
        candidate = max(candidate, newest + timedelta(seconds=1))
    return timestamp_version(candidate)


@click.command()
@click.argument("description", required=False)
@click.option("--dir", "migrations_dir", type=click.Path(path_type=Path), help="Migrations directory.")
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="lockgate.toml or pyproject.toml."
)
@click.option("--revert", "revert", metavar="VERSION", help="Write a migration that undoes VERSION.")
def create(
    description: str | None, migrations_dir: Path | None, config_file: Path | None, revert: str | None
) -> None:
    """Create <UTC timestamp>_<snake_case_description>.sql with the header template."""
    config = build_config(migrations_dir, None, config_file, None)
    if revert is not None:
        from lockgate.supabase.revert import create_revert

        raise SystemExit(create_revert(config.migrations_path, revert))
    if description is None:
        raise ConfigError(
            'give a description (lockgate create "add user preferences table") or --revert VERSION'
        )
    name = snake_case(description)
    if not name or not SNAKE_NAME.match(name) or len(name) > 100:
        raise ConfigError(
            f"description {description!r} does not make a valid migration name (letters and digits, "
            'at most 100 characters), e.g. lockgate create "add user preferences table"'
        )
    directory = config.migrations_path
    directory.mkdir(parents=True, exist_ok=True)
    existing = [m.version for m in discover(directory).migrations]
    now = datetime.now(UTC)
    filename = f"{_next_timestamp(existing, now)}_{name}.sql"
    parse_filename(filename)
    path = directory / filename
    title = description.strip()[:1].upper() + description.strip()[1:]
    with path.open("x", encoding="utf-8") as handle:
        handle.write(TEMPLATE.format(title=title, date=now.strftime("%Y-%m-%d")))
    click.echo(str(path))
