"""``lockgate create "add user preferences table"``: a new file named with the UTC timestamp."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from lockgate.console import build_config
from lockgate.errors import EXIT_FAILED, EXIT_OK, ConfigError
from lockgate.naming import SNAKE_NAME, next_version, parse_filename, snake_case
from lockgate.source import discover

TEMPLATE = """-- Migration: {title}
-- Date: {date}
-- Description: {title}

"""


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
        raise SystemExit(_create_revert(config.migrations_path, revert))
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
    filename = f"{next_version(existing, now)}_{name}.sql"
    parse_filename(filename)
    path = directory / filename
    title = description.strip()[:1].upper() + description.strip()[1:]
    with path.open("x", encoding="utf-8") as handle:
        handle.write(TEMPLATE.format(title=title, date=now.strftime("%Y-%m-%d")))
    click.echo(str(path))


def _create_revert(directory: Path, version: str) -> int:
    """Write the revert, print its path; exit 1 (with one line each) when some statement was not inverted."""
    from lockgate.supabase.revert import write_revert

    path, revert = write_revert(directory, version, datetime.now(UTC))
    click.echo(str(path))
    for skipped in revert.not_invertible:
        click.echo(
            f"error: {skipped.summary} (line {skipped.line}) cannot be reverted automatically: {skipped.reason}",
            err=True,
        )
    if not revert.complete:
        click.echo(
            f"error: {path.name} is incomplete: write the inverse of {len(revert.not_invertible)} statement(s) "
            "by hand where its NOT REVERTED block says, then delete the block",
            err=True,
        )
    return EXIT_OK if revert.complete else EXIT_FAILED
