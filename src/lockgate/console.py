"""Terminal plumbing shared by the doors that are click commands (``lockgate run|status|...`` and ``lockgate
serve``): building their ``Config``, and ``Output`` (their options live in ``lockgate.options``).

Output goes through ``Output`` so that a terminal gets rich tables and colour (``NO_COLOR`` respected) while a
pipe gets plain aligned text that scripts can grep. It lives outside ``commands/`` because two doors share it,
and a door never imports another door (tests/test_layers.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate import options
from lockgate.config import Config, load_config
from lockgate.problems import Problem
from lockgate.report import plain_table

if TYPE_CHECKING:
    from rich.console import Console


def build_config(
    migrations_dir: Path | None,
    database_url: str | None,
    config_file: Path | None,
    table: str | None,
    **more: Any,
) -> Config:
    overrides = {"migrations_dir": migrations_dir, "database_url": database_url, "table": table, **more}
    return load_config(overrides=overrides, config_file=config_file)


class Output:
    """Writes tables, notices and JSON: rich (colour, boxes) on a terminal, plain lines elsewhere.

    rich is imported only for a terminal: in CI and pipes it would cost a tenth of a second of start-up
    for output that is plain text anyway."""

    def __init__(self) -> None:
        self.interactive = sys.stdout.isatty()
        self.err_interactive = sys.stderr.isatty()
        self._console: Console | None = None
        self._err: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=True)
        return self._console

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def _stderr(self, markup: str, plain: str) -> None:
        if self.err_interactive:
            self.err.print(markup)
        else:
            sys.stderr.write(plain + "\n")

    def notice(self, message: str) -> None:
        if options.QUIET.on:
            return
        self._stderr(f"[dim]{_escape(message)}[/dim]", message)

    def warn(self, message: str) -> None:
        self._stderr(f"[yellow]warning:[/yellow] {_escape(message)}", f"warning: {message}")

    def error(self, message: str) -> None:
        self._stderr(f"[bold red]error:[/bold red] {_escape(message)}", f"error: {message}")

    def problem(self, problem: Problem) -> None:
        """``error: [code] message`` (or ``warning:``), then the fix on its own ``  help:`` line."""
        (self.error if problem.is_error else self.warn)(f"[{problem.code}] {problem.message}")
        if problem.help:
            self._stderr(f"  [dim]help: {_escape(problem.help)}[/dim]", f"  help: {problem.help}")

    def line(self, message: str = "", style: str | None = None) -> None:
        if options.QUIET.on:
            return
        if self.interactive:
            self.console.print(_escape(message), style=style)
        else:
            sys.stdout.write(message + "\n")

    def json(self, document: Any) -> None:
        """Indented for a person at a terminal; one compact line for a pipe (``| jq``, scripts), which
        lets the C encoder do it: ``status --json`` over 10,000 migrations spent a tenth of its time
        in the pure-Python indenting encoder."""
        sys.stdout.write(json.dumps(document, indent=2 if self.interactive else None, default=str) + "\n")

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        title: str | None = None,
        optional: Sequence[str] = (),
    ) -> None:
        """A table. The first column (a version, a file name: what users type next) is never cut; on a
        narrow terminal the ``optional`` columns are dropped, first-named first, before any other column
        folds its text onto a second line. A pipe gets plain aligned columns, every one, and no title: a
        title line is one more thing for ``grep`` and ``awk`` to step over."""
        if options.QUIET.on:
            return
        if not self.interactive:
            self.line(plain_table(headers, rows))
            return
        from rich.table import Table

        keep = _fitting(headers, rows, optional, self.console.width)
        table = Table(title=title, title_justify="left")
        for position, header in enumerate(headers):
            if position not in keep:
                continue
            if position == 0:
                table.add_column(header, no_wrap=True, min_width=_widest(headers, rows, 0))
            else:
                table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(*(_escape(str(cell)) for position, cell in enumerate(row) if position in keep))
        self.console.print(table)


def _widest(headers: Sequence[str], rows: Sequence[Sequence[str]], position: int) -> int:
    return max([len(headers[position]), *(len(str(row[position])) for row in rows)])


def _fitting(
    headers: Sequence[str], rows: Sequence[Sequence[str]], optional: Sequence[str], width: int
) -> set[int]:
    """The columns shown at ``width``: all when they fit whole, else without the optional ones, in order,
    until they do (a rich table spends 3 characters per column and 1 for the frame)."""
    keep = set(range(len(headers)))
    widths = [_widest(headers, rows, position) for position in range(len(headers))]
    for name in optional:
        if sum(widths[position] + 3 for position in keep) + 1 <= width:
            break
        if name in headers:
            keep.discard(headers.index(name))
    return keep


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
