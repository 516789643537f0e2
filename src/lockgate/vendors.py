"""The plug-in point for platform-specific behaviour (Supabase today): what a vendor adds to ``validate`` and
``run``, so the service calls vendors through one interface instead of reaching into their modules.

A vendor is consulted at three moments: validation with a database (extra problems read on the same
read-only connection), validation without one (problems visible in the files alone, for the PR check
without ``database-url``), and the start of a run (refuse what would go wrong, return hooks that record
the vendor's own history inside each migration's transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import psycopg

    from lockgate.config import Config
    from lockgate.db import DatabaseTarget
    from lockgate.plan import State
    from lockgate.problems import Problem
    from lockgate.runner import AppliedHook
    from lockgate.source import Migration, Source


class Vendor(Protocol):
    name: str

    def validation_problems(
        self, config: Config, conn: psycopg.Connection[Any], state: State
    ) -> list[Problem]: ...

    def file_problems(self, config: Config, source: Source) -> list[Problem]: ...

    def prepare_run(
        self,
        conn: psycopg.Connection[Any],
        config: Config,
        target: DatabaseTarget,
        pending: Sequence[Migration],
        *,
        dry_run: bool,
    ) -> tuple[AppliedHook, ...]: ...


def vendors() -> tuple[Vendor, ...]:
    """Every vendor, imported on first use (a plain-PostgreSQL command pays one import)."""
    from lockgate.supabase.vendor import SUPABASE

    return (SUPABASE,)
