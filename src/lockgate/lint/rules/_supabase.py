"""What the Supabase rule modules (``supabase_*.py``, family ``supabase``) share: constants and small
parse-tree helpers. Not a rule module (its name starts with ``_``, so ``load_rules`` skips it).

Supabase serves every table and view in its *exposed* schemas over HTTP (PostgREST), and by default
grants the `anon` and `authenticated` roles full privileges on them: row level security is the only
thing between a browser holding the public anon key and every row. The rules catch, in the migration,
what Supabase's own database advisor (splinter) reports only after deploy; semantics follow splinter's
lints where one exists (named in each rule's "why").

Exposed schemas come from lockgate's config (``exposed_schemas``), else ``[api] schemas`` in
``supabase/config.toml``, else ``public`` (``lockgate.lint.supabase_config``); Supabase's own schemas are
never treated as exposed here (changing them at all is what ``supabase-managed-schema-ddl`` reports).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.supabase_config import exposed_schemas
from lockgate.statements import Statement

AUTH_USERS = "auth.users"
TRUTHY = frozenset({"true", "on", "yes", "1", "t", "y"})


def served_schemas(ctx: FileContext) -> frozenset[str]:
    """The schemas the Data API serves for this file, minus Supabase's own."""
    return exposed_schemas(ctx.exposed_schemas, ctx.path)


def schema_of(relation: Any) -> str:
    return ((nodes.unwrap(relation, "RangeVar") or {}).get("schemaname")) or nodes.DEFAULT_SCHEMA


def is_temp(relation: Any) -> bool:
    return (nodes.unwrap(relation, "RangeVar") or {}).get("relpersistence") == "t"


def alter_commands(statement: Statement) -> Iterator[dict[str, Any]]:
    for command in statement.node.get("cmds") or []:
        cmd = nodes.unwrap(command, "AlterTableCmd")
        if cmd is not None:
            yield cmd


def policy_label(ctx: FileContext, statement: Statement) -> str:
    return (
        f'policy "{statement.node.get("policy_name", "?")}" on {ctx.qualified(statement.node.get("table"))}'
    )
