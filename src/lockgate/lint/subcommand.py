"""``lockgate lint [PATHS]...``: the argparse door of ``python -m lockgate.lint``, as a ``lockgate`` sub-command.

One parser: ``lockgate lint`` normally never gets here (``lockgate.cli`` sends it straight to the click-free
door), and when click does list or run it (``lockgate --help``, ``lockgate lint --help``), it hands every
argument to the same argparse ``main``.
"""

from __future__ import annotations

from collections.abc import Sequence

from lockgate.argparse_command import click_command
from lockgate.lint.__main__ import main


def _main(argv: Sequence[str] | None) -> int:
    return main(argv, prog="lockgate lint")


lint = click_command(
    "lint", _main, "Check migration files for statements that fail at deploy time or lock busy tables."
)
