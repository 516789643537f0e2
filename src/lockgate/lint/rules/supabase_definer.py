"""Supabase rules on code that runs with its owner's rights: ``SECURITY DEFINER`` functions without a
pinned ``search_path``, views without ``security_invoker``, views over ``auth.users`` (family
``supabase``). On Supabase the owner is usually ``postgres``, which bypasses row level security.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lockgate.lint import nodes
from lockgate.lint.context import FileContext
from lockgate.lint.findings import Violation
from lockgate.lint.registry import file_rule, statement_rule
from lockgate.lint.rules._supabase import (
    AUTH_USERS,
    TRUTHY,
    alter_commands,
    is_temp,
    schema_of,
    served_schemas,
)
from lockgate.statements import Statement


def _option_truthy(elem: dict[str, Any]) -> bool:
    """A boolean reloption's value: no argument means true (``WITH (security_invoker)``)."""
    arg = elem.get("arg")
    if arg is None:
        return True
    if isinstance(arg, dict):
        for kind in ("String", "Boolean", "Integer"):
            inner = arg.get(kind)
            if isinstance(inner, dict):
                value = inner.get("sval", inner.get("boolval", inner.get("ival", "")))
                return str(value).lower() in TRUTHY or value is True
    return False


# -- functions and views ----------------------------------------------------------------------------
@statement_rule(
    id="security-definer-without-search-path",
    family="supabase",
    severity="error",
    kinds=["CreateFunctionStmt"],
    summary="A `SECURITY DEFINER` function without `SET search_path`.",
    why="""
        A SECURITY DEFINER function runs with its owner's privileges (on Supabase usually `postgres`)
        but resolves unqualified names through the caller's `search_path`. A caller who can create
        objects in a schema on that path can plant a function or operator the definer then runs with
        elevated rights. Pin the path (`SET search_path = ''` and schema-qualified names is safest;
        splinter lint `0011_function_search_path_mutable`).
    """,
    bad="""
        CREATE FUNCTION public.is_admin() RETURNS boolean
          LANGUAGE sql SECURITY DEFINER
          AS $$ SELECT EXISTS (SELECT 1 FROM admins WHERE user_id = auth.uid()) $$;
    """,
    good="""
        CREATE FUNCTION public.is_admin() RETURNS boolean
          LANGUAGE sql SECURITY DEFINER SET search_path = ''
          AS $$ SELECT EXISTS (SELECT 1 FROM public.admins WHERE user_id = auth.uid()) $$;
    """,
    help="Add `SET search_path = ''` to the function and schema-qualify every name in its body.",
)
def security_definer_without_search_path(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    options = statement.node.get("options")
    security = nodes.def_elem(options, "security")
    if security is None or not _option_truthy(security) or _sets_search_path(options):
        return
    name = nodes.qualified_list_name(statement.node.get("funcname"))
    if name in _search_path_set_later(ctx, statement):
        return
    yield Violation(
        ctx.span_at(statement, security),
        f"SECURITY DEFINER function {name} runs with its owner's rights but the caller's search_path; "
        "a caller can hijack unqualified names",
    )


def _sets_search_path(options: Any) -> bool:
    for option in options or []:
        elem = nodes.unwrap(option, "DefElem") or {}
        setting = nodes.unwrap(elem.get("arg"), "VariableSetStmt") or {}
        if elem.get("defname") == "set" and str(setting.get("name", "")).lower() == "search_path":
            return True
    return False


def _search_path_set_later(ctx: FileContext, statement: Statement) -> set[str]:
    """Functions given a search_path by an ``ALTER FUNCTION ... SET search_path`` after ``statement``
    (the same fix, written as a separate statement)."""
    after = ctx.ordinal(statement)
    return {
        nodes.qualified_list_name(
            (nodes.unwrap(later.node.get("func"), "ObjectWithArgs") or {}).get("objname")
        )
        for later in ctx.executed[after + 1 :]
        if later.kind == "AlterFunctionStmt" and _sets_search_path(later.node.get("actions"))
    }


def _exposed_view(ctx: FileContext, statement: Statement, exposed: frozenset[str]) -> Any:
    """The view's RangeVar when ``statement`` creates a (materialized) view in an exposed schema."""
    if statement.kind == "ViewStmt":
        relation = statement.node.get("view")
    elif statement.kind == "CreateTableAsStmt" and statement.node.get("objtype") == "OBJECT_MATVIEW":
        relation = (statement.node.get("into") or {}).get("rel")
    else:
        return None
    if relation is None or is_temp(relation) or schema_of(relation) not in exposed:
        return None
    return relation


def _security_invoker_setting(options: Any) -> bool | None:
    elem = nodes.def_elem(options, "security_invoker")
    return None if elem is None else _option_truthy(elem)


def _hidden_from_api(ctx: FileContext) -> set[str]:
    """Relations whose SELECT is revoked in this file (and not granted again) from both ``anon`` and
    ``authenticated``: the API roles cannot read them, which is what splinter's privilege check asks."""
    revoked: dict[str, set[str]] = {}
    for statement in ctx.executed:
        node = statement.node
        if statement.kind != "GrantStmt" or node.get("objtype") != "OBJECT_TABLE":
            continue
        privileges = {
            str((nodes.unwrap(item, "AccessPriv") or {}).get("priv_name", "")).lower()
            for item in node.get("privileges") or []
        }
        if privileges and "select" not in privileges:
            continue
        roles = {
            "public" if spec.get("roletype") == "ROLESPEC_PUBLIC" else str(spec.get("rolename", ""))
            for spec in (nodes.unwrap(item, "RoleSpec") or {} for item in node.get("grantees") or [])
        }
        if "public" in roles:
            roles |= {"anon", "authenticated"}
        for relation in node.get("objects") or []:
            names = revoked.setdefault(ctx.qualified(relation), set())
            if node.get("is_grant"):
                names -= roles
            else:
                names |= roles
    return {name for name, roles in revoked.items() if {"anon", "authenticated"} <= roles}


def _views_made_invoker(ctx: FileContext) -> set[str]:
    """Views switched to security_invoker by a later ``ALTER VIEW ... SET (security_invoker = ...)``."""
    made: set[str] = set()
    for statement in ctx.executed:
        if statement.kind != "AlterTableStmt":
            continue
        for cmd in alter_commands(statement):
            if cmd.get("subtype") != "AT_SetRelOptions":
                continue
            items = (nodes.unwrap(cmd.get("def"), "List") or {}).get("items")
            if _security_invoker_setting(items):
                made.add(ctx.qualified(statement.node.get("relation")))
    return made


@file_rule(
    id="view-without-security-invoker",
    family="supabase",
    severity="error",
    summary="A view in an exposed schema without `security_invoker = true` (PostgreSQL 15+).",
    why="""
        A view runs its query with the privileges of its owner (on Supabase, `postgres`, which
        bypasses row level security), so a view over RLS-protected tables in an exposed schema serves
        every row to anyone who can select from the view. Since PostgreSQL 15,
        `WITH (security_invoker = true)` makes the view check privileges and policies as the querying
        user (splinter lint `0010_security_definer_view`). A view whose SELECT is revoked from both
        `anon` and `authenticated` later in the same file is not served, and is not reported.
    """,
    bad="""
        CREATE VIEW public.order_totals AS
          SELECT owner_id, sum(total) AS total FROM public.orders GROUP BY owner_id;
    """,
    good="""
        CREATE VIEW public.order_totals WITH (security_invoker = true) AS
          SELECT owner_id, sum(total) AS total FROM public.orders GROUP BY owner_id;
    """,
    help="Create the view `WITH (security_invoker = true)` (or move it to a schema the API does not serve).",
    pg_versions="PostgreSQL 15 and later; `security_invoker` does not exist before 15, so the rule is "
    "silent when `pg_major` < 15 (there, revoke the view from anon/authenticated instead).",
)
def view_without_security_invoker(ctx: FileContext) -> Iterator[Violation]:
    if ctx.pg_major < 15 or not any(statement.kind == "ViewStmt" for statement in ctx.executed):
        return  # most files create no view: skip looking for ALTER VIEW and REVOKE
    exposed = served_schemas(ctx)
    made_invoker = _views_made_invoker(ctx) | _hidden_from_api(ctx)
    for statement in ctx.executed:
        if statement.kind != "ViewStmt":
            continue
        relation = _exposed_view(ctx, statement, exposed)
        if relation is None or ctx.qualified(relation) in made_invoker:
            continue
        if _security_invoker_setting(statement.node.get("options")):
            continue
        yield Violation(
            ctx.span_at(statement, relation),
            f"view {ctx.qualified(relation)} in exposed schema {schema_of(relation)} runs as its owner and "
            "bypasses row level security; create it WITH (security_invoker = true)",
        )


@statement_rule(
    id="view-exposes-auth-users",
    family="supabase",
    severity="error",
    kinds=["ViewStmt", "CreateTableAsStmt"],
    summary="A view or materialized view in an exposed schema reads `auth.users`.",
    why="""
        `auth.users` holds every user's email, phone, encrypted password and sign-in details, and
        is deliberately not served by the API. A view over it in an exposed schema publishes those
        columns to `anon` and `authenticated` (splinter lint `0002_auth_users_exposed`). Keep public
        profile data in your own table (filled by a trigger on `auth.users`) with RLS.
        Not reported when the file revokes SELECT on the view from both `anon` and `authenticated`.
    """,
    bad="""
        CREATE VIEW public.user_directory AS SELECT id, email FROM auth.users;
    """,
    good="""
        CREATE VIEW public.user_directory WITH (security_invoker = true) AS
          SELECT id, username FROM public.profiles;
    """,
    help="Copy the fields you need into a public table with RLS (a trigger on auth.users) and query that.",
)
def view_exposes_auth_users(ctx: FileContext, statement: Statement) -> Iterator[Violation]:
    relation = _exposed_view(ctx, statement, served_schemas(ctx))
    if relation is None or ctx.qualified(relation) in _hidden_from_api(ctx):
        return
    for fields in nodes.find(statement.node.get("query"), "RangeVar"):
        if ctx.qualified(fields) == AUTH_USERS:
            yield Violation(
                ctx.span_at(statement, fields),
                f"view {ctx.qualified(relation)} in exposed schema {schema_of(relation)} reads auth.users; "
                "user emails and sign-in data become readable through the API",
            )
            return
