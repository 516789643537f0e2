"""``lockgate lint [PATHS]...``: the click door onto the lint engine.

Exit codes: 0 when only warnings/info were found (1 with ``--strict``), 1 on errors, 2 on usage or
configuration errors. Imports stay light (no rich, psycopg or runner): this is the pre-commit path.
"""

from __future__ import annotations

from pathlib import Path

import click

from lockgate.config import load_config
from lockgate.errors import ConfigError
from lockgate.lint.formats import FORMATS, render


def _split(values: tuple[str, ...]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


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
@click.option("--pg-major", type=click.IntRange(9, 99), help="Target PostgreSQL major version [default: 15].")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Worker processes (0 = one per CPU).",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to a file."
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="Config file.")
@click.pass_context
def lint(
    ctx: click.Context,
    paths: tuple[Path, ...],
    format_name: str,
    strict: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    pg_major: int | None,
    jobs: int,
    output: Path | None,
    config_file: Path | None,
) -> None:
    """Check migration files for statements that fail at deploy time or lock busy tables.

    PATHS are files or directories (their *.sql files); by default the configured migrations directory.
    """
    from lockgate.lint.engine import lint_paths
    from lockgate.lint.settings import build_settings, resolve_pg_major

    config = load_config(config_file=config_file, overrides={"pg_major": pg_major})
    settings = build_settings(
        config.lint,
        config_file=config.config_file,
        pg_major=resolve_pg_major(config.pg_major, config.root, config.migrations_path),
        exposed_schemas=config.exposed_schemas,
        extra_select=_split(select),
        extra_ignore=_split(ignore),
    )
    targets = list(paths) or [config.migrations_path]
    if not paths and not config.migrations_path.is_dir():
        raise ConfigError(f"migrations directory {config.migrations_path} does not exist; pass PATHS")
    report = lint_paths(targets, settings, jobs=jobs)
    if output is not None:
        try:
            output.write_text(render(report, format_name), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{output}: cannot write report ({exc.strerror or exc})") from exc
        if format_name != "text":
            click.echo(render(report, "text"), nl=False)
    else:
        click.echo(render(report, format_name, color=format_name == "text"), nl=False)
    ctx.exit(report.exit_code(strict))
