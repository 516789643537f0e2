"""The options every database command takes, before its name or after it: light (click only), because the
command group imports them on every ``lockgate`` invocation, ``lockgate create`` and ``check-naming``
included, and ``console`` (rich tables, the report module) costs a tenth of a second to import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class _Quiet:
    """``-q``: tables, lines and notices are left out; warnings, errors and JSON are not. Set by the
    option's callback for the one command a process runs (and reset by ``commands.app.run`` before each
    invocation, as tests run many in one process)."""

    on = False


QUIET = _Quiet()


def _quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        QUIET.on = True


quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=_quiet,
    help="Print only warnings and errors (and JSON when asked for).",
)
"""``-q``: on every database command, after the command name or before it (``lockgate -q run``)."""


def config_options(function: F) -> F:
    """``--dir``, ``--database-url``, ``--config``, ``--table``: where the files and the history are; and
    ``-q``. The same options are accepted before the command name (``commands.app``)."""
    options = [
        quiet_option,
        click.option(
            "--dir", "migrations_dir", type=click.Path(path_type=Path), help="Migrations directory."
        ),
        click.option(
            "--database-url",
            metavar="URL",
            help="PostgreSQL URL (else LOCKGATE_DATABASE_URL, DATABASE_URL, PG* variables, or the embedded database).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            help="lockgate.toml or pyproject.toml.",
        ),
        click.option(
            "--table", metavar="SCHEMA.TABLE", help="Tracking table (default public.schema_migrations)."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


shadow_option = click.option(
    "--shadow-database-url",
    metavar="URL",
    help="Server for the scratch database the history is replayed into (default: the embedded PostgreSQL); "
    "its user must be allowed to CREATE DATABASE. Never the target.",
)
"""Where a drift check builds its shadow (``lockgate drift``, ``lockgate status --drift``)."""
