"""Git hooks: small checks that run on every commit, before a migration can reach a database.

Each hook is a module with ``main(argv) -> int`` (argparse, no global state), the shape pre-commit's
own hooks use, so tests call ``main([...])`` directly and the pre-commit framework, the plain
``hooks/pre-commit`` script and ``lockgate <hook>`` all run the same code. Hooks run on every commit,
so they import nothing heavy: no psycopg, no rich, no runner, not even click when run as
``python -m lockgate.hooks.<hook>`` (the pre-commit entries); pglast only when a diff needs parsing.
"""

from __future__ import annotations

from lockgate.argparse_command import click_command

MIGRATION_FILES = r"(^|/)(supabase/)?migrations/.*\.sql$"
"""Which paths are migrations: the default ``files:`` pattern of every hook in .pre-commit-hooks.yaml."""

__all__ = ["MIGRATION_FILES", "click_command"]
