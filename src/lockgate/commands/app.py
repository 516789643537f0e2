"""The click application behind ``lockgate`` (see ``lockgate.cli.main``, the console script).

Sub-commands are loaded lazily (``LazyGroup``) so that a command imports only what it uses: ``lockgate
check-naming`` never imports psycopg, rich tables or the runner.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from lockgate import __version__
from lockgate.errors import EXIT_INTERRUPTED, EXIT_USAGE, LockgateError
from lockgate.options import QUIET, config_options

# command name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "run": "lockgate.commands.run:run",
    "status": "lockgate.commands.status:status",
    "list": "lockgate.commands.status:list_command",
    "validate": "lockgate.commands.status:validate",
    "create": "lockgate.commands.create:create",
    "baseline": "lockgate.commands.maintenance:baseline",
    "repair": "lockgate.commands.maintenance:repair",
    "drift": "lockgate.commands.drift:drift",
    "lint": "lockgate.lint.subcommand:lint",
    "check-naming": "lockgate.hooks.naming:command",
    "check-immutable": "lockgate.hooks.immutable:command",
    "github": "lockgate.github.steps:github",
    "serve": "lockgate.api.serve:serve",
    "adopt": "lockgate.commands.supabase_cmds:adopt",
    "doctor": "lockgate.commands.supabase_cmds:doctor",
    "local": "lockgate.commands.local_cmds:local",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported only when invoked (or listed in --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="lockgate")
@config_options
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> None:
    """Safe PostgreSQL migrations: lint, validate, apply and track plain-SQL migration files.

    --dir, --database-url, --config, --table and -q work before the command name too
    (`lockgate --database-url URL status`); given after it, they win."""
    given = {name: value for name, value in options.items() if value is not None}
    if given:
        ctx.default_map = {name: dict(given) for name in COMMANDS}


def run(argv: list[str] | None = None) -> Any:
    """Run the click application; every expected failure becomes one line on stderr and its exit code."""
    # psycopg logs "error ignored terminating <Pipeline>" when a pipeline ends during the error lockgate
    # reports itself: with no handler configured, Python would print it raw beside the one-line error.
    psycopg_logger = logging.getLogger("psycopg")
    if not psycopg_logger.handlers:
        psycopg_logger.addHandler(logging.NullHandler())
    QUIET.on = False  # set again by -q for this invocation (tests run many in one process)
    try:
        return cli.main(args=argv, prog_name="lockgate", standalone_mode=False)
    except LockgateError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; it is an interruption (exit 130, as shells report SIGINT).
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo("aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        # A database error that no stage turned into a LockgateError (a permission the role lacks, a
        # server shutting down mid-command): still one masked line, never a traceback. psycopg is not
        # imported here so that the lint path stays light; its errors are recognised by module.
        if not type(exc).__module__.startswith("psycopg"):
            raise
        from lockgate.db import mask_known_secrets

        lines = str(exc).strip().splitlines()
        sqlstate = getattr(getattr(exc, "diag", None), "sqlstate", None)
        code = f" (SQLSTATE {sqlstate})" if sqlstate else ""
        click.echo(
            f"error: database error: {mask_known_secrets(lines[0] if lines else type(exc).__name__)}{code}",
            err=True,
        )
        sys.exit(EXIT_USAGE)
