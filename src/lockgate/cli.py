"""The ``lockgate`` command line: a thin door onto the pipeline.

``main`` is the console script. ``lockgate lint`` (what the plain git hook runs on every commit) goes
straight to the click-free lint door; everything else goes to the click application in
``lockgate.commands.app``, whose sub-commands are loaded lazily so that no command imports what it does not
use: a hook that starts slowly is a hook people disable.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

GC_THRESHOLD = 50_000
"""Allocations between two young-generation collections (CPython's default: 700). A run or a lint keeps
every file's parse tree alive — hundreds of thousands of small objects, almost none of them in cycles —
and each collection walks the young ones again: at the default, collection took ~15 % of the CPU a
``run`` of 1,000 files spends before its first migration (measured: 0.39 s → 0.34 s). Cycles are still
collected, only in larger steps."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: every expected failure becomes one line on stderr and its exit code."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["lint"]:
        # The click-free door (one argparse parser for both doors) skips importing click: ~40 ms of a
        # one-file lint.
        from lockgate.errors import exit_code_of
        from lockgate.lint.__main__ import main as lint_main

        sys.exit(exit_code_of(lambda: lint_main(args[1:], prog="lockgate lint")))
    from lockgate.commands.app import run

    return run(argv)
