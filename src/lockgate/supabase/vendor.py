"""Supabase as a ``lockgate.vendors.Vendor``: the shared-history checks and the run guard, behind the
interface the service calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from lockgate.config import Config
    from lockgate.db import DatabaseTarget
    from lockgate.plan import State
    from lockgate.problems import Problem
    from lockgate.runner import AppliedHook
    from lockgate.source import Migration, Source


class SupabaseVendor:
    name = "supabase"

    def validation_problems(
        self, config: Config, conn: psycopg.Connection[Any], state: State
    ) -> list[Problem]:
        from lockgate.supabase.adoption import validation_problems

        return validation_problems(config, conn, state)

    def file_problems(self, config: Config, source: Source) -> list[Problem]:
        """The Supabase checks a PR can run without a database (version format, future versions)."""
        from lockgate.supabase.history_checks import supabase_problems
        from lockgate.supabase.shared_history import supabase_project

        if not supabase_project(config, has_table=False):
            return []
        return supabase_problems(source, [], None)

    def prepare_run(
        self,
        conn: psycopg.Connection[Any],
        config: Config,
        target: DatabaseTarget,
        pending: Sequence[Migration],
        *,
        dry_run: bool,
    ) -> tuple[AppliedHook, ...]:
        from lockgate.supabase.run_guard import prepare_run

        return prepare_run(conn, config, target, pending, dry_run=dry_run)


SUPABASE = SupabaseVendor()
