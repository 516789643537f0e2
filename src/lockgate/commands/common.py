"""Options shared by the database commands, and the terminal output helpers they use.

Output goes through ``Output`` so that a terminal gets rich tables and colour (``NO_COLOR`` respected) while a
pipe gets plain aligned text that scripts can grep.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from lockgate.config import Config, load_config
from lockgate.report import plain_table

F = TypeVar("F", bound=Callable[..., Any])


def config_options(function: F) -> F:
    """``--dir``, ``--database-url``, ``--config``, ``--table``: where the files and the history are."""
    options = [
        click.option(
            "--dir", "migrations_dir", type=click.Path(path_type=Path), help="Migrations directory."
        ),
        click.option(
            "--database-url",
            metavar="URL",
            help="PostgreSQL URL (else LOCKGATE_DATABASE_URL, DATABASE_URL, PG* variables, or the embedded database).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            help="lockgate.toml or pyproject.toml.",
        ),
        click.option(
            "--table", metavar="SCHEMA.TABLE", help="Tracking table (default public.schema_migrations)."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


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
    """Writes tables, notices and JSON; rich on a terminal, plain text elsewhere."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return self.console.is_terminal

    def notice(self, message: str) -> None:
        self.err.print(f"[dim]{_escape(message)}[/dim]")

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {_escape(message)}")

    def error(self, message: str) -> None:
        self.err.print(f"[bold red]error:[/bold red] {_escape(message)}")

    def line(self, message: str = "", style: str | None = None) -> None:
        self.console.print(_escape(message), style=style)

    def json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
        if not self.interactive:
            if title:
                self.console.print(_escape(title))
            self.console.print(_escape(plain_table(headers, rows)))
            return
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for header in headers:
            table.add_column(header)
        for row in rows:
            table.add_row(*(_escape(str(cell)) for cell in row))
        self.console.print(table)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
