"""``lockgate check-immutable [--base REF] [FILES...]``: the pre-commit door of ``lockgate.checks.immutability``.

Parses arguments, asks the checks stage, prints its problems one line each; a commit and a pull request get
the same text because both come from the stage.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from lockgate.checks.immutability import check, render
from lockgate.errors import LockgateError, exit_code_of
from lockgate.git import FROM_REF_VARIABLE, requested_base
from lockgate.hooks import MIGRATION_FILES, click_command

# Not typing.TYPE_CHECKING: importing typing costs a hook several ms of start-up on every commit.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import click


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lockgate check-immutable",
        description="Block staged edits, renames and deletions of migrations that are already committed.",
    )
    parser.add_argument(
        "filenames",
        nargs="*",
        help="files pre-commit passes: they and the .sql files beside them count as migrations even "
        "where --pattern does not match. Deletions and renames are always read from git.",
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        help="compare with this ref's merge-base with HEAD, as CI does for a pull request "
        f"(default: ${FROM_REF_VARIABLE} if set, else HEAD, i.e. the staged change)",
    )
    parser.add_argument(
        "--pattern",
        metavar="REGEX",
        default=MIGRATION_FILES,
        help=f"which repository paths are migrations (default: {MIGRATION_FILES})",
    )
    args = parser.parse_args(argv)
    try:
        pattern = re.compile(args.pattern)
    except re.error as exc:
        print(f"error: --pattern {args.pattern!r}: not a regular expression ({exc})", file=sys.stderr)
        return 2
    try:
        problems = check(args.filenames, requested_base(args.base), pattern)
    except LockgateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for problem in problems:
        print(render(problem))
    return 1 if any(problem.is_error for problem in problems) else 0


def __getattr__(name: str) -> click.Command:
    """``command``, the ``lockgate check-immutable`` sub-command, is built on first use so that running
    ``python -m lockgate.hooks.immutable`` (the pre-commit entry) never imports click."""
    if name == "command":
        return click_command(
            "check-immutable",
            main,
            "Block edits, renames and deletions of committed migrations (pre-commit hook).",
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    raise SystemExit(exit_code_of(main))
