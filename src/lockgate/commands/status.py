"""``lockgate status``, ``list`` and ``validate``: read-only views of files versus history."""

from __future__ import annotations

import click

from lockgate.commands.fleet_view import parallel_option, status_fleet, targets_option
from lockgate.config import Config
from lockgate.console import Output, build_config
from lockgate.db import DatabaseTarget
from lockgate.errors import EXIT_FAILED, EXIT_OK, ConfigError
from lockgate.options import config_options, shadow_option
from lockgate.plan import State
from lockgate.report import (
    LIST_HEADERS,
    LIST_OPTIONAL,
    drift_check_json,
    drift_summary,
    entry_row,
    list_json,
    status_counts,
    status_json,
    validate_json,
    validate_summary,
)
from lockgate.service import DriftCheck, database_target, drift_check, pending_lint, read_state
from lockgate.service import validate as validate_service

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _state(output: Output, **options: object) -> tuple[State, DatabaseTarget, Config]:
    config = build_config(**options)  # type: ignore[arg-type]
    target = database_target(config, output.notice)
    return read_state(config, target), target, config


@click.command()
@config_options
@json_option
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when a migration is pending or validation finds an error (as dbmate's status does).",
)
@click.option(
    "--drift",
    "check_drift",
    is_flag=True,
    help="Also compare the database's schema with the one its applied migrations build in a shadow "
    "(as lockgate drift does); with --exit-code, drift exits 1 too.",
)
@shadow_option
@targets_option
@parallel_option
def status(
    as_json: bool,
    exit_code: bool,
    check_drift: bool,
    shadow_database_url: str | None,
    targets: str | None,
    parallel: int,
    **options: object,
) -> None:
    """Applied / pending / failed counts, the latest applied migration and any validation problem.

    Exits 0 whatever it reports, so scripts can parse it; with --exit-code, 1 when something is pending or
    an error was found (a CI step that fails until the database is up to date). With --drift, also the
    hand-made changes (lockgate drift). With --targets, one line per target of the fleet and a summary
    grouping targets in the same state."""
    if shadow_database_url is not None and not check_drift:
        raise ConfigError("--shadow-database-url goes with --drift (the shadow is where drift is checked)")
    if targets is not None:
        if check_drift:
            raise ConfigError(
                "--drift does not go with --targets: check one target at a time (lockgate drift, or status "
                "--drift with its --database-url), each shadow replays that target's history"
            )
        if options.get("database_url") is not None:
            raise ConfigError(
                "--database-url does not go with --targets: each target's URL comes from its url_env"
            )
        config = build_config(**{**options, "database_url": None})  # type: ignore[arg-type]
        status_fleet(config, targets, parallel, as_json, exit_code)
        return
    output = Output()
    state, target, config = _state(output, **options)
    drift = drift_check(config, target, shadow_database_url, output.notice) if check_drift else None
    _show_status(output, state, target.masked, config.table, config, as_json, drift)
    if exit_code and (state.plan.pending or state.plan.errors or (drift is not None and not drift.clean)):
        raise SystemExit(EXIT_FAILED)


def _show_status(
    output: Output,
    state: State,
    database: str,
    table: str,
    config: Config,
    as_json: bool,
    drift: DriftCheck | None = None,
) -> None:
    if as_json:
        document = status_json(
            state.plan,
            database=database,
            table=table,
            directory=str(state.source.directory),
            lint=pending_lint(config, state.plan),
        )
        if drift is not None:
            document["drift"] = drift_check_json(drift)
        output.json(document)
        return
    counts = status_counts(state.plan)
    output.line(f"database: {database}  table: {table}")
    output.line(
        f"applied {counts['applied'] + counts['baselined']}  pending {counts['pending']}  "
        f"failed {counts['failed'] + counts['running']}  modified {counts['modified']}  missing {counts['missing']}"
    )
    latest = state.plan.latest_applied
    if latest and latest.record:
        when = f"{latest.record.applied_at:%Y-%m-%d %H:%M:%S %Z}" if latest.record.applied_at else "baselined"
        output.line(f"latest applied: {latest.id} ({when})")
    elif not state.table_exists:
        output.line(f"no migration applied yet ({table} does not exist)")
    for migration in state.plan.pending:
        output.line(f"pending: {migration.filename}")
    for problem in state.plan.problems:
        output.problem(problem)
    if not state.plan.problems:
        output.line("no validation problems", style="green")
    if drift is not None:
        for item in drift.differences:
            output.warn(f"drift: {item.line()}")
        output.line(drift_summary(drift, database), style="green" if drift.clean else "red")


@click.command("list")
@config_options
@json_option
def list_command(as_json: bool, **options: object) -> None:
    """Every migration: version, name, state, applied_at, executed_by, duration, checksum."""
    output = Output()
    state, target, config = _state(output, **options)
    if as_json:
        output.json(
            list_json(
                state.plan, database=target.masked, table=config.table, directory=str(state.source.directory)
            )
        )
        return
    rows = [entry_row(entry) for entry in state.plan.entries]
    if not rows:
        output.line(f"no migrations in {state.source.directory}")
        return
    output.table(LIST_HEADERS, rows, optional=LIST_OPTIONAL)


@click.command()
@config_options
@json_option
@click.option(
    "--allow-out-of-order", is_flag=True, default=None, help="Out-of-order pending files are warnings."
)
def validate(as_json: bool, allow_out_of_order: bool | None, **options: object) -> None:
    """Checksums, duplicate versions, gaps, missing files, failed records, out-of-order and unrunnable files."""
    output = Output()
    config = build_config(allow_out_of_order=allow_out_of_order, **options)  # type: ignore[arg-type]
    state, problems = validate_service(config, database_target(config, output.notice))
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        output.json(validate_json(problems, files=len(state.source.migrations)))
    else:
        for problem in problems:
            output.problem(problem)
        output.line(
            validate_summary(len(state.source.migrations), problems), style="red" if errors else "green"
        )
    raise SystemExit(EXIT_FAILED if errors else EXIT_OK)
