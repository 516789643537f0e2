"""``lockgate adopt`` (take over a database ``supabase db push`` migrated) and ``lockgate doctor``."""

from __future__ import annotations

from pathlib import Path

import click

from lockgate.console import Output, build_config
from lockgate.errors import EXIT_FAILED, EXIT_OK
from lockgate.options import config_options
from lockgate.service import database_target


@click.command()
@config_options
def adopt(
    migrations_dir: Path | None, database_url: str | None, config_file: Path | None, table: str | None
) -> None:
    """Record every version in Supabase's history that has a file as baselined (source: supabase)."""
    from lockgate.supabase.adoption import adopt as adopt_service

    config = build_config(migrations_dir, database_url, config_file, table)
    output = Output()
    target = database_target(config, output.notice)
    report = adopt_service(config, target, output.notice)
    for migration_id in report.baselined:
        output.line(f"baselined {migration_id} (pushed by supabase)")
    for migration_id in report.backfilled:
        output.line(f"recorded {migration_id} in supabase_migrations.schema_migrations (applied by lockgate)")
    for warning in report.warnings:
        output.warn(warning)
    output.line(
        f"{len(report.baselined)} adopted, {len(report.already)} already recorded, "
        f"{len(report.backfilled)} added to Supabase's history, {len(report.warnings)} warning(s) "
        f"({target.masked})",
        style="yellow" if report.warnings else "green",
    )


@click.command()
@config_options
def doctor(
    migrations_dir: Path | None, database_url: str | None, config_file: Path | None, table: str | None
) -> None:
    """Diagnose the database connection: URL, DNS, TCP, TLS, login, server, pooler, permissions."""
    from lockgate.supabase.doctor import FAIL, run_checks

    config = build_config(migrations_dir, database_url, config_file, table)
    output = Output()
    target = database_target(config, output.notice)
    failed = False
    for check in run_checks(config, target):
        failed = failed or check.status == FAIL
        style = {"ok": "green", "warn": "yellow", "fail": "red"}.get(check.status)
        output.line(f"{check.status:<5} {check.name:<12} {check.detail}", style=style)
        if check.fix:
            output.line(f"{'':<18} fix: {check.fix}")
    raise SystemExit(EXIT_FAILED if failed else EXIT_OK)
