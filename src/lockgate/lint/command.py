"""``lockgate lint [PATHS]...``: the click door onto the lint engine.

Exit codes: 0 when only warnings/info were found (1 with ``--strict``), 1 on errors, 2 on usage or
configuration errors. Imports stay light (no rich, psycopg or runner): this is the pre-commit path.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from lockgate.limits import COUNTS
from lockgate.lint.formats import FORMATS
from lockgate.lint.run import LintOptions, run_lint


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "format_name",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--select", multiple=True, help="Enable rules or families (comma-separated), on top of config.")
@click.option("--ignore", multiple=True, help="Disable rules or families (comma-separated).")
@click.option(
    "--pg-major",
    type=click.IntRange(COUNTS["pg_major"].low, COUNTS["pg_major"].high),
    help="Target PostgreSQL major version [default: 15].",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(COUNTS["jobs"].low, COUNTS["jobs"].high),
    default=0,
    show_default=True,
    help="Worker processes (0 = one per CPU; used from 64 files on).",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to a file."
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="Config file.")
@click.pass_context
def lint(ctx: click.Context, /, paths: tuple[Path, ...], **options: object) -> None:
    """Check migration files for statements that fail at deploy time or lock busy tables.

    PATHS are files or directories (their *.sql files); by default the configured migrations directory.
    With --output, the report goes to the file in --format and a text summary to the terminal.
    """
    color = not os.environ.get("NO_COLOR")  # click strips the codes anyway when not on a terminal
    code, shown = run_lint(LintOptions(paths=paths, color=color, **options))  # type: ignore[arg-type]
    click.echo(shown, nl=False)
    ctx.exit(code)
