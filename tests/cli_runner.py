"""The CLI run in-process, as the console script sees it: one runner for every test folder.

Importable by name from any test folder (``tests/`` is on ``sys.path`` because of its ``conftest.py``).
It exists once because its two former copies both read a code that click *returns* (non-standalone
mode) as success, which hid a failing lint of a generated revert.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> CliResult:
    """``sys.exit(lockgate.cli.main(args))`` without leaving the test: the exit code and what was printed."""
    from lockgate.cli import main

    capsys.readouterr()
    try:
        returned = main(args)
        code = returned if isinstance(returned, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
