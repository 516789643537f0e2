"""``lockgate check-naming FILES...``: the pre-commit door of ``lockgate.checks.filenames``.

Parses arguments, asks the checks stage, prints its problems one line each; the PR check renders the same
problems from the same stage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from lockgate.checks.filenames import Context, check_file, load_base, render
from lockgate.errors import LockgateError, exit_code_of
from lockgate.git import FROM_REF_VARIABLE, requested_base
from lockgate.hooks import click_command

# Not typing.TYPE_CHECKING: importing typing costs a hook several ms of start-up on every commit.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import click


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lockgate check-naming",
        description="Check that new migration files are named <YYYYMMDDHHMMSS>_<snake_case_name>.sql "
        "and order after every migration on the base branch.",
    )
    parser.add_argument("filenames", nargs="*", help="migration files to check (pre-commit passes them)")
    parser.add_argument(
        "--base",
        metavar="REF",
        help="branch or commit whose migrations new files must sort after; files present there are "
        f"not new and are not checked (default: ${FROM_REF_VARIABLE} if set, else HEAD)",
    )
    args = parser.parse_args(argv)
    try:
        context = Context(now=datetime.now(UTC), base=load_base(args.filenames, requested_base(args.base)))
        problems = [problem for filename in args.filenames for problem in check_file(filename, context)]
    except LockgateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for problem in problems:
        print(render(problem))
    return 1 if problems else 0


def __getattr__(name: str) -> click.Command:
    """``command``, the ``lockgate check-naming`` sub-command, is built on first use so that running
    ``python -m lockgate.hooks.naming`` (the pre-commit entry) never imports click."""
    if name == "command":
        return click_command(
            "check-naming",
            main,
            "Check that new migration files are named and ordered correctly (pre-commit hook).",
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    raise SystemExit(exit_code_of(main))
