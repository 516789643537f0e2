"""``lockgate local status|stop|reset|url``: the embedded PostgreSQL's lifecycle, as ``supabase status``,
``supabase stop`` and ``supabase db reset`` give theirs.

The embedded server keeps running between commands (starting one costs a second, reusing it ~0.1 s), so
without these there was no way to stop it but ``kill``. ``reset`` is the everyday loop while writing a
migration: drop the database, recreate it with the Supabase shim, apply every migration with ``run``'s own
code. Only ever the embedded database: a configured URL is refused, never reset.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lockgate.console import Output, build_config
from lockgate.errors import ConfigError
from lockgate.options import quiet_option


def _project_root(config_file: Path | None) -> Path:
    return build_config(None, None, config_file, None).root


config_file_option = click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="lockgate.toml or pyproject.toml."
)


@click.group("local")
def local() -> None:
    """The embedded PostgreSQL under .lockgate/: status, stop, reset, url."""


@local.command("status")
@config_file_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@quiet_option
def status(config_file: Path | None, as_json: bool) -> None:
    """Whether the embedded server runs, where, which version, and its size on disk."""
    from lockgate.local import local_server

    server = local_server(_project_root(config_file))
    output = Output()
    if as_json:
        output.json(
            {
                "running": server.running,
                "directory": str(server.directory),
                "version": server.version,
                "pid": server.pid,
                "port": server.port,
                "socket_dir": server.socket_dir,
                "size_bytes": server.size_bytes,
            }
        )
        return
    if server.version is None:
        output.line(f"no embedded PostgreSQL in {server.directory} yet (any database command creates it)")
        return
    state = (
        f"running (pid {server.pid}, port {server.port}, socket {server.socket_dir})"
        if server.running
        else "stopped"
    )
    output.line(f"embedded PostgreSQL {server.version} in {server.directory}: {state}")
    output.line(f"data: {_size(server.size_bytes)}")


@local.command("stop")
@config_file_option
@quiet_option
def stop(config_file: Path | None) -> None:
    """Stop the project's embedded server (any database command starts it again)."""
    from lockgate.local import LOCAL_DIR, stop_local_database

    root = _project_root(config_file)
    stopped = stop_local_database(root)
    Output().line(
        f"stopped the embedded PostgreSQL in {root / LOCAL_DIR}"
        if stopped
        else f"the embedded PostgreSQL in {root / LOCAL_DIR} is not running"
    )


@local.command("url")
@config_file_option
def url(config_file: Path | None) -> None:
    """The embedded database's connection URL, alone on stdout (starts the server if needed):
    psql "$(lockgate local url)"."""
    from lockgate.local import ensure_local_database

    click.echo(ensure_local_database(_project_root(config_file)))


@local.command("reset")
@click.option("--dir", "migrations_dir", type=click.Path(path_type=Path), help="Migrations directory.")
@config_file_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@quiet_option
@click.pass_context
def reset(ctx: click.Context, migrations_dir: Path | None, config_file: Path | None, yes: bool) -> None:
    """Drop the embedded database, recreate it (with the Supabase shim) and apply every migration."""
    from lockgate.db import resolve_target
    from lockgate.local import LOCAL_DIR, reset_local_database

    config = build_config(migrations_dir, None, config_file, None)
    configured = resolve_target(config.database_url)
    if configured is not None:
        raise ConfigError(
            f"lockgate local reset only resets the embedded database, but {configured.origin} points at "
            f"{configured.masked}; unset it to reset the embedded one"
        )
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError("lockgate local reset drops the embedded database: pass --yes to confirm")
        click.confirm(
            f"Drop the embedded database in {config.root / LOCAL_DIR} and apply every migration again?",
            abort=True,
        )
    reset_local_database(config.root)
    Output().notice(f"recreated the embedded database in {config.root / LOCAL_DIR}")
    from lockgate.commands.run import run

    arguments: dict[str, Any] = {"migrations_dir": migrations_dir, "config_file": config_file}
    ctx.invoke(run, **arguments)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    amount = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        amount /= 1024
        if amount < 1024 or unit == "GiB":
            break
    return f"{amount:.1f} {unit}"
