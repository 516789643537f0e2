"""Errors that end a command with a one-line message and a defined exit code.

Every door (CLI, hooks, Action, API) turns a ``LockgateError`` into a single line naming the file,
line or setting at fault; anything else escaping is a bug. The exit codes are the CLI contract:
0 ok, 1 validation errors or a failed migration, 2 usage/config/connection errors, 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""Ctrl-C: 128 + SIGINT, what shells and CI runners report for an interrupted command."""


def exit_code_of(main: Callable[[], int]) -> int:
    """Run a click-free door's ``main``: Ctrl-C is the line ``interrupted`` and exit 130, never a traceback.

    The click doors get the same from ``commands.app.run``; the hooks and ``python -m lockgate.lint`` skip
    click to start fast, so they come here instead.
    """
    try:
        return main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


class LockgateError(Exception):
    """Base for expected failures; ``str(err)`` is the one line shown to the user."""

    exit_code = EXIT_FAILED


class ConfigError(LockgateError):
    """A setting, flag or config file is wrong."""

    exit_code = EXIT_USAGE


class ConnectionFailed(LockgateError):
    """The database could not be reached or refused us."""

    exit_code = EXIT_USAGE


class SourceError(LockgateError):
    """A migration file cannot be used as it is (unreadable, bad name, bad SQL...)."""

    exit_code = EXIT_FAILED


class HistoryError(LockgateError):
    """The tracking table is not ours, or cannot be read or created."""

    exit_code = EXIT_USAGE


class LockWaitTimeout(LockgateError):
    """Another runner held the migration lock for longer than ``--lock-wait``; ``holder`` names it (pid,
    application, user, since when), so a door can show who without parsing the message."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (psycopg's carry a DETAIL/HINT/context below it), or its
    class name when it has none: what a one-line error quotes."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
