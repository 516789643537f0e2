"""A click command that hands every argument to an argparse ``main``: one parser per command.

The hooks and ``lockgate lint`` have an argparse ``main(argv) -> int`` because they run on every commit
without importing click; ``lockgate <name>`` exposes the very same ``main``, so the options, ``--help`` and
the exit codes cannot drift apart between the two doors. click is imported only when the command is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# Not typing.TYPE_CHECKING: importing typing costs a hook several ms of start-up on every commit.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import click

ArgparseMain = Callable[[Sequence[str] | None], int]


def click_command(name: str, main: ArgparseMain, summary: str) -> click.Command:
    """``lockgate <name> ARGS...`` -> ``main(ARGS)``; argparse owns ``--help`` and every option."""
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
