"""Supabase rules on row level security itself: tables created without it, switched off, or policies
that have no effect without it (family ``supabase``). See ``_supabase`` for how exposed schemas are found.
"""

from __future__ import annotations

from collections.abc import Iterator

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import file_rule, statement_rule
from lockgate.lint.rules._supabase import (
    alter_commands,
    is_temp,
    policy_label,
    schema_of,
    served_schemas,
)
from lockgate.statements import Statement


def _rls_enabled_tables(ctx: FileContext) -> set[str]:
    enabled: set[str] = set()
    for statement in ctx.executed:
        if statement.kind != "AlterTableStmt":
            continue
        for command in statement.node.get("cmds") or ():
            cmd = nodes.unwrap(command, "AlterTableCmd")
            if cmd is not None and cmd.get("subtype") == "AT_EnableRowSecurity":
                enabled.add(ctx.qualified(statement.node.get("relation")))
                break
    return enabled


# -- RLS on tables -----------------------------------------------------------------------------------
@file_rule(
    id="rls-not-enabled",
    family="supabase",
    severity="error",
    summary="A table created in an exposed schema without `ENABLE ROW LEVEL SECURITY` in the same file.",
    why="""
        Supabase serves every table in its exposed schemas (`public` unless configured) through the
        Data API and grants `anon` and `authenticated` full privileges on them by default, so a new
        table without row level security can be read and written by anyone holding the public anon
        key, which ships in every browser bundle. Enable RLS in the migration that creates the table
        (splinter lint `0013_rls_disabled_in_public`), then add policies for what each role may do.
    """,
    bad="""
        CREATE TABLE public.invoices (id bigint PRIMARY KEY, customer_id uuid NOT NULL);
    """,
    good="""
        CREATE TABLE public.invoices (id bigint PRIMARY KEY, customer_id uuid NOT NULL);
        ALTER TABLE public.invoices ENABLE ROW LEVEL SECURITY;
    """,
    help="Add `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY;` after the CREATE TABLE, then add policies.",
)
def rls_not_enabled(ctx: FileContext) -> Iterator[Violation]:
    exposed = served_schemas(ctx)
    enabled: set[str] | None = None  # looked for only once a table in an exposed schema is created
    for statement in ctx.executed:
        kind = statement.kind
        if kind == "CreateStmt":
            relation = statement.node.get("relation")
        elif kind == "CreateTableAsStmt" and statement.node.get("objtype") == "OBJECT_TABLE":
            relation = (statement.node.get("into") or {}).get("rel")
        else:
            continue
        if is_temp(relation) or schema_of(relation) not in exposed:
            continue
        if enabled is None:
            enabled = _rls_enabled_tables(ctx)
        name = ctx.qualified(relation)
        if name in enabled:
            continue
        yield Violation(
            ctx.span_at(statement, relation),
            f"table {name} is created in exposed schema {schema_of(relation)} without ENABLE ROW LEVEL "
            "SECURITY; anyone with the anon key can read and change every row through the API",
        )


@statement_rule(
    id="rls-disabled",
    family="supabase",
    severity="error",
    kinds=["AlterTableStmt"],
    summary="`ALTER TABLE ... DISABLE ROW LEVEL SECURITY`.",
    why="""
        Disabling RLS switches off every policy on the table at once: in an exposed schema every row
        becomes readable and writable by anyone holding the public anon key. Policies that are too
        strict should be fixed, not bypassed; server-side code that must see every row should use
        the `service_role` key, which bypasses RLS without opening the table to everyone.
    """,
    bad="""
        ALTER TABLE public.orders DISABLE ROW LEVEL SECURITY;
    """,
    good="""
        CREATE POLICY "Staff read all orders" ON public.orders
          FOR SELECT TO authenticated USING ((SELECT auth.jwt() ->> 'user_role') = 'staff');
    """,
    help="Keep RLS on; write a policy for the access you need (or use the service_role key server-side).",
)
def rls_disabled(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = statement.node.get("relation")
    if is_temp(relation):
        return
    for cmd in alter_commands(statement):
        if cmd.get("subtype") == "AT_DisableRowSecurity":
            yield Violation(
                ctx.statement_span_head(statement),
                f"DISABLE ROW LEVEL SECURITY on {ctx.qualified(relation)} switches off all its policies; "
                "through the API every row becomes readable and writable by any role with table grants",
            )


@file_rule(
    id="policy-without-rls",
    family="supabase",
    severity="warning",
    summary="A policy on a table created in this file that never enables row level security.",
    why="""
        Policies do nothing until row level security is enabled on the table: the author believes
        access is restricted while every row is open (splinter lint `0007_policy_exists_rls_disabled`).
        Only tables created in the same file are checked; for older tables lockgate cannot know
        whether an earlier migration enabled RLS.
    """,
    bad="""
        CREATE TABLE public.notes (id bigint PRIMARY KEY, owner_id uuid NOT NULL);
        CREATE POLICY "Owners read notes" ON public.notes
          FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner_id);
    """,
    good="""
        CREATE TABLE public.notes (id bigint PRIMARY KEY, owner_id uuid NOT NULL);
        ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
        CREATE POLICY "Owners read notes" ON public.notes
          FOR SELECT TO authenticated USING ((SELECT auth.uid()) = owner_id);
    """,
    help="Add `ALTER TABLE <table> ENABLE ROW LEVEL SECURITY;` so the policy takes effect.",
)
def policy_without_rls(ctx: FileContext) -> Iterator[Violation]:
    enabled: set[str] | None = None  # looked for only in files that create a policy
    for statement in ctx.executed:
        if statement.kind != "CreatePolicyStmt":
            continue
        if enabled is None:
            enabled = _rls_enabled_tables(ctx)
        table = statement.node.get("table")
        name = ctx.qualified(table)
        if name in enabled or is_temp(table) or name not in ctx.created_tables(before=statement):
            continue
        yield Violation(
            ctx.span_at(statement, table),
            f"{policy_label(ctx, statement)} has no effect: RLS is never enabled on {name}, so every "
            "row stays open",
        )
