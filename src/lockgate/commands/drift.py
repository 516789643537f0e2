"""``lockgate drift``: is the target's schema the one its applied migrations build?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lockgate.console import Output, build_config
from lockgate.errors import EXIT_FAILED
from lockgate.options import config_options, shadow_option
from lockgate.report import drift_items_json, drift_summary
from lockgate.service import DriftCheck, database_target
from lockgate.service import drift as drift_service


@click.command()
@config_options
@shadow_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the target has drifted.")
def drift(
    migrations_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    table: str | None,
    shadow_database_url: str | None,
    as_json: bool,
    exit_code: bool,
    **_: Any,
) -> None:
    """Compare the target's tables, columns, indexes and policies with what its applied migrations build."""
    config = build_config(migrations_dir, database_url, config_file, table)
    output = Output()
    target = database_target(config, output.notice)
    found, replayed = drift_service(config, target, shadow_database_url, output.notice)
    check = DriftCheck(replayed, found)
    if as_json:
        from lockgate.schemas import SCHEMA_VERSION

        output.json(
            {
                "schema": SCHEMA_VERSION,
                "database": target.masked,
                "replayed": replayed,
                "drift": drift_items_json(found),
            }
        )
    else:
        for item in found:
            output.warn(item.line())
        output.line(drift_summary(check, target.masked), style="red" if found else "green")
    if exit_code and found:
        raise SystemExit(EXIT_FAILED)
