"""``python -m lockgate.lint [PATHS]...``: the same as ``lockgate lint`` without importing click.

The pre-commit hook runs once per commit with the staged files; skipping click's import saves a
third of the start-up time, which is what decides whether people keep a hook enabled.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from lockgate.errors import LockgateError, exit_code_of
from lockgate.limits import count_setting
from lockgate.lint.door import LintOptions, run_lint
from lockgate.lint.formats import FORMATS

if TYPE_CHECKING:
    import argparse


def _count(name: str) -> Callable[[str], int]:
    """An argparse type for a count with the range every door shares (``lockgate.limits``)."""

    def parse(text: str) -> int:
        import argparse

        try:
            return count_setting(name, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _parser(prog: str) -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check migration files for statements that fail at deploy time or lock busy tables. "
        "With --output, the report goes to the file in --format and a text summary to the terminal. "
        "Exit codes: 0 when only warnings or info were found (1 with --strict), 1 on errors, 2 on usage or "
        "configuration errors.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or directories of *.sql files (default: the migrations dir)",
    )
    parser.add_argument(
        "--format", dest="format_name", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        help="enable rules or families (comma-separated), on top of config",
    )
    parser.add_argument(
        "--ignore", action="append", default=[], help="disable rules or families (comma-separated)"
    )
    parser.add_argument(
        "--pg-major", type=_count("pg_major"), help="target PostgreSQL major version (default: 15)"
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=_count("jobs"),
        default=0,
        help="worker processes (0 = one per CPU; used from 64 files on)",
    )
    parser.add_argument(
        "--no-history",
        dest="history",
        action="store_false",
        help="judge each file alone, not against the schema the earlier migrations of its directory build",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="judge each file against this database as it is (read-only): its schema, table sizes and history",
    )
    parser.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        help="lint every file again rather than reuse results kept in .lockgate/ for unchanged files "
        "(never used with --database-url)",
    )
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="judge each file against a shadow database with the migrations before it applied (exact types, "
        "indexes and function volatility; the embedded PostgreSQL unless --shadow-database-url)",
    )
    parser.add_argument(
        "--shadow-database-url",
        metavar="URL",
        help="server for --shadow's scratch database (its user may CREATE DATABASE; implies --shadow)",
    )
    parser.add_argument("--output", "-o", type=Path, help="write the report to a file")
    parser.add_argument("--config", dest="config_file", type=Path, help="config file")
    return parser


def wants_color(terminal: bool, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal unless ``NO_COLOR``; ``FORCE_COLOR`` turns it on anywhere (CI logs that render
    ANSI), as in rich and most CLIs. Both count only when set to something (https://no-color.org)."""
    if environ.get("NO_COLOR"):
        return False
    return terminal or bool(environ.get("FORCE_COLOR"))


def main(argv: Sequence[str] | None = None, prog: str = "python -m lockgate.lint") -> int:
    """Lint and print; returns the exit code. ``lockgate lint`` comes here too (see ``lockgate.cli``)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    options = _options(arguments, prog, wants_color(sys.stdout.isatty(), os.environ))
    try:
        code, shown = run_lint(options)
    except LockgateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    sys.stdout.write(shown)
    return code


def _options(arguments: list[str], prog: str, color: bool) -> LintOptions:
    """The command line as ``LintOptions``. Only file names — what the pre-commit framework passes, and
    the commonest call by far — need no parser: they mean what argparse would make of them, the
    defaults plus the paths (a test holds the two equal), and argparse's import with its help
    formatter's (shutil, gettext, locale) is ~7 ms of a hook's start-up. Anything that looks like an
    option goes through argparse, errors and ``--help`` included."""
    if not any(argument.startswith("-") for argument in arguments):
        return LintOptions(paths=tuple(Path(argument) for argument in arguments), color=color)
    return _parsed(arguments, prog, color)


def _parsed(arguments: list[str], prog: str, color: bool) -> LintOptions:
    args = _parser(prog).parse_args(arguments)
    return LintOptions(
        paths=tuple(args.paths),
        format_name=args.format_name,
        strict=args.strict,
        select=tuple(args.select),
        ignore=tuple(args.ignore),
        pg_major=args.pg_major,
        jobs=args.jobs,
        output=args.output,
        config_file=args.config_file,
        history=args.history,
        database_url=args.database_url,
        cache=args.cache,
        color=color,
        shadow=args.shadow,
        shadow_database_url=args.shadow_database_url,
    )


def _hard_exit(code: int) -> NoReturn:
    """Flush and leave without tearing the interpreter down, as mypy does by default.

    Freeing every module and object at exit costs 15-40 ms after linting a thousand files (a tenth of the
    run) and buys nothing here: there are no exit handlers on this path and all output is written.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (``| head``): like any CLI, say nothing more
        pass
    os._exit(code)


if __name__ == "__main__":
    _hard_exit(exit_code_of(main))
