"""``lockgate baseline`` and ``lockgate repair``: adopting a database and recovering after a human fix."""

from __future__ import annotations

from pathlib import Path

import click

from lockgate.console import Output, build_config
from lockgate.options import config_options
from lockgate.service import baseline as baseline_service
from lockgate.service import database_target
from lockgate.service import repair as repair_service


@click.command()
@config_options
@click.option(
    "--version", "version", type=int, required=True, metavar="V", help="Last version to mark as baselined."
)
def baseline(
    migrations_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    table: str | None,
    version: int,
) -> None:
    """Mark every migration up to V as baselined (already in the database) without running it."""
    config = build_config(migrations_dir, database_url, config_file, table)
    output = Output()
    target = database_target(config, output.notice)
    done = baseline_service(config, target, version, output.notice)
    for migration_id in done:
        output.line(f"baselined {migration_id}")
    output.line(f"{len(done)} migration(s) baselined up to {version} in {target.masked}", style="green")


@click.command()
@config_options
@click.option(
    "--cosmetic",
    "cosmetic_only",
    is_flag=True,
    help="Only accept edits of whitespace and comments (same parse tree as recorded); touch nothing else.",
)
def repair(
    migrations_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    table: str | None,
    cosmetic_only: bool,
) -> None:
    """After a human fixed things: accept current checksums and clear failed/running records (all logged)."""
    config = build_config(migrations_dir, database_url, config_file, table)
    output = Output()
    target = database_target(config, output.notice)
    actions = repair_service(config, target, output.notice, cosmetic_only=cosmetic_only)
    for action in actions:
        output.line(action)
    output.line(
        f"{len(actions)} repair(s) recorded in {config.log_table} ({target.masked})"
        if actions
        else "nothing to repair"
    )
