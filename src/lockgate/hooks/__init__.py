"""Git hooks: small checks that run on every commit, before a migration can reach a database.

Each hook is a module with ``main(argv) -> int`` (argparse, no global state), the shape pre-commit's
own hooks use, so tests call ``main([...])`` directly and the pre-commit framework, the plain
``hooks/pre-commit`` script and ``lockgate <hook>`` all run the same code. Hooks run on every commit,
so they import nothing heavy: no psycopg, no rich, no runner, not even click when run as
``python -m lockgate.hooks.<hook>`` (the pre-commit entries); pglast only when a diff needs parsing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# Not typing.TYPE_CHECKING: importing typing costs a hook several ms of start-up on every commit.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import click

MIGRATION_FILES = r"(^|/)(supabase/)?migrations/.*\.sql$"
"""Which paths are migrations: the default ``files:`` pattern of every hook in .pre-commit-hooks.yaml."""

HookMain = Callable[[Sequence[str] | None], int]


def click_command(name: str, main: HookMain, summary: str) -> click.Command:
    """Expose a hook's ``main`` as a ``lockgate`` sub-command, leaving every argument to argparse.

    The hook's argparse parser owns ``--help`` and the options, so ``lockgate check-naming -h`` and
    the pre-commit entry point show the same usage and cannot drift apart. click is imported here, not
    at module level: the pre-commit entries run ``python -m lockgate.hooks.<hook>`` and never need it.
    """
    import click

    def invoke(args: tuple[str, ...]) -> None:
        click.get_current_context().exit(main(list(args)))

    return click.Command(
        name,
        callback=invoke,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        help=summary,
        short_help=summary,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True},
    )
