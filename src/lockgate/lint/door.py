"""One lint run from options to (exit code, output): shared by the click command and ``python -m``.

Both doors stay thin so ``lockgate lint`` and the click-free ``python -m lockgate.lint`` (the fastest
pre-commit entry, no click import) cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from lockgate.config import Config, load_config
from lockgate.errors import EXIT_USAGE, ConfigError, LockgateError
from lockgate.lint.formats import render

if TYPE_CHECKING:
    from lockgate.catalog.model import Catalog


class LintOptions(NamedTuple):
    """What the user asked for on the command line."""

    paths: tuple[Path, ...] = ()
    format_name: str = "text"
    strict: bool = False
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    pg_major: int | None = None
    jobs: int = 0
    output: Path | None = None
    config_file: Path | None = None
    color: bool = False
    history: bool = True
    """Judge each file against the schema the earlier migrations of its directory build."""
    database_url: str | None = None
    """Judge each file against this database as it is (read-only): its schema, sizes and history."""
    cache: bool = True
    """Reuse the results of files linted before with the same bytes, settings and history (``lint.cache``)."""
    shadow: bool = False
    """Judge each file against a shadow database with the migrations before it applied (exact catalog)."""
    shadow_database_url: str | None = None
    """The server the shadow database is created on (default: the embedded PostgreSQL)."""


def split_selectors(values: Iterable[str]) -> list[str]:
    """``--select a,b --select c`` -> ``["a", "b", "c"]``."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def run_lint(options: LintOptions) -> tuple[int, str]:
    """Lint and render; returns the exit code and what to print. Raises ``LockgateError`` (exit 2 for
    configuration and usage problems) with a one-line message."""
    from lockgate.lint.configuration import settings_for
    from lockgate.lint.engine import lint_paths

    missing = [path for path in options.paths if not path.exists()]
    if missing:
        raise ConfigError(f"{missing[0]}: no such file or directory")
    config = load_config(config_file=options.config_file, overrides={"pg_major": options.pg_major})
    settings = settings_for(
        config, extra_select=split_selectors(options.select), extra_ignore=split_selectors(options.ignore)
    )
    if not options.paths and not config.migrations_path.is_dir():
        raise ConfigError(f"migrations directory {config.migrations_path} does not exist; pass PATHS")
    shadow = options.shadow or options.shadow_database_url is not None
    if shadow and options.database_url:
        raise ConfigError("--shadow and --database-url are two catalog sources: choose one")
    if shadow and not options.history:
        raise ConfigError(
            "--shadow and --no-history contradict each other: the shadow is the history, applied"
        )
    database = (
        _on_database(options.database_url, config)
        if options.database_url
        else _on_shadow(options.shadow_database_url, config)
        if shadow
        else None
    )
    report = lint_paths(
        list(options.paths) or [config.migrations_path],
        settings,
        jobs=options.jobs,
        history=options.history,
        cache_dir=config.root / ".lockgate",
        database=database,
        cache=options.cache,
    )
    if options.output is not None:
        try:
            options.output.write_text(render(report, options.format_name), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{options.output}: cannot write report ({exc.strerror or exc})") from exc
        shown = render(report, "text", color=options.color)
    else:
        shown = render(report, options.format_name, color=options.color and options.format_name == "text")
    return report.exit_code(options.strict), shown


def _on_database(
    url: str, config: Config
) -> Callable[[list[Path]], tuple[Mapping[Path, Catalog], int | None]]:
    """Files -> the catalog each meets on the database at ``url`` (its schema and sizes, plus what the
    files before it that the database has not applied yet create), and the latest applied version."""

    def build(files: list[Path]) -> tuple[Mapping[Path, Catalog], int | None]:
        from lockgate.catalog.directory import directory_ops, on_database
        from lockgate.catalog.live import read_catalog
        from lockgate.catalog.snapshots import ByPath
        from lockgate.db import DatabaseTarget, connect
        from lockgate.history import IN_DATABASE, History

        target = DatabaseTarget(url, "--database-url")
        with connect(target, command="lint", read_only=True) as conn:
            base = read_catalog(conn, "target")
            history = History(conn, config.table, config.log_table)
            records = history.records() if history.exists() else []
        applied = {record.version for record in records if record.status in IN_DATABASE}
        directories = sorted({path.parent for path in files})
        by_directory = {
            directory: on_database(base, directory_ops(directory, config.root / ".lockgate"), applied)
            for directory in directories
        }
        return ByPath(by_directory, files), (max(applied) if applied else 0)

    return build


class ShadowFailed(LockgateError):
    """The shadow could not be built: lint cannot judge the files as asked (exit 2, as a usage problem)."""

    exit_code = EXIT_USAGE


def _on_shadow(
    url: str | None, config: Config
) -> Callable[[list[Path]], tuple[Mapping[Path, Catalog], int | None]]:
    """Files -> the catalog each meets when the migrations before it are really applied: for each
    directory, a scratch database (on ``url``'s server, else the embedded PostgreSQL; with the Supabase
    shim in a Supabase project) gets every migration that sorts before the first linted file, exactly as
    ``run`` would apply it, and its catalog is read (types, indexes, constraints, function volatility —
    also what the static replay cannot see: objects made by DO blocks or functions). The linted files
    then build on it as in the history. The scratch database is dropped afterwards, whatever happens."""

    def build(files: list[Path]) -> tuple[Mapping[Path, Catalog], int | None]:
        from lockgate.catalog.directory import directory_ops, on_database
        from lockgate.catalog.snapshots import ByPath
        from lockgate.project import supabase_project
        from lockgate.service import shadow_catalog
        from lockgate.source import discover

        server = url
        if server is None:
            from lockgate.service import embedded_shadow

            try:
                server = embedded_shadow(config.root)
            except LockgateError as exc:
                raise ShadowFailed(f"--shadow: {exc}") from None
        shim, _ = supabase_project(config)
        by_directory: dict[Path, Mapping[str, Catalog]] = {}
        newest = 0
        for directory in sorted({path.parent for path in files}):
            linted = {path.name for path in files if path.parent == directory}
            migrations = discover(directory).migrations
            firsts = [m.version for m in migrations if m.path.name in linted]
            before = [m for m in migrations if not firsts or m.version < min(firsts)]
            try:
                base = shadow_catalog(server, before, with_shim=shim)
            except ConfigError:
                raise
            except LockgateError as exc:
                raise ShadowFailed(f"--shadow: {exc}") from None
            applied = {m.version for m in before}
            newest = max([newest, *applied])
            by_directory[directory] = on_database(
                base, directory_ops(directory, config.root / ".lockgate"), applied
            )
        return ByPath(by_directory, files), newest

    return build
